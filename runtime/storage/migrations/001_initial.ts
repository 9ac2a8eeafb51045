/**
 * Migration 1: the first schema. Extensions, registrar bindings, call detail records, web users,
 * sessions, settings and the audit log. STRICT tables so a wrong type is an error, not a surprise.
 */

/** Migration number; migrations run in ascending order, each in its own transaction. */
export const version = 1;

/** Short name recorded in `schema_migrations`. */
export const name = "initial";

/** The SQL this migration runs. */
export const sql = `
CREATE TABLE extensions (
  id INTEGER PRIMARY KEY,
  number TEXT NOT NULL UNIQUE
    CHECK (length(number) BETWEEN 2 AND 8 AND NOT number GLOB '*[^0-9]*'),
  name TEXT NOT NULL,
  sip_password TEXT NOT NULL, -- AES-256-GCM ciphertext, key in secret.key
  ha1_md5 TEXT NOT NULL,
  ha1_sha256 TEXT NOT NULL,
  realm TEXT NOT NULL,
  options TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(options)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE bindings (
  extension TEXT NOT NULL REFERENCES extensions(number) ON DELETE CASCADE ON UPDATE CASCADE,
  contact_uri TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  call_id TEXT NOT NULL,
  cseq INTEGER NOT NULL,
  q REAL,
  instance_id TEXT,
  reg_id INTEGER,
  source_transport TEXT NOT NULL,
  source_address TEXT NOT NULL,
  source_port INTEGER NOT NULL,
  user_agent TEXT,
  path TEXT, -- JSON array of Path header values (RFC 3327)
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (extension, contact_uri)
) STRICT, WITHOUT ROWID;
CREATE INDEX bindings_expires_at ON bindings(expires_at);

CREATE TABLE cdr (
  id INTEGER PRIMARY KEY,
  call_id TEXT NOT NULL,
  caller TEXT NOT NULL,
  callee TEXT NOT NULL,
  caller_name TEXT,
  started_at INTEGER NOT NULL,
  answered_at INTEGER,
  ended_at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
  billsec_ms INTEGER NOT NULL CHECK (billsec_ms >= 0),
  disposition TEXT NOT NULL CHECK (disposition IN
    ('answered','busy','no-answer','cancelled','failed','unavailable','not-found','rejected')),
  hangup_by TEXT CHECK (hangup_by IN ('caller','callee','system')),
  sip_code INTEGER,
  reason TEXT
) STRICT;
CREATE INDEX cdr_started_at ON cdr(started_at);
CREATE INDEX cdr_caller ON cdr(caller, started_at);
CREATE INDEX cdr_callee ON cdr(callee, started_at);

CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('admin','user')),
  extension TEXT REFERENCES extensions(number) ON DELETE SET NULL ON UPDATE CASCADE,
  password_hash TEXT,
  created_at INTEGER NOT NULL,
  password_changed_at INTEGER
) STRICT;

CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE ON UPDATE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('bearer','cookie')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_expires_at ON sessions(expires_at);
CREATE INDEX sessions_username ON sessions(username);

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL CHECK (json_valid(value)),
  updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT 'null' CHECK (json_valid(detail)),
  source_ip TEXT
) STRICT;
CREATE INDEX audit_at ON audit(at);
`;
