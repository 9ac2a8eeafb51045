/**
 * Migration 66: call recordings (runtime/features/recording). One row per recording: the call it
 * belongs to (`call_id`, the call record's id), the parties, how it started (`always` by policy or
 * `on-demand` by the in-call feature code), its WAV file under DATA_DIR/recordings, and its length
 * once finished. The policy (always-on extensions, feature code, notice, retention) is one JSON row.
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 66;

/** Short name recorded in `schema_migrations`. */
export const name = "recordings";

/** The SQL this migration runs. */
export const sql = `
CREATE TABLE recordings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  call_id TEXT NOT NULL,
  caller TEXT NOT NULL,
  callee TEXT NOT NULL,
  mode TEXT NOT NULL CHECK (mode IN ('always', 'on-demand')),
  file TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  duration_ms INTEGER,
  bytes INTEGER,
  status TEXT NOT NULL CHECK (status IN ('recording', 'done', 'failed'))
);
CREATE INDEX recordings_started ON recordings (started_at);
CREATE TABLE recording_policy (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  config TEXT NOT NULL
);
`;
