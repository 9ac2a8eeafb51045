/** `openStorage`: the one entry point that opens pbx.sqlite in a data directory and builds the stores. */
import type { DatabaseSync } from "node:sqlite";
import { type Clock, realClock } from "../clock/mod.ts";
import { createGroupCommit, migrate, openDatabase, schemaVersion } from "./_db.ts";
import { loadOrCreateKey } from "./_secret.ts";
import { MIGRATIONS } from "./migrations/mod.ts";
import { addBackupFiles } from "./backup_files.ts";
import { createExtensionStore, type ExtensionStore } from "./extensions.ts";
import { createLocationStore, type LocationStore } from "./location.ts";
import { type CdrStore, createCdrStore } from "./cdr.ts";
import { createUserStore, type UserStore } from "./users.ts";
import { createSessionStore, type SessionStore } from "./sessions.ts";
import { createSettingsStore, type SettingsStore } from "./settings.ts";
import { type AuditStore, createAuditStore } from "./audit.ts";
import { createDeviceStore, type DeviceStore } from "./devices.ts";
import { createTemplateStore, type TemplateStore } from "./templates.ts";
import { type ContactStore, createContactStore } from "./contacts.ts";
import { createPagingStore, type PagingStore } from "./paging.ts";

/** Options for `openStorage`. */
export interface StorageOptions {
  /** Directory for pbx.sqlite and secret.key; created (0700) if missing. */
  dataDir: string;
  /** Source of wall-clock timestamps for created_at/updated_at and session expiry. */
  clock?: Clock | undefined;
  /** PBKDF2 iterations for new web passwords; default 210000. Lower only in tests. */
  pbkdf2Iterations?: number | undefined;
  /** Group-commit window for LocationStore.upsertDurable, ms; default 2. */
  groupCommitMs?: number | undefined;
}

/** The open database and its stores. */
export interface Storage {
  readonly dataDir: string;
  /** Path of the SQLite file. */
  readonly path: string;
  /** Raw handle, for backups and diagnostics; stores are the normal way in. */
  readonly db: DatabaseSync;
  readonly extensions: ExtensionStore;
  readonly locations: LocationStore;
  readonly cdr: CdrStore;
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly settings: SettingsStore;
  readonly audit: AuditStore;
  /** Phones: assigned and discovered (provisioning). */
  readonly devices: DeviceStore;
  /** Admin overrides of shipped phone templates. */
  readonly templates: TemplateStore;
  /** External phone book entries. */
  readonly contacts: ContactStore;
  /** Paging zones, groups, permissions, schedules and the page log. */
  readonly paging: PagingStore;
  /** Applied schema version. */
  schemaVersion(): number;
  /**
   * Write a consistent copy of the database to `path` (VACUUM INTO; the file must not exist), with
   * the files of the data dir's user-data folders in it (backup_files.ts).
   */
  backupTo(path: string): void;
  /** Flush queued group commits and close. Idempotent. */
  close(): void;
}

/** Open (creating and migrating as needed) the appliance database in `options.dataDir`. */
export function openStorage(options: StorageOptions): Storage {
  if (typeof options?.dataDir !== "string" || options.dataDir === "") {
    throw new TypeError("openStorage needs options.dataDir");
  }
  const clock = options.clock ?? realClock;
  const dataDir = options.dataDir;
  Deno.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = loadOrCreateKey(`${dataDir}/secret.key`);
  const path = `${dataDir}/pbx.sqlite`;
  const db = openDatabase(path);
  try {
    migrate(db, MIGRATIONS);
  } catch (e) {
    db.close();
    throw e;
  }
  // One committer for the database: registrations and call records written in the same few
  // milliseconds share one transaction and one fsync.
  const committer = createGroupCommit(db, { windowMs: options.groupCommitMs ?? 10 });
  const locations = createLocationStore(db, { clock, committer });
  let closed = false;
  return {
    dataDir,
    path,
    db,
    extensions: createExtensionStore(db, { clock, key }),
    locations,
    cdr: createCdrStore(db, { committer }),
    users: createUserStore(db, { clock, iterations: options.pbkdf2Iterations }),
    sessions: createSessionStore(db, { clock }),
    settings: createSettingsStore(db, { clock }),
    audit: createAuditStore(db, { clock }),
    devices: createDeviceStore(db, { clock, key }),
    templates: createTemplateStore(db, { clock }),
    contacts: createContactStore(db, { clock }),
    paging: createPagingStore(db, { clock }),
    schemaVersion: () => schemaVersion(db),
    backupTo(target) {
      db.prepare("VACUUM INTO ?").run(target);
      addBackupFiles(target, dataDir);
    },
    close() {
      if (closed) return;
      closed = true;
      committer.flush();
      db.close();
    },
  };
}
