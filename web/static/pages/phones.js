// Phones: discovered and assigned phones (assign, re-provision, provisioning window), keys,
// provisioning security and blocked addresses; the template editor is phones_templates.js.
import { api } from "../lib/api.js";
import { $, h } from "../lib/dom.js";
import { list, time } from "../lib/format.js";
import { onSubmit } from "../lib/forms.js";
import { say } from "../lib/messages.js";
import { startPage } from "../lib/page.js";
import { fillTable } from "../lib/tables.js";
import { templateEditor } from "./phones_templates.js";

startPage(() => {
  let security = { requireWindow: true, windowMinutes: 60, phonebookNetworks: [] };
  const windowText = (p) => {
    if (!p.extension) return "—";
    if (!security.requireWindow) return "not required";
    return p.provisioningOpenUntil && p.provisioningOpenUntil > Date.now()
      ? `open until ${time(p.provisioningOpenUntil)}`
      : "closed";
  };
  const loadSecurity = async () => {
    try {
      security = await api("GET", "/api/phones/security");
    } catch {
      return;
    }
    const f = $("#prov-security");
    if (f) {
      f.requireWindow.checked = security.requireWindow;
      f.windowMinutes.value = String(security.windowMinutes);
      f.phonebookNetworks.value = security.phonebookNetworks.join(", ");
    }
    const blocks = (await api("GET", "/api/phones/blocks")).items ?? [];
    fillTable(
      "#prov-blocks",
      "#prov-blocks-empty",
      blocks.map((b) =>
        h(
          "tr",
          { "data-address": b.address },
          h("td", { "data-label": "Address" }, h("code", {}, b.address)),
          h("td", { "data-label": "Blocked until" }, time(b.until)),
          h("td", { "data-label": "Misses" }, String(b.misses)),
          h("td", { "data-label": "Refused" }, String(b.refused)),
          h("td", { "data-label": "Last reason" }, b.lastReason),
          h(
            "td",
            { class: "actions" },
            h("button", {
              type: "button",
              class: "secondary",
              "aria-label": `Unblock ${b.address}`,
              onclick: async () => {
                try {
                  await api("DELETE", `/api/phones/blocks/${encodeURIComponent(b.address)}`);
                  say(`${b.address} may provision again.`);
                  await loadSecurity();
                } catch (e) {
                  say(e.message, "error");
                }
              },
            }, "Unblock"),
          ),
        )
      ),
    );
  };
  onSubmit($("#prov-security"), async (v, form) => {
    security = await api("PUT", "/api/phones/security", {
      requireWindow: form.requireWindow.checked,
      windowMinutes: Number(v.windowMinutes),
      phonebookNetworks: list(v.phonebookNetworks),
    });
    await load();
    return "Provisioning security saved.";
  });
  const openWindow = async (mac, button) => {
    button.disabled = true;
    try {
      const d = await api("POST", `/api/phones/${encodeURIComponent(mac)}/open-window`, {
        minutes: security.windowMinutes,
      });
      say(`Phone ${mac} may fetch its SIP password until ${time(d.provisioningOpenUntil)}.`);
      await load();
    } catch (e) {
      say(e.message, "error");
      button.disabled = false;
    }
  };
  const load = async () => {
    await loadSecurity();
    let data;
    try {
      data = await api("GET", "/api/phones");
    } catch (e) {
      if (e.status === 404) {
        $("#phones-unavailable").hidden = false;
        return;
      }
      throw e;
    }
    const items = data.items ?? [];
    fillTable(
      "#phones-table",
      "#phones-empty",
      items.map((p) =>
        h(
          "tr",
          { "data-mac": p.mac },
          h("td", { "data-label": "MAC" }, h("code", {}, p.mac)),
          h("td", { "data-label": "Vendor / model" }, [p.vendor, p.model].filter(Boolean).join(" ")),
          h("td", { "data-label": "Extension" }, p.extension ?? "—"),
          h("td", { "data-label": "Status" }, p.status ?? ""),
          h("td", { "data-label": "Last fetch" }, time(p.lastFetch?.at ?? p.lastFetchAt)),
          h("td", { "data-label": "Provisioning window" }, windowText(p)),
          h(
            "td",
            { class: "actions" },
            p.extension
              ? [
                h("button", {
                  type: "button",
                  class: "secondary",
                  "aria-label": `Re-provision phone ${p.mac}`,
                  onclick: (e) => reprovision(p.mac, e.currentTarget),
                }, "Re-provision"),
                security.requireWindow
                  ? h("button", {
                    type: "button",
                    class: "secondary",
                    "aria-label": `Open provisioning window for phone ${p.mac}`,
                    onclick: (e) => openWindow(p.mac, e.currentTarget),
                  }, "Open window")
                  : "",
              ]
              : "",
          ),
        )
      ),
    );
    $("#tpl-macs")?.replaceChildren(
      ...items.map((p) =>
        h("option", { value: p.mac }, [p.extension, p.vendor, p.model].filter(Boolean).join(" "))
      ),
    );
  };
  const reprovision = async (mac, button) => {
    button.disabled = true;
    try {
      const r = await api("POST", `/api/phones/${encodeURIComponent(mac)}/reprovision`);
      say(`Phone ${mac} was asked to fetch its configuration now (${r.detail}).`);
      await load(); // re-provisioning opened its provisioning window
    } catch (e) {
      say(e.message, "error");
    } finally {
      button.disabled = false;
      button.focus();
    }
  };
  onSubmit($("#phone-assign"), async (v, form) => {
    const mac = v.mac.trim();
    try {
      await api("POST", `/api/phones/${encodeURIComponent(mac)}/assign`, { extension: v.extension });
    } catch (e) {
      // Not discovered yet: register the MAC with its extension so it is configured on first fetch.
      if (e.status !== 404 || /extension/.test(e.message)) throw e;
      await api("POST", "/api/phones", { mac, extension: v.extension });
    }
    form.reset();
    await load();
    return `Phone ${mac} assigned to extension ${v.extension}.`;
  });
  // Show a phone's stored keys when its MAC is entered.
  $("#keys-mac")?.addEventListener("change", async (e) => {
    try {
      const d = await api("GET", `/api/phones/${encodeURIComponent(e.target.value.trim())}`);
      $("#keys-list").value = (d.lineKeys ?? []).map((k) => `${k.type} ${k.value} ${k.label}`).join("\n");
    } catch (err) {
      say(err.message, "error");
    }
  });
  onSubmit($("#phone-keys"), async (v) => {
    const mac = v.mac.trim();
    const lineKeys = v.keys.split("\n").map((l) => l.trim()).filter((l) => l !== "").map((l) => {
      const [type, value, ...label] = l.split(/\s+/);
      return { type, value: value ?? "", label: label.join(" ") };
    });
    await api("PUT", `/api/phones/${encodeURIComponent(mac)}`, { lineKeys });
    return `Phone ${mac}: ${lineKeys.length} key(s) saved; the phone gets them at its next fetch.`;
  });
  templateEditor();
  return load();
});
