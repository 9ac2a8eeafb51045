/** The login form (pages/login.js posts it to /api/auth/login with cookie: true). */
import { type Html, html } from "../_html.ts";

/** /login (pages.ts serves it without a session). */
export const loginPage = {
  id: "login",
  path: "/login",
  title: "Log in",
  script: "/static/pages/login.js",
  body: (): Html =>
    html`
      <form id="login-form" class="stack card narrow">
        <label for="login-username">User name</label>
        <input id="login-username" name="username" autocomplete="username" autocapitalize="none" required>
        <label for="login-password">Password</label>
        <input id="login-password" name="password" type="password" autocomplete="current-password" required>
        <button type="submit">Log in</button>
      </form>
    `,
} as const;
