/**
 * Fraud guard for outside calls: limits on concurrent outside calls and on calls per hour, per
 * extension and for the whole box; international calls at night only for extensions allowed them.
 * A call over a limit is refused (403) and raises an alert once per extension, limit and hour
 * (the appliance sends the event to the audit log and an email). Emergency calls are never
 * limited. Counting is on the injected clock (so tests run in virtual time); with a
 * `FraudCounterStore` (the `fraud_calls` table, migration 78) the calls of the last hour survive a
 * restart. The once-an-hour alert memory stays in memory.
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { Clock } from "../../clock/mod.ts";

/** Where the guard keeps the calls it counted (the hourly limits read them back after a restart). */
export interface FraudCounterStore {
  /** Calls counted after `since` (wall-clock ms), oldest first. */
  since(since: number): { caller: string; at: number }[];
  add(caller: string, at: number): void;
  /** Forget calls at or before `before`. */
  prune(before: number): void;
}

/** The counters in SQLite (table `fraud_calls`). */
export function sqliteFraudCounters(db: DatabaseSync): FraudCounterStore {
  const since = db.prepare("SELECT caller, at FROM fraud_calls WHERE at > ? ORDER BY at");
  const add = db.prepare("INSERT INTO fraud_calls (caller, at) VALUES (?, ?)");
  const prune = db.prepare("DELETE FROM fraud_calls WHERE at <= ?");
  return {
    since: (t) => since.all(t) as { caller: string; at: number }[],
    add: (caller, at) => void add.run(caller, at),
    prune: (t) => void prune.run(t),
  };
}

/** Settings key. */
export const FRAUD_SETTING = "trunks.fraud";

/** Fraud guard settings (0 turns a limit off). */
export interface FraudSettings {
  maxConcurrentPerExtension: number;
  maxConcurrentBox: number;
  maxPerHourPerExtension: number;
  maxPerHourBox: number;
  /** Night for international calls, local "HH:MM" in `timeZone` (start > end wraps midnight). */
  nightStart: string;
  nightEnd: string;
  timeZone: string;
  /** Extensions that may call internationally at night. */
  nightInternational: string[];
  /** Who is emailed an alert. */
  email: string[];
}

/** Defaults: generous limits, night 20:00-07:00 UTC, nobody allowed international at night. */
export const DEFAULT_FRAUD: FraudSettings = {
  maxConcurrentPerExtension: 4,
  maxConcurrentBox: 30,
  maxPerHourPerExtension: 60,
  maxPerHourBox: 600,
  nightStart: "20:00",
  nightEnd: "07:00",
  timeZone: "UTC",
  nightInternational: [],
  email: [],
};

const HHMM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;

/** Check a settings body merged over `current`. */
export function checkFraud(input: unknown, current: FraudSettings = DEFAULT_FRAUD): FraudSettings {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new TypeError("fraud settings must be a JSON object");
  }
  const b = { ...current, ...(input as Record<string, unknown>) } as Record<string, unknown>;
  const n = (k: string, max: number) => {
    const v = b[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
      throw new RangeError(`${k} must be a whole number 0-${max}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const t = (k: string) => {
    const v = b[k];
    if (typeof v !== "string" || !HHMM.test(v)) {
      throw new RangeError(`${k} must be HH:MM, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const tz = b.timeZone;
  try {
    if (typeof tz !== "string") throw new TypeError();
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
  } catch {
    throw new RangeError(`timeZone ${JSON.stringify(tz)} is not a time zone`);
  }
  const list = (k: string, re: RegExp) => {
    const v = b[k];
    if (!Array.isArray(v) || v.length > 200) throw new TypeError(`${k} must be a list`);
    return v.map((x, i) => {
      if (typeof x !== "string" || !re.test(x)) {
        throw new RangeError(`${k}[${i}] is not valid: ${JSON.stringify(x)}`);
      }
      return x;
    });
  };
  return {
    maxConcurrentPerExtension: n("maxConcurrentPerExtension", 1000),
    maxConcurrentBox: n("maxConcurrentBox", 10000),
    maxPerHourPerExtension: n("maxPerHourPerExtension", 100000),
    maxPerHourBox: n("maxPerHourBox", 1000000),
    nightStart: t("nightStart"),
    nightEnd: t("nightEnd"),
    timeZone: tz as string,
    nightInternational: list("nightInternational", /^[0-9A-Za-z*#+._-]{1,32}$/),
    email: list("email", /^[^\s@<>"]{1,64}@[A-Za-z0-9.-]{1,190}$/),
  };
}

/** Minutes since local midnight in `timeZone` at `at`. */
export function localMinutes(at: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  })
    .formatToParts(new Date(at));
  const h = Number(parts.find((p) => p.type === "hour")?.value ?? 0);
  const m = Number(parts.find((p) => p.type === "minute")?.value ?? 0);
  return h * 60 + m;
}

/** Whether `at` is in the night window. */
export function isNight(at: number, s: FraudSettings): boolean {
  const min = (x: string) => Number(x.slice(0, 2)) * 60 + Number(x.slice(3));
  const now = localMinutes(at, s.timeZone), start = min(s.nightStart), end = min(s.nightEnd);
  return start <= end ? now >= start && now < end : now >= start || now < end;
}

/** A refusal and whether it is news (alert once per key and hour). */
export interface FraudVerdict {
  ok: false;
  reason: string;
  /** Alert now (first refusal of this kind for this extension in the hour). */
  alert: boolean;
}

/** The guard's counters. */
export class FraudGuard {
  #clock: Clock;
  #starts: number[] = [];
  #byExt = new Map<string, number[]>();
  #alerted = new Map<string, number>();
  #store: FraudCounterStore | undefined;
  #pruned = 0;

  constructor(clock: Clock, store?: FraudCounterStore) {
    this.#clock = clock;
    this.#store = store;
    if (store === undefined) return;
    // The last hour's calls, as counted before a restart.
    for (const r of store.since(clock.wallNow() - 3_600_000)) {
      this.#starts.push(r.at);
      const list = this.#byExt.get(r.caller) ?? [];
      list.push(r.at);
      this.#byExt.set(r.caller, list);
    }
  }

  /**
   * Check a new outside call of `caller` (class `cls`) given the calls live now; records it when
   * allowed. `live`: outside calls in progress (callers).
   */
  check(
    caller: string,
    cls: string,
    live: readonly string[],
    s: FraudSettings,
  ): { ok: true } | FraudVerdict {
    const now = this.#clock.wallNow();
    const hourAgo = now - 3_600_000;
    this.#starts = this.#starts.filter((t) => t > hourAgo);
    const mine = (this.#byExt.get(caller) ?? []).filter((t) => t > hourAgo);
    const refuse = (key: string, reason: string): FraudVerdict => {
      const k = `${caller}|${key}`;
      const last = this.#alerted.get(k);
      const alert = last === undefined || last <= hourAgo;
      if (alert) this.#alerted.set(k, now);
      return { ok: false, reason, alert };
    };
    if (cls === "international" && isNight(now, s) && !s.nightInternational.includes(caller)) {
      return refuse("night", `international calls at night need permission (extension ${caller})`);
    }
    const liveMine = live.filter((c) => c === caller).length;
    if (s.maxConcurrentPerExtension > 0 && liveMine >= s.maxConcurrentPerExtension) {
      return refuse(
        "concurrent",
        `extension ${caller} has ${liveMine} outside calls (limit ${s.maxConcurrentPerExtension})`,
      );
    }
    if (s.maxConcurrentBox > 0 && live.length >= s.maxConcurrentBox) {
      return refuse(
        "box-concurrent",
        `the box has ${live.length} outside calls (limit ${s.maxConcurrentBox})`,
      );
    }
    if (s.maxPerHourPerExtension > 0 && mine.length >= s.maxPerHourPerExtension) {
      return refuse(
        "hourly",
        `extension ${caller} made ${mine.length} outside calls this hour (limit ${s.maxPerHourPerExtension})`,
      );
    }
    if (s.maxPerHourBox > 0 && this.#starts.length >= s.maxPerHourBox) {
      return refuse(
        "box-hourly",
        `the box made ${this.#starts.length} outside calls this hour (limit ${s.maxPerHourBox})`,
      );
    }
    mine.push(now);
    this.#byExt.set(caller, mine);
    this.#starts.push(now);
    if (this.#store !== undefined) {
      this.#store.add(caller, now);
      if (now - this.#pruned > 60_000) {
        this.#pruned = now;
        this.#store.prune(hourAgo);
      }
    }
    return { ok: true };
  }
}
