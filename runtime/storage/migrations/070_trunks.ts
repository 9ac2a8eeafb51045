/**
 * Migration 70: SIP trunks and inbound DIDs (runtime/features/trunks). A trunk's settings are JSON
 * checked by the feature; its password is sealed (AES-GCM, secret.key) in its own column so no
 * listing or backup holds it in clear. A DID routes a number a trunk delivers to a dialplan number.
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 70;

/** Short name recorded in `schema_migrations`. */
export const name = "trunks";

/** The SQL this migration runs. */
export const sql = `
CREATE TABLE trunks (
  id TEXT PRIMARY KEY,
  config TEXT NOT NULL,
  secret TEXT,
  updated_at INTEGER NOT NULL
);
CREATE TABLE trunk_dids (
  number TEXT PRIMARY KEY,
  trunk TEXT,
  destination TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  updated_at INTEGER NOT NULL
);
`;
