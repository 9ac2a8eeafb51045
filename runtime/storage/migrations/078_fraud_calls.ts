/**
 * Migration 78: the fraud guard's counters (runtime/features/trunks/fraud.ts): one row per outside
 * call it allowed, with the extension it counted against and when (wall-clock ms). The hourly limits
 * count the rows of the last hour, so a restart does not reset them; rows older than an hour are
 * deleted as new calls are counted.
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 78;

/** Short name recorded in `schema_migrations`. */
export const name = "fraud_calls";

/** The SQL this migration runs. */
export const sql = `
CREATE TABLE fraud_calls (
  caller TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX fraud_calls_at ON fraud_calls (at);
`;
