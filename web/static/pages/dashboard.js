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
  liveEvents({
    registrations: (d) => renderRegistrations(d.items),
    calls: (d) => renderCalls(d.items),
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
