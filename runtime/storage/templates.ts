/**
 * Admin overrides of the shipped phone configuration templates. Only the override is stored;
 * the shipped text lives in provisioning/, and `shipped_hash` remembers which shipped version the
 * override was edited from, so the UI can say "the shipped template changed since".
 * Validation of the body (template syntax, allowed names) is provisioning's job, done before `set`.
 */
import type { DatabaseSync } from "node:sqlite";
import type { Clock } from "../clock/mod.ts";

/** A stored template override. */
export interface TemplateOverride {
  /** "vendor.kind", e.g. "yealink.device". */
  key: string;
  body: string;
  updatedAt: number;
  /** sha256 (hex) of the shipped template the override was based on. */
  shippedHash: string;
}

/** Typed access to the templates table. */
export interface TemplateStore {
  get(key: string): TemplateOverride | undefined;
  list(): TemplateOverride[];
  /** Store (or replace) the override for `key`. RangeError on a bad key or an oversized body. */
  set(key: string, body: string, shippedHash: string): TemplateOverride;
  /** Drop the override so the shipped template is used again; true if there was one. */
  reset(key: string): boolean;
}

/** Template keys: "vendor.kind" in lower case. */
export const TEMPLATE_KEY_RE = /^[a-z]{2,16}\.[a-z]{2,16}$/;

/** Largest template body accepted (bytes of UTF-16 code units, close enough for a limit). */
export const MAX_TEMPLATE_BYTES = 64 * 1024;

function checkKey(key: unknown): string {
  if (typeof key !== "string" || !TEMPLATE_KEY_RE.test(key)) {
    throw new RangeError(`template key must look like "yealink.device", got ${JSON.stringify(key)}`);
  }
  return key;
}

interface Row {
  key: string;
  body: string;
  updated_at: number;
  shipped_hash: string;
}

const toOverride = (r: Row): TemplateOverride => ({
  key: r.key,
  body: r.body,
  updatedAt: r.updated_at,
  shippedHash: r.shipped_hash,
});

/** Build the store over an open, migrated database. */
export function createTemplateStore(db: DatabaseSync, options: { clock: Clock }): TemplateStore {
  const st = {
    get: db.prepare("SELECT * FROM templates WHERE key = ?"),
    list: db.prepare("SELECT * FROM templates ORDER BY key"),
    set: db.prepare(
      `INSERT INTO templates (key, body, updated_at, shipped_hash) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at,
         shipped_hash = excluded.shipped_hash`,
    ),
    reset: db.prepare("DELETE FROM templates WHERE key = ?"),
  };
  return {
    get(key) {
      if (typeof key !== "string" || !TEMPLATE_KEY_RE.test(key)) return undefined;
      const r = st.get.get(key) as Row | undefined;
      return r === undefined ? undefined : toOverride(r);
    },
    list() {
      return (st.list.all() as unknown as Row[]).map(toOverride);
    },
    set(key, body, shippedHash) {
      checkKey(key);
      if (typeof body !== "string") throw new TypeError(`template body must be a string, got ${typeof body}`);
      if (body.length > MAX_TEMPLATE_BYTES) {
        throw new RangeError(
          `template body must be at most ${MAX_TEMPLATE_BYTES} characters, got ${body.length}`,
        );
      }
      if (typeof shippedHash !== "string" || !/^[0-9a-f]{64}$/.test(shippedHash)) {
        throw new RangeError("shipped hash must be 64 hex digits");
      }
      st.set.run(key, body, options.clock.wallNow(), shippedHash);
      return toOverride(st.get.get(key) as unknown as Row);
    },
    reset(key) {
      return Number(st.reset.run(checkKey(key)).changes) > 0;
    },
  };
}
