/**
 * Paging configuration and log: zones, zone groups, per-extension permissions, scheduled
 * bells/announcements and the page log (migration 3). Zone and group numbers share one namespace.
 */
import type { DatabaseSync } from "node:sqlite";
import type { Clock } from "../clock/mod.ts";
import { mapConflict, paging, parseJsonColumn, transaction } from "./_db.ts";
import { ConflictError, NotFoundError } from "./errors.ts";

/** How a zone's page goes out as multicast RTP to phones. */
export interface PagingMulticast {
  /** Group address (IPv4 multicast, or 127.0.0.1 for tests). */
  address: string;
  /** UDP port. */
  port: number;
  /** "rtp": plain RTP; "polycom": Polycom PTT/group-paging packets. */
  format: "rtp" | "polycom";
  /** Payload codec. */
  codec: "PCMU" | "PCMA";
  /** Multicast TTL (default 1). */
  ttl: number;
  /** Polycom channel 1-25 (24 priority, 25 emergency); ignored for "rtp". */
  channel?: number | undefined;
  /** Local interface address to send from (default: the system's choice). */
  interface?: string | undefined;
}

/** A paging zone. */
export interface PagingZone {
  number: string;
  name: string;
  /** ALSA PCM name, or null for a multicast-only zone. */
  alsaDevice: string | null;
  /** 1-based device channels the zone's speakers are on. */
  channels: number[];
  /** Output volume 0-100 (100 = unity gain). */
  volume: number;
  /** Pre-announce tone spec (runtime/media tone syntax), null for none. */
  preTone: string | null;
  /** Post-announce tone spec, null for none. */
  postTone: string | null;
  /** Amplifier-enable line spec ("file:/path", "gpiochip0:17"), null for none. */
  ampLine: string | null;
  /** Amplifier lead time before audio, ms. */
  leadMs: number;
  /** Amplifier hold time after audio, ms. */
  tailMs: number;
  multicast: PagingMulticast | null;
  enabled: boolean;
  /**
   * Longest page from a phone, seconds (default 300, 0 = no limit): the box ends a longer page so
   * the zone is free again (migration 75).
   */
  maxPageSec: number;
}

/** Fields of a new zone; omitted ones take defaults. */
export type NewPagingZone =
  & Pick<PagingZone, "number" | "name">
  & Partial<Omit<PagingZone, "number" | "name">>;

/** A zone group (or all-call when `zones` is ["*"]). */
export interface PagingGroup {
  number: string;
  name: string;
  zones: string[];
}

/** A scheduled bell or announcement. */
export interface PagingSchedule {
  id: number;
  name: string;
  /** Zone or group number. */
  target: string;
  /** WAV file to play. */
  wavPath: string;
  /** ISO weekdays it plays on: 1 = Monday .. 7 = Sunday. */
  weekdays: number[];
  /** Local wall time "HH:MM" in the box's time zone. */
  time: string;
  /** Dates ("YYYY-MM-DD", local) it does not play on: holidays. */
  exceptions: string[];
  enabled: boolean;
}

/** Fields of a new schedule. */
export type NewPagingSchedule = Omit<PagingSchedule, "id" | "enabled" | "exceptions"> & {
  exceptions?: string[];
  enabled?: boolean;
};

/** One page in the log. */
export interface PagingLogEntry {
  id: number;
  atStart: number;
  atEnd: number | null;
  /** Who paged: an extension number, "schedule:<id>", "api:<user>". */
  origin: string;
  /** Zone numbers paged. */
  targets: string[];
  priority: string;
  /** "completed", "preempted", "busy", "failed: ...", null while live. */
  outcome: string | null;
  recordingPath: string | null;
}

/** Typed access to the paging tables. */
export interface PagingStore {
  listZones(): PagingZone[];
  getZone(number: string): PagingZone | undefined;
  /** Create a zone; ConflictError if the number is taken by a zone or group. */
  createZone(zone: NewPagingZone): PagingZone;
  /** Update a zone; NotFoundError when missing. */
  updateZone(number: string, patch: Partial<Omit<PagingZone, "number">>): PagingZone;
  /** Delete a zone; true if it existed. */
  deleteZone(number: string): boolean;
  listGroups(): PagingGroup[];
  getGroup(number: string): PagingGroup | undefined;
  /** Create a group; RangeError for an unknown zone, ConflictError for a taken number. */
  createGroup(group: PagingGroup): PagingGroup;
  updateGroup(number: string, patch: Partial<Omit<PagingGroup, "number">>): PagingGroup;
  deleteGroup(number: string): boolean;
  /** Targets (zone/group numbers, "*") `extension` may page. */
  permissions(extension: string): string[];
  /** Replace the targets `extension` may page. */
  setPermissions(extension: string, targets: readonly string[]): void;
  /** Every extension's permissions. */
  allPermissions(): Record<string, string[]>;
  listSchedules(): PagingSchedule[];
  getSchedule(id: number): PagingSchedule | undefined;
  createSchedule(s: NewPagingSchedule): PagingSchedule;
  updateSchedule(id: number, patch: Partial<Omit<PagingSchedule, "id">>): PagingSchedule;
  deleteSchedule(id: number): boolean;
  /** Open a log entry when a page starts; returns its id. */
  logStart(entry: { origin: string; targets: readonly string[]; priority: string; atStart?: number }): number;
  /** Close a log entry. */
  logEnd(id: number, entry: { outcome: string; recordingPath?: string | null; atEnd?: number }): void;
  /** Log entries, newest first. */
  log(query?: { limit?: number; offset?: number }): PagingLogEntry[];
}

const NUMBER_RE = /^[0-9]{1,8}$/;
const TIME_RE = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
const DATE_RE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

function checkNumber(n: unknown, what: string): string {
  if (typeof n !== "string" || !NUMBER_RE.test(n)) {
    throw new RangeError(`${what} must be 1-8 digits, got ${JSON.stringify(n)}`);
  }
  return n;
}

function checkText(s: unknown, what: string, max = 64): string {
  if (typeof s !== "string" || s.length === 0 || s.length > max) {
    throw new RangeError(`${what} must be 1-${max} characters, got ${JSON.stringify(s)}`);
  }
  return s;
}

function checkInt(n: unknown, what: string, lo: number, hi: number): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < lo || n > hi) {
    throw new RangeError(`${what} must be an integer ${lo}..${hi}, got ${JSON.stringify(n)}`);
  }
  return n;
}

/** Validate a multicast config (address must be IPv4 multicast or loopback). */
export function validateMulticast(m: PagingMulticast): PagingMulticast {
  const ip = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(m?.address ?? "");
  if (!ip || ip.slice(1).some((o) => Number(o) > 255)) {
    throw new RangeError(`multicast address ${JSON.stringify(m?.address)} is not IPv4`);
  }
  const first = Number(ip[1]);
  if (!(first >= 224 && first <= 239) && first !== 127) {
    throw new RangeError(`multicast address ${m.address} is neither 224.0.0.0/4 nor loopback`);
  }
  checkInt(m.port, "multicast port", 1, 65535);
  if (m.format !== "rtp" && m.format !== "polycom") {
    throw new RangeError(`multicast format ${JSON.stringify(m.format)} must be "rtp" or "polycom"`);
  }
  if (m.codec !== "PCMU" && m.codec !== "PCMA") {
    throw new RangeError(`multicast codec ${JSON.stringify(m.codec)} must be PCMU or PCMA`);
  }
  checkInt(m.ttl, "multicast ttl", 0, 255);
  if (m.channel !== undefined) checkInt(m.channel, "Polycom channel", 1, 25);
  return {
    address: m.address,
    port: m.port,
    format: m.format,
    codec: m.codec,
    ttl: m.ttl,
    ...(m.channel === undefined ? {} : { channel: m.channel }),
    ...(m.interface === undefined ? {} : { interface: m.interface }),
  };
}

function normalizeZone(z: PagingZone): PagingZone {
  checkNumber(z.number, "zone number");
  checkText(z.name, "zone name");
  if (z.alsaDevice !== null) checkText(z.alsaDevice, "ALSA device", 128);
  if (!Array.isArray(z.channels) || z.channels.length === 0 || z.channels.length > 64) {
    throw new RangeError(
      `zone channels must be a list of 1-64 channel numbers, got ${JSON.stringify(z.channels)}`,
    );
  }
  for (const c of z.channels) checkInt(c, "zone channel", 1, 64);
  checkInt(z.volume, "zone volume", 0, 100);
  if (z.preTone !== null) checkText(z.preTone, "pre-announce tone", 512);
  if (z.postTone !== null) checkText(z.postTone, "post-announce tone", 512);
  if (z.ampLine !== null) checkText(z.ampLine, "amplifier line", 256);
  checkInt(z.leadMs, "lead time", 0, 10000);
  checkInt(z.tailMs, "tail time", 0, 60000);
  checkInt(z.maxPageSec, "maximum page duration", 0, 86400);
  return {
    ...z,
    channels: [...new Set(z.channels)],
    multicast: z.multicast === null ? null : validateMulticast(z.multicast),
    enabled: z.enabled !== false,
  };
}

function normalizeSchedule(s: Omit<PagingSchedule, "id">): Omit<PagingSchedule, "id"> {
  checkText(s.name, "schedule name");
  if (s.target !== "*") checkNumber(s.target, "schedule target");
  checkText(s.wavPath, "WAV path", 1024);
  if (!Array.isArray(s.weekdays) || s.weekdays.length === 0) {
    throw new RangeError(
      `weekdays must list at least one of 1 (Mon) .. 7 (Sun), got ${JSON.stringify(s.weekdays)}`,
    );
  }
  for (const d of s.weekdays) checkInt(d, "weekday", 1, 7);
  if (typeof s.time !== "string" || !TIME_RE.test(s.time)) {
    throw new RangeError(`schedule time must be HH:MM (00:00-23:59), got ${JSON.stringify(s.time)}`);
  }
  if (!Array.isArray(s.exceptions)) throw new RangeError("exceptions must be a list of YYYY-MM-DD dates");
  for (const d of s.exceptions) {
    if (typeof d !== "string" || !DATE_RE.test(d)) {
      throw new RangeError(`exception date must be YYYY-MM-DD, got ${JSON.stringify(d)}`);
    }
  }
  return { ...s, weekdays: [...new Set(s.weekdays)].sort(), exceptions: [...new Set(s.exceptions)].sort() };
}

interface ZoneRow {
  number: string;
  name: string;
  alsa_device: string | null;
  channels: string;
  volume: number;
  pre_tone: string | null;
  post_tone: string | null;
  amp_line: string | null;
  lead_ms: number;
  tail_ms: number;
  multicast: string | null;
  enabled: number;
  max_page_sec: number;
}

function zoneFromRow(r: ZoneRow): PagingZone {
  return {
    number: r.number,
    name: r.name,
    alsaDevice: r.alsa_device,
    channels: parseJsonColumn<number[]>(r.channels, [1]),
    volume: r.volume,
    preTone: r.pre_tone,
    postTone: r.post_tone,
    ampLine: r.amp_line,
    leadMs: r.lead_ms,
    tailMs: r.tail_ms,
    multicast: parseJsonColumn<PagingMulticast | null>(r.multicast, null),
    enabled: r.enabled === 1,
    maxPageSec: r.max_page_sec,
  };
}

interface ScheduleRow {
  id: number;
  name: string;
  target: string;
  wav_path: string;
  weekdays: string;
  time: string;
  exceptions: string;
  enabled: number;
}

function scheduleFromRow(r: ScheduleRow): PagingSchedule {
  return {
    id: r.id,
    name: r.name,
    target: r.target,
    wavPath: r.wav_path,
    weekdays: parseJsonColumn<number[]>(r.weekdays, []),
    time: r.time,
    exceptions: parseJsonColumn<string[]>(r.exceptions, []),
    enabled: r.enabled === 1,
  };
}

/** Build the store over an open, migrated database. */
export function createPagingStore(db: DatabaseSync, options: { clock: Clock }): PagingStore {
  const { clock } = options;
  const st = {
    zones: db.prepare("SELECT * FROM paging_zones ORDER BY CAST(number AS INTEGER), number"),
    zone: db.prepare("SELECT * FROM paging_zones WHERE number = ?"),
    putZone: db.prepare(
      `INSERT INTO paging_zones (number, name, alsa_device, channels, volume, pre_tone, post_tone, amp_line,
         lead_ms, tail_ms, multicast, enabled, updated_at, max_page_sec)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    updZone: db.prepare(
      `UPDATE paging_zones SET name = ?, alsa_device = ?, channels = ?, volume = ?, pre_tone = ?, post_tone = ?,
         amp_line = ?, lead_ms = ?, tail_ms = ?, multicast = ?, enabled = ?, updated_at = ?, max_page_sec = ?
         WHERE number = ?`,
    ),
    delZone: db.prepare("DELETE FROM paging_zones WHERE number = ?"),
    groups: db.prepare("SELECT * FROM paging_groups ORDER BY CAST(number AS INTEGER), number"),
    group: db.prepare("SELECT * FROM paging_groups WHERE number = ?"),
    putGroup: db.prepare("INSERT INTO paging_groups (number, name, zones, updated_at) VALUES (?, ?, ?, ?)"),
    updGroup: db.prepare("UPDATE paging_groups SET name = ?, zones = ?, updated_at = ? WHERE number = ?"),
    delGroup: db.prepare("DELETE FROM paging_groups WHERE number = ?"),
    perms: db.prepare(
      "SELECT target_number FROM paging_permissions WHERE extension = ? ORDER BY target_number",
    ),
    allPerms: db.prepare(
      "SELECT extension, target_number FROM paging_permissions ORDER BY extension, target_number",
    ),
    delPerms: db.prepare("DELETE FROM paging_permissions WHERE extension = ?"),
    putPerm: db.prepare("INSERT OR IGNORE INTO paging_permissions (extension, target_number) VALUES (?, ?)"),
    schedules: db.prepare("SELECT * FROM paging_schedules ORDER BY time, id"),
    schedule: db.prepare("SELECT * FROM paging_schedules WHERE id = ?"),
    putSchedule: db.prepare(
      `INSERT INTO paging_schedules (name, target, wav_path, weekdays, time, exceptions, enabled, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    updSchedule: db.prepare(
      `UPDATE paging_schedules SET name = ?, target = ?, wav_path = ?, weekdays = ?, time = ?, exceptions = ?,
         enabled = ?, updated_at = ? WHERE id = ?`,
    ),
    delSchedule: db.prepare("DELETE FROM paging_schedules WHERE id = ?"),
    logStart: db.prepare(
      "INSERT INTO paging_log (at_start, origin, targets, priority) VALUES (?, ?, ?, ?)",
    ),
    logEnd: db.prepare("UPDATE paging_log SET at_end = ?, outcome = ?, recording_path = ? WHERE id = ?"),
    log: db.prepare("SELECT * FROM paging_log ORDER BY at_start DESC, id DESC LIMIT ? OFFSET ?"),
  };

  const getZone = (n: string) => {
    const r = st.zone.get(n) as ZoneRow | undefined;
    return r === undefined ? undefined : zoneFromRow(r);
  };
  const getGroup = (n: string): PagingGroup | undefined => {
    const r = st.group.get(n) as { number: string; name: string; zones: string } | undefined;
    return r === undefined
      ? undefined
      : { number: r.number, name: r.name, zones: parseJsonColumn(r.zones, []) };
  };
  const checkGroupZones = (zones: unknown): string[] => {
    if (!Array.isArray(zones) || zones.length === 0 || zones.length > 256) {
      throw new RangeError(`group zones must list 1-256 zone numbers or ["*"], got ${JSON.stringify(zones)}`);
    }
    if (zones.length === 1 && zones[0] === "*") return ["*"];
    for (const z of zones) {
      checkNumber(z, "group zone");
      if (getZone(z) === undefined) throw new RangeError(`group zone ${z} does not exist`);
    }
    return [...new Set(zones as string[])];
  };
  const zoneArgs = (z: PagingZone) =>
    [
      z.name,
      z.alsaDevice,
      JSON.stringify(z.channels),
      z.volume,
      z.preTone,
      z.postTone,
      z.ampLine,
      z.leadMs,
      z.tailMs,
      z.multicast === null ? null : JSON.stringify(z.multicast),
      z.enabled ? 1 : 0,
      clock.wallNow(),
      z.maxPageSec,
    ] as const;

  return {
    listZones: () => (st.zones.all() as unknown as ZoneRow[]).map(zoneFromRow),
    getZone,
    createZone(input) {
      const z = normalizeZone({
        alsaDevice: null,
        channels: [1],
        volume: 100,
        preTone: null,
        postTone: null,
        ampLine: null,
        leadMs: 0,
        tailMs: 0,
        multicast: null,
        enabled: true,
        maxPageSec: 300,
        ...input,
      });
      return transaction(db, () => {
        if (getGroup(z.number) !== undefined) throw new ConflictError(`number ${z.number} is a paging group`);
        mapConflict(`paging zone ${z.number} already exists`, () => st.putZone.run(z.number, ...zoneArgs(z)));
        return getZone(z.number)!;
      });
    },
    updateZone(number, patch) {
      const cur = getZone(number);
      if (cur === undefined) throw new NotFoundError(`paging zone ${number} not found`);
      const z = normalizeZone({ ...cur, ...patch, number });
      st.updZone.run(...zoneArgs(z), number);
      return getZone(number)!;
    },
    deleteZone(number) {
      return transaction(db, () => {
        const gone = Number(st.delZone.run(number).changes) > 0;
        if (gone) {
          // Keep groups consistent: drop the zone from every group that listed it.
          for (const g of (st.groups.all() as unknown as { number: string; zones: string }[])) {
            const zones = parseJsonColumn<string[]>(g.zones, []);
            if (zones.includes(number)) {
              st.updGroup.run(
                (getGroup(g.number)!).name,
                JSON.stringify(zones.filter((z) => z !== number)),
                clock.wallNow(),
                g.number,
              );
            }
          }
        }
        return gone;
      });
    },
    listGroups: () =>
      (st.groups.all() as unknown as { number: string; name: string; zones: string }[]).map((r) => ({
        number: r.number,
        name: r.name,
        zones: parseJsonColumn<string[]>(r.zones, []),
      })),
    getGroup,
    createGroup(g) {
      checkNumber(g.number, "group number");
      checkText(g.name, "group name");
      const zones = checkGroupZones(g.zones);
      return transaction(db, () => {
        if (getZone(g.number) !== undefined) throw new ConflictError(`number ${g.number} is a paging zone`);
        mapConflict(
          `paging group ${g.number} already exists`,
          () => st.putGroup.run(g.number, g.name, JSON.stringify(zones), clock.wallNow()),
        );
        return getGroup(g.number)!;
      });
    },
    updateGroup(number, patch) {
      const cur = getGroup(number);
      if (cur === undefined) throw new NotFoundError(`paging group ${number} not found`);
      const name = checkText(patch.name ?? cur.name, "group name");
      const zones = checkGroupZones(patch.zones ?? cur.zones);
      st.updGroup.run(name, JSON.stringify(zones), clock.wallNow(), number);
      return getGroup(number)!;
    },
    deleteGroup: (number) => Number(st.delGroup.run(number).changes) > 0,
    permissions: (extension) =>
      (st.perms.all(extension) as unknown as { target_number: string }[]).map((r) => r.target_number),
    setPermissions(extension, targets) {
      checkNumber(extension, "extension");
      for (const t of targets) if (t !== "*") checkNumber(t, "paging target");
      transaction(db, () => {
        st.delPerms.run(extension);
        for (const t of targets) st.putPerm.run(extension, t);
      });
    },
    allPermissions() {
      const out: Record<string, string[]> = {};
      for (const r of st.allPerms.all() as unknown as { extension: string; target_number: string }[]) {
        (out[r.extension] ??= []).push(r.target_number);
      }
      return out;
    },
    listSchedules: () => (st.schedules.all() as unknown as ScheduleRow[]).map(scheduleFromRow),
    getSchedule(id) {
      const r = st.schedule.get(id) as ScheduleRow | undefined;
      return r === undefined ? undefined : scheduleFromRow(r);
    },
    createSchedule(input) {
      const s = normalizeSchedule({ exceptions: [], enabled: true, ...input });
      const res = st.putSchedule.run(
        s.name,
        s.target,
        s.wavPath,
        JSON.stringify(s.weekdays),
        s.time,
        JSON.stringify(s.exceptions),
        s.enabled ? 1 : 0,
        clock.wallNow(),
      );
      return this.getSchedule(Number(res.lastInsertRowid))!;
    },
    updateSchedule(id, patch) {
      const cur = this.getSchedule(id);
      if (cur === undefined) throw new NotFoundError(`paging schedule ${id} not found`);
      const s = normalizeSchedule({ ...cur, ...patch });
      st.updSchedule.run(
        s.name,
        s.target,
        s.wavPath,
        JSON.stringify(s.weekdays),
        s.time,
        JSON.stringify(s.exceptions),
        s.enabled ? 1 : 0,
        clock.wallNow(),
        id,
      );
      return this.getSchedule(id)!;
    },
    deleteSchedule: (id) => Number(st.delSchedule.run(id).changes) > 0,
    logStart(e) {
      const res = st.logStart.run(
        e.atStart ?? clock.wallNow(),
        String(e.origin).slice(0, 128),
        JSON.stringify(e.targets),
        e.priority,
      );
      return Number(res.lastInsertRowid);
    },
    logEnd(id, e) {
      st.logEnd.run(e.atEnd ?? clock.wallNow(), e.outcome.slice(0, 256), e.recordingPath ?? null, id);
    },
    log(query = {}) {
      const [limit, offset] = paging(query.limit, query.offset);
      return (st.log.all(limit, offset) as unknown as {
        id: number;
        at_start: number;
        at_end: number | null;
        origin: string;
        targets: string;
        priority: string;
        outcome: string | null;
        recording_path: string | null;
      }[]).map((r) => ({
        id: r.id,
        atStart: r.at_start,
        atEnd: r.at_end,
        origin: r.origin,
        targets: parseJsonColumn<string[]>(r.targets, []),
        priority: r.priority,
        outcome: r.outcome,
        recordingPath: r.recording_path,
      }));
    },
  };
}
