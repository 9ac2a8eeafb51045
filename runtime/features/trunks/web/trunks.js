// Trunks page: trunks with registration/keepalive state, DIDs, outbound routes, E911 settings and
// locations (moved phones flagged), alerts; a banner while emergency test mode is on.
import { api } from "/static/lib/api.js";
import { $, h } from "/static/lib/dom.js";
import { list, time } from "/static/lib/format.js";
import { onSubmit } from "/static/lib/forms.js";
import { deleteButton } from "/static/lib/crud.js";
import { fillTable, row } from "/static/lib/tables.js";
import { startPage } from "/static/lib/page.js";
import { sayError } from "/static/lib/messages.js";

const enc = encodeURIComponent;

const regText = (s) => s?.registration ? `${s.registration.status}: ${s.registration.detail}` : "";
const pingText = (s) =>
  s?.keepalive
    ? `${s.keepalive.status}${s.keepalive.lastStatus ? ` (${s.keepalive.lastStatus})` : ""}`
    : "off";

startPage(async () => {
  let testMode = false;
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
    testMode = e911.testMode;
    $("#e911-test-toggle").textContent = e911.testMode
      ? "Turn emergency test mode off"
      : "Turn emergency test mode on";
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
  const num = (v) => (v === "" || v === undefined ? undefined : Number(v));
  onSubmit($("#trunk-form"), async (v, form) => {
    const body = {
      kind: v.kind,
      host: v.host,
      port: num(v.port),
      keepaliveSeconds: num(v.keepaliveSeconds),
      ...(v.username ? { username: v.username } : {}),
      ...(v.password ? { password: v.password } : {}),
      ...(v.addresses ? { addresses: list(v.addresses) } : {}),
      ...(v.callerId ? { callerId: v.callerId } : {}),
    };
    await api("PUT", `/api/trunks/${enc(v.id)}`, body);
    form.reset();
    await load();
    return `Trunk ${v.id} saved.`;
  });
  onSubmit($("#did-form"), async (v, form) => {
    await api("PUT", `/api/dids/${enc(v.number)}`, { destination: v.destination });
    form.reset();
    await load();
    return `DID ${v.number} routes to ${v.destination}.`;
  });
  onSubmit($("#route-form"), async (v, form) => {
    await api("PUT", `/api/outbound-routes/${enc(v.id)}`, {
      patterns: list(v.patterns),
      class: v.class,
      trunks: list(v.trunks),
      ...(v.prepend ? { prepend: v.prepend } : {}),
    });
    form.reset();
    await load();
    return `Route ${v.id} saved.`;
  });
  $("#e911-test-toggle").addEventListener("click", async () => {
    try {
      await api("PUT", "/api/e911", { testMode: !testMode });
      await load();
    } catch (err) {
      sayError(err);
    }
  });
  await load();
});
