/**
 * Migration 2: phone provisioning. The device registry (assigned and discovered phones), vendor
 * template overrides edited by the admin, and external phone book contacts.
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 2;

/** Short name recorded in `schema_migrations`. */
export const name = "devices";

/** The SQL this migration runs. */
export const sql = `
CREATE TABLE devices (
  mac TEXT PRIMARY KEY CHECK (length(mac) = 12 AND NOT mac GLOB '*[^0-9a-f]*'),
  vendor TEXT CHECK (vendor IN ('yealink','polycom','cisco','grandstream','zultys')),
  model TEXT,
  extension TEXT REFERENCES extensions(number) ON DELETE SET NULL ON UPDATE CASCADE,
  line_keys TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(line_keys)),
  provisioning_open_until INTEGER,
  http_user TEXT,
  http_password TEXT, -- AES-256-GCM ciphertext (context "device:<mac>"), key in secret.key
  status TEXT NOT NULL DEFAULT 'discovered' CHECK (status IN ('discovered','assigned')),
  last_fetch_at INTEGER,
  last_fetch_ip TEXT,
  last_fetch_user_agent TEXT,
  last_fetch_file TEXT,
  last_register_at INTEGER,
  last_register_contact TEXT,
  last_register_user_agent TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX devices_extension ON devices(extension);
-- Deleting an extension nulls devices.extension (ON DELETE SET NULL): the phone is unassigned again.
CREATE TRIGGER devices_unassigned AFTER UPDATE OF extension ON devices
  WHEN NEW.extension IS NULL AND NEW.status = 'assigned'
  BEGIN UPDATE devices SET status = 'discovered' WHERE mac = NEW.mac; END;

CREATE TABLE templates (
  key TEXT PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 64),
  body TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  shipped_hash TEXT NOT NULL -- sha256 of the shipped template the override was edited from
) STRICT, WITHOUT ROWID;

CREATE TABLE contacts (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  number TEXT NOT NULL CHECK (length(number) BETWEEN 1 AND 32),
  "group" TEXT,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX contacts_name ON contacts(name);
`;
