/**
 * The voicemail store: mailboxes, messages and greetings in SQLite (migrations 060, 062), audio as WAV
 * files under `<dataDir>/voicemail/<mailbox>/`. A mailbox row is made on first use for an
 * extension that exists (`exists`), enabled and without a PIN; the PIN is hashed with PBKDF2 like
 * the web passwords, and wrong PINs lock the mailbox for `lockoutMs` after `maxPinFailures`.
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { Clock } from "../../clock/mod.ts";
import { hashPassword, verifyPassword } from "../../storage/mod.ts";

/** The greetings a mailbox can have. */
export type GreetingKind = "unavailable" | "busy" | "name" | "temporary";
export const GREETING_KINDS: readonly GreetingKind[] = ["unavailable", "busy", "name", "temporary"];

/** A mailbox as the store returns it (never the PIN hash). */
export interface Mailbox {
  mailbox: string;
  enabled: boolean;
  pinSet: boolean;
  failedPins: number;
  /** Epoch ms until which PIN entry is refused, or null. */
  lockedUntil: number | null;
  email: string | null;
  maxMessages: number;
  maxMessageSeconds: number;
}

/** A message's metadata. */
export interface VoicemailMessage {
  id: number;
  mailbox: string;
  caller: string;
  callerName: string | null;
  receivedAt: number;
  durationMs: number;
  /** Absolute path of the WAV file. */
  path: string;
  read: boolean;
  folder: "inbox" | "saved";
  /** What the offline recognizer heard, or null (none installed, narrowband audio, not done yet). */
  transcript: string | null;
}

/** What `checkPin` answers. */
export type PinCheck =
  | { ok: true }
  | { ok: false; locked: boolean; remaining: number; lockedUntil: number | null };

/** A mailbox settings change. */
export interface MailboxPatch {
  enabled?: boolean;
  email?: string | null;
  maxMessages?: number;
  maxMessageSeconds?: number;
}

/** Options of `createVoicemailStore`. */
export interface VoicemailStoreOptions {
  clock: Pick<Clock, "wallNow">;
  dataDir: string;
  /** Whether a mailbox number is an extension (mailboxes exist only for extensions). */
  exists(mailbox: string): boolean;
  /** Wrong PINs before the lockout (default 3). */
  maxPinFailures?: number;
  /** Lockout length in ms (default 15 min). */
  lockoutMs?: number;
  /** PBKDF2 iterations (default the web passwords'; lower only in tests, at least 1000). */
  pbkdf2Iterations?: number;
}

const PIN_RE = /^[0-9]{4,10}$/;
const EMAIL_RE = /^[^\s@<>",;]{1,64}@[^\s@<>",;]{1,190}$/;
const MAILBOX_RE = /^[0-9A-Za-z*#+._-]{1,32}$/;

interface MailboxRow {
  mailbox: string;
  enabled: number;
  pin_hash: string | null;
  failed_pins: number;
  locked_until: number | null;
  email: string | null;
  max_messages: number;
  max_message_seconds: number;
}

interface MessageRow {
  id: number;
  mailbox: string;
  caller: string;
  caller_name: string | null;
  received_at: number;
  duration_ms: number;
  file: string;
  read: number;
  folder: "inbox" | "saved";
  transcript: string | null;
}

/** The store; see the module doc. */
export interface VoicemailStore {
  readonly dataDir: string;
  /** The folder of a mailbox's files (created on demand by the writers). */
  dir(mailbox: string): string;
  /** The mailbox, made on first use for an existing extension; undefined for anything else. */
  mailbox(mailbox: string): Mailbox | undefined;
  /**
   * The mailbox if it has been set up (a row exists: saved settings, a greeting, a PIN, a message
   * or a phone login); unlike `mailbox` this never makes one. The dialplan diverts to voicemail
   * only for a set-up, enabled mailbox, so a box that never configured voicemail keeps 486/480.
   */
  configured(mailbox: string): Mailbox | undefined;
  list(): Mailbox[];
  update(mailbox: string, patch: MailboxPatch): Mailbox;
  setPin(mailbox: string, pin: string): Promise<void>;
  /** Check a PIN, counting failures; a locked mailbox refuses even the right PIN. */
  checkPin(mailbox: string, pin: string): Promise<PinCheck>;
  /** Clear the failure counter and the lockout (admin). */
  unlock(mailbox: string): void;
  counts(mailbox: string): { newMessages: number; oldMessages: number };
  messages(mailbox: string): VoicemailMessage[];
  message(id: number): VoicemailMessage | undefined;
  /** Record a message whose WAV is already at `path` (inside the mailbox folder). */
  addMessage(
    m: { mailbox: string; caller: string; callerName?: string | null; durationMs: number; path: string },
  ): VoicemailMessage;
  markRead(id: number, read: boolean): boolean;
  setTranscript(id: number, text: string): boolean;
  save(id: number): boolean;
  /** Delete the row and its file. */
  deleteMessage(id: number): boolean;
  greeting(mailbox: string, kind: GreetingKind): { path: string; durationMs: number } | undefined;
  setGreeting(mailbox: string, kind: GreetingKind, path: string, durationMs: number): void;
  deleteGreeting(mailbox: string, kind: GreetingKind): boolean;
}

function toMailbox(r: MailboxRow): Mailbox {
  return {
    mailbox: r.mailbox,
    enabled: r.enabled === 1,
    pinSet: r.pin_hash !== null,
    failedPins: r.failed_pins,
    lockedUntil: r.locked_until,
    email: r.email,
    maxMessages: r.max_messages,
    maxMessageSeconds: r.max_message_seconds,
  };
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // already gone
  }
}

/** Open the store over the appliance database (migration 060 applied). */
export function createVoicemailStore(db: DatabaseSync, options: VoicemailStoreOptions): VoicemailStore {
  const { clock } = options;
  const root = `${options.dataDir}/voicemail`;
  const maxFailures = options.maxPinFailures ?? 3;
  const lockoutMs = options.lockoutMs ?? 15 * 60_000;
  const getRow = db.prepare("SELECT * FROM vm_mailboxes WHERE mailbox = ?");
  const insertRow = db.prepare(
    "INSERT OR IGNORE INTO vm_mailboxes (mailbox, created_at, updated_at) VALUES (?, ?, ?)",
  );
  const msgCols =
    "id, mailbox, caller, caller_name, received_at, duration_ms, file, read, folder, transcript";
  const toMessage = (r: MessageRow): VoicemailMessage => ({
    id: r.id,
    mailbox: r.mailbox,
    caller: r.caller,
    callerName: r.caller_name,
    receivedAt: r.received_at,
    durationMs: r.duration_ms,
    path: `${root}/${r.mailbox}/${r.file}`,
    read: r.read === 1,
    folder: r.folder,
    transcript: r.transcript,
  });
  const row = (mailbox: string): MailboxRow | undefined => {
    if (!MAILBOX_RE.test(mailbox)) return undefined;
    let r = getRow.get(mailbox) as MailboxRow | undefined;
    if (r === undefined && options.exists(mailbox)) {
      const now = clock.wallNow();
      insertRow.run(mailbox, now, now);
      r = getRow.get(mailbox) as MailboxRow | undefined;
    }
    return r;
  };
  const must = (mailbox: string): MailboxRow => {
    const r = row(mailbox);
    if (r === undefined) throw new RangeError(`no mailbox ${JSON.stringify(mailbox.slice(0, 40))}`);
    return r;
  };
  const fileIn = (mailbox: string, path: string): string => {
    const prefix = `${root}/${mailbox}/`;
    if (!path.startsWith(prefix) || path.slice(prefix.length).includes("/")) {
      throw new RangeError(`voicemail file ${path} is not in ${prefix}`);
    }
    return path.slice(prefix.length);
  };

  return {
    dataDir: options.dataDir,
    dir: (mailbox) => `${root}/${mailbox}`,
    mailbox(mailbox) {
      const r = row(mailbox);
      return r === undefined ? undefined : toMailbox(r);
    },
    configured(mailbox) {
      if (!MAILBOX_RE.test(mailbox)) return undefined;
      const r = getRow.get(mailbox) as MailboxRow | undefined;
      return r === undefined ? undefined : toMailbox(r);
    },
    list() {
      return (db.prepare("SELECT * FROM vm_mailboxes ORDER BY mailbox").all() as unknown as MailboxRow[])
        .map(toMailbox);
    },
    update(mailbox, patch) {
      must(mailbox);
      const sets: string[] = [];
      const values: (string | number | null)[] = [];
      if (patch.enabled !== undefined) {
        if (typeof patch.enabled !== "boolean") throw new TypeError("enabled must be true or false");
        sets.push("enabled = ?");
        values.push(patch.enabled ? 1 : 0);
      }
      if (patch.email !== undefined) {
        if (patch.email !== null && (typeof patch.email !== "string" || !EMAIL_RE.test(patch.email))) {
          throw new RangeError(`email must be an address like name@example.com or null`);
        }
        sets.push("email = ?");
        values.push(patch.email);
      }
      for (
        const [key, col, max] of [["maxMessages", "max_messages", 10_000], [
          "maxMessageSeconds",
          "max_message_seconds",
          3600,
        ]] as const
      ) {
        const v = patch[key];
        if (v === undefined) continue;
        if (!Number.isInteger(v) || v < 1 || v > max) {
          throw new RangeError(`${key} must be an integer 1..${max}`);
        }
        sets.push(`${col} = ?`);
        values.push(v);
      }
      if (sets.length > 0) {
        db.prepare(`UPDATE vm_mailboxes SET ${sets.join(", ")}, updated_at = ? WHERE mailbox = ?`)
          .run(...values, clock.wallNow(), mailbox);
      }
      return toMailbox(must(mailbox));
    },
    async setPin(mailbox, pin) {
      must(mailbox);
      if (typeof pin !== "string" || !PIN_RE.test(pin)) throw new RangeError("PIN must be 4 to 10 digits");
      const hash = await hashPassword(
        pin,
        options.pbkdf2Iterations ? { iterations: options.pbkdf2Iterations } : {},
      );
      db.prepare(
        "UPDATE vm_mailboxes SET pin_hash = ?, failed_pins = 0, locked_until = NULL, updated_at = ? WHERE mailbox = ?",
      ).run(hash, clock.wallNow(), mailbox);
    },
    async checkPin(mailbox, pin) {
      const r = row(mailbox);
      const now = clock.wallNow();
      if (r === undefined || r.pin_hash === null) {
        // Unknown mailboxes and mailboxes without a PIN answer like a wrong PIN (no probing).
        return { ok: false, locked: false, remaining: maxFailures, lockedUntil: null };
      }
      if (r.locked_until !== null && r.locked_until > now) {
        return { ok: false, locked: true, remaining: 0, lockedUntil: r.locked_until };
      }
      const good = typeof pin === "string" && PIN_RE.test(pin) && await verifyPassword(pin, r.pin_hash);
      if (good) {
        db.prepare("UPDATE vm_mailboxes SET failed_pins = 0, locked_until = NULL WHERE mailbox = ?").run(
          mailbox,
        );
        return { ok: true };
      }
      // A lockout that has run out starts a fresh count.
      const failures = (r.locked_until !== null ? 0 : r.failed_pins) + 1;
      const lockedUntil = failures >= maxFailures ? now + lockoutMs : null;
      db.prepare("UPDATE vm_mailboxes SET failed_pins = ?, locked_until = ? WHERE mailbox = ?")
        .run(lockedUntil !== null ? 0 : failures, lockedUntil, mailbox);
      return {
        ok: false,
        locked: lockedUntil !== null,
        remaining: Math.max(0, maxFailures - failures),
        lockedUntil,
      };
    },
    unlock(mailbox) {
      must(mailbox);
      db.prepare("UPDATE vm_mailboxes SET failed_pins = 0, locked_until = NULL WHERE mailbox = ?").run(
        mailbox,
      );
    },
    counts(mailbox) {
      const r = db.prepare(
        "SELECT SUM(read = 0 AND folder = 'inbox') AS n, SUM(read = 1 OR folder = 'saved') AS o FROM vm_messages WHERE mailbox = ?",
      ).get(mailbox) as { n: number | null; o: number | null };
      return { newMessages: r.n ?? 0, oldMessages: r.o ?? 0 };
    },
    messages(mailbox) {
      return (db.prepare(`SELECT ${msgCols} FROM vm_messages WHERE mailbox = ? ORDER BY received_at, id`)
        .all(mailbox) as unknown as MessageRow[]).map(toMessage);
    },
    message(id) {
      const r = db.prepare(`SELECT ${msgCols} FROM vm_messages WHERE id = ?`).get(id) as
        | MessageRow
        | undefined;
      return r === undefined ? undefined : toMessage(r);
    },
    addMessage(m) {
      must(m.mailbox);
      const file = fileIn(m.mailbox, m.path);
      const r = db.prepare(
        `INSERT INTO vm_messages (mailbox, caller, caller_name, received_at, duration_ms, file)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING ${msgCols}`,
      ).get(
        m.mailbox,
        m.caller,
        m.callerName ?? null,
        clock.wallNow(),
        Math.round(m.durationMs),
        file,
      ) as unknown as MessageRow;
      return toMessage(r);
    },
    markRead(id, read) {
      return db.prepare("UPDATE vm_messages SET read = ? WHERE id = ?").run(read ? 1 : 0, id).changes > 0;
    },
    setTranscript(id, text) {
      return db.prepare("UPDATE vm_messages SET transcript = ? WHERE id = ?").run(text, id).changes > 0;
    },
    save(id) {
      return db.prepare("UPDATE vm_messages SET folder = 'saved', read = 1 WHERE id = ?").run(id).changes > 0;
    },
    deleteMessage(id) {
      const m = this.message(id);
      if (m === undefined) return false;
      db.prepare("DELETE FROM vm_messages WHERE id = ?").run(id);
      removeQuietly(m.path);
      return true;
    },
    greeting(mailbox, kind) {
      const r = db.prepare("SELECT file, duration_ms FROM vm_greetings WHERE mailbox = ? AND kind = ?")
        .get(mailbox, kind) as { file: string; duration_ms: number } | undefined;
      return r === undefined
        ? undefined
        : { path: `${root}/${mailbox}/${r.file}`, durationMs: r.duration_ms };
    },
    setGreeting(mailbox, kind, path, durationMs) {
      must(mailbox);
      if (!GREETING_KINDS.includes(kind)) throw new RangeError(`unknown greeting ${kind}`);
      const file = fileIn(mailbox, path);
      const old = this.greeting(mailbox, kind);
      db.prepare(
        `INSERT INTO vm_greetings (mailbox, kind, file, duration_ms, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (mailbox, kind) DO UPDATE SET file = excluded.file, duration_ms = excluded.duration_ms,
         updated_at = excluded.updated_at`,
      ).run(mailbox, kind, file, Math.round(durationMs), clock.wallNow());
      if (old !== undefined && old.path !== path) removeQuietly(old.path);
    },
    deleteGreeting(mailbox, kind) {
      const old = this.greeting(mailbox, kind);
      if (old === undefined) return false;
      db.prepare("DELETE FROM vm_greetings WHERE mailbox = ? AND kind = ?").run(mailbox, kind);
      removeQuietly(old.path);
      return true;
    },
  };
}
