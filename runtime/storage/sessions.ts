/**
 * Login sessions and API tokens. Only SHA-256 of the token is stored, so a copy of the database
 * does not let anyone log in.
 */
import type { DatabaseSync } from "node:sqlite";
import { createHash, randomBytes } from "node:crypto";
import type { Clock } from "../clock/mod.ts";

/** Bearer tokens for the API, cookies for the browser UI. */
export type SessionKind = "bearer" | "cookie";

/** A live session. */
export interface Session {
  username: string;
  kind: SessionKind;
  createdAt: number;
  expiresAt: number;
}

/** Typed access to the sessions table. */
export interface SessionStore {
  /** Start a session for an existing user; returns the token (shown once) and its expiry. */
  create(
    username: string,
    ttlMs: number,
    options?: { kind?: SessionKind },
  ): { token: string; expiresAt: number };
  /** The session for `token` if it exists and has not expired. */
  lookup(token: string): Session | undefined;
  /** End a session; true if it existed. */
  revoke(token: string): boolean;
  /** End every session of a user (password change); returns how many. */
  revokeAll(username: string): number;
  /** Delete expired sessions; returns how many. */
  purgeExpired(): number;
}

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

function tokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

interface SessionRow {
  username: string;
  kind: SessionKind;
  created_at: number;
  expires_at: number;
}

/** Build the store over an open, migrated database. */
export function createSessionStore(db: DatabaseSync, options: { clock: Clock }): SessionStore {
  const { clock } = options;
  const st = {
    insert: db.prepare(
      "INSERT INTO sessions (token_hash, username, kind, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
    ),
    get: db.prepare("SELECT username, kind, created_at, expires_at FROM sessions WHERE token_hash = ?"),
    delete: db.prepare("DELETE FROM sessions WHERE token_hash = ?"),
    deleteUser: db.prepare("DELETE FROM sessions WHERE username = ?"),
    purge: db.prepare("DELETE FROM sessions WHERE expires_at <= ?"),
  };
  return {
    create(username, ttlMs, options = {}) {
      if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
        throw new RangeError(`ttlMs must be a positive integer, got ${ttlMs}`);
      }
      const kind = options.kind ?? "bearer";
      if (kind !== "bearer" && kind !== "cookie") {
        throw new RangeError(`session kind must be bearer or cookie, got ${kind}`);
      }
      const token = randomBytes(32).toString("base64url");
      const now = clock.wallNow();
      const expiresAt = now + ttlMs;
      st.insert.run(tokenHash(token), username, kind, now, expiresAt);
      return { token, expiresAt };
    },
    lookup(token) {
      if (typeof token !== "string" || !TOKEN_RE.test(token)) return undefined;
      const row = st.get.get(tokenHash(token)) as SessionRow | undefined;
      if (row === undefined || row.expires_at <= clock.wallNow()) return undefined;
      return { username: row.username, kind: row.kind, createdAt: row.created_at, expiresAt: row.expires_at };
    },
    revoke(token) {
      if (typeof token !== "string" || !TOKEN_RE.test(token)) return false;
      return Number(st.delete.run(tokenHash(token)).changes) > 0;
    },
    revokeAll(username) {
      return Number(st.deleteUser.run(username).changes);
    },
    purgeExpired() {
      return Number(st.purge.run(clock.wallNow()).changes);
    },
  };
}
