/** My extension: a user's own extension, registered phones and web password (pages/me.js fills it). */
import { html } from "../_html.ts";
import { dataTable, type PageDef, pwHint } from "./_kit.ts";
import { MIN_WEB_PASSWORD } from "../../runtime/storage/mod.ts";

/** /me (every signed-in user). */
export const mePage: PageDef = {
  id: "me",
  path: "/me",
  title: "My extension",
  admin: false,
  needsExtension: true,
  script: "/static/pages/me.js",
  body: () =>
    html`
      <section aria-labelledby="ext-h" class="card">
        <h2 id="ext-h">Extension</h2>
        <dl class="facts" id="my-extension"></dl>
      </section>
      <section aria-labelledby="myregs-h" class="card">
        <h2 id="myregs-h">My phones</h2>
        ${dataTable("my-regs", ["Address", "Phone", "Expires"])}
        <p class="empty" id="my-regs-empty">No phone is registered to your extension.</p>
      </section>
      <section aria-labelledby="pw-h" class="card">
        <h2 id="pw-h">Change my web password</h2>
        <form id="password-form" class="stack">
          <label for="pw-current">Current password</label>
          <input id="pw-current" name="currentPassword" type="password" autocomplete="current-password" required>
          <label for="pw-new">New password (${pwHint})</label>
          <input id="pw-new" name="newPassword" type="password" autocomplete="new-password" minlength="${MIN_WEB_PASSWORD}"
            required>
          <button type="submit">Change password</button>
        </form>
      </section>
    `,
};
