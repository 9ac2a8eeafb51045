/** Prompts page: the catalogue of what the box says, play each, replace one by a recording, revert it. */
import { html } from "../_html.ts";
import { dataTable, type PageDef } from "./_kit.ts";

/** /prompts (admin). */
export const promptsPage: PageDef = {
  id: "prompts",
  path: "/prompts",
  title: "Prompts",
  admin: true,
  script: "/static/pages/prompts.js",
  body: () =>
    html`
      <p>What the box says to callers: voicemail, the auto attendant and the menus. Each prompt is spoken by the
        box's text-to-speech voice until you replace it with a recording: a WAV file (PCM16, mu-law or A-law, any
        rate from 8 to 48 kHz, mono or stereo; at most <span id="prompt-limit"></span>), played to every caller in
        their own codec.</p>
      ${dataTable("prompt-table", ["Prompt", "Text", "Audio", "Play", ""])}
      <form id="prompt-form" class="stack card">
        <h3>Replace a prompt</h3>
        <label for="prompt-id">Prompt</label>
        <select id="prompt-id" name="id" required></select>
        <label for="prompt-file">WAV file</label>
        <input id="prompt-file" name="file" type="file" accept=".wav,audio/wav,audio/x-wav" required>
        <div class="buttons"><button type="submit">Upload</button></div>
      </form>
    `,
};
