/**
 * The mail service: a durable outbox in SQLite and a sender that delivers it over SMTP, retrying
 * with exponential backoff. `enqueue` returns only after the message and its attachments are on
 * disk, so an acknowledged message is never lost; after a restart `start()` resumes the queue.
 */
import type { Clock, TimerId } from "../clock/mod.ts";
import type { Logger } from "../log/mod.ts";
import type {
  MailStore,
  OutboxMessage,
  SmtpSettings,
  SmtpSettingsPatch,
  StoredAttachment,
} from "../storage/mod.ts";
import {
  describeSmtpError,
  nodemailerTransport,
  type SmtpResult,
  type SmtpTransportFactory,
} from "./_smtp.ts";

/** One attachment to send: a file (copied into the outbox) or bytes/text. */
export interface MailAttachment {
  filename: string;
  /** A file to attach; it is copied into the outbox, so the caller may delete it afterwards. */
  path?: string | undefined;
  /** The attachment itself when there is no file. */
  content?: Uint8Array | string | undefined;
  /** MIME type, default application/octet-stream. */
  contentType?: string | undefined;
}

/** A message for `enqueue`. */
export interface MailMessage {
  /** One address or several. */
  to: string | string[];
  subject: string;
  text: string;
  attachments?: MailAttachment[] | undefined;
}

/** Retry policy: attempt n (1-based) failing waits `min(baseMs * 2^(n-1), maxMs)`. */
export interface BackoffOptions {
  /** First retry delay, default 60 000 (1 min). */
  baseMs?: number | undefined;
  /** Longest delay, default 3 600 000 (1 h). */
  maxMs?: number | undefined;
  /** Attempts before a message is marked failed, default 12. */
  maxAttempts?: number | undefined;
  /** A message older than this is marked failed at its next failure, default 24 h. */
  maxAgeMs?: number | undefined;
}

/** Options for {@linkcode MailService}. */
export interface MailServiceOptions extends BackoffOptions {
  clock: Clock;
  logger: Logger;
  /** Folder for attachment copies (e.g. DATA_DIR/mail-outbox), created 0700. */
  outboxDir: string;
  /** SMTP client; default nodemailer. Unit tests pass a fake. */
  transport?: SmtpTransportFactory | undefined;
  /** Largest total attachment size per message, default 25 MiB. */
  maxAttachmentBytes?: number | undefined;
}

/** The delay before the retry after failed attempt `attempt` (1-based). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 60_000;
  const max = options.maxMs ?? 3_600_000;
  return Math.min(base * 2 ** Math.max(0, attempt - 1), max);
}

const ADDRESS_RE = /^[^\s@<>,;"]+@[^\s@<>,;"]+$/;
const MAX_RECIPIENTS = 20;

/** Check and normalise recipients; RangeError naming the bad address. */
export function parseRecipients(to: string | string[]): string[] {
  const list = (Array.isArray(to) ? to : [to]).flatMap((t) => String(t).split(",")).map((t) => t.trim())
    .filter((t) => t !== "");
  if (list.length === 0) throw new RangeError("mail needs at least one recipient");
  if (list.length > MAX_RECIPIENTS) throw new RangeError(`mail takes at most ${MAX_RECIPIENTS} recipients`);
  for (const a of list) {
    if (!ADDRESS_RE.test(a) || a.length > 254) {
      throw new RangeError(`not an email address: ${JSON.stringify(a.slice(0, 80))}`);
    }
  }
  return list;
}

function safeFilename(name: string): string {
  const base = name.replace(/^.*[\\/]/, "").replace(/[^A-Za-z0-9._ -]/g, "_").slice(0, 100);
  return base === "" || base.startsWith(".") ? `attachment${base}` : base;
}

/** The outbox and its sender. */
export class MailService {
  readonly #store: MailStore;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #dir: string;
  readonly #transport: SmtpTransportFactory;
  readonly #backoff: BackoffOptions;
  readonly #maxAttempts: number;
  readonly #maxAgeMs: number;
  readonly #maxBytes: number;
  #timer: TimerId | undefined;
  #timerAt = Infinity;
  #running: Promise<void> | undefined;
  #again = false;
  #started = false;
  #seq = 0;

  constructor(store: MailStore, options: MailServiceOptions) {
    this.#store = store;
    this.#clock = options.clock;
    this.#log = options.logger;
    this.#dir = options.outboxDir;
    this.#transport = options.transport ?? nodemailerTransport;
    this.#backoff = { baseMs: options.baseMs, maxMs: options.maxMs };
    this.#maxAttempts = options.maxAttempts ?? 12;
    this.#maxAgeMs = options.maxAgeMs ?? 24 * 3600_000;
    this.#maxBytes = options.maxAttachmentBytes ?? 25 * 1024 * 1024;
  }

  /** Resume the queue (messages left from before a restart included). */
  start(): void {
    this.#started = true;
    this.#kick();
  }

  /**
   * Stop scheduling. Resolves when a send in progress has finished, or after `waitMs` (default
   * 5 s): a message cut off mid-send is still queued and goes again after the restart.
   */
  async stop(options: { waitMs?: number } = {}): Promise<void> {
    this.#started = false;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const running = this.#running;
    if (running === undefined) return;
    let timer: TimerId | undefined;
    await Promise.race([
      running,
      new Promise<void>((resolve) => timer = this.#clock.setTimeout(resolve, options.waitMs ?? 5000)),
    ]);
    if (timer !== undefined) this.#clock.clearTimeout(timer);
  }

  /**
   * Store a message for delivery and return its outbox id. Throws RangeError/TypeError for a bad
   * address or attachment; once it returns, the message survives a crash.
   */
  enqueue(message: MailMessage): number {
    const to = parseRecipients(message.to);
    const subject = String(message.subject ?? "").replace(/[\r\n]+/g, " ").slice(0, 998);
    if (typeof message.text !== "string") throw new TypeError("mail text must be a string");
    const stored: StoredAttachment[] = [];
    Deno.mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    let total = 0;
    try {
      for (const a of message.attachments ?? []) {
        if (typeof a?.filename !== "string" || a.filename === "") {
          throw new TypeError("every attachment needs a filename");
        }
        if ((a.path === undefined) === (a.content === undefined)) {
          throw new TypeError(`attachment ${a.filename}: give either path or content`);
        }
        const bytes = a.content !== undefined
          ? (typeof a.content === "string" ? new TextEncoder().encode(a.content) : a.content)
          : Deno.readFileSync(a.path!);
        total += bytes.length;
        if (total > this.#maxBytes) {
          throw new RangeError(`attachments exceed ${this.#maxBytes} bytes`);
        }
        const path = `${this.#dir}/${this.#clock.wallNow()}-${++this.#seq}-${safeFilename(a.filename)}`;
        const file = Deno.openSync(path, { write: true, createNew: true, mode: 0o600 });
        try {
          let off = 0;
          while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
          file.syncSync();
        } finally {
          file.close();
        }
        stored.push({
          filename: a.filename.replace(/[\r\n"]/g, "_").slice(0, 200),
          path,
          contentType: a.contentType ?? "application/octet-stream",
        });
      }
      const row = this.#store.add({
        to,
        subject,
        text: message.text,
        attachments: stored,
        nextAttemptAt: this.#clock.wallNow(),
      });
      this.#log.info("mail queued", { id: row.id, to: to.join(","), attachments: stored.length });
      this.#kick();
      return row.id;
    } catch (e) {
      for (const s of stored) removeQuietly(s.path);
      throw e;
    }
  }

  /** Outbox messages, newest first. */
  list(
    options: { status?: OutboxMessage["status"] | undefined; limit?: number | undefined } = {},
  ): OutboxMessage[] {
    return this.#store.list(options);
  }

  /** One message, or undefined. */
  get(id: number): OutboxMessage | undefined {
    return this.#store.get(id);
  }

  /** Try a queued or failed message again now. NotFoundError / RangeError (already sent). */
  retryNow(id: number): OutboxMessage {
    const m = this.#store.retryNow(id);
    this.#log.info("mail retry requested", { id });
    this.#kick();
    return m;
  }

  /** Delete a message and its attachment copies. NotFoundError if absent. */
  delete(id: number): void {
    const m = this.#store.delete(id);
    for (const a of m.attachments) removeQuietly(a.path);
    this.#log.info("mail deleted", { id, status: m.status });
  }

  /** The SMTP settings without the password (`passwordSet` says whether one is stored). */
  smtpSettings(): SmtpSettings | undefined {
    return this.#store.smtpSettings();
  }

  /** Change the SMTP settings (RangeError on a bad value); queued messages are tried again now. */
  saveSmtpSettings(patch: SmtpSettingsPatch): SmtpSettings {
    const saved = this.#store.saveSmtpSettings(patch);
    this.#log.info("mail SMTP settings changed", {
      host: saved.host,
      port: saved.port,
      security: saved.security,
      passwordSet: saved.passwordSet,
    });
    this.settingsChanged();
    return saved;
  }

  /** Call after the SMTP settings changed: queued messages are tried again now. */
  settingsChanged(): void {
    for (const m of this.#store.list({ status: "queued", limit: 1000 })) this.#store.retryNow(m.id);
    this.#kick();
  }

  /** Send one message directly (no queue), for the "send test email" action; throws the SMTP error. */
  async sendTest(to: string): Promise<SmtpResult> {
    const recipients = parseRecipients(to);
    const settings = this.#settings();
    if (settings === undefined) throw new RangeError("SMTP server is not configured");
    const t = this.#transport(settings);
    try {
      const r = await t.send({
        from: settings.from,
        to: recipients,
        subject: "PBX test email",
        text: "This is a test email from the PBX. The SMTP settings work.",
        attachments: [],
      });
      this.#log.info("mail test sent", { to: recipients.join(","), response: r.response });
      return r;
    } catch (e) {
      const error = describeSmtpError(e);
      this.#log.warn("mail test failed", { to: recipients.join(","), error });
      throw new Error(error);
    } finally {
      t.close();
    }
  }

  /** Resolves when no send is running (tests use it after advancing a virtual clock). */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  #settings(): (SmtpSettings & { password: string }) | undefined {
    const s = this.#store.smtpSettings();
    return s === undefined || s.host === "" ? undefined : { ...s, password: this.#store.smtpPassword() };
  }

  #kick(): void {
    if (!this.#started) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.#kick();
      } else this.#schedule();
    });
  }

  #schedule(): void {
    if (!this.#started) return;
    const at = this.#store.nextAttemptAt();
    if (at === undefined) return;
    if (this.#timer !== undefined) {
      if (at >= this.#timerAt) return;
      this.#clock.clearTimeout(this.#timer);
    }
    this.#timerAt = at;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#kick();
    }, Math.max(0, at - this.#clock.wallNow()));
  }

  async #drain(): Promise<void> {
    for (;;) {
      if (!this.#started) return;
      const m = this.#store.nextDue(this.#clock.wallNow());
      if (m === undefined) return;
      await this.#attempt(m);
    }
  }

  async #attempt(m: OutboxMessage): Promise<void> {
    const attempt = m.attempts + 1;
    const settings = this.#settings();
    let error: string;
    if (settings === undefined) {
      error = "SMTP server is not configured";
    } else {
      const t = this.#transport(settings);
      try {
        const r = await t.send({
          from: settings.from,
          to: m.to,
          subject: m.subject,
          text: m.text,
          attachments: m.attachments,
        });
        this.#store.markSent(m.id);
        this.#log.info("mail sent", { id: m.id, to: m.to.join(","), attempt, response: r.response });
        for (const a of m.attachments) removeQuietly(a.path);
        return;
      } catch (e) {
        error = describeSmtpError(e);
      } finally {
        t.close();
      }
    }
    const now = this.#clock.wallNow();
    const giveUp = attempt >= this.#maxAttempts || now - m.createdAt >= this.#maxAgeMs;
    if (giveUp) {
      this.#store.markAttemptFailed(m.id, { error });
      this.#log.error("mail failed, giving up", { id: m.id, to: m.to.join(","), attempt, error });
    } else {
      const delay = backoffDelay(attempt, this.#backoff);
      this.#store.markAttemptFailed(m.id, { error, retryAt: now + delay });
      this.#log.warn("mail attempt failed, will retry", {
        id: m.id,
        to: m.to.join(","),
        attempt,
        retryInMs: delay,
        error,
      });
    }
  }
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // already gone: nothing to clean up
  }
}
