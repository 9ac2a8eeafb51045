// Call park page: the slots live over SSE (/api/park/events) and the park lot's settings.
import { api } from "/static/lib/api.js";
import { $ } from "/static/lib/dom.js";
import { time } from "/static/lib/format.js";
import { onSubmit } from "/static/lib/forms.js";
import { fillTable, row } from "/static/lib/tables.js";
import { startPage } from "/static/lib/page.js";

const fillForm = (s) => {
  $("#park-first").value = s.firstSlot;
  $("#park-count").value = String(s.slots);
  $("#park-timeout").value = String(s.timeoutSec);
  $("#park-recall").value = s.recallTo ?? "";
  $("#park-zone").value = s.pageZone ?? "";
  $("#park-keys").value = s.phoneKeys ?? "none";
};

const show = ({ settings, slots, parked }) => {
  fillTable(
    "#park-table",
    "#park-empty",
    parked.map((p) =>
      row({ "data-slot": p.slot }, [
        { label: "Slot", value: p.slot },
        { label: "Parked caller", value: p.caller },
        { label: "Parked by", value: p.parkedBy ?? "(dialled park)" },
        { label: "Since", value: time(p.since) },
      ])
    ),
  );
  const first = slots[0] ?? settings.firstSlot;
  const last = slots.at(-1) ?? first;
  $("#park-about").textContent = `Slots ${first}-${last}; ${parked.length} of ${slots.length} in use. ` +
    `Recall after ${settings.timeoutSec} s to ${settings.recallTo ?? "the extension that parked"}; ` +
    (settings.pageZone ? `announced on paging ${settings.pageZone}.` : "not announced on a paging zone.");
};

startPage(async () => {
  const state = await api("GET", "/api/park");
  show(state);
  fillForm(state.settings);
  const es = new EventSource("/api/park/events");
  es.addEventListener("open", () => ($("#park-status").textContent = "Live."));
  es.addEventListener("error", () => ($("#park-status").textContent = "Reconnecting…"));
  es.addEventListener("park", (e) => show(JSON.parse(e.data)));
  onSubmit($("#park-form"), async (v) => {
    const saved = await api("PUT", "/api/park/settings", {
      firstSlot: v.firstSlot.trim(),
      slots: Number(v.slots),
      timeoutSec: Number(v.timeoutSec),
      recallTo: v.recallTo.trim() || null,
      pageZone: v.pageZone.trim() || null,
      phoneKeys: v.phoneKeys,
    });
    fillForm(saved);
    return "Park settings saved.";
  });
});
