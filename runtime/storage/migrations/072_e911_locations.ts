/**
 * Migration 72: dispatchable locations for emergency calls (Ray Baum's Act), per extension and per
 * device (MAC), as JSON (address, building, floor, room) checked by runtime/features/trunks.
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 72;

/** Short name recorded in `schema_migrations`. */
export const name = "e911_locations";

/** The SQL this migration runs. */
export const sql = `
CREATE TABLE e911_locations (
  kind TEXT NOT NULL CHECK (kind IN ('extension', 'device')),
  id TEXT NOT NULL,
  location TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (kind, id)
);
`;
