/** First boot: set the admin password; the box's addresses and what to plug where (pages/setup.js). */
import { type Html, html } from "../_html.ts";
import { MIN_WEB_PASSWORD } from "../../runtime/storage/mod.ts";
import type { BoxInfo } from "../types.ts";
import { pwHint } from "./_kit.ts";

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

/** /setup (before an admin password exists; pages.ts serves it without a session). */
export const setupPage = {
  id: "setup",
  path: "/setup",
  title: "Welcome: set the admin password",
  script: "/static/pages/setup.js",
  body: (box: BoxInfo): Html =>
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
      ${boxSection(box)}
    `,
} as const;
