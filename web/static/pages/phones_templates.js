// The Phones page's template editor: list, edit with inline line:col errors, preview, reset.
import { api } from "../lib/api.js";
import { $, h } from "../lib/dom.js";
import { time } from "../lib/format.js";
import { onSubmit } from "../lib/forms.js";
import { say } from "../lib/messages.js";
import { fillTable } from "../lib/tables.js";

/** The Phones page's template editor: list, edit with inline line:col errors, preview, reset. */
export function templateEditor() {
  const editor = $("#tpl-editor");
  const body = $("#tpl-body");
  const errorEl = $("#tpl-error");
  const previewEl = $("#tpl-preview");
  const previewNote = $("#tpl-preview-note");
  if (!editor || !body) return;
  let current = null; // the template open in the editor
  let opener = null;

  const showError = (message) => {
    errorEl.hidden = message === "";
    errorEl.replaceChildren();
    if (message === "") {
      body.removeAttribute("aria-invalid");
      return;
    }
    body.setAttribute("aria-invalid", "true");
    // "invalid template: yealink.device:2:3: unknown variable ..." -> put the caret there.
    const m = /(?:^|\s)[a-z0-9.]+:(\d+):(\d+): (.*)$/s.exec(message);
    if (m) {
      const line = Number(m[1]);
      const col = Number(m[2]);
      errorEl.append(h("strong", {}, `Line ${line}, column ${col}: `), m[3]);
      const lines = body.value.split("\n");
      let pos = 0;
      for (let i = 0; i < line - 1 && i < lines.length; i++) pos += lines[i].length + 1;
      pos += Math.max(0, Math.min(col - 1, (lines[line - 1] ?? "").length));
      body.focus();
      body.setSelectionRange(pos, pos);
      // Scroll the caret's line into view (roughly: line height times line number).
      const lh = parseFloat(getComputedStyle(body).lineHeight) || 20;
      body.scrollTop = Math.max(0, (line - 3) * lh);
    } else {
      errorEl.append(message);
    }
  };
  const describe = (t) => {
    if (!t.overridden) return "shipped";
    return t.shippedChanged ? "edited (shipped version changed since)" : "edited";
  };
  const renderState = (t) => {
    $("#tpl-state").textContent = t.overridden
      ? `Edited${t.updatedAt ? ` ${time(t.updatedAt)}` : ""}. ${
        t.shippedChanged
          ? "The shipped template changed since (software update): compare, and reset if you no longer need your changes."
          : "Reset to go back to the shipped template."
      }`
      : "This is the shipped template; saving stores your version instead.";
    $("#tpl-reset").disabled = !t.overridden;
  };

  const load = async () => {
    let data;
    try {
      data = await api("GET", "/api/templates");
    } catch (e) {
      if (e.status === 503 || e.status === 404) {
        $("#tpl-unavailable").hidden = false;
        $("#tpl-table").closest(".table-wrap").hidden = true;
        return;
      }
      throw e;
    }
    fillTable(
      "#tpl-table",
      null,
      data.items.map((t) =>
        h(
          "tr",
          { "data-key": t.key },
          h("td", { "data-label": "Template" }, h("code", {}, t.key)),
          // The key already says make and file: narrow screens leave these two out.
          h("td", { "data-label": "Make", class: "hide-sm" }, t.vendor),
          h("td", { "data-label": "File", class: "hide-sm" }, t.kind),
          h("td", { "data-label": "State" }, describe(t)),
          h(
            "td",
            { class: "actions" },
            h("button", {
              type: "button",
              class: "secondary",
              "aria-label": `Edit template ${t.key}`,
              onclick: () => open(t.key).catch((x) => say(x.message, "error")),
            }, "Edit"),
          ),
        )
      ),
    );
  };

  const open = async (key) => {
    opener = document.activeElement;
    const t = await api("GET", `/api/templates/${encodeURIComponent(key)}`);
    current = t;
    $("#tpl-key").textContent = t.key;
    $("#tpl-key-input").value = t.key;
    body.value = t.body;
    body.setAttribute("aria-label", `Template text for ${t.key}`);
    renderState(t);
    showError("");
    previewEl.hidden = true;
    previewEl.textContent = "";
    previewNote.textContent = "";
    $("#tpl-secrets").checked = false;
    editor.hidden = false;
    editor.scrollIntoView({ block: "start" });
    body.focus();
    body.setSelectionRange(0, 0);
    body.scrollTop = 0;
  };
  const close = () => {
    editor.hidden = true;
    const key = current?.key;
    current = null;
    // A save re-renders the list, replacing the opener: fall back to the same row's Edit button.
    const target = opener && document.contains(opener)
      ? opener
      : key && $(`#tpl-table tr[data-key="${CSS.escape(key)}"] button`);
    target?.focus();
    opener = null;
  };
  // Escape closes the editor (as the extension edit panel does); focus goes back to its Edit button.
  editor.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !e.defaultPrevented) {
      e.preventDefault();
      close();
    }
  });
  $("#tpl-close").addEventListener("click", close);

  onSubmit($("#tpl-form"), async (v) => {
    if (!current) return;
    showError("");
    try {
      const t = await api("PUT", `/api/templates/${encodeURIComponent(current.key)}`, { body: v.body });
      current = t;
      renderState(t);
    } catch (e) {
      if (e.status === 400) {
        showError(e.message);
        say("The template was not saved: fix the error shown under the editor.", "error");
        return;
      }
      throw e;
    }
    await load();
    return `Template ${current.key} saved; phones get it at their next fetch.`;
  });

  $("#tpl-reset").addEventListener("click", async () => {
    if (!current) return;
    const key = current.key;
    if (!confirm(`Reset ${key} to the shipped template? Your changes to it are lost.`)) return;
    try {
      const t = await api("POST", `/api/templates/${encodeURIComponent(key)}/reset`);
      current = t;
      body.value = t.body;
      renderState(t);
      showError("");
      await load();
      say(`Template ${key} reset to the shipped version.`);
      body.focus();
    } catch (e) {
      say(e.message, "error");
    }
  });

  onSubmit($("#tpl-preview-form"), async (v) => {
    if (!current) return;
    const req = { body: body.value, showSecrets: v.showSecrets === "on" };
    const mac = (v.mac ?? "").trim();
    if (mac) req.mac = mac;
    showError("");
    let r;
    try {
      r = await api("POST", `/api/templates/${encodeURIComponent(current.key)}/preview`, req);
    } catch (e) {
      if (e.status === 400 && /:\d+:\d+: /.test(e.message)) {
        showError(e.message);
        return;
      }
      throw e;
    }
    previewEl.textContent = r.body;
    previewEl.hidden = false;
    previewNote.textContent = `${current.key} for ${r.mac ?? "all phones"} (${r.contentType}). ${
      r.hasAccount ? "" : "This phone has no extension, so no SIP account is in it. "
    }${
      r.secrets ? "SIP passwords are shown; this was recorded in the audit log." : "SIP passwords are masked."
    }`;
    return undefined;
  });

  load().catch((e) => say(e.message, "error"));
}
