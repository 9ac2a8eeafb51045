// Extensions page: search, add, edit (name, new SIP password) in a dialog-like panel, delete.
import { api } from "../lib/api.js";
import { $, h } from "../lib/dom.js";
import { time } from "../lib/format.js";
import { onSubmit } from "../lib/forms.js";
import { fillTable, row } from "../lib/tables.js";
import { actionButton, deleteButton, editPanel } from "../lib/crud.js";
import { startPage } from "../lib/page.js";

startPage(() => {
  let search = "";
  const panel = editPanel($("#ext-edit-card"));
  const enc = encodeURIComponent;

  let options = {};
  const edit = async (number) => {
    panel.remember();
    const ext = await api("GET", `/api/extensions/${enc(number)}`);
    $("#edit-number").textContent = ext.number;
    $("#edit-number-input").value = ext.number;
    $("#edit-name").value = ext.name;
    $("#edit-password").value = "";
    options = ext.options ?? {};
    $("#edit-srtp").value = ["off", "offered", "required"].includes(options.srtp) ? options.srtp : "offered";
    // Absent groups mean the default group 1 (FreePBX's default callgroup/pickupgroup).
    $("#edit-callgroups").value = (options.callGroups ?? ["1"]).join(", ");
    $("#edit-pickupgroups").value = (options.pickupGroups ?? ["1"]).join(", ");
    $("#edit-transport").value = options.sipTransport === "tls" ? "tls" : "udp";
    $("#edit-keying").value = options.srtpKeying === "dtls" ? "dtls" : "sdes";
    const regs = await api("GET", `/api/registrations?extension=${enc(number)}`);
    $("#edit-regs").replaceChildren(
      ...(regs.items.length
        ? regs.items.map((r) =>
          h("li", {}, `${r.contact} — ${r.userAgent ?? "unknown phone"}, expires ${time(r.expiresAt)}`)
        )
        : [h("li", {}, "No phone registered.")]),
    );
    panel.show();
    $("#edit-name").focus();
  };

  const load = async () => {
    const [exts, regs] = await Promise.all([
      api("GET", `/api/extensions?limit=1000${search ? `&search=${enc(search)}` : ""}`),
      api("GET", "/api/registrations"),
    ]);
    const count = new Map();
    for (const r of regs.items) count.set(r.extension, (count.get(r.extension) ?? 0) + 1);
    fillTable(
      "#ext-table",
      "#ext-empty",
      exts.items.map((e) =>
        row({ "data-number": e.number }, [e.number, e.name, String(count.get(e.number) ?? 0), {
          actions: [
            actionButton("Edit", { label: `Edit extension ${e.number}`, run: () => edit(e.number) }),
            deleteButton(
              `Delete extension ${e.number}`,
              `Delete extension ${e.number} (${e.name})?`,
              () => api("DELETE", `/api/extensions/${enc(e.number)}`),
              load,
              `Extension ${e.number} deleted.`,
            ),
          ],
        }])
      ),
    );
  };

  onSubmit($("#ext-search"), async (v) => {
    search = v.search ?? "";
    await load();
  });
  onSubmit($("#ext-add"), async (v, form) => {
    const ext = await api("POST", "/api/extensions", {
      number: v.number,
      name: v.name,
      password: v.password,
    });
    form.reset();
    await load();
    return `Extension ${ext.number} (${ext.name}) added.`;
  });
  onSubmit($("#ext-edit"), async (v) => {
    const body = { name: v.name };
    if (v.password) body.password = v.password;
    // Options are stored whole: keep the others, set the SRTP policy, the pickup groups and the
    // provisioned transport.
    const groups = (s) => String(s ?? "").split(",").map((x) => x.trim()).filter((x) => x !== "");
    body.options = {
      ...options,
      ...(v.srtp ? { srtp: v.srtp } : {}),
      ...(v.sipTransport ? { sipTransport: v.sipTransport } : {}),
      ...(v.srtpKeying ? { srtpKeying: v.srtpKeying } : {}),
      callGroups: groups(v.callGroups),
      pickupGroups: groups(v.pickupGroups),
    };
    await api("PUT", `/api/extensions/${enc(v.number)}`, body);
    panel.hide();
    await load();
    // The old row (and its Edit button) was replaced: land on the new one.
    $(`#ext-table tr[data-number="${CSS.escape(v.number)}"] button`)?.focus();
    return `Extension ${v.number} saved${v.password ? " (new SIP password set)" : ""}.`;
  });
  $("#edit-cancel")?.addEventListener("click", panel.close);
  return load();
});
