/**
 * Migration 75: a maximum page duration per paging zone. A page from a phone that lasts longer is
 * ended by the box, so a phone that died (or a stuck key) cannot hold a zone forever. 0 = no limit.
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 75;

/** Short name recorded in `schema_migrations`. */
export const name = "paging_max_page";

/** The SQL this migration runs. */
export const sql = `
ALTER TABLE paging_zones ADD COLUMN max_page_sec INTEGER NOT NULL DEFAULT 300
  CHECK (max_page_sec BETWEEN 0 AND 86400);
`;
