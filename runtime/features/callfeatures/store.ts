/**
 * The call-features store (migrations 055, 056): per-extension forwarding and do not disturb, and
 * time conditions (a number that goes to one destination in business hours and another outside
 * them, on holidays, or while night mode is switched on by hand).
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { Clock } from "../../clock/mod.ts";

/** An extension's forwarding and DND (a missing row is all off). */
export interface ExtensionFeatures {
  extension: string;
  /** Forward every call to this number (unconditional), or null. */
  forwardAlways: string | null;
  /** Forward when the extension is busy (486 from the phone), or null. */
  forwardBusy: string | null;
  /** Forward when the extension does not answer in `noAnswerSeconds`, or is not registered. */
  forwardNoAnswer: string | null;
  /** Ring time before the no-answer forward; null: the box's default ring timeout. */
  noAnswerSeconds: number | null;
  /** Do not disturb: callers take the busy route (busy forward, voicemail, or 486). */
  dnd: boolean;
}

/** A change to an extension's features; a field left out stays as it is. */
export type FeaturesPatch = Partial<Omit<ExtensionFeatures, "extension">>;

/** One weekly opening period: `days` 1 (Monday) .. 7 (Sunday), `from`/`to` as `HH:MM` local time. */
export interface OpenPeriod {
  days: number[];
  from: string;
  to: string;
}

/** A date (`YYYY-MM-DD`, local time) the time condition is closed all day. */
export interface Holiday {
  date: string;
  name?: string;
}

/** `auto` follows hours and holidays; `open`/`closed` (night mode) override them until set back. */
export type TimeConditionMode = "auto" | "open" | "closed";

/** A time condition: a number in the plan that branches on the clock. */
export interface TimeCondition {
  number: string;
  name: string;
  /** Where calls go while open (a number in the plan: an extension, a group, an IVR, ...). */
  openDestination: string;
  /** Where calls go while closed (outside hours, on a holiday, in night mode). */
  closedDestination: string;
  hours: OpenPeriod[];
  holidays: Holiday[];
  /** IANA time zone for hours and holidays; null: the box's (system.time setting, else UTC). */
  timeZone: string | null;
  mode: TimeConditionMode;
}

/** The store. */
export interface CallFeatureStore {
  get(extension: string): ExtensionFeatures;
  /** Extensions with any feature set. */
  list(): ExtensionFeatures[];
  set(extension: string, patch: FeaturesPatch): ExtensionFeatures;
  /** Forget an extension's features (it was deleted). */
  remove(extension: string): void;
  /** Forget the features of every extension `exists` no longer knows; the extensions removed. */
  prune(exists: (extension: string) => boolean): string[];
  timeConditions(): TimeCondition[];
  timeCondition(number: string): TimeCondition | undefined;
  putTimeCondition(tc: TimeCondition): void;
  deleteTimeCondition(number: string): boolean;
  setMode(number: string, mode: TimeConditionMode): boolean;
}

const off = (extension: string): ExtensionFeatures => ({
  extension,
  forwardAlways: null,
  forwardBusy: null,
  forwardNoAnswer: null,
  noAnswerSeconds: null,
  dnd: false,
});

interface FeatureRow {
  extension: string;
  forward_always: string | null;
  forward_busy: string | null;
  forward_noanswer: string | null;
  noanswer_seconds: number | null;
  dnd: number;
}

interface TcRow {
  number: string;
  name: string;
  open_destination: string;
  closed_destination: string;
  hours: string;
  holidays: string;
  time_zone: string | null;
  mode: TimeConditionMode;
}

const fromRow = (r: FeatureRow): ExtensionFeatures => ({
  extension: r.extension,
  forwardAlways: r.forward_always,
  forwardBusy: r.forward_busy,
  forwardNoAnswer: r.forward_noanswer,
  noAnswerSeconds: r.noanswer_seconds,
  dnd: r.dnd === 1,
});

const tcFromRow = (r: TcRow): TimeCondition => ({
  number: r.number,
  name: r.name,
  openDestination: r.open_destination,
  closedDestination: r.closed_destination,
  hours: JSON.parse(r.hours) as OpenPeriod[],
  holidays: JSON.parse(r.holidays) as Holiday[],
  timeZone: r.time_zone,
  mode: r.mode,
});

/**
 * The store over `db`. Extension settings are read from SQLite each time; time conditions are kept in
 * memory (routing reads them on every call set-up), written through to SQLite first.
 */
export function createCallFeatureStore(
  db: DatabaseSync,
  options: { clock: Pick<Clock, "wallNow"> },
): CallFeatureStore {
  // Read through to SQLite (a primary-key read per call set-up): the extension-deleted trigger
  // (migration 055) removes rows behind the store's back, so nothing is cached here.
  const one = db.prepare("SELECT * FROM call_features WHERE extension = ?");
  const all = db.prepare("SELECT * FROM call_features ORDER BY extension");
  const read = (extension: string): ExtensionFeatures | undefined => {
    const r = one.get(extension) as unknown as FeatureRow | undefined;
    return r === undefined ? undefined : fromRow(r);
  };
  const tcs = new Map<string, TimeCondition>();
  for (const r of db.prepare("SELECT * FROM time_conditions").all() as unknown as TcRow[]) {
    tcs.set(r.number, tcFromRow(r));
  }
  const upsert = db.prepare(
    `INSERT INTO call_features (extension, forward_always, forward_busy, forward_noanswer, noanswer_seconds,
       dnd, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(extension) DO UPDATE SET forward_always = excluded.forward_always,
       forward_busy = excluded.forward_busy, forward_noanswer = excluded.forward_noanswer,
       noanswer_seconds = excluded.noanswer_seconds, dnd = excluded.dnd, updated_at = excluded.updated_at`,
  );
  const putTc = db.prepare(
    `INSERT INTO time_conditions (number, name, open_destination, closed_destination, hours, holidays,
       time_zone, mode, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(number) DO UPDATE SET name = excluded.name, open_destination = excluded.open_destination,
       closed_destination = excluded.closed_destination, hours = excluded.hours, holidays = excluded.holidays,
       time_zone = excluded.time_zone, mode = excluded.mode, updated_at = excluded.updated_at`,
  );
  return {
    get: (extension) => read(extension) ?? off(extension),
    list: () => (all.all() as unknown as FeatureRow[]).map(fromRow),
    set(extension, patch) {
      const next: ExtensionFeatures = { ...(read(extension) ?? off(extension)), ...patch, extension };
      upsert.run(
        extension,
        next.forwardAlways,
        next.forwardBusy,
        next.forwardNoAnswer,
        next.noAnswerSeconds,
        next.dnd ? 1 : 0,
        options.clock.wallNow(),
      );
      return { ...next };
    },
    remove(extension) {
      db.prepare("DELETE FROM call_features WHERE extension = ?").run(extension);
    },
    prune(exists) {
      const gone = (all.all() as unknown as FeatureRow[]).map((r) => r.extension).filter((e) => !exists(e));
      for (const e of gone) db.prepare("DELETE FROM call_features WHERE extension = ?").run(e);
      return gone;
    },
    timeConditions: () =>
      [...tcs.values()].map((t) => structuredClone(t)).sort((a, b) => a.number.localeCompare(b.number)),
    timeCondition: (number) => {
      const t = tcs.get(number);
      return t === undefined ? undefined : structuredClone(t);
    },
    putTimeCondition(tc) {
      putTc.run(
        tc.number,
        tc.name,
        tc.openDestination,
        tc.closedDestination,
        JSON.stringify(tc.hours),
        JSON.stringify(tc.holidays),
        tc.timeZone,
        tc.mode,
        options.clock.wallNow(),
      );
      tcs.set(tc.number, structuredClone(tc));
    },
    deleteTimeCondition(number) {
      const r = db.prepare("DELETE FROM time_conditions WHERE number = ?").run(number);
      tcs.delete(number);
      return Number(r.changes) > 0;
    },
    setMode(number, mode) {
      const t = tcs.get(number);
      if (t === undefined) return false;
      db.prepare("UPDATE time_conditions SET mode = ?, updated_at = ? WHERE number = ?").run(
        mode,
        options.clock.wallNow(),
        number,
      );
      t.mode = mode;
      return true;
    },
  };
}
