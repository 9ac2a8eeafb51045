// System health figures (GET /api/system/status) as a <dl>: the dashboard and the System page.
import { $, dl } from "./dom.js";
import { bytes } from "./format.js";

/** Render a /api/system/status answer into #health. */
export function renderHealth(s) {
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
  // Trunks (runtime/features/trunks): registration and OPTIONS keepalive up/down.
  if (Array.isArray(s.health.trunks) && s.health.trunks.length > 0) {
    pairs.push([
      "Trunks",
      s.health.trunks.map((t) =>
        `${t.id} ${
          [t.registration, t.keepalive === undefined ? "" : `keepalive ${t.keepalive}`].filter(Boolean).join(
            ", ",
          ) || "configured"
        }`
      ).join("; "),
    ]);
  }
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
