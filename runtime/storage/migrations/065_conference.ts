/**
 * Migration 65: conference rooms (runtime/features/conference). One row per room number with its
 * configuration as JSON (name, PIN, moderator PIN, participant limit, tones, announced count),
 * checked by the feature. Who is in a room, and its lock, are live state (not stored).
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 65;

/** Short name recorded in `schema_migrations`. */
export const name = "conference_rooms";

/** The SQL this migration runs. */
export const sql = `
CREATE TABLE conference_rooms (
  number TEXT PRIMARY KEY,
  config TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
`;
