// Call recordings: filter, play in the browser, download, delete. Users see their own calls'.
import { api } from "/static/lib/api.js";
import { $, h } from "/static/lib/dom.js";
import { duration, time } from "/static/lib/format.js";
import { deleteButton } from "/static/lib/crud.js";
import { fillTable, row } from "/static/lib/tables.js";
import { startPage } from "/static/lib/page.js";

startPage(async () => {
  const load = async () => {
    const q = $("#rec-filter").value.trim();
    const { recordings } = await api("GET", `/api/recordings${q ? `?q=${encodeURIComponent(q)}` : ""}`);
    fillTable(
      "#rec-table",
      "#rec-empty",
      recordings.map((r) => {
        const src = `/api/recordings/${r.id}/audio`;
        const done = r.status === "done";
        return row({ "data-recording": String(r.id) }, [
          { label: "When", value: time(r.startedAt) },
          { label: "Caller", value: r.caller },
          { label: "Callee", value: r.callee },
          { label: "Length", value: r.durationMs === null ? r.status : duration(r.durationMs) },
          {
            label: "How",
            value: (r.mode === "always" ? "always on" : "on demand") + (r.queue ? ` (queue ${r.queue})` : ""),
          },
          {
            label: "Play",
            value: done
              ? h("audio", { controls: "", preload: "none", src, "aria-label": `Recording ${r.id}` })
              : r.status,
          },
          {
            actions: done
              ? [
                h("a", { href: `${src}?download=1`, class: "button secondary", download: "" }, "Download"),
                deleteButton(
                  `Delete recording ${r.id}`,
                  `Delete the recording of ${r.caller} and ${r.callee}?`,
                  () => api("DELETE", `/api/recordings/${r.id}`),
                  load,
                  "Recording deleted.",
                ),
              ]
              : [],
          },
        ]);
      }),
    );
  };
  $("#rec-filter").addEventListener("input", () => void load());
  await load();
});
