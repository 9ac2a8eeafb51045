/**
 * Migration 68: a recording names the queue whose call it holds (runtime/features/recording, the
 * queue's always-on `record` setting); NULL for calls that were not queue calls.
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 68;

/** Short name recorded in `schema_migrations`. */
export const name = "recording_queue";

/** The SQL this migration runs. */
export const sql = `
ALTER TABLE recordings ADD COLUMN queue TEXT;
CREATE INDEX recordings_queue ON recordings (queue);
`;
