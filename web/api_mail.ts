/**
 * /api/mail: the SMTP settings (the password is write-only: GET says `passwordSet`), a test email,
 * and the outbox (queued, sent, failed with the last SMTP error; retry now; delete). Admin only.
 * Mount with `registerMailRoutes(api, deps)` on the authenticated /api app.
 */
import type { Hono } from "hono";
import * as v from "valibot";
import type {
  MailStatus,
  OutboxMessage,
  SmtpSettings,
  SmtpSettingsPatch,
  Storage,
} from "../runtime/storage/mod.ts";
import { parseRecipients } from "../runtime/mail/mod.ts";
import { requireAdmin } from "./api_auth.ts";
import { clientIp, fail, jsonBody, store, validate } from "./_http.ts";
import type { AppEnv } from "./_env.ts";

/** What the routes need from the mail service (runtime/mail MailService fits). */
export interface MailControl {
  smtpSettings(): SmtpSettings | undefined;
  saveSmtpSettings(patch: SmtpSettingsPatch): SmtpSettings;
  sendTest(to: string): Promise<{ response: string }>;
  list(options: { status?: MailStatus | undefined; limit?: number | undefined }): OutboxMessage[];
  get(id: number): OutboxMessage | undefined;
  retryNow(id: number): OutboxMessage;
  delete(id: number): void;
}

/** Dependencies of the mail routes. */
export interface MailRouteDeps {
  storage: Storage;
  /** Absent when the mail service is not running: every route answers 503. */
  mail?: MailControl | undefined;
}

const Line = (max: number) =>
  v.pipe(
    v.string("must be a string"),
    v.maxLength(max, "too long"),
    v.regex(/^[^\r\n]*$/, "must be one line"),
  );

const SettingsBody = v.strictObject({
  host: v.optional(v.pipe(Line(253), v.regex(/^[A-Za-z0-9.:_-]+$/, "must be a host name or address"))),
  port: v.optional(v.pipe(v.number("must be a number"), v.integer(), v.minValue(1), v.maxValue(65535))),
  security: v.optional(v.picklist(["none", "starttls", "tls"], 'must be "none", "starttls" or "tls"')),
  username: v.optional(Line(256)),
  password: v.optional(v.nullable(Line(1024))),
  from: v.optional(Line(320)),
  verifyCertificate: v.optional(v.boolean("must be true or false")),
});

const TestBody = v.strictObject({ to: Line(1000) });

const StatusQuery = v.optional(
  v.picklist(["queued", "sent", "failed"], 'must be "queued", "sent" or "failed"'),
);

/** The outbox row as the API shows it: attachment names and types, not paths in the data dir. */
function view(m: OutboxMessage) {
  return {
    id: m.id,
    to: m.to,
    subject: m.subject,
    status: m.status,
    attempts: m.attempts,
    nextAttemptAt: m.status === "queued" ? m.nextAttemptAt : null,
    lastError: m.lastError,
    createdAt: m.createdAt,
    sentAt: m.sentAt,
    attachments: m.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType })),
  };
}

function parseId(raw: string): number {
  if (!/^[0-9]{1,15}$/.test(raw)) {
    fail(400, `message id must be a number, got ${JSON.stringify(raw.slice(0, 20))}`);
  }
  return Number(raw);
}

/** Register the /mail routes on the authenticated API app. */
export function registerMailRoutes(api: Hono<AppEnv>, deps: MailRouteDeps): void {
  api.use("/mail", requireAdmin());
  api.use("/mail/*", requireAdmin());
  const mail = (): MailControl => deps.mail ?? fail(503, "the mail service is not running");
  const audit = (c: { get(k: "user"): { username: string } }, ip: string, action: string, detail?: unknown) =>
    deps.storage.audit.record({ actor: c.get("user").username, action, detail, sourceIp: ip });

  api.get("/mail/settings", (c) => {
    const settings = mail().smtpSettings();
    return c.json({ configured: settings !== undefined && settings.host !== "", settings: settings ?? null });
  });

  api.put("/mail/settings", async (c) => {
    const m = mail();
    const body = await jsonBody(c, SettingsBody);
    if (m.smtpSettings() === undefined && (body.host === undefined || body.from === undefined)) {
      fail(400, "invalid body: host and from are needed the first time");
    }
    const saved = store(() => m.saveSmtpSettings(body));
    const { password, ...shown } = body;
    audit(c, clientIp(c), "settings.mail", {
      ...shown,
      ...(password === undefined ? {} : { password: password === null ? "removed" : "changed" }),
    });
    return c.json({ configured: true, settings: saved });
  });

  api.post("/mail/test", async (c) => {
    const m = mail();
    const { to } = await jsonBody(c, TestBody);
    if (m.smtpSettings() === undefined) fail(409, "the SMTP server is not configured");
    store(() => parseRecipients(to));
    try {
      const r = await m.sendTest(to);
      return c.json({ ok: true, response: r.response });
    } catch (e) {
      // The server's refusal is the answer the admin needs: 200 with ok=false and the SMTP error.
      return c.json({ ok: false, error: (e as Error).message });
    }
  });

  api.get("/mail/outbox", (c) => {
    const status = validate(StatusQuery, c.req.query("status"), "status");
    const counts = { queued: 0, sent: 0, failed: 0 };
    const messages = mail().list({ status, limit: 200 });
    for (const s of ["queued", "sent", "failed"] as const) {
      counts[s] = mail().list({ status: s, limit: 1000 }).length;
    }
    return c.json({ counts, messages: messages.map(view) });
  });

  api.get("/mail/outbox/:id", (c) => {
    const id = parseId(c.req.param("id"));
    const m = mail().get(id) ?? fail(404, `mail message ${id} not found`);
    return c.json(view(m));
  });

  api.post("/mail/outbox/:id/retry", (c) => {
    const id = parseId(c.req.param("id"));
    const m = store(() => mail().retryNow(id));
    return c.json(view(m));
  });

  api.delete("/mail/outbox/:id", (c) => {
    const id = parseId(c.req.param("id"));
    store(() => mail().delete(id));
    return c.body(null, 204);
  });
}
