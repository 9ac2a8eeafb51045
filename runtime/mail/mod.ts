/**
 * Outgoing email for every feature (voicemail, E911 notices, fraud alerts): a durable outbox in
 * SQLite delivered over SMTP by npm `nodemailer`, retried with exponential backoff.
 *
 * @example
 * ```ts
 * const mail = new MailService(createMailStore(storage.db, { clock, dataDir }), {
 *   clock, logger, outboxDir: `${dataDir}/mail-outbox`,
 * });
 * mail.start();
 * mail.enqueue({ to: "ops@example.com", subject: "Voicemail from 201", text: "...",
 *   attachments: [{ filename: "msg.wav", path: "/var/lib/pbx/vm/1.wav", contentType: "audio/wav" }] });
 * ```
 *
 * @module
 */
export {
  backoffDelay,
  type BackoffOptions,
  type MailAttachment,
  type MailMessage,
  MailService,
  type MailServiceOptions,
  parseRecipients,
} from "./service.ts";
export {
  describeSmtpError,
  nodemailerTransport,
  type SmtpMessage,
  type SmtpResult,
  type SmtpTransportFactory,
} from "./_smtp.ts";
