/**
 * Web users and their passwords. Passwords are hashed with PBKDF2-HMAC-SHA256 (WebCrypto) and a
 * per-user salt, stored as `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`.
 */
import type { DatabaseSync } from "node:sqlite";
import { timingSafeEqual } from "node:crypto";
import type { Clock } from "../clock/mod.ts";
import { mapConflict } from "./_db.ts";
import { NotFoundError } from "./errors.ts";

/** Web roles: admins manage the box; users see their own extension's data. */
export type Role = "admin" | "user";

/** A web user as callers see it (never the hash). */
export interface User {
  username: string;
  role: Role;
  extension?: string | undefined;
  hasPassword: boolean;
  createdAt: number;
  passwordChangedAt?: number | undefined;
}

/** Input for `UserStore.create`. */
export interface NewUser {
  username: string;
  role: Role;
  extension?: string | undefined;
  password?: string | undefined;
}

/** Typed access to the users table. */
export interface UserStore {
  /** Create a user; ConflictError if the username exists. */
  create(input: NewUser): Promise<User>;
  /** The user, or undefined. Usernames are case-insensitive (stored lower-case). */
  get(username: string): User | undefined;
  /** All users by username. */
  list(): User[];
  /** Set a new password; NotFoundError if the user does not exist. */
  setPassword(username: string, password: string): Promise<void>;
  /**
   * The user if the password matches, else undefined. Takes about as long for an unknown user as
   * for a wrong password, so response time does not reveal which usernames exist.
   */
  verify(username: string, password: string): Promise<User | undefined>;
  /** True once at least one admin has a password set. */
  hasAdmin(): boolean;
  /** Delete; true if it existed. Their sessions go with them. */
  delete(username: string): boolean;
}

/** OWASP 2023 minimum for PBKDF2-HMAC-SHA256. */
export const PBKDF2_MIN_ITERATIONS = 210_000;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const USERNAME_RE = /^[a-z0-9][a-z0-9._-]{0,31}$/;
const MAX_PASSWORD = 1024;

/** Minimum length of a web password. */
export const MIN_WEB_PASSWORD = 10;

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

async function pbkdf2(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as Uint8Array<ArrayBuffer>, iterations },
    key,
    HASH_BYTES * 8,
  );
  return new Uint8Array(bits);
}

/**
 * Hash a password. `iterations` defaults to 210000; lower values exist only so tests run fast
 * and are never accepted below 1000.
 */
export async function hashPassword(password: string, options: { iterations?: number } = {}): Promise<string> {
  if (typeof password !== "string") throw new TypeError("password must be a string");
  if (password.length > MAX_PASSWORD) {
    throw new RangeError(`password must be at most ${MAX_PASSWORD} characters`);
  }
  const iterations = options.iterations ?? PBKDF2_MIN_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 1000 || iterations > 10_000_000) {
    throw new RangeError(`iterations must be 1000..10000000, got ${iterations}`);
  }
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await pbkdf2(password, salt, iterations);
  return `pbkdf2-sha256$${iterations}$${b64(salt)}$${b64(hash)}`;
}

/** Check `password` against a stored hash in constant time; false for malformed hashes. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (typeof password !== "string" || typeof stored !== "string" || password.length > MAX_PASSWORD) {
    return false;
  }
  const parts = stored.split("$");
  if (parts.length !== 4 || parts[0] !== "pbkdf2-sha256") return false;
  const iterations = Number(parts[1]);
  if (!Number.isInteger(iterations) || iterations < 1000 || iterations > 10_000_000) return false;
  let salt: Uint8Array;
  let expected: Uint8Array;
  try {
    salt = unb64(parts[2]!);
    expected = unb64(parts[3]!);
  } catch {
    return false;
  }
  const actual = await pbkdf2(password, salt, iterations);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Normalise and validate a username (lower-case, 1-32 of a-z 0-9 . _ -). */
export function normalizeUsername(username: unknown): string {
  if (typeof username !== "string") throw new TypeError(`username must be a string, got ${typeof username}`);
  const u = username.trim().toLowerCase();
  if (!USERNAME_RE.test(u)) {
    throw new RangeError(
      `username must be 1-32 characters of a-z 0-9 . _ -, got ${JSON.stringify(username.slice(0, 40))}`,
    );
  }
  return u;
}

/** Throw unless `password` is acceptable for a web login. */
export function validateWebPassword(password: unknown): string {
  if (typeof password !== "string") throw new TypeError(`password must be a string, got ${typeof password}`);
  if (password.length < MIN_WEB_PASSWORD || password.length > MAX_PASSWORD) {
    throw new RangeError(
      `password must be ${MIN_WEB_PASSWORD}-${MAX_PASSWORD} characters, got ${password.length}`,
    );
  }
  return password;
}

interface UserRow {
  username: string;
  role: Role;
  extension: string | null;
  password_hash: string | null;
  created_at: number;
  password_changed_at: number | null;
}

function toUser(r: UserRow): User {
  const u: User = {
    username: r.username,
    role: r.role,
    hasPassword: r.password_hash !== null,
    createdAt: r.created_at,
  };
  if (r.extension !== null) u.extension = r.extension;
  if (r.password_changed_at !== null) u.passwordChangedAt = r.password_changed_at;
  return u;
}

/** Build the store over an open, migrated database. */
export function createUserStore(
  db: DatabaseSync,
  options: { clock: Clock; iterations?: number | undefined },
): UserStore {
  const { clock } = options;
  const hashOpts = options.iterations === undefined ? {} : { iterations: options.iterations };
  const st = {
    insert: db.prepare(
      `INSERT INTO users (username, role, extension, password_hash, created_at, password_changed_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    get: db.prepare("SELECT * FROM users WHERE username = ?"),
    list: db.prepare("SELECT * FROM users ORDER BY username"),
    setPassword: db.prepare("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE username = ?"),
    hasAdmin: db.prepare("SELECT 1 FROM users WHERE role = 'admin' AND password_hash IS NOT NULL LIMIT 1"),
    delete: db.prepare("DELETE FROM users WHERE username = ?"),
  };
  // Verified against when the user is unknown, so timing matches a real check.
  let dummyHash: Promise<string> | undefined;
  const getRow = (u: string) => st.get.get(u) as UserRow | undefined;

  return {
    async create(input) {
      if (typeof input !== "object" || input === null) throw new TypeError("user input must be an object");
      const username = normalizeUsername(input.username);
      if (input.role !== "admin" && input.role !== "user") {
        throw new RangeError(`role must be admin or user, got ${JSON.stringify(input.role)}`);
      }
      const hash = input.password === undefined
        ? null
        : await hashPassword(validateWebPassword(input.password), hashOpts);
      const now = clock.wallNow();
      mapConflict(
        `user ${username} already exists`,
        () =>
          st.insert.run(username, input.role, input.extension ?? null, hash, now, hash === null ? null : now),
      );
      return toUser(getRow(username)!);
    },
    get(username) {
      let u: string;
      try {
        u = normalizeUsername(username);
      } catch {
        return undefined;
      }
      const row = getRow(u);
      return row === undefined ? undefined : toUser(row);
    },
    list() {
      return (st.list.all() as unknown as UserRow[]).map(toUser);
    },
    async setPassword(username, password) {
      const u = normalizeUsername(username);
      const hash = await hashPassword(validateWebPassword(password), hashOpts);
      const res = st.setPassword.run(hash, clock.wallNow(), u);
      if (Number(res.changes) === 0) throw new NotFoundError(`user ${u} not found`);
    },
    async verify(username, password) {
      let row: UserRow | undefined;
      try {
        row = getRow(normalizeUsername(username));
      } catch {
        row = undefined;
      }
      if (row === undefined || row.password_hash === null) {
        dummyHash ??= hashPassword("dummy-password-for-timing", hashOpts);
        await verifyPassword(String(password), await dummyHash);
        return undefined;
      }
      return (await verifyPassword(password, row.password_hash)) ? toUser(row) : undefined;
    },
    hasAdmin() {
      return st.hasAdmin.get() !== undefined;
    },
    delete(username) {
      let u: string;
      try {
        u = normalizeUsername(username);
      } catch {
        return false;
      }
      return Number(st.delete.run(u).changes) > 0;
    },
  };
}
