/**
 * The admin UI: server-rendered page shells (layout, navigation, forms, empty tables) that
 * /static/app.js fills from the REST API. No inline scripts or styles, so the strict CSP holds.
 * Pages authenticate by session cookie only; without one they redirect to /login (or /setup).
 */
import { type Context, Hono } from "hono";
import type { Storage } from "../runtime/storage/mod.ts";
import { DISPOSITIONS, MIN_WEB_PASSWORD } from "../runtime/storage/mod.ts";
import { Html, html } from "./_html.ts";
import { csrfTokenFor, resolveAuth } from "./_session.ts";
import type { BoxInfo } from "./types.ts";
import { securityPage } from "./_security_page.ts";
import { dataTable, layout, type NavItem, type PageDef, pwHint } from "./pages/_kit.ts";
import { extensionsPage } from "./pages/extensions.ts";

function boxSection(box: BoxInfo): Html {
  const addrs = box.addresses.length === 0
    ? html`<li>(no address known yet: check your router's DHCP list)</li>`
    : box.addresses.map((a) =>
      html`<li><code>http://${a}${box.httpPort === 80 ? "" : `:${box.httpPort}`}/</code></li>`
    );
  return html`
    <section aria-labelledby="box-h">
      <h2 id="box-h">This box</h2>
      <p>Open the web interface at:</p>
      <ul class="addresses">${addrs}</ul>
      <dl class="facts">
        <dt>SIP (phones register here)</dt>
        <dd>UDP/TCP port ${box.sipPort}${box.addresses[0] === undefined
          ? ""
          : html`, server <code>${box.addresses[0]}</code>`}</dd>
        <dt>Provisioning (TFTP)</dt>
        <dd>UDP port ${box.tftpPort}</dd>
        <dt>Web</dt>
        <dd>TCP port ${box.httpPort}</dd>
      </dl>
      <h3>What to plug where</h3>
      <ul>
        <li>The box's <strong>network port</strong> goes to your office switch (the same network as the phones).</li>
        <li><strong>Desk phones</strong> plug into the switch (PoE or their power supply); point their DHCP option 66 or their provisioning URL at this box, or assign them on the Phones page once they appear.</li>
        <li><strong>Paging amplifiers and speakers</strong> go to the box's audio outputs (USB or line out); map them to zones on the Paging page.</li>
      </ul>
    </section>
  `;
}

function dispositionOptions(): Html[] {
  return DISPOSITIONS.map((d) => html`<option value="${d}">${d}</option>`);
}

const LEGACY: Record<string, Omit<PageDef, "id" | "path">> = {
  dashboard: {
    title: "Dashboard",
    admin: true,
    body: () =>
      html`
        <p class="live" id="live-status" role="status" aria-live="polite">Connecting to live updates…</p>
        <div class="grid">
          <section aria-labelledby="regs-h" class="card wide">
            <h2 id="regs-h">Registered phones <span class="count" id="regs-count"></span></h2>
            ${dataTable("regs-table", ["Extension", "Address", "Phone", "Expires"])}
            <p class="empty" id="regs-empty">No phones registered.</p>
          </section>
          <section aria-labelledby="calls-h" class="card">
            <h2 id="calls-h">Calls in progress <span class="count" id="calls-count"></span></h2>
            ${dataTable("calls-table", ["From", "To", "State", "Since"])}
            <p class="empty" id="calls-empty">No calls right now.</p>
          </section>
          <section aria-labelledby="zones-h" class="card">
            <h2 id="zones-h">Paging zones</h2>
            <ul id="zones-list" class="plain"></ul>
            <p class="empty" id="zones-empty">No paging zones.</p>
          </section>
          <section aria-labelledby="health-h" class="card">
            <h2 id="health-h">System health</h2>
            <dl class="facts" id="health"></dl>
          </section>
        </div>
      `,
  },
  me: {
    title: "My extension",
    admin: false,
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
  },
  phones: {
    title: "Phones",
    admin: true,
    body: () =>
      html`
        <p>Phones that asked this box for their configuration (TFTP/HTTP provisioning) appear here. Assign one to an extension and it is configured at its next fetch.</p>
        <p class="notice" id="phones-unavailable" hidden>Phone provisioning is not available in this build.</p>
        ${dataTable(
          "phones-table",
          ["MAC", "Vendor / model", "Extension", "Status", "Last fetch", "Provisioning window", "Actions"],
          { class: "stack-sm" },
        )}
        <p class="empty" id="phones-empty" hidden>No phones discovered yet.</p>
        <p
          class="note">Re-provision asks a registered phone to fetch its configuration now (SIP NOTIFY check-sync); phones that are not registered pick up changes at their next reboot.</p>
        <section aria-labelledby="assign-h" class="card">
          <h2 id="assign-h">Assign a phone</h2>
          <form id="phone-assign" class="stack">
            <label for="assign-mac">MAC address</label>
            <input id="assign-mac" name="mac" required pattern="([0-9A-Fa-f]{2}[:\\-]?){5}[0-9A-Fa-f]{2}"
              placeholder="00:15:65:12:34:56">
            <label for="assign-ext">Extension</label>
            <input id="assign-ext" name="extension" inputmode="numeric" pattern="[0-9]{2,8}" required>
            <button type="submit">Assign</button>
          </form>
        </section>
        <section aria-labelledby="keys-h" class="card">
          <h2 id="keys-h">Keys</h2>
          <p>BLF, speed-dial and park keys of one phone, one per line: <code>blf 202 Bob</code>, <code>speeddial *97 Voicemail</code>, <code>park 701 Park 1</code>. Numbers must be in the number plan; the phone gets them at its next fetch.</p>
          <form id="phone-keys" class="stack">
            <label for="keys-mac">MAC address</label>
            <input id="keys-mac" name="mac" required pattern="([0-9A-Fa-f]{2}[:\\-]?){5}[0-9A-Fa-f]{2}"
              placeholder="00:15:65:12:34:56">
            <label for="keys-list">Keys (type number label)</label>
            <textarea id="keys-list" name="keys" rows="6" autocomplete="off" autocapitalize="none"></textarea>
            <button type="submit">Save keys</button>
          </form>
        </section>
        <section aria-labelledby="provsec-h" class="card">
          <h2 id="provsec-h">Provisioning security</h2>
          <p>A phone's file with its SIP password goes out only during its provisioning window, which opens when the phone is assigned or re-provisioned (or with "Open window" above); afterwards only over HTTPS with the phone's own HTTP user and password. TFTP then serves only files without passwords.</p>
          <form id="prov-security" class="stack">
            <label class="check" for="ps-window"><input id="ps-window" name="requireWindow" type="checkbox"> Require a provisioning window for SIP passwords</label>
            <label for="ps-minutes">Window length (minutes)</label>
            <input id="ps-minutes" name="windowMinutes" type="number" min="1" max="1440" required>
            <label for="ps-networks">Networks that may read the phone book without credentials (comma separated, e.g. 192.168.1.0/24)</label>
            <input id="ps-networks" name="phonebookNetworks" autocomplete="off" autocapitalize="none">
            <div class="buttons"><button type="submit">Save</button></div>
          </form>
          <h3 id="blocks-h">Blocked addresses</h3>
          <p class="note">An address that asks for too many unknown files or MACs, or sends wrong credentials, is blocked from provisioning for a while.</p>
          ${dataTable("prov-blocks", [
            "Address",
            "Blocked until",
            "Misses",
            "Refused",
            "Last reason",
            "Actions",
          ])}
          <p class="empty" id="prov-blocks-empty">No address is blocked.</p>
        </section>
        <section aria-labelledby="tpl-h">
          <h2 id="tpl-h">Provisioning templates</h2>
          <p>Each phone's configuration file is made from a template per make and file. Edit one to change what every phone of that make gets; a template must compile before it is saved, and you can preview it for a phone before anything is sent.</p>
          <p class="notice" id="tpl-unavailable" hidden>Template editing is not available in this build.</p>
          ${dataTable("tpl-table", ["Template", "Make", "File", "State", "Actions"], { class: "stack-sm" })}
          <section class="card editor" id="tpl-editor" aria-labelledby="tpl-editor-h" hidden>
            <h3 id="tpl-editor-h">Edit template <code id="tpl-key"></code></h3>
            <p class="note" id="tpl-state"></p>
            <form id="tpl-form" class="stack">
              <input type="hidden" name="key" id="tpl-key-input">
              <label for="tpl-body">Template text</label>
              <textarea id="tpl-body" name="body" class="code" rows="18" maxlength="65536" spellcheck="false"
                autocapitalize="off" autocomplete="off" wrap="off" aria-describedby="tpl-error tpl-help"></textarea>
              <p class="field-error" id="tpl-error" role="alert" hidden></p>
              <p class="note"
                id="tpl-help">Variables are written <code>{{ account.number }}</code>. Tab moves on to the next control.</p>
              <div class="buttons">
                <button type="submit">Save template</button>
                <button type="button" id="tpl-reset" class="danger">Reset to shipped</button>
                <button type="button" id="tpl-close" class="secondary">Close</button>
              </div>
            </form>
            <form id="tpl-preview-form" class="stack">
              <h4>Preview for a phone</h4>
              <label for="tpl-mac">Phone to preview for (its MAC; needed for per-phone files)</label>
              <input id="tpl-mac" name="mac" list="tpl-macs" autocomplete="off" autocapitalize="none"
                pattern="\\s*([0-9A-Fa-f]{2}[:\\-]?){5}[0-9A-Fa-f]{2}\\s*" placeholder="00:15:65:12:34:56">
              <datalist id="tpl-macs"></datalist>
              <label class="check"
                for="tpl-secrets"><input id="tpl-secrets" name="showSecrets" type="checkbox"> Show SIP passwords (recorded in the audit log)</label>
              <div class="buttons"><button type="submit">Preview</button></div>
            </form>
            <p class="note" id="tpl-preview-note" role="status" aria-live="polite"></p>
            <pre id="tpl-preview" class="preview" tabindex="0" aria-label="Preview of the rendered file" hidden></pre>
          </section>
        </section>
      `,
  },
  paging: {
    title: "Paging",
    admin: true,
    body: () =>
      html`
        <p class="notice" id="paging-unavailable" hidden>Paging is not available in this build.</p>
        <nav class="toc" aria-label="On this page">
          <a href="#pz-h">Zones</a> <a href="#groups-h">Groups</a> <a href="#perm-h">Who may page</a>
          <a href="#sched-h">Bells</a> <a href="#sounds-h">Sounds</a>
        </nav>
        <section aria-labelledby="pz-h">
          <h2 id="pz-h">Zones</h2>
          <p class="note" id="paging-live" role="status" aria-live="polite"></p>
          ${dataTable("zones-table", ["Number", "Name", "Output", "Volume", "State", "Actions"])}
          <p class="empty" id="zones-empty" hidden>No zones configured.</p>
          <form id="zone-form" class="stack card">
            <h3 id="zone-form-h">Add or change a zone</h3>
            <label for="zone-number">Zone number (dial code)</label>
            <input id="zone-number" name="number" inputmode="numeric" pattern="[0-9]{1,8}" required>
            <label for="zone-name">Name</label>
            <input id="zone-name" name="name" maxlength="64" required>
            <label for="zone-output">Audio output (ALSA device, e.g. hw:1,0; empty for none)</label>
            <input id="zone-output" name="alsaDevice" maxlength="128" autocomplete="off" list="zone-devices"
              aria-describedby="zone-devices-note">
            <datalist id="zone-devices"></datalist>
            <p class="note" id="zone-devices-note"></p>
            <label for="zone-channels">Output channels (comma separated, e.g. 1 or 1, 2)</label>
            <input id="zone-channels" name="channels" pattern="\\s*[0-9]{1,2}(\\s*,\\s*[0-9]{1,2})*\\s*" value="1"
              required>
            <label for="zone-volume">Volume (0-100)</label>
            <input id="zone-volume" name="volume" type="number" min="0" max="100" value="80" required>
            <label class="check"
              for="zone-enabled"><input id="zone-enabled" name="enabled" type="checkbox" checked> Enabled</label>
            <div class="buttons">
              <button type="submit">Save zone</button> <button type="reset" class="secondary">Clear</button>
            </div>
          </form>
        </section>
        <section aria-labelledby="groups-h">
          <h2 id="groups-h">Groups</h2>
          ${dataTable("groups-table", ["Number", "Name", "Zones", "Actions"])}
          <p class="empty" id="groups-empty" hidden>No groups.</p>
          <form id="group-form" class="stack card">
            <h3>Add or change a group</h3>
            <label for="group-number">Group number (dial code)</label>
            <input id="group-number" name="number" inputmode="numeric" pattern="[0-9]{1,8}" required>
            <label for="group-name">Name</label>
            <input id="group-name" name="name" maxlength="64" required>
            <fieldset id="group-zones" class="choices">
              <legend>Zones in the group</legend>
            </fieldset>
            <div class="buttons">
              <button type="submit">Save group</button> <button type="reset" class="secondary">Clear</button>
            </div>
          </form>
        </section>
        <section aria-labelledby="perm-h">
          <h2 id="perm-h">Who may page</h2>
          <p class="note">An extension without an entry may not page. "All zones" allows every zone and group.</p>
          ${dataTable("perm-table", ["Extension", "May page", "Actions"])}
          <p class="empty" id="perm-empty" hidden>No extension may page yet.</p>
          <form id="perm-form" class="stack card">
            <h3>Set what an extension may page</h3>
            <label for="perm-ext">Extension</label>
            <input id="perm-ext" name="extension" inputmode="numeric" pattern="[0-9]{2,8}" required>
            <fieldset id="perm-targets" class="choices">
              <legend>Zones and groups it may page</legend>
            </fieldset>
            <div class="buttons">
              <button type="submit">Save permissions</button> <button type="reset" class="secondary">Clear</button>
            </div>
          </form>
        </section>
        <section aria-labelledby="sched-h">
          <h2 id="sched-h">Scheduled bells</h2>
          ${dataTable("sched-table", ["Name", "Zone or group", "When", "Sound", "Next", "Actions"])}
          <p class="empty" id="sched-empty" hidden>No scheduled bells.</p>
          <form id="sched-form" class="stack card">
            <h3>Add or change a bell</h3>
            <input type="hidden" name="id" id="sched-id">
            <label for="sched-name">Name</label>
            <input id="sched-name" name="name" maxlength="64" required>
            <label for="sched-target">Zone or group</label>
            <select id="sched-target" name="target" required></select>
            <label for="sched-wav">Sound (WAV file path)</label>
            <input id="sched-wav" name="wavPath" list="sched-sounds" required pattern="/.+" autocomplete="off"
              aria-describedby="sched-wav-note">
            <datalist id="sched-sounds"></datalist>
            <p class="note" id="sched-wav-note">Pick an uploaded sound (see Sounds below) or type its full path.</p>
            <fieldset id="sched-days" class="choices">
              <legend>Days</legend>
              ${["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map((d, i) =>
                html`<label class="check"><input type="checkbox" name="weekday" value="${
                  String(i + 1)
                }"${new Html(
                  i < 5 ? " checked" : "",
                )}> ${d}</label>`
              )}
            </fieldset>
            <label for="sched-time">Time</label>
            <input id="sched-time" name="time" type="time" required value="08:00">
            <label for="sched-exceptions">Dates without the bell (YYYY-MM-DD, comma separated)</label>
            <input id="sched-exceptions" name="exceptions" placeholder="2026-12-24, 2026-12-25"
              pattern="\\s*([0-9]{4}-[0-9]{2}-[0-9]{2}(\\s*,\\s*[0-9]{4}-[0-9]{2}-[0-9]{2})*)?\\s*">
            <label class="check"
              for="sched-enabled"><input id="sched-enabled" name="enabled" type="checkbox" checked> Enabled</label>
            <div class="buttons">
              <button type="submit">Save bell</button> <button type="reset" class="secondary">Clear</button>
            </div>
          </form>
        </section>
        <section aria-labelledby="sounds-h">
          <h2 id="sounds-h">Sounds</h2>
          <p class="notice" id="sounds-unavailable"
            hidden>Sound upload is not available in this build: give bells the full path of a WAV file on the box.</p>
          <ul id="sounds-list" class="plain"></ul>
          <form id="sound-form" class="stack card">
            <h3>Upload a bell sound</h3>
            <label for="sound-file">WAV file (at most 10 MiB)</label>
            <input id="sound-file" name="file" type="file" accept=".wav,audio/wav,audio/x-wav" required>
            <label class="check"
              for="sound-replace"><input id="sound-replace" name="replace" type="checkbox"> Replace a sound with the same name</label>
            <div class="buttons"><button type="submit">Upload sound</button></div>
          </form>
        </section>
      `,
  },
  cdr: {
    title: "Call records",
    admin: false,
    body: () =>
      html`
        <form id="cdr-filter" class="filters">
          <div><label for="cdr-from">From date</label><input id="cdr-from" name="from" type="date"></div>
          <div><label for="cdr-to">To date</label><input id="cdr-to" name="to" type="date"></div>
          <div><label for="cdr-ext">Extension</label><input id="cdr-ext" name="extension" inputmode="numeric" pattern="[0-9]{2,8}"></div>
          <div><label for="cdr-disp">Result</label><select id="cdr-disp" name="disposition"><option value="">any</option>${dispositionOptions()}</select></div>
          <div
            class="buttons"><button type="submit">Filter</button> <a class="button secondary" id="cdr-csv" href="/api/cdr.csv" download>Download CSV</a></div>
        </form>
        <p id="cdr-total"></p>
        ${dataTable("cdr-table", ["Start", "From", "To", "Result", "Talk time"])}
        <p class="empty" id="cdr-empty" hidden>No call records match.</p>
      `,
  },
  voicemail: {
    title: "Voicemail",
    admin: false,
    body: () =>
      html`
        <p
          class="notice">Voicemail is not part of this build yet, so there are no messages to show. When it is added, your inbox will appear here.</p>
      `,
  },
  users: {
    title: "Users",
    admin: true,
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
  },
  system: {
    title: "System",
    admin: true,
    body: () =>
      html`
        <div class="grid">
          <section aria-labelledby="sh-h" class="card">
            <h2 id="sh-h">Health</h2>
            <dl class="facts" id="health"></dl>
          </section>
          <section aria-labelledby="net-h" class="card">
            <h2 id="net-h">Network</h2>
            <p id="host-note" class="notice" hidden></p>
            <dl class="facts" id="host-net" aria-label="Network in effect"></dl>
            <div id="net-pending" class="notice" role="status" aria-live="polite" hidden>
              <p id="net-pending-text"></p>
              <div class="buttons"><button type="button" id="net-confirm">Keep the new network settings</button></div>
            </div>
            <form id="net-form" class="stack">
              <label for="net-mode">Address</label>
              <select id="net-mode"
                name="mode"><option value="dhcp">automatic (DHCP)</option><option value="static">static</option></select>
              <label for="net-hostname">Host name</label>
              <input id="net-hostname" name="hostname" required maxlength="63">
              <label for="net-address">IPv4 address</label>
              <input id="net-address" name="address" inputmode="decimal" placeholder="192.168.1.10">
              <label for="net-prefix">Prefix length</label>
              <input id="net-prefix" name="prefix" type="number" min="1" max="32" placeholder="24">
              <label for="net-gateway">Gateway</label>
              <input id="net-gateway" name="gateway" inputmode="decimal">
              <label for="net-dns">DNS servers (comma separated)</label>
              <input id="net-dns" name="dns">
              <button type="submit">Save network settings</button>
            </form>
          </section>
          <section aria-labelledby="time-h" class="card">
            <h2 id="time-h">Time</h2>
            <dl class="facts" id="host-time" aria-label="Time in effect"></dl>
            <form id="time-form" class="stack">
              <label for="time-tz">Time zone</label>
              <input id="time-tz" name="timezone" required placeholder="Europe/Berlin">
              <label for="time-ntp">NTP servers (comma separated)</label>
              <input id="time-ntp" name="ntpServers">
              <button type="submit">Save time settings</button>
            </form>
          </section>
          <section aria-labelledby="smtp-h" class="card">
            <h2 id="smtp-h">E-mail (SMTP)</h2>
            <form id="smtp-form" class="stack">
              <label for="smtp-host">Server</label>
              <input id="smtp-host" name="host" required>
              <label for="smtp-port">Port</label>
              <input id="smtp-port" name="port" type="number" min="1" max="65535" value="587" required>
              <label for="smtp-security">Security</label>
              <select id="smtp-security"
                name="security"><option value="starttls">STARTTLS</option><option value="tls">TLS</option><option value="none">none</option></select>
              <label for="smtp-user">User name</label>
              <input id="smtp-user" name="username" autocomplete="off">
              <label for="smtp-password">Password (leave empty to keep)</label>
              <input id="smtp-password" name="password" type="password" autocomplete="new-password">
              <label for="smtp-from">Sender address</label>
              <input id="smtp-from" name="from" type="email" required>
              <button type="submit">Save SMTP settings</button>
            </form>
          </section>
          <section aria-labelledby="backup-h" class="card">
            <h2 id="backup-h">Backup</h2>
            <p>A consistent copy of the configuration and call-record database. Keep it safe: it holds password hashes. It does not include <code>secret.key</code>, which encrypts SIP passwords; back that file up separately once.</p>
            <p><a class="button" href="/api/system/backup" download>Download backup</a></p>
          </section>
          <section aria-labelledby="restore-h" class="card">
            <h2 id="restore-h">Restore a backup</h2>
            <p>Upload a backup file made with <em>Download backup</em>. It is checked and <strong>staged</strong>: it replaces the configuration and call records at the <strong>next start</strong> of the box, and everything changed since the backup was made is lost.</p>
            <p
              class="notice">SIP passwords in a backup are encrypted with the box's <code>secret.key</code>. Restoring onto the same box needs nothing more. To restore onto another box, copy the old box's <code>secret.key</code> into its data directory as well, or the SIP passwords cannot be read and must be set again.</p>
            <p id="restore-status" role="status" aria-live="polite">Checking for a staged restore…</p>
            <div
              class="buttons"><button type="button" id="restore-cancel" class="danger" hidden>Cancel staged restore</button></div>
            <form id="restore-form" class="stack">
              <label for="restore-file">Backup file (.sqlite)</label>
              <input id="restore-file" name="file" type="file" accept=".sqlite,.sqlite3,.db,application/vnd.sqlite3"
                required>
              <button type="submit">Upload and stage restore</button>
            </form>
          </section>
          <section aria-labelledby="fw-h" class="card">
            <h2 id="fw-h">Firmware and restart</h2>
            <p>Upload a signed firmware bundle (<code>.pbxfw</code>). It is checked and unpacked into the spare slot, then <strong>switched to at the next restart</strong>. If the new version does not come up healthy after a few restarts, the box goes back to the current one by itself.</p>
            <dl class="facts" id="fw-facts"></dl>
            <p id="fw-status" role="status" aria-live="polite">Checking the firmware…</p>
            <div
              class="buttons"><button type="button" id="fw-cancel" class="danger" hidden>Cancel staged update</button></div>
            <form id="fw-form" class="stack">
              <label for="fw-file">Firmware bundle (.pbxfw)</label>
              <input id="fw-file" name="file" type="file" accept=".pbxfw" required>
              <label class="check"
                for="fw-downgrade"><input id="fw-downgrade" name="allowDowngrade" type="checkbox"> Allow an older or the same version</label>
              <progress id="fw-progress" max="100" value="0" hidden></progress>
              <p id="fw-upload" aria-live="polite"></p>
              <button type="submit">Upload and stage update</button>
            </form>
            <div id="fw-restart"></div>
          </section>
        </div>
        <section aria-labelledby="logs-h">
          <h2 id="logs-h">Recent log</h2>
          <pre id="logs" class="logs" tabindex="0"></pre>
        </section>
      `,
  },
  security: securityPage,
  audit: {
    title: "Audit log",
    admin: true,
    body: () =>
      html`
        ${dataTable("audit-table", ["When", "Who", "Action", "Detail", "From"])}
      `,
  },
};

const PATHS: Record<string, string> = {
  "/": "dashboard",
  "/me": "me",
  "/extensions": "extensions",
  "/phones": "phones",
  "/paging": "paging",
  "/cdr": "cdr",
  "/voicemail": "voicemail",
  "/users": "users",
  "/system": "system",
  "/audit": "audit",
  "/security": "security",
};

const PAGES: PageDef[] = Object.entries(PATHS).map(([path, id]) =>
  id === "extensions"
    ? extensionsPage
    : { id, path, ...LEGACY[id]!, ...(id === "me" ? { needsExtension: true } : {}) }
);
const NAV: NavItem[] = PAGES.map((p) => ({
  href: p.path,
  label: p.title,
  admin: p.admin,
  needsExtension: p.needsExtension,
}));

function page(c: Context, status: 200 | 403, markup: Html): Response {
  return c.html(markup.value, status, { "Cache-Control": "no-store" });
}

/** The UI routes: /setup, /login and the pages in PATHS. */
export function pageRoutes(options: { storage: Storage; boxInfo: () => BoxInfo }): Hono {
  const { storage } = options;
  const app = new Hono();

  app.get("/setup", (c) => {
    if (storage.users.hasAdmin()) return c.redirect("/login", 302);
    return page(
      c,
      200,
      layout(
        { title: "Welcome: set the admin password", page: "setup", path: "/setup", nav: NAV },
        html`
          <p>This box has no password yet. Choose the password for the <strong>admin</strong> user; there is no default password.</p>
          <form id="setup-form" class="stack card">
            <label for="setup-password">Admin password (${pwHint})</label>
            <input id="setup-password" name="password" type="password" autocomplete="new-password"
              minlength="${MIN_WEB_PASSWORD}" required>
            <label for="setup-confirm">Repeat the password</label>
            <input id="setup-confirm" name="confirm" type="password" autocomplete="new-password" minlength="${MIN_WEB_PASSWORD}"
              required>
            <button type="submit">Set password</button>
          </form>
          ${boxSection(options.boxInfo())}
        `,
      ),
    );
  });

  app.get("/login", (c) => {
    if (!storage.users.hasAdmin()) return c.redirect("/setup", 302);
    const r = resolveAuth(c, storage, { allowBearer: false });
    if (r.ok) return c.redirect(r.user.role === "admin" ? "/" : "/me", 302);
    return page(
      c,
      200,
      layout(
        { title: "Log in", page: "login", path: "/login", nav: NAV },
        html`
          <form id="login-form" class="stack card narrow">
            <label for="login-username">User name</label>
            <input id="login-username" name="username" autocomplete="username" autocapitalize="none" required>
            <label for="login-password">Password</label>
            <input id="login-password" name="password" type="password" autocomplete="current-password" required>
            <button type="submit">Log in</button>
          </form>
        `,
      ),
    );
  });

  for (const def of PAGES) {
    const path = def.path;
    app.get(path, (c) => {
      if (!storage.users.hasAdmin()) return c.redirect("/setup", 302);
      const r = resolveAuth(c, storage, { allowBearer: false });
      if (!r.ok) return c.redirect("/login", 302);
      const user = r.user;
      if (def.admin && user.role !== "admin") {
        if (path === "/") return c.redirect("/me", 302);
        return page(
          c,
          403,
          layout(
            { title: "Not allowed", page: "denied", path, nav: NAV, user, csrf: csrfTokenFor(r.token) },
            html`<p>This page needs the admin role. <a href="/me">Go to your extension</a>.</p>`,
          ),
        );
      }
      return page(
        c,
        200,
        layout(
          {
            title: def.title,
            page: def.id,
            path,
            nav: NAV,
            script: def.script,
            user,
            csrf: csrfTokenFor(r.token),
          },
          def.body({ box: options.boxInfo(), user }),
        ),
      );
    });
  }
  return app;
}

/** Paths of the UI pages (for tests and the docs). */
export const PAGE_PATHS: readonly string[] = ["/setup", "/login", ...Object.keys(PATHS)];
