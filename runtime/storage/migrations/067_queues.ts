/**
 * Migration 67: call queues (runtime/features/queue). Queues by number with their configuration as
 * JSON; agents per queue (static members and dynamic logins, paused or not); one row per caller
 * who joined a queue, with how it ended, for the daily statistics.
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 67;

/** Short name recorded in `schema_migrations`. */
export const name = "queues";

/** The SQL this migration runs. */
export const sql = `
CREATE TABLE queues (
  number TEXT PRIMARY KEY,
  config TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE queue_agents (
  queue TEXT NOT NULL,
  extension TEXT NOT NULL,
  static INTEGER NOT NULL,
  logged_in INTEGER NOT NULL,
  paused INTEGER NOT NULL,
  since INTEGER NOT NULL,
  PRIMARY KEY (queue, extension)
);
CREATE TABLE queue_calls (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,
  caller TEXT NOT NULL,
  joined_at INTEGER NOT NULL,
  ended_at INTEGER,
  outcome TEXT,
  agent TEXT,
  wait_ms INTEGER
);
CREATE INDEX queue_calls_day ON queue_calls (queue, joined_at);
`;
