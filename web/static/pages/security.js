// Security: blocked sources and locked accounts with Unblock, security events, the allow-list.
import { api } from "../lib/api.js";
import { $, h } from "../lib/dom.js";
import { time } from "../lib/format.js";
import { onSubmit } from "../lib/forms.js";
import { startPage } from "../lib/page.js";
import { fillTable, row } from "../lib/tables.js";
import { actionButton } from "../lib/crud.js";

const KINDS = {
  "sip-source": "SIP source",
  "sip-extension": "SIP extension",
  "web-address": "Web login address",
  "web-account": "Web login account",
};

startPage(async () => {
  const enc = encodeURIComponent;
  const load = async () => {
    const data = await api("GET", "/api/security/blocks");
    fillTable(
      "#blocks-table",
      "#blocks-empty",
      data.items.map((b) =>
        row({}, [
          KINDS[b.kind] ?? b.kind,
          h("code", {}, b.key),
          b.failures === null || b.failures === undefined ? "" : String(b.failures),
          time(b.blockedUntil),
          h(
            "td",
            {},
            actionButton("Unblock", {
              label: `Unblock ${b.key}`,
              className: undefined,
              run: () => api("DELETE", `/api/security/blocks/${enc(b.kind)}/${enc(b.key)}`),
              done: `${b.key} unblocked.`,
              reload: async () => {
                await load();
                await events();
              },
            }),
          ),
        ])
      ),
    );
  };
  const events = async () => {
    const data = await api("GET", "/api/security/events");
    fillTable(
      "#security-events",
      null,
      data.items.map((e) => row({}, [time(e.at), e.action, e.actor, e.sourceIp ?? ""])),
    );
  };
  const allow = await api("GET", "/api/security/allow-list");
  $("#allow-networks").value = allow.networks.join("\n");
  onSubmit($("#allow-form"), async (values) => {
    const networks = String(values.networks ?? "").split(/[\s,]+/).filter((x) => x !== "");
    const saved = await api("PUT", "/api/security/allow-list", { networks });
    $("#allow-networks").value = saved.networks.join("\n");
    await events();
    return `Allow-list saved (${saved.networks.length} networks).`;
  });
  await load();
  await events();
});
