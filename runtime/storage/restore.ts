/**
 * Restoring a backup. The web UI stages an uploaded database as `<dataDir>/restore/pbx.sqlite`;
 * the next start checks it (SQLite, integrity, a schema this code knows) and swaps it in, keeping
 * the database it replaces beside it. A staged file that fails the checks is set aside and the
 * box starts on its current data.
 */
import { DatabaseSync } from "node:sqlite";
import { schemaVersion } from "./_db.ts";
import { MIGRATIONS } from "./migrations/mod.ts";
import { backupFileList, type FilesRestored, restoreBackupFiles } from "./backup_files.ts";

/** What a database file holds, as far as a restore cares. */
export interface DatabaseInfo {
  schemaVersion: number;
  /** Files the backup carries (voicemail, music on hold, ...); null: a backup without files. */
  files: number | null;
}

const LATEST = MIGRATIONS.reduce((m, x) => Math.max(m, x.version), 0);

/**
 * Open `path` read-only and check it can be restored: an SQLite file that passes
 * `PRAGMA integrity_check`, with the PBX schema at a version this code can migrate from.
 * Throws TypeError/RangeError saying what is wrong.
 */
export function inspectDatabase(path: string): DatabaseInfo {
  const head = new Uint8Array(16);
  let f: Deno.FsFile | undefined;
  try {
    f = Deno.openSync(path, { read: true });
    const n = f.readSync(head) ?? 0;
    if (n < 16 || new TextDecoder().decode(head) !== "SQLite format 3\0") {
      throw new TypeError("not an SQLite database (bad file header)");
    }
  } finally {
    f?.close();
  }
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: true });
  } catch (e) {
    throw new TypeError(`cannot open the database: ${(e as Error).message}`);
  }
  try {
    const check = db.prepare("PRAGMA integrity_check").all() as { integrity_check: string }[];
    const problems = check.map((r) => r.integrity_check).filter((x) => x !== "ok");
    if (problems.length > 0) throw new RangeError(`database is damaged: ${problems.slice(0, 3).join("; ")}`);
    const version = schemaVersion(db);
    if (version === 0) throw new RangeError("not a PBX database (no schema_migrations table)");
    if (version > LATEST) {
      throw new RangeError(`the backup is from newer software (schema ${version}, this box knows ${LATEST})`);
    }
    const hasExtensions = db.prepare(
      "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'extensions'",
    )
      .get();
    if (hasExtensions === undefined) throw new RangeError("not a PBX database (no extensions table)");
    const files = backupFileList(db); // every path checked: a hostile one refuses the backup
    return { schemaVersion: version, files: files?.length ?? null };
  } finally {
    db.close();
  }
}

/** Where a restore is staged. */
export function stagedRestorePath(dataDir: string): string {
  return `${dataDir}/restore/pbx.sqlite`;
}

/** Outcome of `applyStagedRestore`. */
export type RestoreOutcome =
  | { applied: false; reason: "none" }
  | { applied: false; reason: "rejected"; error: string; keptAt: string }
  | { applied: true; schemaVersion: number; previousAt: string | null; files: FilesRestored | null };

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Swap a staged restore into place before the database is opened. Must run while nothing has
 * the database open. The replaced database (and its WAL) is kept as
 * `pbx.sqlite.before-restore-<time>`.
 */
export function applyStagedRestore(dataDir: string, options: { now?: () => number } = {}): RestoreOutcome {
  const staged = stagedRestorePath(dataDir);
  if (!exists(staged)) return { applied: false, reason: "none" };
  const stamp = new Date(options.now?.() ?? Date.now()).toISOString().replace(/[:.]/g, "-");
  let info: DatabaseInfo;
  try {
    info = inspectDatabase(staged);
  } catch (e) {
    const keptAt = `${dataDir}/restore/rejected-${stamp}.sqlite`;
    Deno.renameSync(staged, keptAt);
    return { applied: false, reason: "rejected", error: (e as Error).message, keptAt };
  }
  const live = `${dataDir}/pbx.sqlite`;
  let previousAt: string | null = null;
  if (exists(live)) {
    previousAt = `${live}.before-restore-${stamp}`;
    // Fold the WAL into the old file first so the copy we keep is complete on its own.
    const db = new DatabaseSync(live);
    try {
      db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } finally {
      db.close();
    }
    Deno.renameSync(live, previousAt);
    for (const suffix of ["-wal", "-shm"]) if (exists(live + suffix)) Deno.removeSync(live + suffix);
  }
  Deno.renameSync(staged, live);
  const files = restoreBackupFiles(live, dataDir, stamp) ?? null;
  return { applied: true, schemaVersion: info.schemaVersion, previousAt, files };
}
