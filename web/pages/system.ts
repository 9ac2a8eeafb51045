/**
 * System page: health, network, time, SMTP, backup and restore, firmware, restart and reboot,
 * factory reset, recent log (pages/system.js fills it).
 */
import { html } from "../_html.ts";
import type { PageDef } from "./_kit.ts";

/** /system (admin). */
export const systemPage: PageDef = {
  id: "system",
  path: "/system",
  title: "System",
  admin: true,
  script: "/static/pages/system.js",
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
          <p>Upload a backup file made with <em>Download backup</em>. It is checked and <strong>staged</strong>: it replaces the configuration, call records, voicemail, music on hold and uploaded prompts and sounds at the <strong>next start</strong> of the box, and everything changed since the backup was made is lost.</p>
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
        <section aria-labelledby="reset-h" class="card">
          <h2 id="reset-h">Factory reset</h2>
          <p>Erases <strong>everything</strong> on the box: extensions, phones, users, call records, recordings and every setting, and reboots. The box comes up as on its first day and asks for a new admin password. The firmware stays. Download a backup first if you may need any of it.</p>
          <form id="reset-form" class="stack">
            <label for="reset-confirm">To confirm, type <code>factory-reset</code></label>
            <input id="reset-confirm" name="confirm" autocomplete="off" autocapitalize="none" spellcheck="false"
              required>
            <div class="buttons"><button type="submit" class="danger">Erase everything and reboot</button></div>
          </form>
        </section>
      </div>
      <section aria-labelledby="logs-h">
        <h2 id="logs-h">Recent log</h2>
        <pre id="logs" class="logs" tabindex="0"></pre>
      </section>
    `,
};
