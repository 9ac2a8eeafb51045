/**
 * /api/system (admin): health figures, network/time/SMTP settings, the box's OS state, reboot and
 * service restart, database backup, logs; and /api/audit, the audit log. Settings are validated and
 * stored here; applying them to the OS goes through the HostControl the appliance passes in.
 */
import { type Context, Hono } from "hono";
import * as v from "valibot";
import type { Clock } from "../runtime/clock/mod.ts";
import type { Storage } from "../runtime/storage/mod.ts";
import { clientIp, fail, HttpError, jsonBody, streamBodyToFile, validate } from "./_http.ts";
import type { AppEnv } from "./_env.ts";
import type { BackupInfo, BoxInfo, Health, HostControl, HostNetworkSettings, HostState } from "./types.ts";

const IPV4_RE =
  /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/;
const HOST_RE =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

const Ipv4 = v.pipe(
  v.string("must be a string"),
  v.regex(IPV4_RE, "must be an IPv4 address like 192.168.1.10"),
);
const HostOrIp = v.pipe(v.string("must be a string"), v.regex(HOST_RE, "must be a host name or IP address"));

/** Network settings (stored; the appliance applies them). */
export const NetworkSettings = v.pipe(
  v.object({
    mode: v.picklist(["dhcp", "static"], "must be dhcp or static"),
    hostname: v.pipe(
      v.string("must be a string"),
      v.regex(
        /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/,
        "must be a host name label (a-z 0-9 -, max 63)",
      ),
    ),
    address: v.optional(Ipv4),
    prefix: v.optional(
      v.pipe(
        v.number("must be a number"),
        v.integer("must be an integer"),
        v.minValue(1, "must be 1-32"),
        v.maxValue(32, "must be 1-32"),
      ),
    ),
    gateway: v.optional(Ipv4),
    dns: v.optional(
      v.pipe(v.array(Ipv4, "must be a list of addresses"), v.maxLength(3, "at most 3 servers")),
    ),
  }),
  v.check(
    (n) =>
      n.mode === "dhcp" || (n.address !== undefined && n.prefix !== undefined && n.gateway !== undefined),
    "static mode needs address, prefix and gateway",
  ),
  v.check(
    (n) => staticProblem(n) === null,
    (issue) => staticProblem(issue.input as HostNetworkSettings) ?? "bad static address",
  ),
);

function ipv4Number(a: string): number {
  return a.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

/**
 * What is wrong with a static address/prefix/gateway (null when usable or not static): the address
 * must not be the subnet's network or broadcast address (below /31), the gateway must be another
 * host in the same subnet. appliance/host checks the same before writing a file.
 */
function staticProblem(n: HostNetworkSettings): string | null {
  if (n.mode !== "static" || n.address === undefined || n.prefix === undefined || n.gateway === undefined) {
    return null;
  }
  const { address, prefix, gateway } = n;
  const a = ipv4Number(address);
  const g = ipv4Number(gateway);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const net = (a & mask) >>> 0;
  const broadcast = (net | (~mask >>> 0)) >>> 0;
  const dotted = (x: number) => [x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255].join(".");
  if (prefix <= 30 && a === net) {
    return `address ${address} is the network address of ${dotted(net)}/${prefix}`;
  }
  if (prefix <= 30 && a === broadcast) {
    return `address ${address} is the broadcast address of ${dotted(net)}/${prefix}`;
  }
  if (((g & mask) >>> 0) !== net) return `gateway ${gateway} is outside the subnet ${dotted(net)}/${prefix}`;
  if (g === a) return `gateway ${gateway} is the box's own address`;
  if (prefix <= 30 && (g === net || g === broadcast)) {
    return `gateway ${gateway} is the ${g === net ? "network" : "broadcast"} address of ${
      dotted(net)
    }/${prefix}`;
  }
  return null;
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Time settings: IANA time zone and NTP servers. */
export const TimeSettings = v.object({
  timezone: v.pipe(
    v.string("must be a string"),
    v.maxLength(64, "too long"),
    v.check(isTimeZone, "must be an IANA time zone like Europe/Berlin or UTC"),
  ),
  ntpServers: v.pipe(v.array(HostOrIp, "must be a list of servers"), v.maxLength(4, "at most 4 servers")),
});

/** SMTP settings for mail (voicemail to e-mail, alerts). `password` is write-only. */
export const SmtpSettings = v.object({
  host: HostOrIp,
  port: v.pipe(
    v.number("must be a number"),
    v.integer("must be an integer"),
    v.minValue(1, "must be 1-65535"),
    v.maxValue(65535, "must be 1-65535"),
  ),
  security: v.picklist(["none", "starttls", "tls"], "must be none, starttls or tls"),
  username: v.optional(v.pipe(v.string("must be a string"), v.maxLength(128, "too long"))),
  /** Omit to keep the stored password; "" clears it. */
  password: v.optional(v.pipe(v.string("must be a string"), v.maxLength(256, "too long"))),
  from: v.pipe(
    v.string("must be a string"),
    v.regex(/^[^\s@<>"]{1,64}@[A-Za-z0-9.-]{1,253}$/, "must be an e-mail address"),
  ),
});

const DEFAULTS = {
  network: { mode: "dhcp", hostname: "pbx", dns: [] as string[] },
  time: { timezone: "UTC", ntpServers: ["pool.ntp.org"] },
};

const LinesQuery = v.object({
  lines: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^[0-9]{1,4}$/, "must be 1-5000"),
      v.transform(Number),
      v.minValue(1, "must be 1-5000"),
      v.maxValue(5000, "must be 1-5000"),
    ),
  ),
});
const AuditQuery = v.object({
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^[0-9]{1,4}$/, "must be 1-1000"),
      v.transform(Number),
      v.minValue(1, "must be 1-1000"),
      v.maxValue(1000, "must be 1-1000"),
    ),
  ),
  offset: v.optional(
    v.pipe(v.string(), v.regex(/^[0-9]{1,9}$/, "must be a non-negative integer"), v.transform(Number)),
  ),
  action: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^[a-z0-9.-]{1,64}$/, "must be an action name like login or extension.create"),
    ),
  ),
});

/** Bytes used by files under `dir` (bounded walk; unreadable entries are skipped). */
export function directorySize(dir: string, maxEntries = 10_000): number {
  let total = 0;
  let seen = 0;
  const walk = (d: string, depth: number) => {
    if (depth > 4) return;
    let entries: Iterable<Deno.DirEntry>;
    try {
      entries = Deno.readDirSync(d);
    } catch {
      return;
    }
    for (const e of entries) {
      if (++seen > maxEntries) return;
      const p = `${d}/${e.name}`;
      if (e.isDirectory) walk(p, depth + 1);
      else if (e.isFile) {
        try {
          total += Deno.statSync(p).size;
        } catch { /* vanished */ }
      }
    }
  };
  walk(dir, 0);
  return total;
}

/** Why settings are only stored: no HostControl, or one in mode "none". */
const NOT_APPLIED =
  "this is not a box install (PBX_HOST is not systemd): settings are stored but not applied to the OS";

/** GET /api/system/host without a HostControl: what Deno can tell, nothing run. */
function denoHostState(): HostState {
  const ifaces = new Map<string, HostState["interfaces"][number]>();
  for (const ni of attempt(() => Deno.networkInterfaces()) ?? []) {
    if (ni.name === "lo" || ni.address.startsWith("127.") || ni.address === "::1") continue;
    let entry = ifaces.get(ni.name);
    if (entry === undefined) {
      const mac = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(ni.mac) && ni.mac !== "00:00:00:00:00:00"
        ? ni.mac
        : null;
      entry = { name: ni.name, mac, addresses: [] };
      ifaces.set(ni.name, entry);
    }
    if (ni.family === "IPv6" && ni.address.toLowerCase().startsWith("fe80:")) continue;
    entry.addresses.push({ address: ni.address, prefix: Number(ni.cidr.split("/")[1]) || 0, dynamic: null });
  }
  let bootId: string | null = null;
  try {
    bootId = Deno.readTextFileSync("/proc/sys/kernel/random/boot_id").trim() || null;
  } catch { /* not Linux, or no read permission */ }
  return {
    mode: "none",
    hostname: attempt(() => Deno.hostname()),
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone ?? null,
    ntp: { servers: [], synchronized: null },
    interfaces: [...ifaces.values()],
    bootId,
    pendingNetwork: null,
  };
}

function attempt<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    // Missing --allow-sys or an unsupported platform: report null rather than fail the page.
    return null;
  }
}

/** Default limit of a backup upload (POST /api/system/restore). */
export const DEFAULT_MAX_RESTORE_BYTES = 256 * 1024 * 1024;

/** Folder a restore is staged in: the appliance moves `pbx.sqlite` from it into place at start. */
export function restoreDir(dataDir: string): string {
  return `${dataDir}/restore`;
}

const RESTORE_TYPE = /^application\/(octet-stream|vnd\.sqlite3|x-sqlite3)\s*(;|$)/i;
const SQLITE_MAGIC = new TextEncoder().encode("SQLite format 3\0");

/** Read the first bytes of `path` and throw a RangeError unless it starts like an SQLite database. */
async function checkSqliteHeader(path: string, size: number): Promise<void> {
  // Every SQLite database file starts with a 100-byte header (sqlite.org/fileformat.html).
  if (size < 100) throw new RangeError(`not an SQLite database: only ${size} bytes`);
  const head = new Uint8Array(SQLITE_MAGIC.length);
  const file = await Deno.open(path, { read: true });
  try {
    let off = 0;
    while (off < head.length) {
      const n = await file.read(head.subarray(off));
      if (n === null) break;
      off += n;
    }
  } finally {
    file.close();
  }
  if (!head.every((b, i) => b === SQLITE_MAGIC[i])) {
    throw new RangeError('not an SQLite database: the file does not start with "SQLite format 3"');
  }
}

/** What GET /api/system/restore reports. */
interface StagedRestore {
  staged: boolean;
  applyOn?: "restart";
  bytes?: number;
  stagedAt?: number | null;
  stagedBy?: string | null;
  schemaVersion?: number | null;
}

function stagedRestore(dataDir: string): StagedRestore {
  const dir = restoreDir(dataDir);
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(`${dir}/pbx.sqlite`);
  } catch {
    return { staged: false };
  }
  let info: { stagedAt?: unknown; stagedBy?: unknown; schemaVersion?: unknown } = {};
  try {
    info = JSON.parse(Deno.readTextFileSync(`${dir}/info.json`));
  } catch { /* staged by hand, or the note is missing: report what the file says */ }
  return {
    staged: true,
    applyOn: "restart",
    bytes: st.size,
    stagedAt: typeof info.stagedAt === "number" ? info.stagedAt : st.mtime?.getTime() ?? null,
    stagedBy: typeof info.stagedBy === "string" ? info.stagedBy : null,
    schemaVersion: typeof info.schemaVersion === "number" ? info.schemaVersion : null,
  };
}

/** System routes mounted at /api/system, behind requireAdmin. */
export function systemRoutes(
  options: {
    storage: Storage;
    clock: Clock;
    health: () => Health;
    boxInfo: () => BoxInfo;
    logs: (() => string[]) | undefined;
    /** Deeper check of an uploaded backup (schema); throws with a message saying what is wrong. */
    validateBackup?: ((path: string) => BackupInfo) | undefined;
    maxRestoreBytes?: number | undefined;
    /** The box's OS; without it (or in mode "none") settings are only stored. */
    host?: HostControl | undefined;
  },
): Hono<AppEnv> {
  const { storage, clock } = options;
  const host = options.host?.mode === "systemd" ? options.host : undefined;
  const app = new Hono<AppEnv>();
  const audit = (c: { get(k: "user"): { username: string } }, ip: string, action: string, detail?: unknown) =>
    storage.audit.record({ actor: c.get("user").username, action, detail, sourceIp: ip });

  app.get("/status", (c) => {
    const mem = attempt(() => Deno.systemMemoryInfo());
    return c.json({
      now: clock.wallNow(),
      uptime: {
        systemSec: attempt(() => Deno.osUptime()),
        processSec: Math.round(performance.now() / 1000),
      },
      loadavg: attempt(() => Deno.loadavg()),
      memory: mem === null
        ? null
        : { totalBytes: mem.total, availableBytes: mem.available, freeBytes: mem.free },
      // Deno has no statfs: report what the data directory uses, not free disk space.
      dataDir: { path: storage.dataDir, bytes: directorySize(storage.dataDir) },
      health: options.health(),
      box: options.boxInfo(),
      schemaVersion: storage.schemaVersion(),
    });
  });

  app.get("/settings", (c) => {
    const smtp = storage.settings.get<Record<string, unknown>>("system.smtp");
    let smtpView: Record<string, unknown> | null = null;
    if (smtp !== undefined && smtp !== null) {
      const { password, ...rest } = smtp;
      smtpView = { ...rest, hasPassword: typeof password === "string" && password !== "" };
    }
    return c.json({
      network: storage.settings.get("system.network") ?? DEFAULTS.network,
      time: storage.settings.get("system.time") ?? DEFAULTS.time,
      smtp: smtpView,
      applied: host !== undefined,
      note: host !== undefined
        ? "network and time settings are applied to the box when saved; network changes need confirming"
        : NOT_APPLIED,
    });
  });

  // --- the box's OS: state, network/time applied, reboot, restart ---------------------------------
  app.get(
    "/host",
    async (c) => c.json(options.host !== undefined ? await options.host.state() : denoHostState()),
  );

  app.put("/settings/network", async (c) => {
    const body = await jsonBody(c, NetworkSettings);
    const ip = clientIp(c);
    if (host === undefined) {
      storage.settings.set("system.network", body);
      audit(c, ip, "settings.network", { ...body, applied: false });
      return c.json({ ...body, applied: false, reason: NOT_APPLIED });
    }
    const previous = storage.settings.get<HostNetworkSettings>("system.network") ?? null;
    let confirmBy: number;
    try {
      ({ confirmBy } = await host.applyNetwork(body, { previous }));
    } catch (e) {
      audit(c, ip, "settings.network-failed", { ...body, error: (e as Error).message });
      if (e instanceof RangeError) fail(400, `invalid body: ${e.message}`);
      return c.json({
        error: `network settings could not be applied (nothing changed): ${(e as Error).message}`,
      }, 500);
    }
    storage.settings.set("system.network", body);
    audit(c, ip, "settings.network", { ...body, applied: true, confirmBy });
    return c.json({ ...body, applied: true, confirmBy });
  });

  app.post("/settings/network/confirm", async (c) => {
    if (host === undefined) fail(409, `nothing to confirm: ${NOT_APPLIED}`);
    const pending = await host.confirmNetwork();
    if (pending === null) {
      fail(
        409,
        "no network change is waiting for confirmation (confirmed already, or reverted when its time ran out)",
      );
    }
    audit(c, clientIp(c), "settings.network-confirm", pending.settings);
    return c.json({ confirmed: true, settings: pending.settings });
  });

  app.put("/settings/time", async (c) => {
    const body = await jsonBody(c, TimeSettings);
    const ip = clientIp(c);
    if (host === undefined) {
      storage.settings.set("system.time", body);
      audit(c, ip, "settings.time", { ...body, applied: false });
      return c.json({ ...body, applied: false, reason: NOT_APPLIED });
    }
    try {
      await host.applyTime(body);
    } catch (e) {
      audit(c, ip, "settings.time-failed", { ...body, error: (e as Error).message });
      if (e instanceof RangeError) fail(400, `invalid body: ${e.message}`);
      return c.json({ error: `time settings could not be applied: ${(e as Error).message}` }, 500);
    }
    storage.settings.set("system.time", body);
    audit(c, ip, "settings.time", { ...body, applied: true });
    return c.json({ ...body, applied: true });
  });

  app.post("/reboot", (c) => {
    if (host === undefined) fail(409, `reboot refused: ${NOT_APPLIED}`);
    const { at } = host.reboot();
    audit(c, clientIp(c), "system.reboot", { at });
    return c.json({ scheduled: "reboot", at }, 202);
  });

  // Factory reset: data back to first boot (firmware slots kept). The body must say so.
  app.post("/factory-reset", async (c) => {
    const body = await c.req.json().catch(() => null) as { confirm?: unknown } | null;
    if (body?.confirm !== "factory-reset") {
      fail(
        400,
        'factory reset needs the body {"confirm":"factory-reset"}: it erases every setting and the database',
      );
    }
    if (host === undefined) fail(409, `factory reset refused: ${NOT_APPLIED}`);
    const { at } = host.factoryReset();
    audit(c, clientIp(c), "system.factory-reset", { at });
    return c.json({ scheduled: "factory-reset", at }, 202);
  });

  app.post("/restart", (c) => {
    if (host === undefined) fail(409, `restart refused: ${NOT_APPLIED}`);
    const { at } = host.restartService();
    audit(c, clientIp(c), "system.restart", { at });
    return c.json({ scheduled: "restart", at }, 202);
  });

  app.put("/settings/smtp", async (c) => {
    const body = await jsonBody(c, SmtpSettings);
    const old = storage.settings.get<{ password?: unknown }>("system.smtp");
    const password = body.password ?? (typeof old?.password === "string" ? old.password : "");
    storage.settings.set("system.smtp", { ...body, password });
    const { password: _, ...shown } = body;
    audit(c, clientIp(c), "settings.smtp", { ...shown, passwordChanged: body.password !== undefined });
    return c.json({ ...shown, hasPassword: password !== "" });
  });

  app.get("/backup", async (c) => {
    const dir = await Deno.makeTempDir({ prefix: "pbx-backup-" });
    const path = `${dir}/backup.sqlite`;
    let file: Deno.FsFile;
    try {
      storage.backupTo(path);
      file = await Deno.open(path, { read: true });
    } finally {
      // The open handle keeps the data readable; nothing is left behind in /tmp.
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
    const size = (await file.stat()).size;
    audit(c, clientIp(c), "system.backup", { bytes: size });
    const stamp = new Date(clock.wallNow()).toISOString().replace(/[-:]/g, "").slice(0, 15);
    return c.body(file.readable, 200, {
      "Content-Type": "application/vnd.sqlite3",
      "Content-Length": String(size),
      "Content-Disposition": `attachment; filename="pbx-backup-${stamp}.sqlite"`,
    });
  });

  // --- restore: stage an uploaded backup; the appliance swaps it in at its next start -------------
  app.get("/restore", (c) => c.json(stagedRestore(storage.dataDir)));

  app.post("/restore", async (c: Context<AppEnv>) => {
    const ip = clientIp(c);
    const dir = restoreDir(storage.dataDir);
    const tmp = `${dir}/.upload-${crypto.randomUUID()}`;
    try {
      const type = c.req.header("content-type") ?? "";
      if (!RESTORE_TYPE.test(type)) {
        fail(
          415,
          `backup upload must be application/octet-stream or application/vnd.sqlite3, got ${
            JSON.stringify(type.slice(0, 60) || "nothing")
          }`,
        );
      }
      Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const bytes = await streamBodyToFile(c, tmp, options.maxRestoreBytes ?? DEFAULT_MAX_RESTORE_BYTES);
      let schemaVersion: number | null = null;
      let files: number | null = null;
      try {
        await checkSqliteHeader(tmp, bytes);
        if (options.validateBackup !== undefined) {
          const info = options.validateBackup(tmp);
          schemaVersion = info.schemaVersion;
          files = info.files ?? null;
        }
      } catch (e) {
        fail(400, e instanceof RangeError ? e.message : `not a usable backup: ${(e as Error).message}`);
      }
      const stagedAt = clock.wallNow();
      const stagedBy = c.get("user").username;
      // The note first, then the database by rename: a reader never sees half a file.
      const note = `${dir}/.info-${crypto.randomUUID()}`;
      Deno.writeTextFileSync(note, JSON.stringify({ stagedAt, stagedBy, schemaVersion, bytes, files }), {
        mode: 0o600,
      });
      Deno.renameSync(note, `${dir}/info.json`);
      Deno.renameSync(tmp, `${dir}/pbx.sqlite`);
      audit(c, ip, "system.restore-stage", { bytes, schemaVersion, files });
      return c.json(
        { staged: true, applyOn: "restart", schemaVersion, bytes, files, stagedAt, stagedBy },
        202,
      );
    } catch (e) {
      // Refused uploads are worth a line too: someone tried to replace the whole configuration.
      if (e instanceof HttpError) {
        audit(c, ip, "system.restore-refused", { status: e.status, error: e.message });
      }
      throw e;
    } finally {
      try {
        Deno.removeSync(tmp);
      } catch { /* renamed into place, or never written */ }
    }
  });

  app.delete("/restore", (c) => {
    const dir = restoreDir(storage.dataDir);
    const had = stagedRestore(storage.dataDir).staged;
    for (const name of ["pbx.sqlite", "info.json"]) {
      try {
        Deno.removeSync(`${dir}/${name}`);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    if (had) audit(c, clientIp(c), "system.restore-cancel", {});
    return c.json({ staged: false, cancelled: had });
  });

  app.get("/logs", (c) => {
    const q = validate(LinesQuery, c.req.query(), "query");
    if (options.logs === undefined) {
      return c.json({
        available: false,
        lines: [],
        note: "this build does not keep logs in memory; see journalctl -u pbx",
      });
    }
    const all = options.logs();
    return c.json({ available: true, lines: all.slice(-(q.lines ?? 200)) });
  });

  return app;
}

/** Audit log route mounted at /api/audit, behind requireAdmin. */
export function auditRoutes(options: { storage: Storage }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", (c) => {
    const q = validate(AuditQuery, c.req.query(), "query");
    return c.json({
      items: options.storage.audit.list({ limit: q.limit ?? 100, offset: q.offset, action: q.action }),
    });
  });
  return app;
}
