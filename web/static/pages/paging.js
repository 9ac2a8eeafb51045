// Paging: zones (output from the device list, live state, test tone), groups, who may page,
// scheduled bells and bell sounds; zone states follow the live events.
import { api, upload } from "../lib/api.js";
import { $, h } from "../lib/dom.js";
import { bytes, list, time } from "../lib/format.js";
import { checkedValues, fillChoices, onSubmit, setChecked } from "../lib/forms.js";
import { liveEvents } from "../lib/live.js";
import { say } from "../lib/messages.js";
import { startPage } from "../lib/page.js";
import { fillTable } from "../lib/tables.js";
import { deleteButton, editButton } from "../lib/crud.js";

const DAYS = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/** Live paging zone states keyed by zone number, or null when the paging service is not running. */
async function zoneStates() {
  try {
    const st = await api("GET", "/api/paging/status");
    const states = new Map();
    for (const z of st.zones ?? []) states.set(z.number, z.fault ? `${z.state}: ${z.fault}` : z.state);
    return { states, nextBells: st.nextBells ?? {} };
  } catch (e) {
    if (e.status === 503) return null;
    throw e;
  }
}

startPage(() => {
  let zones = [];
  let groups = [];
  let schedules = [];
  let soundsAvailable = false;
  const zoneForm = $("#zone-form");
  const groupForm = $("#group-form");
  const permForm = $("#perm-form");
  const schedForm = $("#sched-form");
  const enc = encodeURIComponent;

  const renderZones = (live) => {
    const states = live?.states ?? new Map();
    $("#paging-live").textContent = live === null
      ? "The paging service is not running: zones can be configured, live state and test tones are unavailable."
      : "";
    fillTable(
      "#zones-table",
      "#zones-empty",
      zones.map((z) =>
        h(
          "tr",
          { "data-zone": z.number },
          h("td", {}, z.number),
          h("td", {}, z.name),
          h("td", {}, z.alsaDevice ? `${z.alsaDevice} (channel ${z.channels.join(", ")})` : "—"),
          h("td", {}, String(z.volume)),
          h("td", { class: "zone-state" }, states.get(z.number) ?? (z.enabled ? "" : "disabled")),
          h(
            "td",
            { class: "actions" },
            editButton(`Edit zone ${z.number}`, () => {
              $("#zone-number").value = z.number;
              $("#zone-name").value = z.name;
              $("#zone-output").value = z.alsaDevice ?? "";
              $("#zone-channels").value = z.channels.join(", ");
              $("#zone-volume").value = String(z.volume);
              $("#zone-max-page").value = String(z.maxPageSec ?? 300);
              $("#zone-enabled").checked = z.enabled;
              $("#zone-name").focus();
            }),
            " ",
            h("button", {
              type: "button",
              "aria-label": `Play a test tone in zone ${z.number}`,
              onclick: async () => {
                try {
                  const r = await api("POST", `/api/paging/zones/${enc(z.number)}/test-tone`, {});
                  say(`Test tone in zone ${z.number}: ${r.outcome}${r.detail ? ` (${r.detail})` : ""}.`);
                } catch (x) {
                  say(`Test tone in zone ${z.number} failed: ${x.message}`, "error");
                }
              },
            }, "Test tone"),
            " ",
            deleteButton(
              `Delete zone ${z.number}`,
              `Delete zone ${z.number} (${z.name})?`,
              () => api("DELETE", `/api/paging/zones/${enc(z.number)}`),
              load,
              `Zone ${z.number} deleted.`,
            ),
          ),
        )
      ),
    );
  };

  const refreshLive = async () => {
    const live = await zoneStates();
    renderZones(live);
    return live;
  };

  const load = async () => {
    let data;
    try {
      data = await api("GET", "/api/paging/zones");
    } catch (e) {
      if (e.status === 404) {
        $("#paging-unavailable").hidden = false;
        return;
      }
      throw e;
    }
    zones = data.zones ?? [];
    const [live, g, p, sch, snd] = await Promise.all([
      zoneStates(),
      api("GET", "/api/paging/groups"),
      api("GET", "/api/paging/permissions"),
      api("GET", "/api/paging/schedules"),
      api("GET", "/api/paging/sounds").catch(() => ({ available: false, sounds: [] })),
    ]);
    renderZones(live);
    groups = g.groups ?? [];
    schedules = sch.schedules ?? [];
    const zoneChoices = zones.map((z) => [z.number, `${z.number} ${z.name}`]);
    const targetChoices = [
      ["*", "All zones"],
      ...zoneChoices,
      ...groups.map((x) => [x.number, `${x.number} ${x.name} (group)`]),
    ];
    const label = new Map(targetChoices);
    const keepChecked = (sel, name) => new Set(checkedValues($(sel).closest("form"), name));
    fillChoices($("#group-zones"), "zones", zoneChoices, keepChecked("#group-zones", "zones"));
    fillChoices($("#perm-targets"), "targets", targetChoices, keepChecked("#perm-targets", "targets"));
    const target = $("#sched-target");
    const current = target.value;
    target.replaceChildren(...targetChoices.map(([v, l]) => h("option", { value: v }, l)));
    if (current) target.value = current;

    fillTable(
      "#groups-table",
      "#groups-empty",
      groups.map((x) =>
        h(
          "tr",
          { "data-group": x.number },
          h("td", {}, x.number),
          h("td", {}, x.name),
          h("td", {}, x.zones.map((z) => label.get(z) ?? z).join(", ")),
          h(
            "td",
            { class: "actions" },
            editButton(`Edit group ${x.number}`, () => {
              $("#group-number").value = x.number;
              $("#group-name").value = x.name;
              setChecked(groupForm, "zones", new Set(x.zones));
              $("#group-name").focus();
            }),
            " ",
            deleteButton(
              `Delete group ${x.number}`,
              `Delete group ${x.number} (${x.name})?`,
              () => api("DELETE", `/api/paging/groups/${enc(x.number)}`),
              load,
              `Group ${x.number} deleted.`,
            ),
          ),
        )
      ),
    );

    const perms = Object.entries(p.permissions ?? {}).filter(([, t]) => t.length > 0);
    fillTable(
      "#perm-table",
      "#perm-empty",
      perms.map(([ext, targets]) =>
        h(
          "tr",
          { "data-extension": ext },
          h("td", {}, ext),
          h("td", {}, targets.map((t) => label.get(t) ?? t).join(", ")),
          h(
            "td",
            { class: "actions" },
            editButton(`Edit what extension ${ext} may page`, () => {
              $("#perm-ext").value = ext;
              setChecked(permForm, "targets", new Set(targets));
              permForm.querySelector('input[name="targets"]')?.focus();
            }),
            " ",
            h("button", {
              type: "button",
              class: "danger",
              "aria-label": `Remove paging rights of extension ${ext}`,
              onclick: async () => {
                try {
                  await api("PUT", `/api/paging/permissions/${enc(ext)}`, { targets: [] });
                  say(`Extension ${ext} may no longer page.`);
                  await load();
                } catch (x) {
                  say(x.message, "error");
                }
              },
            }, "Remove"),
          ),
        )
      ),
    );

    const next = live?.nextBells ?? {};
    fillTable(
      "#sched-table",
      "#sched-empty",
      schedules.map((s) =>
        h(
          "tr",
          { "data-schedule": String(s.id) },
          h("td", {}, s.name, s.enabled ? "" : " (off)"),
          h("td", {}, label.get(s.target) ?? s.target),
          h(
            "td",
            {},
            `${s.weekdays.map((d) => DAYS[d]).join(" ")} at ${s.time}`,
            s.exceptions.length ? ` (not on ${s.exceptions.join(", ")})` : "",
          ),
          h("td", {}, h("code", {}, s.wavPath.split("/").pop())),
          h("td", {}, next[s.id] ? time(next[s.id]) : "—"),
          h(
            "td",
            { class: "actions" },
            editButton(`Edit bell ${s.name}`, () => {
              $("#sched-id").value = String(s.id);
              $("#sched-name").value = s.name;
              $("#sched-target").value = s.target;
              $("#sched-wav").value = s.wavPath;
              setChecked(schedForm, "weekday", new Set(s.weekdays.map(String)));
              $("#sched-time").value = s.time;
              $("#sched-exceptions").value = s.exceptions.join(", ");
              $("#sched-enabled").checked = s.enabled;
              $("#sched-name").focus();
            }),
            " ",
            deleteButton(
              `Delete bell ${s.name}`,
              `Delete the bell "${s.name}"?`,
              () => api("DELETE", `/api/paging/schedules/${s.id}`),
              load,
              `Bell ${s.name} deleted.`,
            ),
          ),
        )
      ),
    );

    soundsAvailable = snd.available;
    $("#sounds-unavailable").hidden = soundsAvailable;
    $("#sound-form").hidden = !soundsAvailable;
    const sounds = snd.sounds ?? [];
    $("#sched-sounds").replaceChildren(...sounds.map((x) => h("option", { value: x.path }, x.name)));
    $("#sounds-list").replaceChildren(
      ...(sounds.length
        ? sounds.map((x) =>
          h(
            "li",
            { "data-sound": x.name },
            h("code", {}, x.name),
            ` ${bytes(x.bytes)} `,
            deleteButton(
              `Delete sound ${x.name}`,
              `Delete the sound ${x.name}?`,
              () => api("DELETE", `/api/paging/sounds/${enc(x.name)}`),
              load,
              `Sound ${x.name} deleted.`,
            ),
          )
        )
        : soundsAvailable
        ? [h("li", {}, "No sounds uploaded.")]
        : []),
    );
  };

  api("GET", "/api/paging/devices").then((d) => {
    $("#zone-devices").replaceChildren(
      ...d.devices.map((x) => h("option", { value: x.name }, x.description || x.name)),
    );
    $("#zone-devices-note").textContent = d.available
      ? (d.devices.length
        ? `${d.devices.length} audio output${
          d.devices.length === 1 ? "" : "s"
        } found: start typing or pick one.`
        : "No audio outputs found on this box.")
      : (d.note ?? "Audio outputs cannot be listed: type the ALSA device name.");
  }).catch(() => {});

  onSubmit(zoneForm, async (v) => {
    const channels = list(v.channels).map(Number);
    const body = {
      name: v.name,
      alsaDevice: v.alsaDevice ? v.alsaDevice : null,
      channels,
      volume: Number(v.volume),
      maxPageSec: Number(v.maxPageSec),
      enabled: v.enabled === "on",
    };
    const known = zones.some((z) => z.number === v.number);
    if (known) await api("PATCH", `/api/paging/zones/${enc(v.number)}`, body);
    else await api("POST", "/api/paging/zones", { number: v.number, ...body });
    await load();
    return `Zone ${v.number} saved.`;
  });
  onSubmit(groupForm, async (v, form) => {
    const zs = checkedValues(form, "zones");
    if (zs.length === 0) throw new Error("choose at least one zone for the group");
    if (groups.some((x) => x.number === v.number)) {
      await api("PATCH", `/api/paging/groups/${enc(v.number)}`, { name: v.name, zones: zs });
    } else await api("POST", "/api/paging/groups", { number: v.number, name: v.name, zones: zs });
    form.reset();
    await load();
    return `Group ${v.number} saved.`;
  });
  onSubmit(permForm, async (v, form) => {
    const targets = checkedValues(form, "targets");
    await api("PUT", `/api/paging/permissions/${enc(v.extension)}`, { targets });
    form.reset();
    await load();
    return targets.length
      ? `Extension ${v.extension} may page ${targets.join(", ")}.`
      : `Extension ${v.extension} may no longer page.`;
  });
  onSubmit(schedForm, async (v, form) => {
    const weekdays = checkedValues(form, "weekday").map(Number);
    if (weekdays.length === 0) throw new Error("choose at least one day for the bell");
    const body = {
      name: v.name,
      target: v.target,
      wavPath: v.wavPath.trim(),
      weekdays,
      time: v.time.slice(0, 5),
      exceptions: list(v.exceptions),
      enabled: v.enabled === "on",
    };
    if (v.id) await api("PATCH", `/api/paging/schedules/${enc(v.id)}`, body);
    else await api("POST", "/api/paging/schedules", body);
    form.reset();
    $("#sched-id").value = "";
    await load();
    return `Bell ${v.name} saved.`;
  });
  schedForm?.addEventListener("reset", () => {
    $("#sched-id").value = "";
  });
  onSubmit($("#sound-form"), async (_v, form) => {
    const file = $("#sound-file").files?.[0];
    if (!file) throw new Error("choose a WAV file");
    const q = new URLSearchParams({ name: file.name });
    if ($("#sound-replace").checked) q.set("replace", "1");
    const data = await upload(`/api/paging/sounds?${q}`, file, "audio/wav");
    form.reset();
    await load();
    $("#sched-wav").value = data.path;
    return `Sound ${data.name} uploaded (${
      (data.durationMs / 1000).toFixed(1)
    } s); it is selected for the next bell.`;
  });

  // Zone states change while pages play: follow the live events instead of polling.
  liveEvents({ zones: () => refreshLive().catch(() => {}) });
  return load();
});
