/**
 * The browser phone (pages/phone.js): the signed-in user's extension as a WebRTC phone. SIP over
 * WebSocket (wss:// on HTTPS) with JsSIP served from the box, media DTLS-SRTP through the box.
 */
import { html } from "../_html.ts";
import { dataTable, type PageDef } from "./_kit.ts";

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

/** /phone (every signed-in user with an extension). */
export const phonePage: PageDef = {
  id: "phone",
  path: "/phone",
  title: "Browser phone",
  admin: false,
  needsExtension: true,
  script: "/static/pages/phone.js",
  body: () =>
    html`
      <section aria-labelledby="ph-reg-h" class="card phone">
        <h2 id="ph-reg-h">Sign in the phone</h2>
        <p id="ph-ext"></p>
        <form id="ph-register" class="stack">
          <label for="ph-password">SIP password of your extension</label>
          <input id="ph-password" name="password" type="password" autocomplete="current-password" required>
          <button type="submit" id="ph-register-btn">Register</button>
        </form>
        <p id="ph-status" role="status" aria-live="polite">Not registered</p>
        <p id="ph-mic" class="error" role="alert" hidden></p>
      </section>
      <section aria-labelledby="ph-call-h" class="card phone">
        <h2 id="ph-call-h">Call</h2>
        <div id="ph-incoming" class="incoming" role="alert" hidden>
          <p>Incoming call from <strong id="ph-caller"></strong></p>
          <button type="button" id="ph-answer">Answer</button>
          <button type="button" id="ph-decline">Decline</button>
        </div>
        <label for="ph-number">Number</label>
        <input id="ph-number" name="number" inputmode="tel" autocomplete="off" pattern="[0-9*#+]{1,32}">
        <div id="ph-pad" class="dialpad" role="group" aria-label="Dial pad">
          ${KEYS.map((k) => html`<button type="button" data-key="${k}">${k}</button>`)}
        </div>
        <div class="buttons">
          <button type="button" id="ph-dial">Call</button>
          <button type="button" id="ph-hangup" disabled>Hang up</button>
          <button type="button" id="ph-hold" disabled aria-pressed="false">Hold</button>
          <button type="button" id="ph-mute" disabled aria-pressed="false">Mute</button>
        </div>
        <form id="ph-transfer" class="stack">
          <label for="ph-transfer-to">Transfer to</label>
          <input id="ph-transfer-to" name="target" inputmode="tel" autocomplete="off" required>
          <button type="submit" id="ph-transfer-btn" disabled>Transfer</button>
        </form>
        <p id="ph-call-state" role="status" aria-live="polite">Idle</p>
        <audio id="ph-remote" autoplay></audio>
      </section>
      <section aria-labelledby="ph-vm-h" class="card phone">
        <h2 id="ph-vm-h">Voicemail</h2>
        <p id="ph-voicemail">…</p>
      </section>
      <section aria-labelledby="ph-hist-h" class="card phone">
        <h2 id="ph-hist-h">Recent calls</h2>
        ${dataTable("ph-history", ["When", "From", "To", "Result"])}
        <p class="empty" id="ph-history-empty">No calls yet.</p>
      </section>
    `,
};
