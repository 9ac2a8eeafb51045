// System: health, network (with the confirm banner), time, SMTP, backup and restore, firmware,
// restart and reboot, factory reset, recent log.
import { api, ApiError, csrf, upload } from "../lib/api.js";
import { $, dl, h } from "../lib/dom.js";
import { bytes, list, time } from "../lib/format.js";
import { renderHealth } from "../lib/health.js";
import { onSubmit } from "../lib/forms.js";
import { say } from "../lib/messages.js";
import { startPage } from "../lib/page.js";

startPage(async () => {
  const host = hostCards();
  api("GET", "/api/system/status").then((st) => {
    host.setServerNow(st.now);
    renderHealth(st);
  }).catch((e) => say(e.message, "error"));
  api("GET", "/api/system/logs?lines=200").then((l) => {
    $("#logs").textContent = l.available ? l.lines.join("\n") : l.note;
  }).catch(() => {});
  onSubmit($("#net-form"), async (v) => {
    const body = { mode: v.mode, hostname: v.hostname, dns: list(v.dns) };
    if (v.address) body.address = v.address;
    if (v.prefix) body.prefix = Number(v.prefix);
    if (v.gateway) body.gateway = v.gateway;
    // When the page's own address goes away, the answer is sent from the old address and may
    // never arrive: after a few seconds, send the admin to the new address to confirm there.
    const moving = v.mode === "static" && v.address && v.address !== location.hostname &&
      /^[0-9.]+$/.test(location.hostname);
    const put = api("PUT", "/api/system/settings/network", body);
    const r = moving
      ? await Promise.race([put, new Promise((res) => setTimeout(() => res(null), 8000))])
      : await put;
    if (r === null) {
      const url = `${location.protocol}//${v.address}${location.port ? `:${location.port}` : ""}/system`;
      const link = h("a", { href: url }, url);
      const note = $("#net-pending-text");
      if (note) {
        note.replaceChildren(
          "The box is moving to its new address. Open ",
          link,
          ", log in and confirm there before the confirmation time runs out (2 minutes by default), " +
            "or the box goes back to the previous settings by itself.",
        );
        $("#net-pending").hidden = false;
        $("#net-confirm").hidden = true; // this page cannot reach the box any more
      }
      return "Network settings sent; this page has lost the box at its old address.";
    }
    if (!r.applied) return `Network settings saved. ${r.reason}`;
    host.showPending({ confirmBy: r.confirmBy, settings: body });
    return "Network settings applied: confirm them below, or the box goes back to the previous ones.";
  });
  onSubmit($("#time-form"), async (v) => {
    const r = await api("PUT", "/api/system/settings/time", {
      timezone: v.timezone,
      ntpServers: list(v.ntpServers),
    });
    host.refresh().catch(() => {});
    return r.applied ? "Time settings saved and applied." : `Time settings saved. ${r.reason}`;
  });
  onSubmit($("#smtp-form"), async (v) => {
    const body = { host: v.host, port: Number(v.port), security: v.security, from: v.from };
    if (v.username) body.username = v.username;
    if (v.password) body.password = v.password;
    await api("PUT", "/api/system/settings/smtp", body);
    $("#smtp-password").value = "";
    return "SMTP settings saved.";
  });
  restoreCard();
  firmwareCard();
  factoryResetCard();
  try {
    const s = await api("GET", "/api/system/settings");
    const set = (id, val) => {
      const el = $(id);
      if (el && val !== undefined && val !== null) {
        el.value = Array.isArray(val) ? val.join(", ") : String(val);
      }
    };
    set("#net-mode", s.network.mode);
    set("#net-hostname", s.network.hostname);
    set("#net-address", s.network.address);
    set("#net-prefix", s.network.prefix);
    set("#net-gateway", s.network.gateway);
    set("#net-dns", s.network.dns);
    set("#time-tz", s.time.timezone);
    set("#time-ntp", s.time.ntpServers);
    if (s.smtp) {
      set("#smtp-host", s.smtp.host);
      set("#smtp-port", s.smtp.port);
      set("#smtp-security", s.smtp.security);
      set("#smtp-user", s.smtp.username);
      set("#smtp-from", s.smtp.from);
      if (s.smtp.hasPassword) $("#smtp-password").setAttribute("placeholder", "(stored)");
    }
  } catch (e) {
    say(e.message, "error");
  }
});

/**
 * System page: what the OS reports (addresses, zone, NTP), the confirm banner of a network
 * change with its countdown, and the reboot / restart buttons in the firmware card.
 */
function hostCards() {
  const net = $("#host-net");
  const tz = $("#host-time");
  const note = $("#host-note");
  const pending = $("#net-pending");
  const pendingText = $("#net-pending-text");
  const confirmButton = $("#net-confirm");
  // The countdown runs on the box's clock: the browser's may be off by minutes.
  let skewMs = 0;
  let timer = null;
  const facts = (dl, rows) => {
    if (dl) dl.replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  };
  const describe = (n) =>
    n.mode === "static" ? `static ${n.address}/${n.prefix} via ${n.gateway}` : "automatic (DHCP)";
  const showPending = (p) => {
    clearInterval(timer);
    timer = null;
    if (!pending) return;
    if (!p) {
      pending.hidden = true;
      return;
    }
    pending.hidden = false;
    confirmButton.hidden = false;
    const tick = () => {
      const left = Math.max(0, Math.round((p.confirmBy - (Date.now() + skewMs)) / 1000));
      if (left > 0) {
        pendingText.textContent = `New network settings are in effect (${describe(p.settings)}, host name ` +
          `${p.settings.hostname}). Confirm within ${left} s or the box goes back to the previous ` +
          "settings. If the address changed, open the box at its new address and confirm there.";
        return;
      }
      clearInterval(timer);
      timer = null;
      confirmButton.hidden = true;
      pendingText.textContent =
        "Not confirmed in time: the box has gone back to the previous network settings.";
    };
    tick();
    timer = setInterval(tick, 1000);
  };
  const render = (s) => {
    if (note) {
      note.hidden = s.mode === "systemd";
      note.textContent = s.mode === "systemd"
        ? ""
        : "This is not a box install (PBX_HOST is not systemd): settings are stored but not applied, " +
          "and reboot and restart are not available. Shown below is what this machine reports.";
    }
    const rows = [["Host name in use", s.hostname ?? "unknown"]];
    for (const i of s.interfaces) {
      const addrs = i.addresses.map((a) =>
        `${a.address}/${a.prefix}${a.dynamic === true ? " (DHCP)" : a.dynamic === false ? " (static)" : ""}`
      );
      rows.push([`${i.name}${i.mac ? ` (${i.mac})` : ""}`, addrs.length ? addrs.join(", ") : "no address"]);
    }
    facts(net, rows);
    const synced = s.ntp.synchronized === true ? "yes" : s.ntp.synchronized === false ? "not yet" : "unknown";
    facts(tz, [
      ["Zone in effect", s.timezone ?? "unknown"],
      ["NTP servers in effect", s.ntp.servers.length ? s.ntp.servers.join(", ") : "system defaults"],
      ["Clock synchronized", synced],
    ]);
    showPending(s.pendingNetwork);
    for (const b of document.querySelectorAll("#fw-restart button, #reset-form button")) {
      b.disabled = s.mode !== "systemd";
    }
  };
  const refresh = () => api("GET", "/api/system/host").then(render);
  confirmButton?.addEventListener("click", async () => {
    confirmButton.disabled = true;
    try {
      await api("POST", "/api/system/settings/network/confirm");
      showPending(null);
      say("Network settings confirmed.");
      await refresh();
    } catch (e) {
      say(e.message, "error");
      await refresh().catch(() => {});
    } finally {
      confirmButton.disabled = false;
    }
  });
  const action = (label, question, path, done) =>
    h("button", {
      type: "button",
      class: "danger",
      onclick: async (ev) => {
        const button = ev.currentTarget;
        if (!confirm(question)) return;
        button.disabled = true;
        try {
          await api("POST", path);
          say(done);
        } catch (e) {
          say(e.message, "error");
          button.disabled = false;
        }
      },
    }, label);
  $("#fw-restart")?.replaceChildren(
    h(
      "div",
      { class: "buttons" },
      action(
        "Restart PBX service",
        "Restart the PBX service? Calls in progress are dropped; the web page is back in a few seconds.",
        "/api/system/restart",
        "The PBX service is restarting; reload this page in a few seconds.",
      ),
      action(
        "Reboot the box",
        "Reboot the box? Calls in progress are dropped and the box is unreachable for about a minute.",
        "/api/system/reboot",
        "The box is rebooting; reload this page in about a minute.",
      ),
    ),
  );
  refresh().catch((e) => say(e.message, "error"));
  return {
    refresh,
    showPending,
    setServerNow: (now) => {
      if (typeof now === "number") skewMs = now - Date.now();
    },
  };
}

/**
 * System page, firmware card: running version and slot, staged update, trial, last result;
 * upload a bundle (XMLHttpRequest, for upload progress) and cancel a staged update.
 */
function firmwareCard() {
  const status = $("#fw-status");
  const cancel = $("#fw-cancel");
  const form = $("#fw-form");
  const progress = $("#fw-progress");
  const upload = $("#fw-upload");
  if (!status || !form) return;
  const show = (fw) => {
    dl($("#fw-facts"), [
      ["Running version", fw.version],
      ["Slot", fw.slot === null ? "none (development install)" : fw.slot.toUpperCase()],
      [
        "Last update",
        fw.lastResult === null
          ? "none"
          : `${fw.lastResult.version}: ${fw.lastResult.result === "ok" ? "kept" : "rolled back"} ${
            time(fw.lastResult.at * 1000)
          }`,
      ],
    ]);
    const lines = [];
    if (!fw.updatable) lines.push(fw.reason || "Firmware update is not possible on this box.");
    if (fw.trial !== null) {
      lines.push(
        `Version ${fw.trial.version} is on trial (${fw.trial.attempts} restart(s) so far); it is kept once it has run healthy for a while.`,
      );
    }
    if (fw.staged !== null) {
      lines.push(
        `Version ${fw.staged.version} is staged in slot ${fw.staged.slot.toUpperCase()} (uploaded ${
          time(fw.staged.stagedAt)
        }${fw.staged.stagedBy ? ` by ${fw.staged.stagedBy}` : ""}). It starts at the next restart.`,
      );
    }
    status.textContent = lines.length > 0 ? lines.join(" ") : "No update is staged.";
    status.className = fw.staged !== null || !fw.updatable ? "notice" : "";
    cancel.hidden = fw.staged === null;
    for (const el of form.querySelectorAll("input, button")) el.disabled = !fw.updatable;
  };
  const refresh = () =>
    api("GET", "/api/system/firmware").then(show).catch((e) => {
      status.textContent = e.status === 503 ? "Firmware update is not available in this build." : e.message;
      form.hidden = true; // nothing more to do here: the box is going away
    });
  // fetch() cannot report upload progress; XMLHttpRequest can. The file goes as the raw body.
  const send = (file, allowDowngrade) =>
    new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `/api/system/firmware${allowDowngrade ? "?allowDowngrade=1" : ""}`);
      xhr.setRequestHeader("content-type", "application/octet-stream");
      xhr.setRequestHeader("x-csrf-token", csrf);
      xhr.setRequestHeader("accept", "application/json");
      xhr.upload.addEventListener("progress", (e) => {
        if (!e.lengthComputable) return;
        progress.value = Math.round((e.loaded / e.total) * 100);
        upload.textContent = e.loaded < e.total
          ? `Uploading: ${bytes(e.loaded)} of ${bytes(e.total)}`
          : "Uploaded; checking the signature and unpacking…";
      });
      xhr.addEventListener("load", () => {
        let data = {};
        try {
          data = JSON.parse(xhr.responseText);
        } catch { /* not JSON */ }
        if (xhr.status >= 200 && xhr.status < 300) resolve(data);
        else reject(new ApiError(xhr.status, data.error || `HTTP ${xhr.status}`));
      });
      xhr.addEventListener("error", () => reject(new Error("the upload failed (connection lost)")));
      xhr.send(file);
    });
  onSubmit(form, async (v) => {
    const file = $("#fw-file").files?.[0];
    if (!file) throw new Error("choose a firmware bundle");
    progress.hidden = false;
    progress.value = 0;
    upload.textContent = `Uploading ${file.name}…`;
    try {
      const r = await send(file, v.allowDowngrade === "on");
      form.reset();
      upload.textContent = "";
      await refresh();
      return `Firmware ${r.staged.version} staged; it starts at the next restart.`;
    } catch (e) {
      upload.textContent = "";
      throw e;
    } finally {
      progress.hidden = true;
    }
  });
  cancel.addEventListener("click", async () => {
    if (!confirm("Cancel the staged firmware update?")) return;
    try {
      await api("DELETE", "/api/system/firmware");
      await refresh();
      say("The staged firmware update was cancelled.");
      $("#fw-file").focus();
    } catch (e) {
      say(e.message, "error");
    }
  });
  refresh();
}

/** System page: upload a backup to stage it for the next start, see what is staged, cancel it. */
function restoreCard() {
  const status = $("#restore-status");
  const cancel = $("#restore-cancel");
  if (!status) return;
  const show = (r) => {
    status.textContent = r.staged
      ? `A restore is staged: ${bytes(r.bytes)} uploaded ${time(r.stagedAt)}${
        r.stagedBy ? ` by ${r.stagedBy}` : ""
      }${
        r.schemaVersion === null || r.schemaVersion === undefined ? "" : `, schema version ${r.schemaVersion}`
      }. It replaces the database at the next start of the box.`
      : "No restore is staged.";
    status.className = r.staged ? "notice" : "";
    cancel.hidden = !r.staged;
  };
  const refresh = () => api("GET", "/api/system/restore").then(show);
  onSubmit($("#restore-form"), async (_v, form) => {
    const file = $("#restore-file").files?.[0];
    if (!file) throw new Error("choose a backup file");
    // The file goes as the raw body (not a form), so the server can stream it to disk.
    await upload("/api/system/restore", file, "application/vnd.sqlite3");
    form.reset();
    await refresh();
    return `Backup ${file.name} staged; it is restored at the next start of the box.`;
  });
  cancel.addEventListener("click", async () => {
    if (!confirm("Cancel the staged restore? The uploaded backup is deleted.")) return;
    try {
      await api("DELETE", "/api/system/restore");
      await refresh();
      say("The staged restore was cancelled.");
      $("#restore-file").focus();
    } catch (e) {
      say(e.message, "error");
    }
  });
  refresh().catch((e) => {
    status.textContent = e.message;
  });
}

/**
 * System page, factory reset: the typed word is the confirmation, and it is what the API wants
 * (POST /api/system/factory-reset {"confirm": "factory-reset"}); anything else sends nothing.
 */
function factoryResetCard() {
  const form = $("#reset-form");
  onSubmit(form, async (v) => {
    if (v.confirm.trim() !== "factory-reset") {
      $("#reset-confirm").focus();
      throw new Error("Nothing was erased: type factory-reset in the field to confirm.");
    }
    await api("POST", "/api/system/factory-reset", { confirm: "factory-reset" });
    form.hidden = true; // nothing more to do here: the box is going away
    return "The box is erasing its data and rebooting; set a new admin password when it is back (about a minute).";
  });
}
