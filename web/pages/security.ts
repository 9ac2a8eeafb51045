/** Security page: blocks with unblock, security events, and the allow-list form (pages/security.js). */
import { html } from "../_html.ts";
import type { PageDef } from "./_kit.ts";

/** /security (admin). */
export const securityPage: PageDef = {
  id: "security",
  path: "/security",
  title: "Security",
  admin: true,
  script: "/static/pages/security.js",
  body: () =>
    html`
      <section aria-labelledby="blocks-h" class="card">
        <h2 id="blocks-h">Blocked sources and locked accounts</h2>
        <p>Repeated failed SIP or web logins block the source address, and lock the extension or web account after too many failures from anywhere. Blocks end by themselves; unblock lifts one now. See <code>docs/security.md</code>.</p>
        <div class="table-wrap">
          <table id="blocks-table">
            <thead>
              <tr>
                <th scope="col">What</th>
                <th scope="col">Address or account</th>
                <th scope="col">Failures</th>
                <th
                  scope="col">Until</th>
                <th scope="col"></th>
              </tr>
            </thead>
            <tbody></tbody>
          </table>
        </div>
        <p id="blocks-empty" hidden>Nothing is blocked.</p>
      </section>
      <section aria-labelledby="events-h" class="card">
        <h2 id="events-h">Recent security events</h2>
        <p>Blocks, lockouts, unblocks and allow-list changes, from the audit log.</p>
        <div class="table-wrap">
          <table id="security-events">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Event</th>
                <th scope="col">Who</th>
                <th scope="col">From</th>
              </tr>
            </thead>
            <tbody></tbody>
          </table>
        </div>
      </section>
      <section aria-labelledby="allow-h" class="card">
        <h2 id="allow-h">Allow-list</h2>
        <p>Networks that are never blocked by source address for SIP authentication (the office's own networks), one per line, e.g. <code>192.168.1.0/24</code>. Extension lockout still applies to them.</p>
        <form id="allow-form" class="stack">
          <label for="allow-networks">Networks (CIDR)</label>
          <textarea id="allow-networks" name="networks" rows="5" spellcheck="false"></textarea>
          <button type="submit">Save allow-list</button>
        </form>
      </section>
    `,
};
