// Auto attendant page: the IVR menus, a form to create or edit one (greeting text, a target per key,
// timeout, repeats, final target), an uploaded greeting recording, delete.
import { api, upload } from "/static/lib/api.js";
import { $, h } from "/static/lib/dom.js";
import { onSubmit } from "/static/lib/forms.js";
import { actionButton, deleteButton } from "/static/lib/crud.js";
import { fillTable, row } from "/static/lib/tables.js";
import { startPage } from "/static/lib/page.js";

const enc = encodeURIComponent;
const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#"];
const KINDS = [
  ["", "(nothing)"],
  ["dial", "Dial a number"],
  ["menu", "Another menu"],
  ["voicemail", "Voicemail of"],
  ["extension", "Dial by extension"],
  ["directory", "Dial by name"],
  ["hangup", "Hang up"],
];
const NEEDS_NUMBER = new Set(["dial", "menu", "voicemail"]);

/** A target as the API takes it, from a kind select and its number field. */
function targetOf(kind, number) {
  if (kind === "") return undefined;
  if (NEEDS_NUMBER.has(kind) && !/^[0-9*#]{1,16}$/.test(number)) {
    throw new Error(`"${KINDS.find(([k]) => k === kind)[1]}" needs a number (0-9 * #).`);
  }
  if (kind === "voicemail") {
    return { kind: "application", name: "voicemail-deposit", args: { mailbox: number } };
  }
  if (kind === "dial" || kind === "menu") return { kind, number };
  return { kind };
}

/** The kind and number a stored target shows as. */
function fieldsOf(t) {
  if (t === undefined) return ["", ""];
  if (t.kind === "application" && t.name === "voicemail-deposit") return ["voicemail", t.args?.mailbox ?? ""];
  if (t.kind === "dial" || t.kind === "menu") return [t.kind, t.number];
  return [t.kind, ""];
}

function describe(t) {
  const [kind, number] = fieldsOf(t);
  const label = KINDS.find(([k]) => k === kind)?.[1] ?? t.kind;
  return number ? `${label} ${number}` : label;
}

function targetFields(prefix, label) {
  const select = h(
    "select",
    { id: `${prefix}-kind`, name: `${prefix}-kind`, "aria-label": `${label}: what happens` },
    KINDS.map(([v, text]) => h("option", { value: v }, text)),
  );
  const number = h("input", {
    id: `${prefix}-number`,
    name: `${prefix}-number`,
    inputmode: "numeric",
    size: "8",
    "aria-label": `${label}: number`,
  });
  return { select, number };
}

startPage(async () => {
  const keyRows = $("#ivr-keys");
  const fields = {};
  for (const k of KEYS) {
    const f = targetFields(`key-${k === "*" ? "star" : k === "#" ? "hash" : k}`, `Key ${k}`);
    fields[k] = f;
    keyRows.append(h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, f.select), h("td", {}, f.number)));
  }
  const final = targetFields("final", "After the last repeat");
  $("#ivr-final").append(final.select, " ", final.number);
  const form = $("#ivr-form");

  const fill = (m) => {
    form.elements.number.value = m?.number ?? "";
    form.elements.name.value = m?.name ?? "";
    form.elements.greeting.value = m?.greeting ?? "";
    form.elements.timeout.value = String((m?.timeoutMs ?? 5000) / 1000);
    form.elements.repeats.value = String(m?.repeats ?? 2);
    for (const k of KEYS) {
      const [kind, number] = fieldsOf(m?.options?.[k]);
      fields[k].select.value = kind;
      fields[k].number.value = number;
    }
    const [fk, fn] = fieldsOf(m?.final);
    final.select.value = fk;
    final.number.value = fn;
  };

  const load = async () => {
    const { menus } = await api("GET", "/api/ivr/menus");
    fillTable(
      "#ivr-table",
      "#ivr-none",
      menus.map((m) =>
        row({ "data-menu": m.number }, [
          { label: "Number", value: h("code", {}, m.number) },
          { label: "Name", value: m.name },
          {
            label: "Keys",
            value: Object.entries(m.options).map(([k, t]) => `${k}: ${describe(t)}`).join("; "),
          },
          {
            actions: [
              actionButton("Edit", {
                label: `Edit menu ${m.number}`,
                run: () => {
                  fill(m);
                  form.scrollIntoView();
                },
              }),
              deleteButton(
                `Delete menu ${m.number}`,
                `Delete the menu ${m.number} (${m.name})?`,
                () => api("DELETE", `/api/ivr/menus/${enc(m.number)}`),
                load,
                `Menu ${m.number} deleted.`,
              ),
            ],
          },
        ])
      ),
    );
  };

  onSubmit(form, async (v) => {
    const options = {};
    for (const k of KEYS) {
      const t = targetOf(fields[k].select.value, fields[k].number.value.trim());
      if (t !== undefined) options[k] = t;
    }
    const body = {
      name: v.name,
      greeting: v.greeting,
      options,
      timeoutMs: Math.round(Number(v.timeout) * 1000),
      repeats: Number(v.repeats),
    };
    const f = targetOf(final.select.value, final.number.value.trim());
    if (f !== undefined) body.final = f;
    const m = await api("PUT", `/api/ivr/menus/${enc(v.number)}`, body);
    const file = form.querySelector("#ivr-greeting-file").files[0];
    if (file) {
      await upload(`/api/ivr/menus/${enc(m.number)}/greeting`, file, "audio/wav", "PUT");
      form.querySelector("#ivr-greeting-file").value = "";
    }
    await load();
    return `Menu ${m.number} saved${file ? " with its recorded greeting" : ""}.`;
  });
  $("#ivr-new").addEventListener("click", () => fill(undefined));
  fill(undefined);
  await load();
});
