/**
 * Migration 3: paging. Zones (an ALSA output and/or a multicast group each), zone groups, who may
 * page what, scheduled bells/announcements, and the page log. Independent of migration 2.
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 3;

/** Short name recorded in `schema_migrations`. */
export const name = "paging";

/** The SQL this migration runs. */
export const sql = `
CREATE TABLE paging_zones (
  number TEXT PRIMARY KEY CHECK (length(number) BETWEEN 1 AND 8 AND NOT number GLOB '*[^0-9]*'),
  name TEXT NOT NULL,
  alsa_device TEXT,
  channels TEXT NOT NULL DEFAULT '[1]' CHECK (json_valid(channels)),
  volume INTEGER NOT NULL DEFAULT 100 CHECK (volume BETWEEN 0 AND 100),
  pre_tone TEXT,
  post_tone TEXT,
  amp_line TEXT,
  lead_ms INTEGER NOT NULL DEFAULT 0 CHECK (lead_ms BETWEEN 0 AND 10000),
  tail_ms INTEGER NOT NULL DEFAULT 0 CHECK (tail_ms BETWEEN 0 AND 60000),
  multicast TEXT CHECK (multicast IS NULL OR json_valid(multicast)),
  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE paging_groups (
  number TEXT PRIMARY KEY CHECK (length(number) BETWEEN 1 AND 8 AND NOT number GLOB '*[^0-9]*'),
  name TEXT NOT NULL,
  zones TEXT NOT NULL CHECK (json_valid(zones)), -- JSON array of zone numbers, ["*"] = all-call
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE paging_permissions (
  extension TEXT NOT NULL,
  target_number TEXT NOT NULL, -- a zone or group number, or '*' for every target
  PRIMARY KEY (extension, target_number)
) STRICT, WITHOUT ROWID;

CREATE TABLE paging_schedules (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  target TEXT NOT NULL,
  wav_path TEXT NOT NULL,
  weekdays TEXT NOT NULL CHECK (json_valid(weekdays)), -- JSON array, 1 = Monday .. 7 = Sunday
  time TEXT NOT NULL CHECK (time GLOB '[0-2][0-9]:[0-5][0-9]'),
  exceptions TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(exceptions)), -- ["YYYY-MM-DD", ...]
  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE paging_log (
  id INTEGER PRIMARY KEY,
  at_start INTEGER NOT NULL,
  at_end INTEGER,
  origin TEXT NOT NULL,
  targets TEXT NOT NULL CHECK (json_valid(targets)),
  priority TEXT NOT NULL,
  outcome TEXT,
  recording_path TEXT
) STRICT;
CREATE INDEX paging_log_at_start ON paging_log(at_start);
`;
