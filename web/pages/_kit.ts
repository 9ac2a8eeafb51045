/**
 * What every page module shares: the page definition type, the layout (head, skip link, navigation,
 * message line) and the empty data table that the page's browser script fills.
 */
import { Html, html } from "../_html.ts";
import type { AuthUser } from "../_env.ts";
import type { BoxInfo } from "../types.ts";
import { MIN_WEB_PASSWORD } from "../../runtime/storage/mod.ts";

/** What a page's `body` gets. */
export interface PageContext {
  box: BoxInfo;
  user: AuthUser;
}

/**
 * One page of the admin UI: its path, title (also the navigation label), who may see it, its
 * server-rendered main content and the browser script that fills it (a path under /static/).
 */
export interface PageDef {
  /** `body data-page`, and the name of its script by convention (`pages/<id>.js`). */
  id: string;
  path: string;
  title: string;
  /** Admin only (a user-role session gets 403); false: every signed-in user. */
  admin: boolean;
  /** Not in the menu of an admin without an extension (`/me`). */
  needsExtension?: boolean;
  /** A stand-in (e.g. "not in this build") that a feature's page of the same path replaces. */
  placeholder?: boolean;
  /** The page's script, as served: `/static/pages/<id>.js`, `/static/features/<name>/<file>.js`. */
  script?: string;
  body(c: PageContext): Html;
}

/** Hint for web password fields. */
export const pwHint = `at least ${MIN_WEB_PASSWORD} characters`;

/**
 * An empty data table that the page script fills: the scrolling wrapper, the column headers (with
 * `scope="col"` for screen readers) and an empty body.
 */
export function dataTable(id: string, columns: string[], options: { class?: string } = {}): Html {
  return html`
    <div class="table-wrap">
      <table id="${id}" ${options.class === undefined ? "" : html`
        class="${options.class}"
      `}>
        <thead>
          <tr>${columns.map((c) => html`<th scope="col">${c}</th>`)}</tr>
        </thead>
        <tbody></tbody>
      </table>
    </div>
  `;
}

/** A navigation entry. */
export interface NavItem {
  href: string;
  label: string;
  admin: boolean;
  needsExtension?: boolean | undefined;
}

/**
 * The whole document: head with the CSRF token, the shell script (/static/app.js: logout) and the
 * page's own script as ES modules, skip link, navigation for a signed-in user, the title and the
 * message line (`say()` in lib/messages.js), then the page's main content.
 */
export function layout(
  o: {
    title: string;
    page: string;
    path: string;
    nav: readonly NavItem[];
    script?: string | undefined;
    user?: AuthUser | undefined;
    csrf?: string | undefined;
  },
  main: Html,
): Html {
  const user = o.user;
  const nav = user === undefined ? "" : html`
    <nav class="site-nav" aria-label="Main">
      <ul>
        ${o.nav.filter((n) =>
          user.role === "admin" ? !n.needsExtension || user.extension !== undefined : !n.admin
        )
          .map((n) =>
            html`<li><a href="${n.href}"${new Html(
              n.href === o.path ? ' aria-current="page"' : "",
            )}>${n.label}</a></li>`
          )}
      </ul>
      <form class="logout" id="logout-form">
        <span class="whoami">${user.username} (${user.role})</span>
        <button type="submit">Log out</button>
      </form>
    </nav>
  `;
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="csrf-token" content="${o.csrf ?? ""}">
        <title>${o.title} · PBX</title>
        <link rel="stylesheet" href="/static/style.css">
        <link rel="icon" href="data:,">
        <script type="module" src="/static/app.js"></script>
        ${o.script === undefined ? "" : html`<script type="module" src="${o.script}"></script>`}
      </head>
      <body data-page="${o.page}">
        <a class="skip-link" href="#main">Skip to main content</a>
        <header class="site-header">
      <a class="brand" href="/">PBX</a>
      ${nav}
        </header>
        <main id="main" tabindex="-1">
    <h1>${o.title}</h1>
    <p class="message" id="message" role="status" aria-live="polite" hidden></p>
    ${main}
        </main>
      </body>
    </html>
  `;
}
