/** Opening the SQLite file, pragmas, migrations and small SQL helpers shared by the stores. */
import { DatabaseSync } from "node:sqlite";
import type { Migration } from "./migrations/mod.ts";
import { ConflictError } from "./errors.ts";

/** Values node:sqlite can bind. */
export type SqlValue = string | number | bigint | null | Uint8Array;

/**
 * Open the database with the pragmas the appliance needs: WAL for concurrent readers,
 * synchronous=FULL so a committed transaction survives power loss (NORMAL in WAL mode may lose
 * the last commits), a busy timeout, and foreign keys.
 */
export function openDatabase(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    db.exec("PRAGMA foreign_keys = ON");
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/** Highest applied migration version, 0 for an empty database. */
export function schemaVersion(db: DatabaseSync): number {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    .get();
  if (exists === undefined) return 0;
  const row = db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as { v: number | null };
  return row.v ?? 0;
}

/**
 * Apply every migration newer than the database, each in its own transaction. Refuses a
 * database whose schema is newer than the code, because writing to it could corrupt data the
 * newer code relies on.
 */
export function migrate(db: DatabaseSync, migrations: readonly Migration[]): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
  const known = migrations.reduce((m, x) => Math.max(m, x.version), 0);
  const current = schemaVersion(db);
  if (current > known) {
    throw new RangeError(
      `database schema version ${current} is newer than this software supports (${known}); ` +
        `refusing to open it`,
    );
  }
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
  for (const m of sorted) {
    if (m.version <= current) continue;
    transaction(db, () => {
      if (m.sql !== undefined) db.exec(m.sql);
      m.up?.(db);
      record.run(m.version, m.name, Date.now());
    });
  }
  return schemaVersion(db);
}

/** Run `fn` inside BEGIN IMMEDIATE ... COMMIT, rolling back if it throws. Not reentrant. */
export function transaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (e) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw e;
  }
}

/** SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY extended result codes. */
const UNIQUE_CODES = new Set([2067, 1555]);

/** True when `e` is a UNIQUE / PRIMARY KEY violation from node:sqlite. */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { errcode?: unknown } | null)?.errcode;
  return typeof code === "number" && UNIQUE_CODES.has(code);
}

/** Run `fn`, turning a unique violation into a ConflictError with `message`. */
export function mapConflict<T>(message: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isUniqueViolation(e)) throw new ConflictError(message);
    throw e;
  }
}

/** Escape LIKE wildcards so user search text matches literally (use with ESCAPE '\\'). */
export function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => "\\" + c);
}

/** Validate paging parameters. */
export function paging(limit: number | undefined, offset: number | undefined, max = 1000): [number, number] {
  const l = limit ?? 100;
  const o = offset ?? 0;
  if (!Number.isInteger(l) || l < 1 || l > max) throw new RangeError(`limit must be 1..${max}, got ${l}`);
  if (!Number.isInteger(o) || o < 0) throw new RangeError(`offset must be a non-negative integer, got ${o}`);
  return [l, o];
}

/** Parse a JSON column, falling back to `fallback` on a damaged value instead of throwing. */
export function parseJsonColumn<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** Queues writes and commits them together: one transaction and one fsync per batch. */
export interface GroupCommit {
  /** Run `run` in the next batch; resolves with its result after the batch is committed. */
  enqueue<T>(run: () => T): Promise<T>;
  /** Commit what is queued now (used on close). */
  flush(): void;
}

interface Pending {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * A group committer over `db`. Writes queued within `windowMs` share one transaction, so many
 * REGISTERs or call records cost one fsync, and each promise resolves only after that commit:
 * what the caller acknowledges afterwards is durable.
 */
export function createGroupCommit(db: DatabaseSync, options: { windowMs?: number } = {}): GroupCommit {
  const windowMs = options.windowMs ?? 2;
  let queue: Pending[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  function flush(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    const results: { ok: boolean; value: unknown }[] = [];
    try {
      db.exec("BEGIN IMMEDIATE");
      for (const p of batch) {
        // A failing statement (e.g. unknown extension) fails only itself, not the batch.
        try {
          results.push({ ok: true, value: p.run() });
        } catch (e) {
          results.push({ ok: false, value: e });
        }
      }
      db.exec("COMMIT");
    } catch (e) {
      if (db.isTransaction) db.exec("ROLLBACK");
      for (const p of batch) p.reject(e);
      return;
    }
    batch.forEach((p, i) => {
      const r = results[i]!;
      if (r.ok) p.resolve(r.value);
      else p.reject(r.value);
    });
  }

  return {
    enqueue<T>(run: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
        // Real time on purpose: batching is an I/O concern, not protocol time, and must not stall
        // under a virtual clock in tests.
        timer ??= setTimeout(flush, windowMs);
      });
    },
    flush,
  };
}
