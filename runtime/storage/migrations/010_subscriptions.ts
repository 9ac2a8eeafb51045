/**
 * Migration 10: SUBSCRIBE/NOTIFY subscriptions (runtime/call/events), so that they survive a
 * restart. `data` holds the whole subscription (dialog state, peer, package data) as JSON.
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 10;

/** Short name recorded in `schema_migrations`. */
export const name = "subscriptions";

/** The SQL this migration runs. */
export const sql = `
CREATE TABLE subscriptions (
  id TEXT PRIMARY KEY,
  event TEXT NOT NULL,
  resource TEXT NOT NULL,
  source TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  data TEXT NOT NULL CHECK (json_valid(data))
) STRICT;
CREATE INDEX subscriptions_expires ON subscriptions (expires_at);
`;
