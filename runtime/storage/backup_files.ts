/**
 * The box's files inside a backup. A backup stays one SQLite file: next to the configuration and
 * call records it carries a table `backup_files (path, mode, data)` with every file under the data
 * dir's user-data folders (voicemail messages and greetings, music-on-hold classes, uploaded
 * prompts and sounds). A restore swaps those folders for the backup's (keeping the replaced ones as
 * `<folder>.before-restore-<time>`, as the database is kept) and drops the table. A backup without
 * the table (made before files were included) leaves the folders as they are.
 *
 * Paths in an uploaded backup are not trusted: each must be relative, inside one of the folders,
 * with no `..`, `.` or empty segment; one bad path refuses the whole restore before anything moves.
 * @module
 */
import { DatabaseSync } from "node:sqlite";

/** The data-dir folders a backup carries (user data, not caches: `cache/` is made again). */
export const BACKUP_DIRS: readonly string[] = ["voicemail", "moh", "prompts", "sounds", "recordings"];

const TABLE = "backup_files";

function* walk(root: string, rel: string): Generator<string> {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(`${root}/${rel}`)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  for (const e of entries) {
    const path = `${rel}/${e.name}`;
    if (e.isDirectory) yield* walk(root, path);
    // Half-written recordings (`.part`, renamed when whole) and temp files are not data yet.
    else if (e.isFile && !e.name.endsWith(".part") && !e.name.startsWith(".")) yield path;
  }
}

/**
 * Add the files under `dataDir`'s `dirs` to the backup database at `dbPath` (a copy, e.g. made
 * with VACUUM INTO). Returns how many files and bytes went in.
 */
export function addBackupFiles(
  dbPath: string,
  dataDir: string,
  dirs: readonly string[] = BACKUP_DIRS,
): { files: number; bytes: number } {
  const db = new DatabaseSync(dbPath);
  let files = 0, bytes = 0;
  try {
    db.exec(`CREATE TABLE ${TABLE} (path TEXT PRIMARY KEY, mode INTEGER NOT NULL, data BLOB NOT NULL)`);
    const insert = db.prepare(`INSERT INTO ${TABLE} (path, mode, data) VALUES (?, ?, ?)`);
    db.exec("BEGIN");
    for (const dir of dirs) {
      for (const path of walk(dataDir, dir)) {
        let data: Uint8Array;
        let mode: number;
        try {
          data = Deno.readFileSync(`${dataDir}/${path}`);
          mode = (Deno.statSync(`${dataDir}/${path}`).mode ?? 0o600) & 0o777;
        } catch (e) {
          if (e instanceof Deno.errors.NotFound) continue; // deleted while we walked
          throw e;
        }
        insert.run(path, mode, data);
        files++;
        bytes += data.length;
      }
    }
    db.exec("COMMIT");
  } finally {
    db.close();
  }
  return { files, bytes };
}

/** Check a path from a backup; a RangeError says what is wrong. */
export function checkBackupPath(path: unknown, dirs: readonly string[] = BACKUP_DIRS): string {
  if (typeof path !== "string" || path.length === 0 || path.length > 1024) {
    throw new RangeError("a file in the backup has no usable path");
  }
  const shown = JSON.stringify(path.slice(0, 80));
  if (path.includes("\0") || path.includes("\\") || path.startsWith("/")) {
    throw new RangeError(`backup file path ${shown} is not a plain relative path`);
  }
  const parts = path.split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..")) {
    throw new RangeError(`backup file path ${shown} has an empty, "." or ".." segment`);
  }
  if (parts.length < 2 || !dirs.includes(parts[0]!)) {
    throw new RangeError(`backup file path ${shown} is not inside ${dirs.join(", ")}`);
  }
  return path;
}

/** The files a backup database carries: undefined when it has no file table (an older backup). */
export function backupFileList(
  db: DatabaseSync,
  dirs: readonly string[] = BACKUP_DIRS,
): string[] | undefined {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(TABLE);
  if (has === undefined) return undefined;
  const rows = db.prepare(`SELECT path FROM ${TABLE}`).all() as { path: unknown }[];
  return rows.map((r) => checkBackupPath(r.path, dirs));
}

/** What `restoreBackupFiles` did. */
export interface FilesRestored {
  files: number;
  /** Folders replaced, each kept beside as `<folder>.before-restore-<stamp>`. */
  replaced: string[];
}

/**
 * Put the files of the (already swapped-in) database at `dbPath` under `dataDir`, replacing the
 * backup folders, then drop the file table. Undefined when the backup had no file table.
 */
export function restoreBackupFiles(
  dbPath: string,
  dataDir: string,
  stamp: string,
  dirs: readonly string[] = BACKUP_DIRS,
): FilesRestored | undefined {
  const db = new DatabaseSync(dbPath);
  try {
    const list = backupFileList(db, dirs);
    if (list === undefined) return undefined;
    const replaced: string[] = [];
    for (const dir of dirs) {
      const live = `${dataDir}/${dir}`;
      try {
        Deno.renameSync(live, `${live}.before-restore-${stamp}`);
        replaced.push(dir);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    const read = db.prepare(`SELECT mode, data FROM ${TABLE} WHERE path = ?`);
    for (const path of list) {
      const row = read.get(path) as { mode: number; data: Uint8Array };
      const full = `${dataDir}/${path}`;
      Deno.mkdirSync(full.slice(0, full.lastIndexOf("/")), { recursive: true, mode: 0o700 });
      Deno.writeFileSync(full, row.data, { mode: (row.mode & 0o777) || 0o600 });
    }
    db.exec(`DROP TABLE ${TABLE}`);
    db.exec("VACUUM");
    return { files: list.length, replaced };
  } finally {
    db.close();
  }
}
