/**
 * /api/system (admin): health figures, stored network/time/SMTP settings, database backup, logs;
 * and /api/audit, the audit log. Settings are stored and validated here; applying them to the OS is
 * the appliance's job.
 */
import { type Context, Hono } from "hono";
import * as v from "valibot";
import type { Clock } from "../runtime/clock/mod.ts";
import type { Storage } from "../runtime/storage/mod.ts";
import { clientIp, fail, HttpError, jsonBody, streamBodyToFile, validate } from "./_http.ts";
import type { AppEnv } from "./_env.ts";
import type { BackupInfo, BoxInfo, Health } from "./types.ts";

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
);

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
  },
): Hono<AppEnv> {
  const { storage, clock } = options;
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
      applied: false,
      note: "settings are stored; the appliance applies network and time settings at its next start",
    });
  });

  app.put("/settings/network", async (c) => {
    const body = await jsonBody(c, NetworkSettings);
    storage.settings.set("system.network", body);
    audit(c, clientIp(c), "settings.network", body);
    return c.json(body);
  });

  app.put("/settings/time", async (c) => {
    const body = await jsonBody(c, TimeSettings);
    storage.settings.set("system.time", body);
    audit(c, clientIp(c), "settings.time", body);
    return c.json(body);
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
      try {
        await checkSqliteHeader(tmp, bytes);
        if (options.validateBackup !== undefined) schemaVersion = options.validateBackup(tmp).schemaVersion;
      } catch (e) {
        fail(400, e instanceof RangeError ? e.message : `not a usable backup: ${(e as Error).message}`);
      }
      const stagedAt = clock.wallNow();
      const stagedBy = c.get("user").username;
      // The note first, then the database by rename: a reader never sees half a file.
      const note = `${dir}/.info-${crypto.randomUUID()}`;
      Deno.writeTextFileSync(note, JSON.stringify({ stagedAt, stagedBy, schemaVersion, bytes }), {
        mode: 0o600,
      });
      Deno.renameSync(note, `${dir}/info.json`);
      Deno.renameSync(tmp, `${dir}/pbx.sqlite`);
      audit(c, ip, "system.restore-stage", { bytes, schemaVersion });
      return c.json(
        { staged: true, applyOn: "restart", schemaVersion, bytes, stagedAt, stagedBy },
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
