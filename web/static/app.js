// PBX admin UI. Plain JS, no dependencies, served from the box. Pages are server-rendered shells;
// this file fills them from the REST API. All text goes in via textContent (never as markup), so
// names from the database cannot inject markup. State-changing requests carry the CSRF token.
"use strict";

(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";
  const $ = (sel, root = document) => root.querySelector(sel);

  /** Create an element: h("td", {class: "x"}, "text", childEl). */
  function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /** Call the REST API; throws ApiError with the server's message on a non-2xx answer. */
  async function api(method, path, body) {
    const headers = { accept: "application/json" };
    if (method !== "GET") headers["x-csrf-token"] = csrf;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 401 && !["login", "setup"].includes(document.body.dataset.page)) {
      location.assign("/login");
      throw new ApiError(401, "session ended; log in again");
    }
    if (res.status === 204) return null;
    const type = res.headers.get("content-type") ?? "";
    const data = type.includes("json") ? await res.json() : await res.text();
    if (!res.ok) {
      const why = data &&
        (data.error || (data.outcome && `${data.outcome}${data.detail ? `: ${data.detail}` : ""}`));
      throw new ApiError(res.status, why || `HTTP ${res.status}`);
    }
    return data;
  }

  /** Show a message in the page's status line; errors also go to role=alert. */
  function say(text, kind = "ok") {
    const el = $("#message");
    if (!el) return;
    el.textContent = text;
    el.hidden = text === "";
    el.className = `message ${kind}`;
    el.setAttribute("role", kind === "error" ? "alert" : "status");
  }

  /** Wire a form: on submit, run fn(values, form); report its result or error. */
  function onSubmit(form, fn) {
    if (!form) return;
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const button = form.querySelector('button[type="submit"]');
      const focused = document.activeElement;
      if (button) button.disabled = true;
      try {
        const values = Object.fromEntries(new FormData(form).entries());
        const msg = await fn(values, form);
        if (typeof msg === "string") say(msg, "ok");
      } catch (err) {
        say(err instanceof Error ? err.message : String(err), "error");
      } finally {
        if (button) button.disabled = false;
        // Disabling the focused button drops focus to <body>; keyboard users keep their place.
        if (
          (document.activeElement === document.body || document.activeElement === null) &&
          focused?.isConnected
        ) {
          focused.focus();
        }
      }
    });
  }

  const time = (ms) => (ms === null || ms === undefined ? "" : new Date(ms).toLocaleString());
  const duration = (ms) => {
    const s = Math.max(0, Math.round(ms / 1000));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  };
  const bytes = (n) => {
    if (n === null || n === undefined) return "unknown";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
  };
  const list = (s) => String(s ?? "").split(",").map((x) => x.trim()).filter((x) => x !== "");

  /** Replace a table's body rows; toggle its "empty" note. */
  function fillTable(tableSel, emptySel, rows) {
    const tbody = $(`${tableSel} tbody`);
    if (!tbody) return;
    tbody.replaceChildren(...rows);
    const empty = emptySel ? $(emptySel) : null;
    if (empty) empty.hidden = rows.length > 0;
  }

  function dl(el, pairs) {
    if (!el) return;
    el.replaceChildren(...pairs.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  }

  // ---- shared: logout -------------------------------------------------------------------------
  onSubmit($("#logout-form"), async () => {
    await api("POST", "/api/auth/logout");
    location.assign("/login");
  });

  // ---- pages ----------------------------------------------------------------------------------
  const pages = {};

  pages.setup = () => {
    onSubmit($("#setup-form"), async (v) => {
      if (v.password !== v.confirm) throw new Error("the two passwords differ");
      await api("POST", "/api/setup", { password: v.password });
      location.assign("/login");
    });
  };

  pages.login = () => {
    $("#login-username")?.focus();
    onSubmit($("#login-form"), async (v) => {
      const r = await api("POST", "/api/auth/login", {
        username: v.username,
        password: v.password,
        cookie: true,
      });
      location.assign(r.role === "admin" ? "/" : "/me");
    });
  };

  function renderHealth(s) {
    const pairs = [
      [
        "Uptime",
        s.uptime.systemSec === null
          ? "unknown"
          : `${Math.floor(s.uptime.systemSec / 3600)} h ${Math.floor((s.uptime.systemSec % 3600) / 60)} min`,
      ],
      ["Load (1/5/15 min)", s.loadavg === null ? "unknown" : s.loadavg.map((x) => x.toFixed(2)).join(" / ")],
      [
        "Memory available",
        s.memory === null ? "unknown" : `${bytes(s.memory.availableBytes)} of ${bytes(s.memory.totalBytes)}`,
      ],
      ["Data on disk", `${bytes(s.dataDir.bytes)} (free space is not measured)`],
      [
        "Services",
        Object.entries(s.health.listeners).map(([k, up]) => `${k} ${up ? "up" : "DOWN"}`).join(", "),
      ],
      ["Addresses", s.box.addresses.length ? s.box.addresses.join(", ") : "unknown"],
      ["SIP port", String(s.box.sipPort)],
    ];
    const files = s.health.files;
    if (files) {
      pairs.push([
        "Open files",
        `${files.open ?? "?"} of ${files.limit ?? "unlimited"} allowed (hard limit ${
          files.hard ?? "unlimited"
        })`,
      ]);
    }
    dl($("#health"), pairs);
  }

  function renderCalls(items) {
    $("#calls-count").textContent = `(${items.length})`;
    fillTable(
      "#calls-table",
      "#calls-empty",
      items.map((c) =>
        h(
          "tr",
          {},
          h("td", {}, c.callerName ? `${c.callerName} (${c.caller})` : c.caller),
          h("td", {}, c.callee),
          h("td", {}, c.state),
          h("td", {}, time(c.answeredAt ?? c.startedAt)),
        )
      ),
    );
  }

  function renderRegistrations(items) {
    $("#regs-count").textContent = `(${items.length})`;
    fillTable(
      "#regs-table",
      "#regs-empty",
      items.map((r) =>
        h(
          "tr",
          { "data-extension": r.extension },
          h("td", {}, r.extension),
          h("td", {}, `${r.source.address}:${r.source.port} (${r.source.transport})`),
          h("td", {}, r.userAgent ?? ""),
          h("td", {}, time(r.expiresAt)),
        )
      ),
    );
  }

  let zonesSeq = 0;
  async function loadZonesSummary() {
    const empty = $("#zones-empty");
    const seq = ++zonesSeq;
    try {
      const z = await api("GET", "/api/paging/zones");
      const zones = z.zones ?? [];
      const states = new Map();
      try {
        const st = await api("GET", "/api/paging/status");
        for (const s of st.zones ?? []) states.set(s.number, s.fault ? `${s.state} (${s.fault})` : s.state);
      } catch {
        // Paging service not running: show the configuration only.
      }
      if (seq !== zonesSeq) return; // a newer refresh is under way
      $("#zones-list").replaceChildren(
        ...zones.map((zone) =>
          h(
            "li",
            { "data-zone": zone.number },
            `${zone.number} ${zone.name}: ${
              states.get(zone.number) ?? (zone.enabled ? "configured" : "disabled")
            }`,
          )
        ),
      );
      empty.textContent = "No paging zones.";
      empty.hidden = zones.length > 0;
    } catch (e) {
      empty.textContent = e.status === 404 ? "Paging is not available in this build." : e.message;
      empty.hidden = false;
    }
  }

  pages.dashboard = () => {
    const live = $("#live-status");
    const refreshHealth = () =>
      api("GET", "/api/system/status").then(renderHealth).catch((e) => say(e.message, "error"));
    refreshHealth();
    setInterval(refreshHealth, 30_000);
    loadZonesSummary();
    const es = new EventSource("/api/events");
    es.addEventListener("open", () => {
      live.textContent = "Live: updates appear as they happen.";
      live.className = "live on";
    });
    es.addEventListener("error", () => {
      live.textContent = "Live updates interrupted; reconnecting…";
      live.className = "live off";
    });
    es.addEventListener("registrations", (e) => renderRegistrations(JSON.parse(e.data).items));
    es.addEventListener("calls", (e) => renderCalls(JSON.parse(e.data).items));
    es.addEventListener("zones", () => loadZonesSummary());
    es.addEventListener("expired", () => {
      es.close();
      location.assign("/login");
    });
  };

  pages.me = async () => {
    onSubmit($("#password-form"), async (v) => {
      await api("PUT", "/api/me/password", v);
      location.assign("/login");
    });
    try {
      const me = await api("GET", "/api/me");
      dl(
        $("#my-extension"),
        me.extension === null ? [["Extension", "none assigned"]] : [
          ["Number", me.extension.number],
          ["Name", me.extension.name],
          ["SIP domain", me.extension.realm],
          ["Web user", me.username],
        ],
      );
      fillTable(
        "#my-regs",
        "#my-regs-empty",
        me.registrations.map((r) =>
          h(
            "tr",
            {},
            h("td", {}, `${r.source.address}:${r.source.port}`),
            h("td", {}, r.userAgent ?? ""),
            h("td", {}, time(r.expiresAt)),
          )
        ),
      );
    } catch (e) {
      say(e.message, "error");
    }
  };

  pages.phones = () => {
    let security = { requireWindow: true, windowMinutes: 60, phonebookNetworks: [] };
    const windowText = (p) => {
      if (!p.extension) return "—";
      if (!security.requireWindow) return "not required";
      return p.provisioningOpenUntil && p.provisioningOpenUntil > Date.now()
        ? `open until ${time(p.provisioningOpenUntil)}`
        : "closed";
    };
    const loadSecurity = async () => {
      try {
        security = await api("GET", "/api/phones/security");
      } catch {
        return;
      }
      const f = $("#prov-security");
      if (f) {
        f.requireWindow.checked = security.requireWindow;
        f.windowMinutes.value = String(security.windowMinutes);
        f.phonebookNetworks.value = security.phonebookNetworks.join(", ");
      }
      const blocks = (await api("GET", "/api/phones/blocks")).items ?? [];
      fillTable(
        "#prov-blocks",
        "#prov-blocks-empty",
        blocks.map((b) =>
          h(
            "tr",
            { "data-address": b.address },
            h("td", { "data-label": "Address" }, h("code", {}, b.address)),
            h("td", { "data-label": "Blocked until" }, time(b.until)),
            h("td", { "data-label": "Misses" }, String(b.misses)),
            h("td", { "data-label": "Refused" }, String(b.refused)),
            h("td", { "data-label": "Last reason" }, b.lastReason),
            h(
              "td",
              { class: "actions" },
              h("button", {
                type: "button",
                class: "secondary",
                "aria-label": `Unblock ${b.address}`,
                onclick: async () => {
                  try {
                    await api("DELETE", `/api/phones/blocks/${encodeURIComponent(b.address)}`);
                    say(`${b.address} may provision again.`);
                    await loadSecurity();
                  } catch (e) {
                    say(e.message, "error");
                  }
                },
              }, "Unblock"),
            ),
          )
        ),
      );
    };
    onSubmit($("#prov-security"), async (v, form) => {
      security = await api("PUT", "/api/phones/security", {
        requireWindow: form.requireWindow.checked,
        windowMinutes: Number(v.windowMinutes),
        phonebookNetworks: list(v.phonebookNetworks),
      });
      await load();
      return "Provisioning security saved.";
    });
    const openWindow = async (mac, button) => {
      button.disabled = true;
      try {
        const d = await api("POST", `/api/phones/${encodeURIComponent(mac)}/open-window`, {
          minutes: security.windowMinutes,
        });
        say(`Phone ${mac} may fetch its SIP password until ${time(d.provisioningOpenUntil)}.`);
        await load();
      } catch (e) {
        say(e.message, "error");
        button.disabled = false;
      }
    };
    const load = async () => {
      await loadSecurity();
      let data;
      try {
        data = await api("GET", "/api/phones");
      } catch (e) {
        if (e.status === 404) {
          $("#phones-unavailable").hidden = false;
          return;
        }
        throw e;
      }
      const items = data.items ?? [];
      fillTable(
        "#phones-table",
        "#phones-empty",
        items.map((p) =>
          h(
            "tr",
            { "data-mac": p.mac },
            h("td", { "data-label": "MAC" }, h("code", {}, p.mac)),
            h("td", { "data-label": "Vendor / model" }, [p.vendor, p.model].filter(Boolean).join(" ")),
            h("td", { "data-label": "Extension" }, p.extension ?? "—"),
            h("td", { "data-label": "Status" }, p.status ?? ""),
            h("td", { "data-label": "Last fetch" }, time(p.lastFetch?.at ?? p.lastFetchAt)),
            h("td", { "data-label": "Provisioning window" }, windowText(p)),
            h(
              "td",
              { class: "actions" },
              p.extension
                ? [
                  h("button", {
                    type: "button",
                    class: "secondary",
                    "aria-label": `Re-provision phone ${p.mac}`,
                    onclick: (e) => reprovision(p.mac, e.currentTarget),
                  }, "Re-provision"),
                  security.requireWindow
                    ? h("button", {
                      type: "button",
                      class: "secondary",
                      "aria-label": `Open provisioning window for phone ${p.mac}`,
                      onclick: (e) => openWindow(p.mac, e.currentTarget),
                    }, "Open window")
                    : "",
                ]
                : "",
            ),
          )
        ),
      );
      $("#tpl-macs")?.replaceChildren(
        ...items.map((p) =>
          h("option", { value: p.mac }, [p.extension, p.vendor, p.model].filter(Boolean).join(" "))
        ),
      );
    };
    const reprovision = async (mac, button) => {
      button.disabled = true;
      try {
        const r = await api("POST", `/api/phones/${encodeURIComponent(mac)}/reprovision`);
        say(`Phone ${mac} was asked to fetch its configuration now (${r.detail}).`);
        await load(); // re-provisioning opened its provisioning window
      } catch (e) {
        say(e.message, "error");
      } finally {
        button.disabled = false;
        button.focus();
      }
    };
    onSubmit($("#phone-assign"), async (v, form) => {
      const mac = v.mac.trim();
      try {
        await api("POST", `/api/phones/${encodeURIComponent(mac)}/assign`, { extension: v.extension });
      } catch (e) {
        // Not discovered yet: register the MAC with its extension so it is configured on first fetch.
        if (e.status !== 404 || /extension/.test(e.message)) throw e;
        await api("POST", "/api/phones", { mac, extension: v.extension });
      }
      form.reset();
      await load();
      return `Phone ${mac} assigned to extension ${v.extension}.`;
    });
    // Show a phone's stored keys when its MAC is entered.
    $("#keys-mac")?.addEventListener("change", async (e) => {
      try {
        const d = await api("GET", `/api/phones/${encodeURIComponent(e.target.value.trim())}`);
        $("#keys-list").value = (d.lineKeys ?? []).map((k) => `${k.type} ${k.value} ${k.label}`).join("\n");
      } catch (err) {
        say(err.message, "error");
      }
    });
    onSubmit($("#phone-keys"), async (v) => {
      const mac = v.mac.trim();
      const lineKeys = v.keys.split("\n").map((l) => l.trim()).filter((l) => l !== "").map((l) => {
        const [type, value, ...label] = l.split(/\s+/);
        return { type, value: value ?? "", label: label.join(" ") };
      });
      await api("PUT", `/api/phones/${encodeURIComponent(mac)}`, { lineKeys });
      return `Phone ${mac}: ${lineKeys.length} key(s) saved; the phone gets them at its next fetch.`;
    });
    load().catch((e) => say(e.message, "error"));
    templateEditor();
  };

  /** The Phones page's template editor: list, edit with inline line:col errors, preview, reset. */
  function templateEditor() {
    const editor = $("#tpl-editor");
    const body = $("#tpl-body");
    const errorEl = $("#tpl-error");
    const previewEl = $("#tpl-preview");
    const previewNote = $("#tpl-preview-note");
    if (!editor || !body) return;
    let current = null; // the template open in the editor
    let opener = null;

    const showError = (message) => {
      errorEl.hidden = message === "";
      errorEl.replaceChildren();
      if (message === "") {
        body.removeAttribute("aria-invalid");
        return;
      }
      body.setAttribute("aria-invalid", "true");
      // "invalid template: yealink.device:2:3: unknown variable ..." -> put the caret there.
      const m = /(?:^|\s)[a-z0-9.]+:(\d+):(\d+): (.*)$/s.exec(message);
      if (m) {
        const line = Number(m[1]);
        const col = Number(m[2]);
        errorEl.append(h("strong", {}, `Line ${line}, column ${col}: `), m[3]);
        const lines = body.value.split("\n");
        let pos = 0;
        for (let i = 0; i < line - 1 && i < lines.length; i++) pos += lines[i].length + 1;
        pos += Math.max(0, Math.min(col - 1, (lines[line - 1] ?? "").length));
        body.focus();
        body.setSelectionRange(pos, pos);
        // Scroll the caret's line into view (roughly: line height times line number).
        const lh = parseFloat(getComputedStyle(body).lineHeight) || 20;
        body.scrollTop = Math.max(0, (line - 3) * lh);
      } else {
        errorEl.append(message);
      }
    };
    const describe = (t) => {
      if (!t.overridden) return "shipped";
      return t.shippedChanged ? "edited (shipped version changed since)" : "edited";
    };
    const renderState = (t) => {
      $("#tpl-state").textContent = t.overridden
        ? `Edited${t.updatedAt ? ` ${time(t.updatedAt)}` : ""}. ${
          t.shippedChanged
            ? "The shipped template changed since (software update): compare, and reset if you no longer need your changes."
            : "Reset to go back to the shipped template."
        }`
        : "This is the shipped template; saving stores your version instead.";
      $("#tpl-reset").disabled = !t.overridden;
    };

    const load = async () => {
      let data;
      try {
        data = await api("GET", "/api/templates");
      } catch (e) {
        if (e.status === 503 || e.status === 404) {
          $("#tpl-unavailable").hidden = false;
          $("#tpl-table").closest(".table-wrap").hidden = true;
          return;
        }
        throw e;
      }
      fillTable(
        "#tpl-table",
        null,
        data.items.map((t) =>
          h(
            "tr",
            { "data-key": t.key },
            h("td", { "data-label": "Template" }, h("code", {}, t.key)),
            // The key already says make and file: narrow screens leave these two out.
            h("td", { "data-label": "Make", class: "hide-sm" }, t.vendor),
            h("td", { "data-label": "File", class: "hide-sm" }, t.kind),
            h("td", { "data-label": "State" }, describe(t)),
            h(
              "td",
              { class: "actions" },
              h("button", {
                type: "button",
                class: "secondary",
                "aria-label": `Edit template ${t.key}`,
                onclick: () => open(t.key).catch((x) => say(x.message, "error")),
              }, "Edit"),
            ),
          )
        ),
      );
    };

    const open = async (key) => {
      opener = document.activeElement;
      const t = await api("GET", `/api/templates/${encodeURIComponent(key)}`);
      current = t;
      $("#tpl-key").textContent = t.key;
      $("#tpl-key-input").value = t.key;
      body.value = t.body;
      body.setAttribute("aria-label", `Template text for ${t.key}`);
      renderState(t);
      showError("");
      previewEl.hidden = true;
      previewEl.textContent = "";
      previewNote.textContent = "";
      $("#tpl-secrets").checked = false;
      editor.hidden = false;
      editor.scrollIntoView({ block: "start" });
      body.focus();
      body.setSelectionRange(0, 0);
      body.scrollTop = 0;
    };
    const close = () => {
      editor.hidden = true;
      const key = current?.key;
      current = null;
      // A save re-renders the list, replacing the opener: fall back to the same row's Edit button.
      const target = opener && document.contains(opener)
        ? opener
        : key && $(`#tpl-table tr[data-key="${CSS.escape(key)}"] button`);
      target?.focus();
      opener = null;
    };
    // Escape closes the editor (as the extension edit panel does); focus goes back to its Edit button.
    editor.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !e.defaultPrevented) {
        e.preventDefault();
        close();
      }
    });
    $("#tpl-close").addEventListener("click", close);

    onSubmit($("#tpl-form"), async (v) => {
      if (!current) return;
      showError("");
      try {
        const t = await api("PUT", `/api/templates/${encodeURIComponent(current.key)}`, { body: v.body });
        current = t;
        renderState(t);
      } catch (e) {
        if (e.status === 400) {
          showError(e.message);
          say("The template was not saved: fix the error shown under the editor.", "error");
          return;
        }
        throw e;
      }
      await load();
      return `Template ${current.key} saved; phones get it at their next fetch.`;
    });

    $("#tpl-reset").addEventListener("click", async () => {
      if (!current) return;
      const key = current.key;
      if (!confirm(`Reset ${key} to the shipped template? Your changes to it are lost.`)) return;
      try {
        const t = await api("POST", `/api/templates/${encodeURIComponent(key)}/reset`);
        current = t;
        body.value = t.body;
        renderState(t);
        showError("");
        await load();
        say(`Template ${key} reset to the shipped version.`);
        body.focus();
      } catch (e) {
        say(e.message, "error");
      }
    });

    onSubmit($("#tpl-preview-form"), async (v) => {
      if (!current) return;
      const req = { body: body.value, showSecrets: v.showSecrets === "on" };
      const mac = (v.mac ?? "").trim();
      if (mac) req.mac = mac;
      showError("");
      let r;
      try {
        r = await api("POST", `/api/templates/${encodeURIComponent(current.key)}/preview`, req);
      } catch (e) {
        if (e.status === 400 && /:\d+:\d+: /.test(e.message)) {
          showError(e.message);
          return;
        }
        throw e;
      }
      previewEl.textContent = r.body;
      previewEl.hidden = false;
      previewNote.textContent = `${current.key} for ${r.mac ?? "all phones"} (${r.contentType}). ${
        r.hasAccount ? "" : "This phone has no extension, so no SIP account is in it. "
      }${
        r.secrets
          ? "SIP passwords are shown; this was recorded in the audit log."
          : "SIP passwords are masked."
      }`;
      return undefined;
    });

    load().catch((e) => say(e.message, "error"));
  }

  /** Checkbox list in a fieldset (keeps its legend): items are [value, label]. */
  function fillChoices(fieldset, name, items, checked = new Set()) {
    if (!fieldset) return;
    const legend = fieldset.querySelector("legend");
    const boxes = items.map(([value, label]) =>
      h(
        "label",
        { class: "check" },
        h("input", { type: "checkbox", name, value, checked: checked.has(value) }),
        ` ${label}`,
      )
    );
    fieldset.replaceChildren(
      ...(legend ? [legend] : []),
      ...(boxes.length ? boxes : [h("span", { class: "note" }, "Nothing to choose yet.")]),
    );
  }
  const checkedValues = (form, name) => new FormData(form).getAll(name).map(String);
  const setChecked = (root, name, values) => {
    for (const el of root.querySelectorAll(`input[name="${name}"]`)) el.checked = values.has(el.value);
  };
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

  /** Delete button with a confirm(); runs del() then reload(). */
  function deleteButton(label, question, del, reload, done) {
    return h("button", {
      type: "button",
      class: "danger",
      "aria-label": label,
      onclick: async () => {
        if (!confirm(question)) return;
        try {
          await del();
          say(done);
          await reload();
        } catch (x) {
          say(x.message, "error");
        }
      },
    }, "Delete");
  }

  pages.paging = () => {
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
              h("button", {
                type: "button",
                class: "secondary",
                "aria-label": `Edit zone ${z.number}`,
                onclick: () => {
                  $("#zone-number").value = z.number;
                  $("#zone-name").value = z.name;
                  $("#zone-output").value = z.alsaDevice ?? "";
                  $("#zone-channels").value = z.channels.join(", ");
                  $("#zone-volume").value = String(z.volume);
                  $("#zone-enabled").checked = z.enabled;
                  $("#zone-name").focus();
                },
              }, "Edit"),
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
              h("button", {
                type: "button",
                class: "secondary",
                "aria-label": `Edit group ${x.number}`,
                onclick: () => {
                  $("#group-number").value = x.number;
                  $("#group-name").value = x.name;
                  setChecked(groupForm, "zones", new Set(x.zones));
                  $("#group-name").focus();
                },
              }, "Edit"),
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
              h("button", {
                type: "button",
                class: "secondary",
                "aria-label": `Edit what extension ${ext} may page`,
                onclick: () => {
                  $("#perm-ext").value = ext;
                  setChecked(permForm, "targets", new Set(targets));
                  permForm.querySelector('input[name="targets"]')?.focus();
                },
              }, "Edit"),
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
              h("button", {
                type: "button",
                class: "secondary",
                "aria-label": `Edit bell ${s.name}`,
                onclick: () => {
                  $("#sched-id").value = String(s.id);
                  $("#sched-name").value = s.name;
                  $("#sched-target").value = s.target;
                  $("#sched-wav").value = s.wavPath;
                  setChecked(schedForm, "weekday", new Set(s.weekdays.map(String)));
                  $("#sched-time").value = s.time;
                  $("#sched-exceptions").value = s.exceptions.join(", ");
                  $("#sched-enabled").checked = s.enabled;
                  $("#sched-name").focus();
                },
              }, "Edit"),
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
      const res = await fetch(`/api/paging/sounds?${q}`, {
        method: "POST",
        headers: { "content-type": "audio/wav", "x-csrf-token": csrf, accept: "application/json" },
        credentials: "same-origin",
        body: file,
      });
      const data = await res.json().catch(() => ({}));
      if (!res.ok) throw new ApiError(res.status, data.error || `HTTP ${res.status}`);
      form.reset();
      await load();
      $("#sched-wav").value = data.path;
      return `Sound ${data.name} uploaded (${
        (data.durationMs / 1000).toFixed(1)
      } s); it is selected for the next bell.`;
    });

    // Zone states change while pages play: follow the live events instead of polling.
    const es = new EventSource("/api/events");
    es.addEventListener("zones", () => refreshLive().catch(() => {}));
    es.addEventListener("expired", () => {
      es.close();
      location.assign("/login");
    });
    load().catch((e) => say(e.message, "error"));
  };

  pages.cdr = () => {
    const form = $("#cdr-filter");
    const queryOf = () => {
      const v = Object.fromEntries(new FormData(form).entries());
      const q = new URLSearchParams();
      if (v.from) q.set("from", new Date(`${v.from}T00:00:00`).toISOString());
      if (v.to) q.set("to", new Date(`${v.to}T23:59:59.999`).toISOString());
      if (v.extension) q.set("extension", v.extension);
      if (v.disposition) q.set("disposition", v.disposition);
      return q;
    };
    const load = async () => {
      const q = queryOf();
      $("#cdr-csv").setAttribute("href", `/api/cdr.csv?${q}`);
      q.set("limit", "500");
      const data = await api("GET", `/api/cdr?${q}`);
      $("#cdr-total").textContent = `${data.total} record${data.total === 1 ? "" : "s"}${
        data.total > data.items.length ? `, showing the newest ${data.items.length}` : ""
      }.`;
      fillTable(
        "#cdr-table",
        "#cdr-empty",
        data.items.map((r) =>
          h(
            "tr",
            {},
            h("td", {}, time(r.startedAt)),
            h("td", {}, r.caller),
            h("td", {}, r.callee),
            h("td", {}, r.disposition),
            h("td", {}, r.billsecMs ? duration(r.billsecMs) : ""),
          )
        ),
      );
    };
    onSubmit(form, load);
    load().catch((e) => say(e.message, "error"));
  };

  pages.users = () => {
    const load = async () => {
      const data = await api("GET", "/api/users");
      fillTable(
        "#users-table",
        null,
        data.items.map((u) =>
          h(
            "tr",
            { "data-user": u.username },
            h("td", {}, u.username),
            h("td", {}, u.role),
            h("td", {}, u.extension ?? "—"),
            h(
              "td",
              { class: "actions" },
              h("button", {
                type: "button",
                class: "secondary",
                "aria-label": `Reset the password of ${u.username}`,
                onclick: async () => {
                  const pw = prompt(`New password for ${u.username} (at least 10 characters):`);
                  if (!pw) return;
                  try {
                    await api("PUT", `/api/users/${encodeURIComponent(u.username)}/password`, {
                      password: pw,
                    });
                    say(`Password of ${u.username} reset.`);
                  } catch (x) {
                    say(x.message, "error");
                  }
                },
              }, "Reset password"),
              " ",
              h("button", {
                type: "button",
                class: "danger",
                "aria-label": `Delete user ${u.username}`,
                onclick: async () => {
                  if (!confirm(`Delete web user ${u.username}?`)) return;
                  try {
                    await api("DELETE", `/api/users/${encodeURIComponent(u.username)}`);
                    await load();
                    say(`User ${u.username} deleted.`);
                  } catch (x) {
                    say(x.message, "error");
                  }
                },
              }, "Delete"),
            ),
          )
        ),
      );
    };
    onSubmit($("#user-add"), async (v, form) => {
      const body = { username: v.username, role: v.role, password: v.password };
      if (v.extension) body.extension = v.extension;
      await api("POST", "/api/users", body);
      form.reset();
      await load();
      return `User ${v.username} added.`;
    });
    load().catch((e) => say(e.message, "error"));
  };

  pages.system = async () => {
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
  };

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
          pendingText.textContent =
            `New network settings are in effect (${describe(p.settings)}, host name ` +
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
      const synced = s.ntp.synchronized === true
        ? "yes"
        : s.ntp.synchronized === false
        ? "not yet"
        : "unknown";
      facts(tz, [
        ["Zone in effect", s.timezone ?? "unknown"],
        ["NTP servers in effect", s.ntp.servers.length ? s.ntp.servers.join(", ") : "system defaults"],
        ["Clock synchronized", synced],
      ]);
      showPending(s.pendingNetwork);
      for (const b of document.querySelectorAll("#fw-restart button")) b.disabled = s.mode !== "systemd";
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
        for (const el of form.querySelectorAll("input, button")) el.disabled = true;
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
          r.schemaVersion === null || r.schemaVersion === undefined
            ? ""
            : `, schema version ${r.schemaVersion}`
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
      const res = await fetch("/api/system/restore", {
        method: "POST",
        headers: {
          "content-type": "application/vnd.sqlite3",
          "x-csrf-token": csrf,
          accept: "application/json",
        },
        credentials: "same-origin",
        body: file,
      });
      const data = await res.json().catch(() => ({}));
      if (!res.ok) throw new ApiError(res.status, data.error || `HTTP ${res.status}`);
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

  pages.audit = async () => {
    try {
      const data = await api("GET", "/api/audit?limit=200");
      fillTable(
        "#audit-table",
        null,
        data.items.map((a) =>
          h(
            "tr",
            {},
            h("td", {}, time(a.at)),
            h("td", {}, a.actor),
            h("td", {}, a.action),
            h("td", {}, a.detail === null ? "" : h("code", {}, JSON.stringify(a.detail))),
            h("td", {}, a.sourceIp ?? ""),
          )
        ),
      );
    } catch (e) {
      say(e.message, "error");
    }
  };

  // ---- security: blocks and allow-list ----------------------------------------------------------
  pages.security = async () => {
    const kinds = {
      "sip-source": "SIP source",
      "sip-extension": "SIP extension",
      "web-address": "Web login address",
      "web-account": "Web login account",
    };
    const load = async () => {
      const data = await api("GET", "/api/security/blocks");
      fillTable(
        "#blocks-table",
        "#blocks-empty",
        data.items.map((b) =>
          h(
            "tr",
            {},
            h("td", {}, kinds[b.kind] ?? b.kind),
            h("td", {}, h("code", {}, b.key)),
            h("td", {}, b.failures === null || b.failures === undefined ? "" : String(b.failures)),
            h("td", {}, time(b.blockedUntil)),
            h(
              "td",
              {},
              h("button", {
                type: "button",
                "aria-label": `Unblock ${b.key}`,
                onclick: async () => {
                  try {
                    await api(
                      "DELETE",
                      `/api/security/blocks/${encodeURIComponent(b.kind)}/${encodeURIComponent(b.key)}`,
                    );
                    say(`${b.key} unblocked.`);
                    await load();
                    await events();
                  } catch (x) {
                    say(x.message, "error");
                  }
                },
              }, "Unblock"),
            ),
          )
        ),
      );
    };
    const events = async () => {
      const data = await api("GET", "/api/security/events");
      fillTable(
        "#security-events",
        null,
        data.items.map((e) =>
          h(
            "tr",
            {},
            h("td", {}, time(e.at)),
            h("td", {}, e.action),
            h("td", {}, e.actor),
            h("td", {}, e.sourceIp ?? ""),
          )
        ),
      );
    };
    const allow = await api("GET", "/api/security/allow-list");
    $("#allow-networks").value = allow.networks.join("\n");
    onSubmit($("#allow-form"), async (values) => {
      const networks = String(values.networks ?? "").split(/[\s,]+/).filter((x) => x !== "");
      const saved = await api("PUT", "/api/security/allow-list", { networks });
      $("#allow-networks").value = saved.networks.join("\n");
      await events();
      return `Allow-list saved (${saved.networks.length} networks).`;
    });
    await load();
    await events();
  };

  const page = pages[document.body.dataset.page];
  if (page) Promise.resolve(page()).catch((e) => say(e.message, "error"));
})();
