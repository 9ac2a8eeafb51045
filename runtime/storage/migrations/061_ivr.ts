/**
 * Migration 61: auto-attendant menus (runtime/features/ivr). One row per menu number with its
 * configuration as JSON (greeting, digit choices, timeout/invalid handling), checked by the feature.
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 61;

/** Short name recorded in `schema_migrations`. */
export const name = "ivr_menus";

/** The SQL this migration runs. */
export const sql = `
CREATE TABLE ivr_menus (
  number TEXT PRIMARY KEY,
  config TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
`;
