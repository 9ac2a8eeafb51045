/** Paging page: zones, groups, who may page, scheduled bells and bell sounds (pages/paging.js fills it). */
import { Html, html } from "../_html.ts";
import { dataTable, type PageDef } from "./_kit.ts";

/** /paging (admin). */
export const pagingPage: PageDef = {
  id: "paging",
  path: "/paging",
  title: "Paging",
  admin: true,
  script: "/static/pages/paging.js",
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
          <label for="zone-max-page">Longest page from a phone, seconds (0 = no limit)</label>
          <input id="zone-max-page" name="maxPageSec" type="number" min="0" max="86400" value="300" required>
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
};
