/**
 * Migration 55: per-extension call forwarding (always / busy / no answer) and do not disturb. A deleted
 * extension's row goes with it (trigger), so a new extension of the same number starts clean.
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 55;

/** Short name recorded in `schema_migrations`. */
export const name = "call_features";

/** The SQL this migration runs. */
export const sql = `
CREATE TABLE call_features (
  extension TEXT PRIMARY KEY,
  forward_always TEXT,
  forward_busy TEXT,
  forward_noanswer TEXT,
  noanswer_seconds INTEGER,
  dnd INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
);
CREATE TRIGGER call_features_extension_deleted AFTER DELETE ON extensions
BEGIN
  DELETE FROM call_features WHERE extension = OLD.number;
END;
`;
