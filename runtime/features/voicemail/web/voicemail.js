// Visual voicemail: a mailbox's messages (play in the browser, download, mark read/unread, delete),
// its email and PIN, and greeting uploads. Users see their own mailbox; admins choose any.
import { api, upload } from "/static/lib/api.js";
import { $, h } from "/static/lib/dom.js";
import { duration, time } from "/static/lib/format.js";
import { onSubmit } from "/static/lib/forms.js";
import { actionButton, deleteButton } from "/static/lib/crud.js";
import { fillTable, row } from "/static/lib/tables.js";
import { startPage } from "/static/lib/page.js";

const enc = encodeURIComponent;

startPage(async () => {
  const { mailboxes } = await api("GET", "/api/voicemail/mailboxes");
  const pick = $("#vm-mailbox");
  pick.replaceChildren(...mailboxes.map((b) => h("option", { value: b.mailbox }, b.mailbox)));
  $("#vm-none").hidden = mailboxes.length > 0;
  $("#vm-main").hidden = mailboxes.length === 0;
  if (mailboxes.length === 0) return;
  // A link from a new-message mail: /voicemail?mailbox=201&message=7 opens that mailbox, message marked.
  const wanted = new URLSearchParams(location.search);
  if (mailboxes.some((b) => b.mailbox === wanted.get("mailbox"))) pick.value = wanted.get("mailbox");
  const mailbox = () => pick.value;

  const load = async () => {
    const box = await api("GET", `/api/voicemail/mailboxes/${enc(mailbox())}`);
    $("#vm-counts").textContent = `${box.newMessages} new, ${box.oldMessages} old` +
      (box.lockedUntil && box.lockedUntil > Date.now() ? " (PIN locked)" : "");
    $("#vm-email").value = box.email ?? "";
    const { messages } = await api("GET", `/api/voicemail/mailboxes/${enc(mailbox())}/messages`);
    fillTable(
      "#vm-table",
      "#vm-empty",
      messages.slice().reverse().map((m) => {
        const src = `/api/voicemail/messages/${m.id}/audio`;
        return row({ "data-message": String(m.id), class: m.read ? "" : "unread" }, [
          { label: "From", value: m.callerName ? `${m.callerName} (${m.caller})` : m.caller },
          { label: "Received", value: time(m.receivedAt) },
          { label: "Length", value: duration(m.durationMs) },
          { label: "Status", value: m.read ? "read" : "new" },
          {
            label: "Play",
            value: h("audio", {
              controls: "",
              preload: "none",
              src,
              "aria-label": `Message from ${m.caller}`,
            }),
          },
          {
            actions: [
              actionButton(m.read ? "Mark unread" : "Mark read", {
                label: `${m.read ? "Mark unread" : "Mark read"} message ${m.id}`,
                run: () => api("PATCH", `/api/voicemail/messages/${m.id}`, { read: !m.read }),
                reload: load,
              }),
              h("a", { href: `${src}?download=1`, class: "button secondary", download: "" }, "Download"),
              deleteButton(
                `Delete message ${m.id}`,
                `Delete the message from ${m.caller}?`,
                () => api("DELETE", `/api/voicemail/messages/${m.id}`),
                load,
                "Message deleted.",
              ),
            ],
          },
        ]);
      }),
    );
  };
  pick.addEventListener("change", () => void load());
  onSubmit($("#vm-settings"), async (v) => {
    await api("PUT", `/api/voicemail/mailboxes/${enc(mailbox())}`, {
      email: v.email === "" ? null : v.email,
    });
    return "Email saved.";
  });
  onSubmit($("#vm-pin-form"), async (v, form) => {
    await api("PUT", `/api/voicemail/mailboxes/${enc(mailbox())}/pin`, { pin: v.pin });
    form.reset();
    await load();
    return "PIN changed.";
  });
  onSubmit($("#vm-greeting-form"), async (v, form) => {
    const file = form.querySelector("#vm-greeting-file").files[0];
    if (!file) throw new Error("Choose a WAV file.");
    const g = await upload(
      `/api/voicemail/mailboxes/${enc(mailbox())}/greetings/${enc(v.kind)}`,
      file,
      "audio/wav",
    );
    form.reset();
    return `The ${g.kind} greeting is saved (${(g.durationMs / 1000).toFixed(1)} s).`;
  });
  await load();
  const linked = wanted.get("message");
  const target = linked && document.querySelector(`#vm-table tr[data-message="${CSS.escape(linked)}"]`);
  if (target) {
    target.classList.add("linked");
    target.scrollIntoView({ block: "center" });
  }
});
