/**
 * Registrar bindings (RFC 3261 section 10.3): which contacts an extension is reachable at, until
 * when. Hot path: every REGISTER writes one row, so statements are prepared once, and
 * `upsertDurable` group-commits many REGISTERs into one fsync while still resolving only after
 * the binding is on disk (a 200 OK must never announce a binding a crash could lose).
 */
import type { DatabaseSync } from "node:sqlite";
import type { Clock } from "../clock/mod.ts";
import { createGroupCommit, type GroupCommit, parseJsonColumn } from "./_db.ts";

/** Transports a REGISTER can arrive on. */
export type BindingTransport = "udp" | "tcp" | "tls" | "ws" | "wss";

/** One registered contact of one extension. Times are Unix epoch milliseconds. */
export interface Binding {
  extension: string;
  contactUri: string;
  expiresAt: number;
  callId: string;
  cseq: number;
  /** Contact q-value 0..1 (RFC 3261 20.10). */
  q?: number | undefined;
  /** +sip.instance (RFC 5626). */
  instanceId?: string | undefined;
  /** reg-id (RFC 5626). */
  regId?: number | undefined;
  sourceTransport: BindingTransport;
  sourceAddress: string;
  sourcePort: number;
  userAgent?: string | undefined;
  /** Path header values (RFC 3327), in order. */
  path?: string[] | undefined;
  /** Set by the store on write. */
  updatedAt?: number | undefined;
}

/** Typed access to the bindings table. */
export interface LocationStore {
  /** Unexpired bindings of `extension` (expires_at > now), highest q first. */
  getBindings(extension: string, now: number): Binding[];
  /** Insert or replace a binding; committed (durable) when it returns. One fsync per call. */
  upsert(binding: Binding): void;
  /**
   * Insert or replace a binding as part of a group commit: writes queued within a few ms share
   * one transaction and one fsync; resolves after that commit, rejects if it failed.
   */
  upsertDurable(binding: Binding): Promise<void>;
  /** Remove one binding as part of a group commit; resolves to true if it existed. */
  removeDurable(extension: string, contactUri: string): Promise<boolean>;
  /** Remove one binding; true if it existed. */
  remove(extension: string, contactUri: string): boolean;
  /** Remove all bindings of an extension (REGISTER with `Contact: *`); returns how many. */
  removeAll(extension: string): number;
  /** Delete bindings with expires_at <= now; returns how many. */
  purgeExpired(now: number): number;
  /** Every unexpired binding, ordered by extension. */
  listAll(now: number): Binding[];
  /** Commit queued durable writes now (used on close). */
  flush(): void;
}

const TRANSPORTS = new Set<string>(["udp", "tcp", "tls", "ws", "wss"]);

function validateBinding(b: Binding): void {
  if (typeof b !== "object" || b === null) throw new TypeError("binding must be an object");
  if (typeof b.extension !== "string" || b.extension === "") {
    throw new TypeError("binding.extension must be a string");
  }
  if (typeof b.contactUri !== "string" || b.contactUri === "" || b.contactUri.length > 2048) {
    throw new RangeError(`binding.contactUri must be 1-2048 characters`);
  }
  if (!Number.isSafeInteger(b.expiresAt)) {
    throw new TypeError(`binding.expiresAt must be epoch ms, got ${b.expiresAt}`);
  }
  if (typeof b.callId !== "string") throw new TypeError("binding.callId must be a string");
  if (!Number.isSafeInteger(b.cseq) || b.cseq < 0) {
    throw new RangeError(`binding.cseq must be >= 0, got ${b.cseq}`);
  }
  if (b.q !== undefined && !(b.q >= 0 && b.q <= 1)) {
    throw new RangeError(`binding.q must be 0..1, got ${b.q}`);
  }
  if (!TRANSPORTS.has(b.sourceTransport)) {
    throw new RangeError(`binding.sourceTransport must be udp/tcp/tls/ws/wss, got ${b.sourceTransport}`);
  }
  if (!Number.isInteger(b.sourcePort) || b.sourcePort < 0 || b.sourcePort > 65535) {
    throw new RangeError(`binding.sourcePort must be 0..65535, got ${b.sourcePort}`);
  }
}

interface BindingRow {
  extension: string;
  contact_uri: string;
  expires_at: number;
  call_id: string;
  cseq: number;
  q: number | null;
  instance_id: string | null;
  reg_id: number | null;
  source_transport: string;
  source_address: string;
  source_port: number;
  user_agent: string | null;
  path: string | null;
  updated_at: number;
}

function toBinding(r: BindingRow): Binding {
  const b: Binding = {
    extension: r.extension,
    contactUri: r.contact_uri,
    expiresAt: r.expires_at,
    callId: r.call_id,
    cseq: r.cseq,
    sourceTransport: r.source_transport as BindingTransport,
    sourceAddress: r.source_address,
    sourcePort: r.source_port,
    updatedAt: r.updated_at,
  };
  if (r.q !== null) b.q = r.q;
  if (r.instance_id !== null) b.instanceId = r.instance_id;
  if (r.reg_id !== null) b.regId = r.reg_id;
  if (r.user_agent !== null) b.userAgent = r.user_agent;
  if (r.path !== null) b.path = parseJsonColumn<string[]>(r.path, []);
  return b;
}

/** Options for `createLocationStore`. */
export interface LocationStoreOptions {
  clock: Clock;
  /** Group-commit window in ms for the *Durable methods (real time; default 2). */
  groupCommitMs?: number;
  /** A committer shared with other stores, so one fsync covers all of their queued writes. */
  committer?: GroupCommit;
}

/** Build the store over an open, migrated database. */
export function createLocationStore(db: DatabaseSync, options: LocationStoreOptions): LocationStore {
  const { clock } = options;
  const st = {
    upsert: db.prepare(
      `INSERT INTO bindings (extension, contact_uri, expires_at, call_id, cseq, q, instance_id, reg_id,
         source_transport, source_address, source_port, user_agent, path, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (extension, contact_uri) DO UPDATE SET
         expires_at = excluded.expires_at, call_id = excluded.call_id, cseq = excluded.cseq, q = excluded.q,
         instance_id = excluded.instance_id, reg_id = excluded.reg_id,
         source_transport = excluded.source_transport, source_address = excluded.source_address,
         source_port = excluded.source_port, user_agent = excluded.user_agent, path = excluded.path,
         updated_at = excluded.updated_at`,
    ),
    get: db.prepare(
      `SELECT * FROM bindings WHERE extension = ? AND expires_at > ?
       ORDER BY COALESCE(q, 1.0) DESC, updated_at DESC`,
    ),
    remove: db.prepare("DELETE FROM bindings WHERE extension = ? AND contact_uri = ?"),
    removeAll: db.prepare("DELETE FROM bindings WHERE extension = ?"),
    purge: db.prepare("DELETE FROM bindings WHERE expires_at <= ?"),
    listAll: db.prepare("SELECT * FROM bindings WHERE expires_at > ? ORDER BY extension, contact_uri"),
  };

  const writeUpsert = (b: Binding) =>
    st.upsert.run(
      b.extension,
      b.contactUri,
      b.expiresAt,
      b.callId,
      b.cseq,
      b.q ?? null,
      b.instanceId ?? null,
      b.regId ?? null,
      b.sourceTransport,
      b.sourceAddress,
      b.sourcePort,
      b.userAgent ?? null,
      b.path === undefined ? null : JSON.stringify(b.path),
      clock.wallNow(),
    );

  const committer = options.committer ?? createGroupCommit(db, { windowMs: options.groupCommitMs ?? 2 });
  const enqueue = committer.enqueue;
  const flush = committer.flush;

  return {
    getBindings(extension, now) {
      return (st.get.all(extension, now) as unknown as BindingRow[]).map(toBinding);
    },
    upsert(binding) {
      validateBinding(binding);
      writeUpsert(binding);
    },
    upsertDurable(binding) {
      try {
        validateBinding(binding);
      } catch (e) {
        return Promise.reject(e);
      }
      return enqueue(() => {
        writeUpsert(binding);
      });
    },
    removeDurable(extension, contactUri) {
      return enqueue(() => Number(st.remove.run(extension, contactUri).changes) > 0);
    },
    remove(extension, contactUri) {
      return Number(st.remove.run(extension, contactUri).changes) > 0;
    },
    removeAll(extension) {
      return Number(st.removeAll.run(extension).changes);
    },
    purgeExpired(now) {
      return Number(st.purge.run(now).changes);
    },
    listAll(now) {
      return (st.listAll.all(now) as unknown as BindingRow[]).map(toBinding);
    },
    flush,
  };
}
