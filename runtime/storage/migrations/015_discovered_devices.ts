/**
 * Migration 15: bound the discovered devices. `auto` marks rows the box created itself for an
 * unknown MAC (a fetch or a PnP SUBSCRIBE); only those are capped and expire. Assigning or
 * editing a device clears it.
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 15;

/** Short name recorded in `schema_migrations`. */
export const name = "discovered_devices";

/** The SQL this migration runs. */
export const sql = `
ALTER TABLE devices ADD COLUMN auto INTEGER NOT NULL DEFAULT 0 CHECK (auto IN (0, 1));
UPDATE devices SET auto = 1
  WHERE extension IS NULL AND http_user IS NULL AND http_password IS NULL AND line_keys = '[]';
CREATE INDEX devices_auto_seen ON devices(auto, last_fetch_at);
`;
