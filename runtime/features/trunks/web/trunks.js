// Trunks page: trunks with registration/keepalive state, DIDs, outbound routes, E911 settings and
// locations (moved phones flagged), alerts; a banner while emergency test mode is on.
import { api } from "/static/lib/api.js";
import { $, h } from "/static/lib/dom.js";
import { time } from "/static/lib/format.js";
import { deleteButton } from "/static/lib/crud.js";
import { fillTable, row } from "/static/lib/tables.js";
import { startPage } from "/static/lib/page.js";

const enc = encodeURIComponent;

const regText = (s) => s?.registration ? `${s.registration.status}: ${s.registration.detail}` : "";
const pingText = (s) =>
  s?.keepalive
    ? `${s.keepalive.status}${s.keepalive.lastStatus ? ` (${s.keepalive.lastStatus})` : ""}`
    : "off";

startPage(async () => {
  const load = async () => {
    const [{ trunks }, { dids }, { routes }, e911, { locations }, { alerts }] = await Promise.all([
      api("GET", "/api/trunks"),
      api("GET", "/api/dids"),
      api("GET", "/api/outbound-routes"),
      api("GET", "/api/e911"),
      api("GET", "/api/e911/locations"),
      api("GET", "/api/trunk-alerts"),
    ]);
    $("#e911-test-banner").hidden = !e911.testMode;
    fillTable(
      "#trunks-table",
      null,
      trunks.map((t) =>
        row({ "data-trunk": t.id }, [
          { label: "Trunk", value: h("code", {}, t.id) },
          { label: "Kind", value: t.kind === "register" ? "registration" : "IP peer" },
          { label: "Host", value: `${t.host}:${t.port}` },
          { label: "Registration", value: t.kind === "register" ? regText(t.state) : "" },
          { label: "Keepalive", value: pingText(t.state) },
          { label: "Calls", value: `${t.calls}${t.maxChannels ? ` / ${t.maxChannels}` : ""}` },
          {
            actions: [
              deleteButton(
                `Delete ${t.id}`,
                `Delete trunk ${t.id}?`,
                () => api("DELETE", `/api/trunks/${enc(t.id)}`),
                load,
                `Trunk ${t.id} deleted.`,
              ),
            ],
          },
        ])
      ),
    );
    fillTable(
      "#dids-table",
      null,
      dids.map((d) =>
        row({ "data-did": d.number }, [d.number, d.trunk ?? "any", d.destination, d.name, {
          actions: [deleteButton(
            `Delete ${d.number}`,
            `Delete DID ${d.number}?`,
            () => api("DELETE", `/api/dids/${enc(d.number)}`),
            load,
            `DID ${d.number} deleted.`,
          )],
        }])
      ),
    );
    fillTable(
      "#routes-table",
      null,
      routes.map((r) =>
        row({ "data-route": r.id }, [
          r.id,
          r.patterns.join(" "),
          r.prepend,
          r.class,
          r.trunks.join(" → "),
          r.callerId ?? "",
          {
            actions: [
              deleteButton(
                `Delete ${r.id}`,
                `Delete route ${r.id}?`,
                () => api("DELETE", `/api/outbound-routes/${enc(r.id)}`),
                load,
                `Route ${r.id} deleted.`,
              ),
            ],
          },
        ])
      ),
    );
    $("#e911-settings").textContent = JSON.stringify(e911, null, 2);
    fillTable(
      "#locations-table",
      null,
      locations.map((l) =>
        row({}, [
          `${l.kind} ${l.id}`,
          l.location.address,
          l.moved ? h("strong", {}, "moved: check the location") : "",
          "",
        ])
      ),
    );
    fillTable(
      "#alerts-table",
      null,
      alerts.slice().reverse().map((a) => row({}, [time(a.at), a.kind, a.message])),
    );
  };
  await load();
});
