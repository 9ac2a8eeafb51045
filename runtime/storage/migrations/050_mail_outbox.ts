/**
 * Migration 50: the mail outbox. A message is stored here before `enqueue` returns, so an
 * acknowledged message survives a crash; the sender updates its status, attempts and last error.
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 50;

/** Short name recorded in `schema_migrations`. */
export const name = "mail_outbox";

/** The SQL this migration runs. */
export const sql = `
CREATE TABLE mail_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  recipients TEXT NOT NULL,
  subject TEXT NOT NULL,
  body TEXT NOT NULL,
  attachments TEXT NOT NULL DEFAULT '[]',
  status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  sent_at INTEGER
);
CREATE INDEX mail_outbox_due ON mail_outbox(status, next_attempt_at);
`;
