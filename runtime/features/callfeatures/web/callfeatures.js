// Call features page: forwarding and DND per extension (users: their own), and time conditions
// with their night-mode toggle (admins).
import { api } from "/static/lib/api.js";
import { $ } from "/static/lib/dom.js";
import { list } from "/static/lib/format.js";
import { onSubmit } from "/static/lib/forms.js";
import { actionButton, deleteButton, editButton } from "/static/lib/crud.js";
import { fillTable, row } from "/static/lib/tables.js";
import { h } from "/static/lib/dom.js";
import { startPage } from "/static/lib/page.js";

const enc = encodeURIComponent;
const dash = (v) => (v === null || v === undefined || v === "" ? "—" : String(v));

startPage(async () => {
  const form = $("#cf-form");
  let editing = null;
  const loadForwards = async () => {
    const { items } = await api("GET", "/api/callfeatures/extensions");
    fillTable(
      "#cf-table",
      null,
      items.map((f) =>
        row({ "data-extension": f.extension }, [
          { label: "Extension", value: f.extension },
          { label: "Forward always", value: dash(f.forwardAlways) },
          { label: "On busy", value: dash(f.forwardBusy) },
          { label: "On no answer", value: dash(f.forwardNoAnswer) },
          { label: "Ring s", value: dash(f.noAnswerSeconds) },
          { label: "DND", value: f.dnd ? "on" : "off" },
          {
            actions: [
              editButton(`Edit forwarding of ${f.extension}`, () => {
                editing = f.extension;
                $("#cf-ext").textContent = f.extension;
                $("#cf-always").value = f.forwardAlways ?? "";
                $("#cf-busy").value = f.forwardBusy ?? "";
                $("#cf-noanswer").value = f.forwardNoAnswer ?? "";
                $("#cf-seconds").value = f.noAnswerSeconds ?? "";
                $("#cf-dnd").checked = f.dnd;
                form.hidden = false;
                $("#cf-always").focus();
              }),
              actionButton(f.dnd ? "DND off" : "DND on", {
                label: `Do not disturb ${f.dnd ? "off" : "on"} for ${f.extension}`,
                run: () => api("PUT", `/api/callfeatures/extensions/${enc(f.extension)}`, { dnd: !f.dnd }),
                done: `Do not disturb ${f.dnd ? "off" : "on"} for ${f.extension}.`,
                reload: loadForwards,
              }),
            ],
          },
        ])
      ),
    );
  };
  onSubmit(form, async (v) => {
    await api("PUT", `/api/callfeatures/extensions/${enc(editing)}`, {
      forwardAlways: v.forwardAlways.trim() || null,
      forwardBusy: v.forwardBusy.trim() || null,
      forwardNoAnswer: v.forwardNoAnswer.trim() || null,
      noAnswerSeconds: v.noAnswerSeconds === "" ? null : Number(v.noAnswerSeconds),
      dnd: $("#cf-dnd").checked,
    });
    await loadForwards();
    return `Saved for ${editing}.`;
  });
  await loadForwards();

  if (!$("#tc-table")) return;
  const loadTcs = async () => {
    const { items } = await api("GET", "/api/callfeatures/time-conditions");
    fillTable(
      "#tc-table",
      null,
      items.map((t) =>
        row({ "data-number": t.number }, [
          { label: "Number", value: t.number },
          { label: "Name", value: t.name },
          { label: "Open", value: t.openDestination },
          { label: "Closed", value: t.closedDestination },
          { label: "Now", value: `${t.state.open ? "open" : "closed"} (${t.state.why})` },
          { label: "Mode", value: t.mode },
          {
            actions: [
              actionButton(t.mode === "closed" ? "Night mode off" : "Night mode on", {
                label: `Night mode ${t.mode === "closed" ? "off" : "on"} for ${t.number}`,
                run: () =>
                  api("PUT", `/api/callfeatures/time-conditions/${enc(t.number)}/mode`, { mode: "toggle" }),
                done: `Night mode ${t.mode === "closed" ? "off" : "on"} for ${t.number}.`,
                reload: loadTcs,
              }),
              deleteButton(
                `Delete time condition ${t.number}`,
                `Delete time condition ${t.number}?`,
                () => api("DELETE", `/api/callfeatures/time-conditions/${enc(t.number)}`),
                loadTcs,
                "Time condition deleted.",
              ),
            ],
          },
        ])
      ),
    );
  };
  onSubmit($("#tc-form"), async (v) => {
    const days = list(v.days).map(Number);
    await api("PUT", `/api/callfeatures/time-conditions/${enc(v.number.trim())}`, {
      name: v.name,
      openDestination: v.openDestination.trim(),
      closedDestination: v.closedDestination.trim(),
      hours: days.length ? [{ days, from: v.from, to: v.to }] : [],
      holidays: list(v.holidays).map((date) => ({ date })),
      timeZone: v.timeZone.trim() || null,
    });
    await loadTcs();
    return `Time condition ${v.number} saved.`;
  });
  await loadTcs();

  // Feature codes (admins): edit in place; 409 names the owner of the number.
  const loadCodes = async () => {
    const { items } = await api("GET", "/api/feature-codes");
    fillTable(
      "#fc-table",
      null,
      items.map((f) => {
        const input = h("input", {
          value: f.pattern,
          "aria-label": `Code for ${f.name}`,
          autocomplete: "off",
          size: 10,
          "data-code": f.name,
        });
        return row({ "data-name": f.name }, [
          { label: "Name", value: f.name },
          { label: "Code", value: input },
          { label: "Default", value: f.default },
          { label: "What it does", value: f.description },
          {
            actions: [
              actionButton("Save", {
                label: `Save the code for ${f.name}`,
                run: () => api("PUT", `/api/feature-codes/${enc(f.name)}`, { pattern: input.value.trim() }),
                done: `Code for ${f.name} saved.`,
                reload: loadCodes,
              }),
              actionButton("Default", {
                label: `Put back the default code for ${f.name}`,
                run: () => api("DELETE", `/api/feature-codes/${enc(f.name)}`),
                done: `Code for ${f.name} is ${f.default} again.`,
                reload: loadCodes,
              }),
            ],
          },
        ]);
      }),
    );
  };
  await loadCodes();
});
