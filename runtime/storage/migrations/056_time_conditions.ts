/** Migration 56: time conditions (business hours, holidays, night-mode override) as dialable numbers. */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 56;

/** Short name recorded in `schema_migrations`. */
export const name = "time_conditions";

/** The SQL this migration runs. `hours` and `holidays` are JSON arrays; `mode` auto/open/closed. */
export const sql = `
CREATE TABLE time_conditions (
  number TEXT PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  open_destination TEXT NOT NULL,
  closed_destination TEXT NOT NULL,
  hours TEXT NOT NULL DEFAULT '[]',
  holidays TEXT NOT NULL DEFAULT '[]',
  time_zone TEXT,
  mode TEXT NOT NULL DEFAULT 'auto' CHECK (mode IN ('auto', 'open', 'closed')),
  updated_at INTEGER NOT NULL
);
`;
