/**
 * Migration 71: outbound routes (dial patterns, strip/prepend, ordered trunks, caller ID) and the
 * per-extension outside-call permissions (runtime/features/trunks).
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 71;

/** Short name recorded in `schema_migrations`. */
export const name = "outbound_routes";

/** The SQL this migration runs. */
export const sql = `
CREATE TABLE outbound_routes (
  id TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  config TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE outbound_permissions (
  extension TEXT PRIMARY KEY,
  classes TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
`;
