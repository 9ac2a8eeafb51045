/** Voicemail page: a stand-in saying voicemail is not in this build; a voicemail feature's page replaces it. */
import { html } from "../_html.ts";
import type { PageDef } from "./_kit.ts";

/** /voicemail (every signed-in user). */
export const voicemailPage: PageDef = {
  id: "voicemail",
  path: "/voicemail",
  title: "Voicemail",
  admin: false,
  placeholder: true,
  body: () =>
    html`
      <p
        class="notice">Voicemail is not part of this build yet, so there are no messages to show. When it is added, your inbox will appear here.</p>
    `,
};
