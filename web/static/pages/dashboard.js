// Dashboard: registrations and calls live over SSE, paging zone summary, system health.
import { api } from "../lib/api.js";
import { $, h } from "../lib/dom.js";
import { time } from "../lib/format.js";
import { renderHealth } from "../lib/health.js";
import { liveEvents } from "../lib/live.js";
import { sayError } from "../lib/messages.js";
import { startPage } from "../lib/page.js";
import { fillTable, row } from "../lib/tables.js";

function renderCalls(items) {
  $("#calls-count").textContent = `(${items.length})`;
  fillTable(
    "#calls-table",
    "#calls-empty",
    items.map((c) =>
      row({}, [
        c.callerName ? `${c.callerName} (${c.caller})` : c.caller,
        c.callee,
        c.state,
        time(c.answeredAt ?? c.startedAt),
      ])
    ),
  );
}

function renderRegistrations(items) {
  $("#regs-count").textContent = `(${items.length})`;
  fillTable(
    "#regs-table",
    "#regs-empty",
    items.map((r) =>
      row({ "data-extension": r.extension }, [
        r.extension,
        `${r.source.address}:${r.source.port} (${r.source.transport})`,
        r.userAgent ?? "",
        time(r.expiresAt),
      ])
    ),
  );
}

// BLF board: every extension's state (idle, ringing, busy, DND, away, offline), from the call
// features module's /api/callfeatures/blf (absent in a build without it: the card stays hidden).
const BLF_LABEL = {
  idle: "idle",
  ringing: "ringing",
  busy: "busy",
  dnd: "DND",
  away: "away",
  offline: "offline",
};
let blfSeq = 0;
async function loadBlf() {
  const seq = ++blfSeq;
  try {
    const { items } = await api("GET", "/api/callfeatures/blf");
    if (seq !== blfSeq) return;
    $("#blf-board").replaceChildren(
      ...items.map((x) =>
        h(
          "li",
          { class: `blf ${x.state}`, "data-extension": x.extension, "data-state": x.state },
          h("span", { class: "blf-number" }, x.extension),
          h("span", { class: "blf-state" }, BLF_LABEL[x.state] ?? x.state),
        )
      ),
    );
    $("#blf-card").hidden = false;
  } catch {
    $("#blf-card").hidden = true;
  }
}

let zonesSeq = 0;
async function loadZonesSummary() {
  const empty = $("#zones-empty");
  const seq = ++zonesSeq;
  try {
    const z = await api("GET", "/api/paging/zones");
    const zones = z.zones ?? [];
    const states = new Map();
    try {
      const st = await api("GET", "/api/paging/status");
      for (const s of st.zones ?? []) states.set(s.number, s.fault ? `${s.state} (${s.fault})` : s.state);
    } catch {
      // Paging service not running: show the configuration only.
    }
    if (seq !== zonesSeq) return; // a newer refresh is under way
    $("#zones-list").replaceChildren(
      ...zones.map((zone) =>
        h(
          "li",
          { "data-zone": zone.number },
          `${zone.number} ${zone.name}: ${
            states.get(zone.number) ?? (zone.enabled ? "configured" : "disabled")
          }`,
        )
      ),
    );
    empty.textContent = "No paging zones.";
    empty.hidden = zones.length > 0;
  } catch (e) {
    empty.textContent = e.status === 404 ? "Paging is not available in this build." : e.message;
    empty.hidden = false;
  }
}

startPage(() => {
  const live = $("#live-status");
  const refreshHealth = () => api("GET", "/api/system/status").then(renderHealth).catch(sayError);
  refreshHealth();
  setInterval(refreshHealth, 30_000);
  loadZonesSummary();
  loadBlf();
  liveEvents({
    registrations: (d) => {
      renderRegistrations(d.items);
      loadBlf();
    },
    calls: (d) => {
      renderCalls(d.items);
      loadBlf();
    },
    zones: () => loadZonesSummary(),
  }, {
    status: (state) => {
      live.textContent = state === "open"
        ? "Live: updates appear as they happen."
        : "Live updates interrupted; reconnecting…";
      live.className = state === "open" ? "live on" : "live off";
    },
  });
});
