/**
 * The SMTP client: npm `nodemailer` (STARTTLS, implicit TLS, AUTH and MIME are its job, not ours).
 * Only the small part of its API the mail service uses is typed here. It is imported on the first
 * send, not at start: nodemailer pulls in much of Deno's Node compatibility layer (~10-20 MB of RSS
 * on a box that may never send a mail).
 */
import type { SmtpSettings } from "../storage/mod.ts";

/** One message handed to the SMTP client. */
export interface SmtpMessage {
  from: string;
  to: string[];
  subject: string;
  text: string;
  attachments: { filename: string; path: string; contentType: string }[];
}

/** What a successful send returns: the server's final answer. */
export interface SmtpResult {
  response: string;
  messageId: string;
}

/** A connection factory: settings (with the password) in, a sender out. */
export type SmtpTransportFactory = (
  settings: SmtpSettings & { password: string },
) => { send(message: SmtpMessage): Promise<SmtpResult>; close(): void };

interface NodemailerTransport {
  sendMail(message: unknown): Promise<{ response?: string; messageId?: string }>;
  close(): void;
}

let nodemailerModule: Promise<{ createTransport(o: unknown): NodemailerTransport }> | null = null;

/** nodemailer, loaded once on first use. */
function loadNodemailer(): Promise<{ createTransport(o: unknown): NodemailerTransport }> {
  nodemailerModule ??= import("nodemailer").then((m) =>
    (m.default ?? m) as unknown as { createTransport(o: unknown): NodemailerTransport }
  );
  return nodemailerModule;
}

/** The nodemailer transport: one connection per send (messages are rare; no pool to go stale). */
export const nodemailerTransport: SmtpTransportFactory = (s) => {
  const options = {
    host: s.host,
    port: s.port,
    secure: s.security === "tls",
    requireTLS: s.security === "starttls",
    ignoreTLS: s.security === "none",
    auth: s.username === "" ? undefined : { user: s.username, pass: s.password },
    tls: { rejectUnauthorized: s.verifyCertificate },
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
    logger: false,
    debug: false,
  };
  let transport: NodemailerTransport | null = null;
  let closed = false;
  return {
    async send(m) {
      const mod = await loadNodemailer();
      if (closed) throw new Error("SMTP transport closed");
      transport ??= mod.createTransport(options);
      const info = await transport.sendMail({
        from: m.from,
        to: m.to,
        subject: m.subject,
        text: m.text,
        attachments: m.attachments.map((a) => ({
          filename: a.filename,
          path: a.path,
          contentType: a.contentType,
        })),
      });
      return { response: String(info.response ?? ""), messageId: String(info.messageId ?? "") };
    },
    close: () => {
      closed = true;
      transport?.close();
    },
  };
};

/**
 * A one-line description of a send failure: the SMTP server's answer when there was one
 * ("550 5.7.1 relaying denied (RCPT TO)"), else the connection error ("ECONNREFUSED ...").
 */
export function describeSmtpError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const x = e as Error & { response?: unknown; command?: unknown; code?: unknown };
  let text = typeof x.response === "string" && x.response !== "" ? x.response : x.message;
  if (typeof x.command === "string" && x.command !== "") text += ` (${x.command})`;
  if (typeof x.code === "string" && !text.includes(x.code)) text = `${x.code}: ${text}`;
  return text.replace(/\s+/g, " ").trim().slice(0, 1000);
}
