/**
 * Migration 74: call records say which trunk a call came in from or went out of, and the
 * STIR/SHAKEN verification status (verstat) of a trunk call's caller ID (runtime/features/trunks).
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 74;

/** Short name recorded in `schema_migrations`. */
export const name = "cdr_trunk";

/** The SQL this migration runs. */
export const sql = `
ALTER TABLE cdr ADD COLUMN trunk TEXT;
ALTER TABLE cdr ADD COLUMN verstat TEXT;
`;
