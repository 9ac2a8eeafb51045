/** Migration 57: ring groups (a number that rings several extensions by a strategy, then a final destination). */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 57;

/** Short name recorded in `schema_migrations`. */
export const name = "ring_groups";

/** The SQL this migration runs. `members` is a JSON array of `{number, ringSeconds?}`. */
export const sql = `
CREATE TABLE ring_groups (
  number TEXT PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  strategy TEXT NOT NULL CHECK (strategy IN ('ringAll', 'hunt', 'memoryHunt')),
  ring_seconds INTEGER,
  members TEXT NOT NULL DEFAULT '[]',
  final_destination TEXT,
  updated_at INTEGER NOT NULL
);
`;
