/** Users page: web accounts, add, reset password, delete (pages/users.js fills it). */
import { html } from "../_html.ts";
import { dataTable, type PageDef, pwHint } from "./_kit.ts";
import { MIN_WEB_PASSWORD } from "../../runtime/storage/mod.ts";

/** /users (admin). */
export const usersPage: PageDef = {
  id: "users",
  path: "/users",
  title: "Users",
  admin: true,
  script: "/static/pages/users.js",
  body: () =>
    html`
      ${dataTable("users-table", ["User", "Role", "Extension", "Actions"])}
      <div class="grid">
        <section aria-labelledby="adduser-h" class="card">
          <h2 id="adduser-h">Add a web user</h2>
          <form id="user-add" class="stack">
            <label for="user-name">User name</label>
            <input id="user-name" name="username" pattern="[a-z0-9][a-z0-9._\\-]{0,31}" required>
            <label for="user-role">Role</label>
            <select id="user-role"
              name="role"><option value="user">user (own extension only)</option><option value="admin">admin</option></select>
            <label for="user-ext">Extension</label>
            <input id="user-ext" name="extension" inputmode="numeric" pattern="[0-9]{2,8}">
            <label for="user-password">Password (${pwHint})</label>
            <input id="user-password" name="password" type="password" autocomplete="new-password"
              minlength="${MIN_WEB_PASSWORD}" required>
            <button type="submit">Add user</button>
          </form>
        </section>
      </div>
    `,
};
