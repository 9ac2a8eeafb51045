/** Phones page: discovered and assigned phones, keys, provisioning security and the template editor (pages/phones.js fills it). */
import { html } from "../_html.ts";
import { dataTable, type PageDef } from "./_kit.ts";

/** /phones (admin). */
export const phonesPage: PageDef = {
  id: "phones",
  path: "/phones",
  title: "Phones",
  admin: true,
  script: "/static/pages/phones.js",
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
};
