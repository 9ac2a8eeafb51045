/** Migration 62: a voicemail message's transcript (offline recognizer; null when none was made). */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 62;

/** Short name recorded in `schema_migrations`. */
export const name = "voicemail_transcripts";

/** The SQL this migration runs. */
export const sql = `ALTER TABLE vm_messages ADD COLUMN transcript TEXT;`;
