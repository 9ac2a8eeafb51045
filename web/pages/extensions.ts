/** Extensions page: search, list with registrations, add, and the edit panel (pages/extensions.js). */
import { html } from "../_html.ts";
import { dataTable, type PageDef } from "./_kit.ts";

/** /extensions (admin). */
export const extensionsPage: PageDef = {
  id: "extensions",
  path: "/extensions",
  title: "Extensions",
  admin: true,
  script: "/static/pages/extensions.js",
  body: () =>
    html`
      <form id="ext-search" class="inline" role="search">
        <label for="ext-q">Search</label>
        <input id="ext-q" name="search" type="search" maxlength="64" placeholder="number or name">
        <button type="submit">Search</button>
      </form>
      ${dataTable("ext-table", ["Number", "Name", "Phones", "Actions"])}
      <p class="empty" id="ext-empty" hidden>No extensions.</p>
      <div class="grid">
        <section aria-labelledby="add-h" class="card">
          <h2 id="add-h">Add an extension</h2>
          <form id="ext-add" class="stack">
            <label for="add-number">Number (2-8 digits)</label>
            <input id="add-number" name="number" inputmode="numeric" pattern="[0-9]{2,8}" required>
            <label for="add-name">Name</label>
            <input id="add-name" name="name" maxlength="64" required>
            <label for="add-password">SIP password (8-64 characters)</label>
            <input id="add-password" name="password" type="password" autocomplete="new-password" minlength="8"
              maxlength="64" required>
            <button type="submit">Add extension</button>
          </form>
        </section>
        <section aria-labelledby="edit-h" class="card" id="ext-edit-card" hidden>
          <h2 id="edit-h">Edit extension <span id="edit-number"></span></h2>
          <form id="ext-edit" class="stack">
            <input type="hidden" name="number" id="edit-number-input">
            <label for="edit-name">Name</label>
            <input id="edit-name" name="name" maxlength="64" required>
            <label for="edit-password">New SIP password (leave empty to keep)</label>
            <input id="edit-password" name="password" type="password" autocomplete="new-password" minlength="8"
              maxlength="64">
            <label for="edit-srtp">Encrypted media (SRTP; keys only over TLS)</label>
            <select id="edit-srtp" name="srtp">
              <option value="offered">Offered (default)</option>
              <option value="required">Required (plain calls get 488)</option>
              <option value="off">Off</option>
            </select>
            <label for="edit-callgroups">Call groups (comma separated; empty: none; default 1)</label>
            <input id="edit-callgroups" name="callGroups" autocomplete="off" aria-describedby="edit-groups-help">
            <label for="edit-pickupgroups">Pickup groups (*8 picks up calls ringing in these call groups)</label>
            <input id="edit-pickupgroups" name="pickupGroups" autocomplete="off"
              aria-describedby="edit-groups-help">
            <p id="edit-groups-help" class="note">Group names: letters, digits, - or _. A new extension is in call
              group 1 and pickup group 1.</p>
            <label for="edit-keying">SRTP keys toward its phones</label>
            <select id="edit-keying" name="srtpKeying">
              <option value="sdes">SDES (a=crypto, default)</option>
              <option value="dtls">DTLS-SRTP (phones without SDES)</option>
            </select>
            <label for="edit-transport">Provisioned phones connect over</label>
            <select id="edit-transport" name="sipTransport">
              <option value="udp">UDP (default)</option>
              <option value="tls">TLS (SIP-TLS port, the box's CA, SRTP as above)</option>
            </select>
            <div
              class="buttons"><button type="submit">Save</button> <button type="button" id="edit-cancel" class="secondary">Cancel</button></div>
          </form>
          <h3>Registrations</h3>
          <ul id="edit-regs" class="plain"></ul>
        </section>
      </div>
    `,
};
