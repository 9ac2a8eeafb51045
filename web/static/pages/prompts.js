// Prompts: the catalogue with each prompt's text and audio, upload a recording to replace one, revert to the voice.
import { api, upload } from "../lib/api.js";
import { $, h } from "../lib/dom.js";
import { bytes, duration } from "../lib/format.js";
import { onSubmit } from "../lib/forms.js";
import { actionButton } from "../lib/crud.js";
import { fillTable, row } from "../lib/tables.js";
import { startPage } from "../lib/page.js";

const enc = encodeURIComponent;

startPage(async () => {
  const select = $("#prompt-id");
  const load = async () => {
    const { prompts, maxBytes } = await api("GET", "/api/prompts");
    if (maxBytes !== undefined) $("#prompt-limit").textContent = bytes(maxBytes);
    const chosen = select.value;
    select.replaceChildren(...prompts.map((p) => h("option", { value: p.id }, p.id)));
    if (chosen) select.value = chosen;
    fillTable(
      "#prompt-table",
      null,
      prompts.map((p) =>
        row({ "data-prompt": p.id }, [
          { label: "Prompt", value: h("code", {}, p.id) },
          { label: "Text", value: p.text },
          {
            label: "Audio",
            value: p.overridden
              ? `recording: ${p.override.sampleRate} Hz, ${p.override.channels} ch, ${
                duration(p.override.durationMs)
              }`
              : "text-to-speech",
          },
          {
            label: "Play",
            value: h("audio", {
              controls: "",
              preload: "none",
              src: `/api/prompts/${enc(p.id)}/audio?rate=16000`,
              "aria-label": `Play ${p.id}`,
            }),
          },
          {
            actions: [
              p.overridden
                ? actionButton("Revert", {
                  label: `Revert ${p.id}`,
                  run: () => api("DELETE", `/api/prompts/${enc(p.id)}/override`),
                  done: `${p.id} is spoken by the voice again.`,
                  reload: load,
                })
                : "",
            ],
          },
        ])
      ),
    );
  };
  onSubmit($("#prompt-form"), async (v, form) => {
    const file = form.querySelector("#prompt-file").files[0];
    if (!file) throw new Error("Choose a WAV file.");
    const p = await upload(`/api/prompts/${enc(v.id)}/override`, file, "audio/wav", "PUT");
    form.querySelector("#prompt-file").value = "";
    await load();
    return `${p.id} replaced by the recording (${p.override.sampleRate} Hz, ${
      duration(p.override.durationMs)
    }).`;
  });
  await load();
});
