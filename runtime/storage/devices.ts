/**
 * The device registry: phones the admin assigned to an extension and phones merely seen asking
 * for a provisioning file ("discovered"). Keyed by MAC (12 lower-case hex digits). A per-device
 * HTTP password is sealed with AES-GCM like SIP passwords, because the box must compare it.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Clock } from "../clock/mod.ts";
import { mapConflict, paging, parseJsonColumn, transaction } from "./_db.ts";
import { seal, unseal } from "./_secret.ts";
import { NotFoundError } from "./errors.ts";

/** Vendors the provisioning layer generates files for (same list as provisioning's Vendor). */
export type DeviceVendor = "yealink" | "polycom" | "cisco" | "grandstream" | "zultys";

/** Every vendor a device row may carry. */
export const DEVICE_VENDORS: readonly DeviceVendor[] = [
  "yealink",
  "polycom",
  "cisco",
  "grandstream",
  "zultys",
];

/** A programmable key (BLF, speed dial or park) on a phone. */
export interface DeviceLineKey {
  type: "blf" | "speeddial" | "park";
  value: string;
  label: string;
}

/** `discovered`: seen fetching a file, no extension; `assigned`: bound to an extension. */
export type DeviceStatus = "discovered" | "assigned";

/** A device as callers see it; the HTTP password is only reported as present or not. */
export interface DeviceRecord {
  mac: string;
  vendor: DeviceVendor | null;
  model: string | null;
  extension: string | null;
  lineKeys: DeviceLineKey[];
  /** Epoch ms until which credentials may be handed out, or null. */
  provisioningOpenUntil: number | null;
  httpUser: string | null;
  hasHttpPassword: boolean;
  status: DeviceStatus;
  lastFetch: { at: number; ip: string | null; userAgent: string | null; file: string | null } | null;
  lastRegister: { at: number; contact: string | null; userAgent: string | null } | null;
  createdAt: number;
  updatedAt: number;
}

/** Input for `DeviceStore.create`. */
export interface NewDevice {
  mac: string;
  vendor?: DeviceVendor | null | undefined;
  model?: string | null | undefined;
  extension?: string | null | undefined;
  lineKeys?: DeviceLineKey[] | undefined;
  httpUser?: string | null | undefined;
  httpPassword?: string | null | undefined;
}

/** Fields `DeviceStore.update` may change; `null` clears a field. */
export interface DevicePatch {
  vendor?: DeviceVendor | null | undefined;
  model?: string | null | undefined;
  extension?: string | null | undefined;
  lineKeys?: DeviceLineKey[] | undefined;
  httpUser?: string | null | undefined;
  httpPassword?: string | null | undefined;
  provisioningOpenUntil?: number | null | undefined;
}

/** A fetch by a MAC, recorded for "last seen" (and discovery of unknown phones). */
export interface DeviceFetch {
  mac: string;
  at: number;
  ip?: string | null | undefined;
  userAgent?: string | null | undefined;
  file?: string | null | undefined;
  /** Used only when the row is created (first sighting). */
  vendor?: DeviceVendor | null | undefined;
  model?: string | null | undefined;
}

/** Most devices the box records on its own (unknown MACs fetching or subscribing). */
export const MAX_DISCOVERED_DEVICES = 500;
/** A device the box discovered on its own is forgotten after this long unseen (30 days). */
export const DISCOVERED_TTL_MS = 30 * 86_400_000;

/** Bounds on devices recorded for unknown MACs. */
export interface DiscoveredLimits {
  /** Default {@linkcode MAX_DISCOVERED_DEVICES}; the least recently seen are evicted beyond it. */
  maxDiscovered?: number | undefined;
  /** Default {@linkcode DISCOVERED_TTL_MS}. */
  discoveredTtlMs?: number | undefined;
}

/** What `recordFetch` did. */
export interface FetchOutcome {
  /** A new discovered row was made. */
  created: boolean;
  /** Discovered rows removed to stay within the cap or because they expired. */
  evicted: number;
}

/** Settings key of {@linkcode ProvisioningSecurity}. */
export const PROVISIONING_SECURITY_KEY = "provisioning.security";

/** The admin's provisioning security settings (stored as one setting). */
export interface ProvisioningSecurity {
  /**
   * Files with SIP passwords go out only during a device's provisioning window (opened when it
   * is assigned or re-provisioned), or over HTTPS with the device's own HTTP credentials.
   */
  requireWindow: boolean;
  /** Length of the window opened on assign / re-provision (1-1440 minutes). */
  windowMinutes: number;
  /** IPv4 networks ("a.b.c.d/n") that may read the phone book without credentials. */
  phonebookNetworks: string[];
}

/** Defaults: windows on (60 minutes), phone book only with credentials. */
export const PROVISIONING_SECURITY_DEFAULTS: Readonly<ProvisioningSecurity> = Object.freeze({
  requireWindow: true,
  windowMinutes: 60,
  phonebookNetworks: [],
});

/** Throw RangeError unless `cidr` is an IPv4 address or `a.b.c.d/n`; returns it trimmed. */
export function normalizeNetwork(cidr: unknown): string {
  if (typeof cidr !== "string") throw new TypeError("network must be a string");
  const t = cidr.trim();
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(t);
  if (!m || m.slice(1, 5).some((p) => Number(p) > 255) || (m[5] !== undefined && Number(m[5]) > 32)) {
    throw new RangeError(
      `network must be an IPv4 address or a.b.c.d/n (n 0-32), got ${JSON.stringify(t.slice(0, 40))}`,
    );
  }
  return t;
}

/** The stored provisioning security settings merged over the defaults (bad stored values ignored). */
export function readProvisioningSecurity(
  settings: { get<T>(key: string): T | undefined },
): ProvisioningSecurity {
  const v = settings.get<Partial<ProvisioningSecurity>>(PROVISIONING_SECURITY_KEY) ?? {};
  const d = PROVISIONING_SECURITY_DEFAULTS;
  const minutes = v.windowMinutes;
  return {
    requireWindow: typeof v.requireWindow === "boolean" ? v.requireWindow : d.requireWindow,
    windowMinutes: Number.isInteger(minutes) && minutes! >= 1 && minutes! <= 1440
      ? minutes!
      : d.windowMinutes,
    phonebookNetworks: Array.isArray(v.phonebookNetworks)
      ? v.phonebookNetworks.filter((n): n is string => {
        try {
          normalizeNetwork(n);
          return true;
        } catch {
          return false;
        }
      })
      : [],
  };
}

/** Query for `DeviceStore.list`. */
export interface DeviceQuery {
  status?: DeviceStatus | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

/** Typed access to the devices table. */
export interface DeviceStore {
  /** Add a device; ConflictError if the MAC exists, RangeError/TypeError on bad input. */
  create(input: NewDevice): DeviceRecord;
  get(mac: string): DeviceRecord | undefined;
  /** Devices ordered by status (assigned first), then MAC. */
  list(query?: DeviceQuery): DeviceRecord[];
  count(status?: DeviceStatus): number;
  /** NotFoundError if absent. */
  update(mac: string, patch: DevicePatch): DeviceRecord;
  delete(mac: string): boolean;
  /**
   * Bind the phone to `extension` (null unassigns) in one step, creating the row when the MAC
   * was never seen. RangeError when the extension does not exist.
   */
  assign(
    mac: string,
    extension: string | null,
    extra?: { vendor?: DeviceVendor; model?: string },
  ): DeviceRecord;
  /** Open the provisioning window until `until` (epoch ms); NotFoundError if absent. */
  openWindow(mac: string, until: number): DeviceRecord;
  /** Devices assigned to `extension`. */
  byExtension(extension: string): DeviceRecord[];
  /** The clear HTTP password for provisioning auth. Never log it. */
  httpPassword(mac: string): string | undefined;
  /**
   * Record a fetch: creates a `discovered` row for an unknown MAC, else updates last_fetch_*.
   * Rows the box creates this way are bounded: before a new one is made, those unseen for the
   * TTL are deleted and, at the cap, the least recently seen ones.
   */
  recordFetch(fetch: DeviceFetch, limits?: DiscoveredLimits): FetchOutcome;
  /** The device whose HTTP user is `user`, if any. */
  byHttpUser(user: string): DeviceRecord | undefined;
  /** Record a SIP registration seen from this device; false when the MAC is unknown. */
  recordRegistration(
    mac: string,
    reg: { at: number; contact?: string | null; userAgent?: string | null },
  ): boolean;
}

// deno-lint-ignore no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/**
 * Normalize a MAC written as aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF, aabb.ccdd.eeff or
 * aabbccddeeff to 12 lower-case hex digits. RangeError on anything else.
 */
export function normalizeMac(text: unknown): string {
  if (typeof text !== "string") throw new TypeError(`MAC address must be a string, got ${typeof text}`);
  const t = text.trim();
  if (
    /^[0-9a-f]{12}$/i.test(t) || /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i.test(t) ||
    /^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/i.test(t)
  ) {
    return t.replace(/[:.-]/g, "").toLowerCase();
  }
  throw new RangeError(
    `MAC address must be 12 hex digits (aa:bb:cc:dd:ee:ff), got ${JSON.stringify(t.slice(0, 40))}`,
  );
}

/** Network-supplied details (User-Agent, Contact) are informational: clip them rather than reject. */
function clip(s: string | null | undefined, n: number): string | null {
  // deno-lint-ignore no-control-regex
  return s === null || s === undefined ? null : s.replace(/[\u0000-\u001f\u007f]/g, " ").slice(0, n);
}

function optText(what: string, value: unknown, max: number): string | null {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value !== "string") throw new TypeError(`${what} must be a string, got ${typeof value}`);
  if (value.length > max) {
    throw new RangeError(`${what} must be at most ${max} characters, got ${value.length}`);
  }
  if (CONTROL_RE.test(value)) throw new RangeError(`${what} must not contain control characters`);
  return value;
}

function checkVendor(value: unknown): DeviceVendor | null {
  if (value === null || value === undefined) return null;
  if (!DEVICE_VENDORS.includes(value as DeviceVendor)) {
    throw new RangeError(`vendor must be one of ${DEVICE_VENDORS.join(", ")}, got ${JSON.stringify(value)}`);
  }
  return value as DeviceVendor;
}

function checkLineKeys(value: unknown): DeviceLineKey[] {
  if (!Array.isArray(value)) throw new TypeError("line keys must be an array");
  if (value.length > 64) throw new RangeError(`at most 64 line keys, got ${value.length}`);
  return value.map((k, i) => {
    if (typeof k !== "object" || k === null) throw new TypeError(`line key ${i} must be an object`);
    const { type, value: v, label } = k as Record<string, unknown>;
    if (type !== "blf" && type !== "speeddial" && type !== "park") {
      throw new RangeError(
        `line key ${i} type must be "blf", "speeddial" or "park", got ${JSON.stringify(type)}`,
      );
    }
    if (typeof v !== "string" || !/^[0-9*#+]{1,32}$/.test(v)) {
      throw new RangeError(`line key ${i} value must be 1-32 of 0-9 * # +, got ${JSON.stringify(v)}`);
    }
    return { type, value: v, label: optText(`line key ${i} label`, label, 32) ?? v };
  });
}

interface DeviceRow {
  mac: string;
  vendor: string | null;
  model: string | null;
  extension: string | null;
  line_keys: string;
  provisioning_open_until: number | null;
  http_user: string | null;
  http_password: string | null;
  status: string;
  last_fetch_at: number | null;
  last_fetch_ip: string | null;
  last_fetch_user_agent: string | null;
  last_fetch_file: string | null;
  last_register_at: number | null;
  last_register_contact: string | null;
  last_register_user_agent: string | null;
  created_at: number;
  updated_at: number;
}

function toRecord(r: DeviceRow): DeviceRecord {
  return {
    mac: r.mac,
    vendor: r.vendor as DeviceVendor | null,
    model: r.model,
    extension: r.extension,
    lineKeys: parseJsonColumn<DeviceLineKey[]>(r.line_keys, []),
    provisioningOpenUntil: r.provisioning_open_until,
    httpUser: r.http_user,
    hasHttpPassword: r.http_password !== null,
    // Derived from the extension so a row unassigned by a cascade can never look assigned.
    status: r.extension === null ? "discovered" : "assigned",
    lastFetch: r.last_fetch_at === null ? null : {
      at: r.last_fetch_at,
      ip: r.last_fetch_ip,
      userAgent: r.last_fetch_user_agent,
      file: r.last_fetch_file,
    },
    lastRegister: r.last_register_at === null
      ? null
      : { at: r.last_register_at, contact: r.last_register_contact, userAgent: r.last_register_user_agent },
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Build the store over an open, migrated database. */
export function createDeviceStore(db: DatabaseSync, options: { clock: Clock; key: Uint8Array }): DeviceStore {
  const { clock, key } = options;
  const st = {
    get: db.prepare("SELECT * FROM devices WHERE mac = ?"),
    list: db.prepare(
      `SELECT * FROM devices WHERE ?1 IS NULL OR status = ?1
       ORDER BY status = 'discovered', mac LIMIT ?2 OFFSET ?3`,
    ),
    count: db.prepare("SELECT COUNT(*) AS n FROM devices WHERE ?1 IS NULL OR status = ?1"),
    insert: db.prepare(
      `INSERT INTO devices (mac, vendor, model, extension, line_keys, http_user, http_password, status,
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    update: db.prepare(
      `UPDATE devices SET vendor = ?, model = ?, extension = ?, line_keys = ?, http_user = ?, http_password = ?,
         provisioning_open_until = ?, status = ?, updated_at = ? WHERE mac = ?`,
    ),
    delete: db.prepare("DELETE FROM devices WHERE mac = ?"),
    extensionExists: db.prepare("SELECT 1 AS x FROM extensions WHERE number = ?"),
    byExtension: db.prepare("SELECT * FROM devices WHERE extension = ? ORDER BY mac"),
    fetchUpsert: db.prepare(
      `INSERT INTO devices (mac, vendor, model, status, last_fetch_at, last_fetch_ip, last_fetch_user_agent,
         last_fetch_file, created_at, updated_at) VALUES (?1, ?2, ?3, 'discovered', ?4, ?5, ?6, ?7, ?4, ?4)
       ON CONFLICT (mac) DO UPDATE SET last_fetch_at = ?4, last_fetch_ip = ?5, last_fetch_user_agent = ?6,
         last_fetch_file = ?7, vendor = coalesce(devices.vendor, ?2), model = coalesce(devices.model, ?3)`,
    ),
    autoExpire: db.prepare(
      "DELETE FROM devices WHERE auto = 1 AND extension IS NULL AND coalesce(last_fetch_at, created_at) < ?",
    ),
    autoCount: db.prepare("SELECT COUNT(*) AS n FROM devices WHERE auto = 1 AND extension IS NULL"),
    autoEvict: db.prepare(
      `DELETE FROM devices WHERE mac IN (SELECT mac FROM devices WHERE auto = 1 AND extension IS NULL
         ORDER BY coalesce(last_fetch_at, created_at), mac LIMIT ?)`,
    ),
    markAuto: db.prepare("UPDATE devices SET auto = 1 WHERE mac = ?"),
    adopt: db.prepare("UPDATE devices SET auto = 0 WHERE mac = ?"),
    byHttpUser: db.prepare("SELECT * FROM devices WHERE http_user = ? ORDER BY mac LIMIT 1"),
    register: db.prepare(
      `UPDATE devices SET last_register_at = ?, last_register_contact = ?, last_register_user_agent = ?
       WHERE mac = ?`,
    ),
  } satisfies Record<string, StatementSync>;

  const row = (mac: string) => st.get.get(mac) as DeviceRow | undefined;
  const macOrUndefined = (mac: unknown) => {
    try {
      return normalizeMac(mac);
    } catch {
      return undefined;
    }
  };
  const checkExtension = (ext: unknown): string | null => {
    if (ext === null || ext === undefined || ext === "") return null;
    if (typeof ext !== "string" || !/^[0-9]{2,8}$/.test(ext)) {
      throw new RangeError(`extension must be 2-8 digits, got ${JSON.stringify(ext)}`);
    }
    if (st.extensionExists.get(ext) === undefined) throw new RangeError(`extension ${ext} does not exist`);
    return ext;
  };
  const sealPw = (mac: string, pw: unknown): string | null => {
    const p = optText("HTTP password", pw, 64);
    return p === null ? null : seal(key, p, `device:${mac}`);
  };
  const apply = (mac: string, current: DeviceRow, patch: DevicePatch) => {
    // null is "clear the field"; undefined is "leave it".
    const has = (k: keyof DevicePatch) => patch[k] !== undefined;
    const extension = has("extension") ? checkExtension(patch.extension) : current.extension;
    const until = patch.provisioningOpenUntil;
    if (until !== undefined && until !== null && (!Number.isSafeInteger(until) || until < 0)) {
      throw new RangeError(`provisioningOpenUntil must be epoch milliseconds, got ${until}`);
    }
    st.update.run(
      has("vendor") ? checkVendor(patch.vendor) : current.vendor,
      has("model") ? optText("model", patch.model, 64) : current.model,
      extension,
      has("lineKeys") ? JSON.stringify(checkLineKeys(patch.lineKeys)) : current.line_keys,
      has("httpUser") ? optText("HTTP user", patch.httpUser, 64) : current.http_user,
      has("httpPassword") ? sealPw(mac, patch.httpPassword) : current.http_password,
      until === undefined ? current.provisioning_open_until : until,
      extension === null ? "discovered" : "assigned",
      clock.wallNow(),
      mac,
    );
    // Touched by the admin (or assigned): no longer subject to the discovered cap and expiry.
    st.adopt.run(mac);
  };

  return {
    create(input) {
      if (typeof input !== "object" || input === null) throw new TypeError("device input must be an object");
      const mac = normalizeMac(input.mac);
      const extension = checkExtension(input.extension);
      const now = clock.wallNow();
      mapConflict(`device ${mac} already exists`, () =>
        st.insert.run(
          mac,
          checkVendor(input.vendor),
          optText("model", input.model, 64),
          extension,
          JSON.stringify(checkLineKeys(input.lineKeys ?? [])),
          optText("HTTP user", input.httpUser, 64),
          sealPw(mac, input.httpPassword),
          extension === null ? "discovered" : "assigned",
          now,
          now,
        ));
      return toRecord(row(mac)!);
    },
    get(mac) {
      const m = macOrUndefined(mac);
      const r = m === undefined ? undefined : row(m);
      return r === undefined ? undefined : toRecord(r);
    },
    list(query = {}) {
      const [limit, offset] = paging(query.limit, query.offset);
      return (st.list.all(query.status ?? null, limit, offset) as unknown as DeviceRow[]).map(toRecord);
    },
    count(status) {
      return (st.count.get(status ?? null) as { n: number }).n;
    },
    update(mac, patch) {
      const m = normalizeMac(mac);
      if (typeof patch !== "object" || patch === null) throw new TypeError("device patch must be an object");
      return transaction(db, () => {
        const current = row(m);
        if (current === undefined) throw new NotFoundError(`device ${m} not found`);
        apply(m, current, patch);
        return toRecord(row(m)!);
      });
    },
    delete(mac) {
      const m = macOrUndefined(mac);
      return m !== undefined && Number(st.delete.run(m).changes) > 0;
    },
    assign(mac, extension, extra = {}) {
      const m = normalizeMac(mac);
      return transaction(db, () => {
        let current = row(m);
        if (current === undefined) {
          const now = clock.wallNow();
          st.insert.run(
            m,
            checkVendor(extra.vendor),
            optText("model", extra.model, 64),
            null,
            "[]",
            null,
            null,
            "discovered",
            now,
            now,
          );
          current = row(m)!;
        }
        const patch: DevicePatch = { extension };
        if (extra.vendor !== undefined) patch.vendor = extra.vendor;
        if (extra.model !== undefined) patch.model = extra.model;
        apply(m, current, patch);
        return toRecord(row(m)!);
      });
    },
    openWindow(mac, until) {
      return this.update(mac, { provisioningOpenUntil: until });
    },
    byExtension(extension) {
      return (st.byExtension.all(extension) as unknown as DeviceRow[]).map(toRecord);
    },
    httpPassword(mac) {
      const m = macOrUndefined(mac);
      const sealed = m === undefined ? undefined : row(m)?.http_password;
      return sealed ? unseal(key, sealed, `device:${m}`) : undefined;
    },
    recordFetch(f, limits = {}) {
      const mac = normalizeMac(f.mac);
      let vendor: DeviceVendor | null = null;
      try {
        vendor = checkVendor(f.vendor);
      } catch { /* unknown vendor strings are just not recorded */ }
      const outcome: FetchOutcome = { created: false, evicted: 0 };
      if (row(mac) === undefined) {
        return transaction(db, () => {
          const ttl = limits.discoveredTtlMs ?? DISCOVERED_TTL_MS;
          const cap = Math.max(1, limits.maxDiscovered ?? MAX_DISCOVERED_DEVICES);
          outcome.evicted += Number(st.autoExpire.run(clock.wallNow() - ttl).changes);
          const n = (st.autoCount.get() as { n: number }).n;
          if (n >= cap) outcome.evicted += Number(st.autoEvict.run(n - cap + 1).changes);
          upsert();
          st.markAuto.run(mac);
          outcome.created = true;
          return outcome;
        });
      }
      upsert();
      return outcome;
      function upsert() {
        st.fetchUpsert.run(
          mac,
          vendor,
          clip(f.model, 64),
          f.at,
          clip(f.ip, 64),
          clip(f.userAgent, 256),
          clip(f.file, 256),
        );
      }
    },
    byHttpUser(user) {
      if (typeof user !== "string" || user === "") return undefined;
      const r = st.byHttpUser.get(user) as DeviceRow | undefined;
      return r === undefined ? undefined : toRecord(r);
    },
    recordRegistration(mac, reg) {
      const m = macOrUndefined(mac);
      if (m === undefined) return false;
      return Number(st.register.run(reg.at, clip(reg.contact, 512), clip(reg.userAgent, 256), m).changes) > 0;
    },
  };
}
