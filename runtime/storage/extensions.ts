/**
 * Extensions: the phone numbers users dial and register as. Stores digest HA1 values (MD5 and
 * SHA-256, RFC 8760) for authentication and the SIP password sealed with AES-GCM, because phones
 * must be provisioned with the password itself.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Clock } from "../clock/mod.ts";
import { likeEscape, mapConflict, paging, parseJsonColumn, transaction } from "./_db.ts";
import { hexDigest, seal, unseal } from "./_secret.ts";
import { NotFoundError } from "./errors.ts";

/** An extension as callers see it; never carries the password or HA1. */
export interface Extension {
  number: string;
  name: string;
  realm: string;
  options: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

/** Input for `ExtensionStore.create`. */
export interface NewExtension {
  number: string;
  name: string;
  password: string;
  options?: Record<string, unknown> | undefined;
}

/** Fields `ExtensionStore.update` may change. The number is the key and cannot change. */
export interface ExtensionPatch {
  name?: string | undefined;
  password?: string | undefined;
  options?: Record<string, unknown> | undefined;
}

/** Digest algorithms we keep an HA1 for. */
export type DigestAlgorithm = "MD5" | "SHA-256";

/** Query for `ExtensionStore.list`; `search` matches number or name, literally. */
export interface ExtensionQuery {
  search?: string | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

/** Typed access to the extensions table. */
export interface ExtensionStore {
  /** Create an extension; throws TypeError/RangeError on bad input, ConflictError on a duplicate. */
  create(input: NewExtension, realm: string): Extension;
  /** The extension with this number, or undefined. */
  get(number: string): Extension | undefined;
  /** Extensions ordered by number. */
  list(query?: ExtensionQuery): Extension[];
  /** How many extensions match `search`. */
  count(search?: string): number;
  /** Change name, password or options; throws NotFoundError if absent. */
  update(number: string, patch: ExtensionPatch): Extension;
  /** Delete; true if it existed. Its registrar bindings go with it. */
  delete(number: string): boolean;
  /** The stored HA1 = H(number:realm:password) for digest auth, or undefined. */
  ha1(number: string, algorithm: DigestAlgorithm): string | undefined;
  /** The clear SIP password, for provisioning phones only. Never log it. */
  getSipPassword(number: string): string | undefined;
  /** Recompute every HA1 for a new realm (from the sealed passwords); returns rows changed. */
  setRealm(realm: string): number;
}

const NUMBER_RE = /^[0-9]{2,8}$/;
// Control characters would break phone config files and logs.
// deno-lint-ignore no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/** Throw unless `number` is 2-8 digits. */
export function validateExtensionNumber(number: unknown): string {
  if (typeof number !== "string") {
    throw new TypeError(`extension number must be a string, got ${typeof number}`);
  }
  if (!NUMBER_RE.test(number)) {
    throw new RangeError(`extension number must be 2-8 digits, got ${JSON.stringify(number.slice(0, 40))}`);
  }
  return number;
}

function validateName(name: unknown): string {
  if (typeof name !== "string") throw new TypeError(`extension name must be a string, got ${typeof name}`);
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 64) {
    throw new RangeError(`extension name must be 1-64 characters, got ${trimmed.length}`);
  }
  if (CONTROL_RE.test(trimmed)) throw new RangeError("extension name must not contain control characters");
  return trimmed;
}

function validatePassword(password: unknown, number: string): string {
  if (typeof password !== "string") {
    throw new TypeError(`SIP password must be a string, got ${typeof password}`);
  }
  if (password.length < 8 || password.length > 64) {
    throw new RangeError(`SIP password must be 8-64 characters, got ${password.length}`);
  }
  if (CONTROL_RE.test(password)) throw new RangeError("SIP password must not contain control characters");
  if (password.includes(number)) throw new RangeError("SIP password must not contain the extension number");
  if (new Set(password).size < 4) throw new RangeError("SIP password needs at least 4 different characters");
  return password;
}

function validateRealm(realm: unknown): string {
  if (typeof realm !== "string" || realm.length < 1 || realm.length > 128 || CONTROL_RE.test(realm)) {
    throw new RangeError(`realm must be 1-128 printable characters, got ${JSON.stringify(realm)}`);
  }
  return realm;
}

function validateOptions(options: unknown): Record<string, unknown> {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError("extension options must be a JSON object");
  }
  return options as Record<string, unknown>;
}

interface ExtensionRow {
  number: string;
  name: string;
  realm: string;
  options: string;
  created_at: number;
  updated_at: number;
}

function toExtension(row: ExtensionRow): Extension {
  return {
    number: row.number,
    name: row.name,
    realm: row.realm,
    options: parseJsonColumn(row.options, {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function ha1Pair(number: string, realm: string, password: string): [string, string] {
  const a1 = `${number}:${realm}:${password}`;
  return [hexDigest("md5", a1), hexDigest("sha256", a1)];
}

const COLUMNS = "number, name, realm, options, created_at, updated_at";

/** Build the store over an open, migrated database. */
export function createExtensionStore(
  db: DatabaseSync,
  options: { clock: Clock; key: Uint8Array },
): ExtensionStore {
  const { clock, key } = options;
  const st = {
    insert: db.prepare(
      `INSERT INTO extensions (number, name, sip_password, ha1_md5, ha1_sha256, realm, options, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    get: db.prepare(`SELECT ${COLUMNS} FROM extensions WHERE number = ?`),
    list: db.prepare(
      `SELECT ${COLUMNS} FROM extensions
       WHERE ?1 IS NULL OR number LIKE ?1 ESCAPE '\\' OR name LIKE ?1 ESCAPE '\\'
       ORDER BY length(number), number LIMIT ?2 OFFSET ?3`,
    ),
    count: db.prepare(
      `SELECT COUNT(*) AS n FROM extensions
       WHERE ?1 IS NULL OR number LIKE ?1 ESCAPE '\\' OR name LIKE ?1 ESCAPE '\\'`,
    ),
    secret: db.prepare("SELECT sip_password, realm FROM extensions WHERE number = ?"),
    ha1Md5: db.prepare("SELECT ha1_md5 AS h FROM extensions WHERE number = ?"),
    ha1Sha256: db.prepare("SELECT ha1_sha256 AS h FROM extensions WHERE number = ?"),
    update: db.prepare(
      `UPDATE extensions SET name = ?, sip_password = ?, ha1_md5 = ?, ha1_sha256 = ?, realm = ?, options = ?,
       updated_at = ? WHERE number = ?`,
    ),
    delete: db.prepare("DELETE FROM extensions WHERE number = ?"),
    all: db.prepare("SELECT number, sip_password FROM extensions"),
    setHa1: db.prepare(
      "UPDATE extensions SET ha1_md5 = ?, ha1_sha256 = ?, realm = ?, updated_at = ? WHERE number = ?",
    ),
  } satisfies Record<string, StatementSync>;

  const getRow = (number: string) => st.get.get(number) as ExtensionRow | undefined;
  const searchPattern = (search: string | undefined) =>
    search === undefined || search === "" ? null : `%${likeEscape(search)}%`;

  return {
    create(input, realm) {
      if (typeof input !== "object" || input === null) {
        throw new TypeError("extension input must be an object");
      }
      const number = validateExtensionNumber(input.number);
      const name = validateName(input.name);
      const password = validatePassword(input.password, number);
      const r = validateRealm(realm);
      const opts = validateOptions(input.options ?? {});
      const [md5, sha256] = ha1Pair(number, r, password);
      const now = clock.wallNow();
      mapConflict(
        `extension ${number} already exists`,
        () =>
          st.insert.run(
            number,
            name,
            seal(key, password, number),
            md5,
            sha256,
            r,
            JSON.stringify(opts),
            now,
            now,
          ),
      );
      return toExtension(getRow(number)!);
    },
    get(number) {
      if (typeof number !== "string" || !NUMBER_RE.test(number)) return undefined;
      const row = getRow(number);
      return row === undefined ? undefined : toExtension(row);
    },
    list(query = {}) {
      const [limit, offset] = paging(query.limit, query.offset);
      const rows = st.list.all(searchPattern(query.search), limit, offset) as unknown as ExtensionRow[];
      return rows.map(toExtension);
    },
    count(search) {
      return (st.count.get(searchPattern(search)) as { n: number }).n;
    },
    update(number, patch) {
      validateExtensionNumber(number);
      if (typeof patch !== "object" || patch === null) {
        throw new TypeError("extension patch must be an object");
      }
      return transaction(db, () => {
        const row = getRow(number);
        const secret = st.secret.get(number) as { sip_password: string; realm: string } | undefined;
        if (row === undefined || secret === undefined) {
          throw new NotFoundError(`extension ${number} not found`);
        }
        const name = patch.name === undefined ? row.name : validateName(patch.name);
        const opts = patch.options === undefined
          ? row.options
          : JSON.stringify(validateOptions(patch.options));
        const password = patch.password === undefined
          ? unseal(key, secret.sip_password, number)
          : validatePassword(patch.password, number);
        const [md5, sha256] = ha1Pair(number, row.realm, password);
        const sealed = patch.password === undefined ? secret.sip_password : seal(key, password, number);
        st.update.run(name, sealed, md5, sha256, row.realm, opts, clock.wallNow(), number);
        return toExtension(getRow(number)!);
      });
    },
    delete(number) {
      if (typeof number !== "string" || !NUMBER_RE.test(number)) return false;
      return Number(st.delete.run(number).changes) > 0;
    },
    ha1(number, algorithm) {
      if (typeof number !== "string" || !NUMBER_RE.test(number)) return undefined;
      const stmt = algorithm === "MD5" ? st.ha1Md5 : algorithm === "SHA-256" ? st.ha1Sha256 : undefined;
      if (stmt === undefined) {
        throw new RangeError(`unsupported digest algorithm ${JSON.stringify(algorithm)}`);
      }
      return (stmt.get(number) as { h: string } | undefined)?.h;
    },
    getSipPassword(number) {
      if (typeof number !== "string" || !NUMBER_RE.test(number)) return undefined;
      const secret = st.secret.get(number) as { sip_password: string } | undefined;
      return secret === undefined ? undefined : unseal(key, secret.sip_password, number);
    },
    setRealm(realm) {
      const r = validateRealm(realm);
      return transaction(db, () => {
        const rows = st.all.all() as unknown as { number: string; sip_password: string }[];
        const now = clock.wallNow();
        for (const row of rows) {
          const [md5, sha256] = ha1Pair(row.number, r, unseal(key, row.sip_password, row.number));
          st.setHa1.run(md5, sha256, r, now, row.number);
        }
        return rows.length;
      });
    },
  };
}
