/**
 * Migration 73: the address each extension's phone registers from, as E911 last confirmed it; a
 * registration from another network flags the phone as moved (its device's location is used and
 * the UI shows it) until an admin sets the location again (runtime/features/trunks).
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 73;

/** Short name recorded in `schema_migrations`. */
export const name = "e911_seen";

/** The SQL this migration runs. */
export const sql = `
CREATE TABLE e911_seen (
  extension TEXT PRIMARY KEY,
  address TEXT NOT NULL,
  moved INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
);
`;
