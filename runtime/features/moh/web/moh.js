// Music on hold page: the classes (built-in and uploaded WAVs), which one held callers hear, upload and delete.
import { api, upload } from "/static/lib/api.js";
import { $, h } from "/static/lib/dom.js";
import { bytes, duration } from "/static/lib/format.js";
import { onSubmit } from "/static/lib/forms.js";
import { actionButton, deleteButton } from "/static/lib/crud.js";
import { fillTable, row } from "/static/lib/tables.js";
import { startPage } from "/static/lib/page.js";

const enc = encodeURIComponent;

startPage(async () => {
  const load = async () => {
    const { classes, maxBytes } = await api("GET", "/api/moh/classes");
    $("#moh-limit").textContent = bytes(maxBytes);
    fillTable(
      "#moh-table",
      null,
      classes.map((c) =>
        row({ "data-class": c.name }, [
          { label: "Class", value: h("code", {}, c.name) },
          {
            label: "Audio",
            value: c.builtin
              ? "built-in melody"
              : `${c.sampleRate} Hz, ${c.channels} ch, ${duration(c.durationMs)}`,
          },
          { label: "Size", value: c.builtin ? "" : bytes(c.bytes) },
          { label: "In use", value: c.selected ? "held callers hear this" : "" },
          {
            actions: [
              c.selected ? "" : actionButton("Use", {
                label: `Use ${c.name}`,
                run: () => api("PUT", "/api/moh/selected", { class: c.name }),
                done: `Held callers now hear ${c.name}.`,
                reload: load,
              }),
              c.builtin ? "" : deleteButton(
                `Delete ${c.name}`,
                `Delete the music-on-hold class ${c.name}?`,
                () => api("DELETE", `/api/moh/classes/${enc(c.name)}`),
                load,
                `Class ${c.name} deleted.`,
              ),
            ],
          },
        ])
      ),
    );
  };
  onSubmit($("#moh-form"), async (v, form) => {
    const file = form.querySelector("#moh-file").files[0];
    if (!file) throw new Error("Choose a WAV file.");
    const c = await upload(`/api/moh/classes/${enc(v.name)}`, file, "audio/wav");
    form.reset();
    await load();
    return `Class ${c.name} uploaded (${c.sampleRate} Hz, ${c.channels} ch).`;
  });
  await load();
});
