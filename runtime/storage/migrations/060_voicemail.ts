/**
 * Migration 60: voicemail (runtime/features/voicemail). Mailboxes per extension (enabled, PIN hash,
 * failed-PIN counter and lockout, email, quota), messages (metadata; the audio is a WAV file in
 * DATA_DIR/voicemail/<mailbox>/) and greetings (unavailable, busy, name, temporary; files likewise).
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 60;

/** Short name recorded in `schema_migrations`. */
export const name = "voicemail";

/** The SQL this migration runs. */
export const sql = `
CREATE TABLE vm_mailboxes (
  mailbox TEXT PRIMARY KEY,
  enabled INTEGER NOT NULL DEFAULT 1,
  pin_hash TEXT,
  failed_pins INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER,
  email TEXT,
  max_messages INTEGER NOT NULL DEFAULT 100,
  max_message_seconds INTEGER NOT NULL DEFAULT 180,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE vm_messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  mailbox TEXT NOT NULL REFERENCES vm_mailboxes(mailbox) ON DELETE CASCADE,
  caller TEXT NOT NULL,
  caller_name TEXT,
  received_at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  file TEXT NOT NULL,
  read INTEGER NOT NULL DEFAULT 0,
  folder TEXT NOT NULL DEFAULT 'inbox' CHECK (folder IN ('inbox', 'saved'))
);
CREATE INDEX vm_messages_mailbox ON vm_messages(mailbox, received_at);
CREATE TABLE vm_greetings (
  mailbox TEXT NOT NULL REFERENCES vm_mailboxes(mailbox) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('unavailable', 'busy', 'name', 'temporary')),
  file TEXT NOT NULL,
  duration_ms INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (mailbox, kind)
);
`;
