/**
 * The mail outbox table and the SMTP settings. The SMTP password is sealed with the data
 * directory's secret key (like the SIP secrets) and only `smtpPassword()` hands it out; the
 * settings object never carries it.
 */
import type { DatabaseSync } from "node:sqlite";
import type { Clock } from "../clock/mod.ts";
import { parseJsonColumn } from "./_db.ts";
import { loadOrCreateKey, seal, unseal } from "./_secret.ts";
import { NotFoundError } from "./errors.ts";
import { createSettingsStore } from "./settings.ts";

/** How the SMTP connection is secured: plain, upgraded with STARTTLS, or TLS from the start (465). */
export type SmtpSecurity = "none" | "starttls" | "tls";

/** The SMTP security modes, for validation. */
export const SMTP_SECURITY: readonly SmtpSecurity[] = ["none", "starttls", "tls"];

/** SMTP settings as stored and shown (without the password). */
export interface SmtpSettings {
  host: string;
  port: number;
  security: SmtpSecurity;
  /** Login name; empty = no authentication. */
  username: string;
  /** Sender address, e.g. `PBX <pbx@example.com>`. */
  from: string;
  /** Check the server's TLS certificate (default true; false for a relay with a self-signed cert). */
  verifyCertificate: boolean;
  /** True when a password is stored. */
  passwordSet: boolean;
}

/** A change to the SMTP settings; `password: null` removes the stored password. */
export type SmtpSettingsPatch =
  & { [K in keyof Omit<SmtpSettings, "passwordSet">]?: SmtpSettings[K] | undefined }
  & { password?: string | null | undefined };

/** Delivery state of an outbox message. */
export type MailStatus = "queued" | "sent" | "failed";

/** One attachment as stored: a file owned by the outbox. */
export interface StoredAttachment {
  filename: string;
  path: string;
  contentType: string;
}

/** A message to store. */
export interface NewOutboxMessage {
  to: string[];
  subject: string;
  text: string;
  attachments: StoredAttachment[];
  /** Wall ms of the first attempt (normally now). */
  nextAttemptAt: number;
}

/** An outbox row. */
export interface OutboxMessage {
  id: number;
  to: string[];
  subject: string;
  text: string;
  attachments: StoredAttachment[];
  status: MailStatus;
  attempts: number;
  /** Wall ms of the next attempt (meaningful while queued). */
  nextAttemptAt: number;
  /** The last failure: the SMTP server's answer or the connection error. */
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
  sentAt: number | null;
}

/** Storage for the mail service. */
export interface MailStore {
  /** Current SMTP settings; undefined until a host has been saved. */
  smtpSettings(): SmtpSettings | undefined;
  /** Merge `patch` into the settings (a host is needed the first time) and return them. */
  saveSmtpSettings(patch: SmtpSettingsPatch): SmtpSettings;
  /** The stored password in clear, or "" (only for the SMTP client; never log or return it). */
  smtpPassword(): string;
  /** Insert a queued message; returns it. */
  add(message: NewOutboxMessage): OutboxMessage;
  get(id: number): OutboxMessage | undefined;
  /** Newest first; optionally one status. */
  list(options?: { status?: MailStatus | undefined; limit?: number | undefined }): OutboxMessage[];
  /** The queued message due earliest at or before `now` (wall ms), or undefined. */
  nextDue(now: number): OutboxMessage | undefined;
  /** Earliest `nextAttemptAt` of any queued message, or undefined. */
  nextAttemptAt(): number | undefined;
  markSent(id: number): void;
  /** Record a failed attempt; `retryAt` undefined marks it failed for good. */
  markAttemptFailed(id: number, options: { error: string; retryAt?: number | undefined }): void;
  /** Queue a message (also a failed one) for an attempt at `now`; NotFoundError if absent. */
  retryNow(id: number): OutboxMessage;
  /** Remove a message; returns it (its attachment files are the caller's to remove). */
  delete(id: number): OutboxMessage;
}

const SETTINGS_KEY = "mail.smtp";
const PASSWORD_KEY = "mail.smtp.password";
const SEAL_CONTEXT = "mail.smtp.password";

interface Row {
  id: number;
  recipients: string;
  subject: string;
  body: string;
  attachments: string;
  status: MailStatus;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
}

function fromRow(r: Row): OutboxMessage {
  return {
    id: Number(r.id),
    to: parseJsonColumn<string[]>(r.recipients, []),
    subject: r.subject,
    text: r.body,
    attachments: parseJsonColumn<StoredAttachment[]>(r.attachments, []),
    status: r.status,
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    lastError: r.last_error,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    sentAt: r.sent_at === null ? null : Number(r.sent_at),
  };
}

function checkSettings(s: Omit<SmtpSettings, "passwordSet">): void {
  if (typeof s.host !== "string" || !/^[A-Za-z0-9.:_-]{1,253}$/.test(s.host)) {
    throw new RangeError(`SMTP host must be a host name or address, got ${JSON.stringify(s.host)}`);
  }
  if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) {
    throw new RangeError(`SMTP port must be 1-65535, got ${JSON.stringify(s.port)}`);
  }
  if (!SMTP_SECURITY.includes(s.security)) {
    throw new RangeError(`SMTP security must be none, starttls or tls, got ${JSON.stringify(s.security)}`);
  }
  if (typeof s.username !== "string" || s.username.length > 256 || /[\r\n]/.test(s.username)) {
    throw new RangeError("SMTP username must be a single line of at most 256 characters");
  }
  if (typeof s.from !== "string" || s.from.length > 320 || /[\r\n]/.test(s.from) || !s.from.includes("@")) {
    throw new RangeError(`SMTP from must be an address, got ${JSON.stringify(String(s.from).slice(0, 80))}`);
  }
}

/** Build the mail store over an open, migrated database; `dataDir` holds secret.key. */
export function createMailStore(db: DatabaseSync, options: { clock: Clock; dataDir: string }): MailStore {
  const { clock } = options;
  const settings = createSettingsStore(db, { clock });
  let key: Uint8Array | undefined;
  const secretKey = () => key ??= loadOrCreateKey(`${options.dataDir}/secret.key`);
  const st = {
    insert: db.prepare(
      `INSERT INTO mail_outbox (recipients, subject, body, attachments, status, attempts, next_attempt_at,
         created_at, updated_at) VALUES (?, ?, ?, ?, 'queued', 0, ?, ?, ?) RETURNING *`,
    ),
    get: db.prepare("SELECT * FROM mail_outbox WHERE id = ?"),
    list: db.prepare("SELECT * FROM mail_outbox ORDER BY id DESC LIMIT ?"),
    listStatus: db.prepare("SELECT * FROM mail_outbox WHERE status = ? ORDER BY id DESC LIMIT ?"),
    due: db.prepare(
      `SELECT * FROM mail_outbox WHERE status = 'queued' AND next_attempt_at <= ?
       ORDER BY next_attempt_at, id LIMIT 1`,
    ),
    nextAt: db.prepare("SELECT MIN(next_attempt_at) AS at FROM mail_outbox WHERE status = 'queued'"),
    sent: db.prepare(
      `UPDATE mail_outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?, updated_at = ?
       WHERE id = ?`,
    ),
    retry: db.prepare(
      `UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, updated_at = ?
       WHERE id = ?`,
    ),
    failed: db.prepare(
      `UPDATE mail_outbox SET status = 'failed', attempts = attempts + 1, last_error = ?, updated_at = ?
       WHERE id = ?`,
    ),
    requeue: db.prepare(
      "UPDATE mail_outbox SET status = 'queued', next_attempt_at = ?, updated_at = ? WHERE id = ?",
    ),
    delete: db.prepare("DELETE FROM mail_outbox WHERE id = ?"),
  };
  const get = (id: number) => {
    const row = st.get.get(id) as Row | undefined;
    return row === undefined ? undefined : fromRow(row);
  };
  const mustGet = (id: number) => {
    const m = get(id);
    if (m === undefined) throw new NotFoundError(`mail message ${id} not found`);
    return m;
  };
  return {
    smtpSettings() {
      const s = settings.get<Omit<SmtpSettings, "passwordSet">>(SETTINGS_KEY);
      if (s === undefined || s === null || typeof s !== "object") return undefined;
      return {
        host: s.host,
        port: s.port,
        security: s.security,
        username: s.username ?? "",
        from: s.from,
        verifyCertificate: s.verifyCertificate !== false,
        passwordSet: settings.get(PASSWORD_KEY) !== undefined,
      };
    },
    saveSmtpSettings(patch) {
      const { password, ...rest } = patch;
      const before = this.smtpSettings();
      const merged = {
        host: "",
        port: 587,
        security: "starttls" as SmtpSecurity,
        username: "",
        from: "",
        verifyCertificate: true,
        ...(before === undefined ? {} : (({ passwordSet: _, ...b }) => b)(before)),
        ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)),
      } as Omit<SmtpSettings, "passwordSet">;
      checkSettings(merged);
      if (typeof password === "string" && password.length > 1024) {
        throw new RangeError("SMTP password must be at most 1024 characters");
      }
      db.exec("BEGIN IMMEDIATE");
      try {
        settings.set(SETTINGS_KEY, merged);
        if (password === null || password === "") settings.delete(PASSWORD_KEY);
        else if (typeof password === "string") {
          settings.set(PASSWORD_KEY, seal(secretKey(), password, SEAL_CONTEXT));
        }
        db.exec("COMMIT");
      } catch (e) {
        db.exec("ROLLBACK");
        throw e;
      }
      return this.smtpSettings()!;
    },
    smtpPassword() {
      const sealed = settings.get<string>(PASSWORD_KEY);
      return typeof sealed === "string" ? unseal(secretKey(), sealed, SEAL_CONTEXT) : "";
    },
    add(m) {
      const now = clock.wallNow();
      const row = st.insert.get(
        JSON.stringify(m.to),
        m.subject,
        m.text,
        JSON.stringify(m.attachments),
        m.nextAttemptAt,
        now,
        now,
      ) as unknown as Row;
      return fromRow(row);
    },
    get,
    list(options = {}) {
      const limit = Math.max(1, Math.min(options.limit ?? 200, 1000));
      const rows = options.status === undefined
        ? st.list.all(limit)
        : st.listStatus.all(options.status, limit);
      return (rows as unknown as Row[]).map(fromRow);
    },
    nextDue(now) {
      const row = st.due.get(now) as Row | undefined;
      return row === undefined ? undefined : fromRow(row);
    },
    nextAttemptAt() {
      const row = st.nextAt.get() as { at: number | null } | undefined;
      return row?.at === null || row?.at === undefined ? undefined : Number(row.at);
    },
    markSent(id) {
      const now = clock.wallNow();
      st.sent.run(now, now, id);
    },
    markAttemptFailed(id, options) {
      const error = options.error.slice(0, 2000);
      if (options.retryAt === undefined) st.failed.run(error, clock.wallNow(), id);
      else st.retry.run(error, options.retryAt, clock.wallNow(), id);
    },
    retryNow(id) {
      const m = mustGet(id);
      if (m.status === "sent") throw new RangeError(`mail message ${id} was already sent`);
      const now = clock.wallNow();
      st.requeue.run(now, now, id);
      return mustGet(id);
    },
    delete(id) {
      const m = mustGet(id);
      st.delete.run(id);
      return m;
    },
  };
}
