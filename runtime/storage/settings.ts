/** Key/value settings stored as JSON (SIP realm, network, time zone, ...). */
import type { DatabaseSync } from "node:sqlite";
import type { Clock } from "../clock/mod.ts";
import { parseJsonColumn } from "./_db.ts";

/** Typed access to the settings table. */
export interface SettingsStore {
  /** The value for `key`, or undefined. The caller knows (and should check) its shape. */
  get<T = unknown>(key: string): T | undefined;
  /** Store any JSON-serialisable value. */
  set(key: string, value: unknown): void;
  /** Remove a key; true if it existed. */
  delete(key: string): boolean;
  /** Every setting. */
  all(): Record<string, unknown>;
}

const KEY_RE = /^[A-Za-z0-9_.:-]{1,128}$/;

function checkKey(key: unknown): string {
  if (typeof key !== "string" || !KEY_RE.test(key)) {
    throw new RangeError(`setting key must be 1-128 of A-Z a-z 0-9 _ . : -, got ${JSON.stringify(key)}`);
  }
  return key;
}

/** Build the store over an open, migrated database. */
export function createSettingsStore(db: DatabaseSync, options: { clock: Clock }): SettingsStore {
  const st = {
    get: db.prepare("SELECT value FROM settings WHERE key = ?"),
    set: db.prepare(
      `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    ),
    delete: db.prepare("DELETE FROM settings WHERE key = ?"),
    all: db.prepare("SELECT key, value FROM settings ORDER BY key"),
  };
  return {
    get<T>(key: string): T | undefined {
      const row = st.get.get(checkKey(key)) as { value: string } | undefined;
      return row === undefined ? undefined : parseJsonColumn<T | undefined>(row.value, undefined);
    },
    set(key, value) {
      const json = JSON.stringify(value);
      if (json === undefined) throw new TypeError(`setting ${key} value is not JSON-serialisable`);
      st.set.run(checkKey(key), json, options.clock.wallNow());
    },
    delete(key) {
      return Number(st.delete.run(checkKey(key)).changes) > 0;
    },
    all() {
      const out: Record<string, unknown> = {};
      for (const r of st.all.all() as unknown as { key: string; value: string }[]) {
        out[r.key] = parseJsonColumn(r.value, null);
      }
      return out;
    },
  };
}
