// Users: web accounts; add, reset a password (browser prompt), delete (confirm).
import { api } from "../lib/api.js";
import { $ } from "../lib/dom.js";
import { onSubmit } from "../lib/forms.js";
import { say, sayError } from "../lib/messages.js";
import { startPage } from "../lib/page.js";
import { fillTable, row } from "../lib/tables.js";
import { actionButton, deleteButton } from "../lib/crud.js";

startPage(() => {
  const enc = encodeURIComponent;
  const resetPassword = async (username) => {
    const pw = prompt(`New password for ${username} (at least 10 characters):`);
    if (!pw) return;
    try {
      await api("PUT", `/api/users/${enc(username)}/password`, { password: pw });
      say(`Password of ${username} reset.`);
    } catch (x) {
      sayError(x);
    }
  };
  const load = async () => {
    const data = await api("GET", "/api/users");
    fillTable(
      "#users-table",
      null,
      data.items.map((u) =>
        row({ "data-user": u.username }, [u.username, u.role, u.extension ?? "—", {
          actions: [
            actionButton("Reset password", {
              label: `Reset the password of ${u.username}`,
              run: () => resetPassword(u.username),
            }),
            deleteButton(
              `Delete user ${u.username}`,
              `Delete web user ${u.username}?`,
              () => api("DELETE", `/api/users/${enc(u.username)}`),
              load,
              `User ${u.username} deleted.`,
            ),
          ],
        }])
      ),
    );
  };
  onSubmit($("#user-add"), async (v, form) => {
    const body = { username: v.username, role: v.role, password: v.password };
    if (v.extension) body.extension = v.extension;
    await api("POST", "/api/users", body);
    form.reset();
    await load();
    return `User ${v.username} added.`;
  });
  return load();
});
