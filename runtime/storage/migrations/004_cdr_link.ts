/**
 * Migration 4: linked call records. Every record of one call (each dialplan step that rang, each
 * leg a transfer added) carries the call's link id: the Call-ID of the INVITE that started it.
 * Rows from before keep NULL and read as linked to their own Call-ID.
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 4;

/** Short name recorded in `schema_migrations`. */
export const name = "cdr_link";

/** The SQL this migration runs. */
export const sql = `
ALTER TABLE cdr ADD COLUMN linked_id TEXT CHECK (linked_id IS NULL OR length(linked_id) BETWEEN 1 AND 1024);
CREATE INDEX cdr_linked_id ON cdr(linked_id);
`;
