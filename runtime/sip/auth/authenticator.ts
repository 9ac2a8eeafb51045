/**
 * Server-side Digest authentication (RFC 3261 section 22.4, RFC 2617, RFC 8760).
 *
 * Nonces are stateless: a timestamp, a random salt and an HMAC under a secret over both and the
 * source address the challenge went to, so any nonce we issued can be checked without remembering
 * it, and a nonce presented from another address than it was issued to is `bad-nonce`: credentials
 * with a good nonce prove that the sender received our challenge at its source address. Replay protection needs state, so the highest nonce-count
 * seen per nonce is kept in a bounded map.
 */

import { createHmac, getRandomValues, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";
import type { Clock } from "../../clock/mod.ts";
import {
  baseAlgorithm,
  type DigestAlgorithm,
  type DigestQop,
  digestResponse,
  type DigestResponseInput,
  hashHex,
  parseAlgorithm,
} from "./digest.ts";
import { formatChallenge, parseAuthParams } from "./params.ts";

/** Why a request failed authentication. */
export type AuthFailureReason =
  | "missing"
  | "malformed"
  | "unknown-user"
  | "wrong-password"
  | "stale"
  | "replay"
  | "realm"
  | "bad-nonce"
  | "uri-mismatch";

/**
 * The outcome of {@link DigestAuthenticator.verify}. `stale: true` means the digest was right but
 * the nonce is no longer usable: challenge again with `stale` so the client retries silently.
 */
export type AuthResult =
  | { ok: true; username: string }
  | { ok: false; reason: AuthFailureReason; username?: string; stale?: boolean };

/** Finds HA1 for a user (see `ha1()`); undefined when the user does not exist. */
export type Ha1Lookup = (username: string, realm: string, algorithm: DigestAlgorithm) => string | undefined;

/** Like {@link Ha1Lookup}, for stores that answer asynchronously. */
export type AsyncHa1Lookup = (
  username: string,
  realm: string,
  algorithm: DigestAlgorithm,
) => string | undefined | Promise<string | undefined>;

/** What a request contributes to verification. */
export interface VerifyRequest {
  /** The request method (REGISTER, INVITE, ...). */
  method: string;
  /**
   * The Authorization (or Proxy-Authorization) value(s). With several, the first Digest value for
   * our realm is used.
   */
  authorization: string | readonly string[] | undefined;
  /** When given, the credentials' uri must equal it (case-insensitively), else `uri-mismatch`. */
  requestUri?: string;
  /** The body, needed only for qop=auth-int. */
  body?: Uint8Array;
  /**
   * The source address the request came from; the nonce must have been issued to it (see
   * {@link DigestAuthenticator.challenge}). Default "" (unbound nonces).
   */
  source?: string;
}

/** Options of {@link DigestAuthenticator}. */
export interface DigestAuthenticatorOptions {
  realm: string;
  clock: Clock;
  /** How long a nonce stays fresh, default 300 000 ms. */
  nonceLifetimeMs?: number;
  /** HMAC key for nonces; random per process when absent (nonces then die with the process). */
  secret?: Uint8Array;
  /** Algorithms to challenge with, in order; default SHA-256 then MD5 (RFC 8760 section 2.4). */
  algorithms?: DigestAlgorithm[];
  /** Bound on nonces tracked for nonce-count replay protection, default 100 000. */
  maxTrackedNonces?: number;
}

/** The header to send in a 401 / 407. */
export interface Challenge {
  name: "WWW-Authenticate" | "Proxy-Authenticate";
  /** One value per algorithm; send each as its own header line. */
  values: string[];
}

interface NonceState {
  nc: number;
  issuedAt: number;
}

interface Prepared {
  username: string;
  realm: string;
  algorithm: DigestAlgorithm;
  input: DigestResponseInput;
  response: string;
  nonce: string;
  issuedAt: number;
  stale: boolean;
  nc: number | undefined;
}

// A nonce is base64url(6-byte ms timestamp | 4-byte salt | 12-byte truncated HMAC-SHA256).
const NONCE_BYTES = 22;
const NONCE_CHARS = 30;
const SIGNED_BYTES = 10;
const MAC_BYTES = 12;
// Nonces from the "future" happen when the wall clock steps back; within this skew they are fine.
const FUTURE_SKEW_MS = 60_000;

const NC_RE = /^[0-9a-fA-F]{1,8}$/;
const HEX_RE = /^[0-9a-fA-F]+$/;

/**
 * Issues Digest challenges and verifies credentials for one realm.
 *
 * ```ts
 * const auth = new DigestAuthenticator({ realm: "pbx.local", clock: realClock });
 * const result = auth.verify({ method: "REGISTER", authorization, lookupHa1 });
 * if (!result.ok) send401(auth.challenge({ stale: result.stale ?? false }));
 * ```
 */
export class DigestAuthenticator {
  /** The realm challenged with and required in credentials. */
  readonly realm: string;
  readonly #clock: Clock;
  readonly #lifetime: number;
  readonly #secret: Uint8Array;
  readonly #algorithms: DigestAlgorithm[];
  readonly #opaque: string;
  readonly #maxTracked: number;
  readonly #seen = new Map<string, NonceState>();
  // Nonces issued at or before this instant may have lost their replay state to eviction.
  #evictedFloor = -Infinity;
  #insertsSinceSweep = 0;

  constructor(options: DigestAuthenticatorOptions) {
    this.realm = options.realm;
    this.#clock = options.clock;
    this.#lifetime = options.nonceLifetimeMs ?? 300_000;
    if (!(this.#lifetime > 0)) {
      throw new RangeError(`nonceLifetimeMs must be positive, got ${options.nonceLifetimeMs}`);
    }
    this.#secret = options.secret ?? getRandomValues(new Uint8Array(32));
    this.#algorithms = options.algorithms ?? ["SHA-256", "MD5"];
    if (this.#algorithms.length === 0) throw new RangeError("algorithms must not be empty");
    this.#maxTracked = options.maxTrackedNonces ?? 100_000;
    this.#opaque = Buffer.from(getRandomValues(new Uint8Array(12))).toString("base64url");
  }

  /** Build the 401 (or, with `proxy`, 407) challenge header: one value per algorithm. */
  challenge(options: { stale?: boolean; proxy?: boolean; source?: string } = {}): Challenge {
    const nonce = this.issueNonce(options.source);
    const values = this.#algorithms.map((algorithm) =>
      formatChallenge({
        realm: this.realm,
        nonce,
        opaque: this.#opaque,
        algorithm,
        qop: "auth",
        stale: options.stale ?? false,
      })
    );
    return { name: options.proxy ? "Proxy-Authenticate" : "WWW-Authenticate", values };
  }

  /** A fresh signed nonce, bound to `source` (the address the challenge is sent to; default ""). */
  issueNonce(source = ""): string {
    const bytes = new Uint8Array(NONCE_BYTES);
    let ts = Math.max(0, Math.floor(this.#clock.wallNow()));
    for (let i = 5; i >= 0; i--) {
      bytes[i] = ts % 256;
      ts = Math.floor(ts / 256);
    }
    getRandomValues(bytes.subarray(6, SIGNED_BYTES));
    bytes.set(this.#mac(bytes.subarray(0, SIGNED_BYTES), source), SIGNED_BYTES);
    return Buffer.from(bytes).toString("base64url");
  }

  /** Verify credentials with a synchronous HA1 lookup. Never throws on bad input. */
  verify(options: VerifyRequest & { lookupHa1: Ha1Lookup }): AuthResult {
    const prepared = this.#prepare(options);
    if ("ok" in prepared) return prepared;
    return this.#finish(prepared, options.lookupHa1(prepared.username, prepared.realm, prepared.algorithm));
  }

  /** Verify credentials with an HA1 lookup that may be asynchronous. Never rejects on bad input. */
  async verifyAsync(options: VerifyRequest & { lookupHa1: AsyncHa1Lookup }): Promise<AuthResult> {
    const prepared = this.#prepare(options);
    if ("ok" in prepared) return prepared;
    return this.#finish(
      prepared,
      await options.lookupHa1(prepared.username, prepared.realm, prepared.algorithm),
    );
  }

  /** Number of nonces currently tracked for replay protection (for status pages and tests). */
  get trackedNonces(): number {
    return this.#seen.size;
  }

  #mac(data: Uint8Array, source: string): Uint8Array {
    return createHmac("sha256", this.#secret).update(data).update(this.realm).update("\0").update(source)
      .digest().subarray(0, MAC_BYTES);
  }

  /** Returns the wall-clock issue time of a nonce we signed, or undefined. */
  #nonceIssuedAt(nonce: string, source: string): number | undefined {
    if (nonce.length !== NONCE_CHARS) return undefined;
    const bytes = Buffer.from(nonce, "base64url");
    // The decoder is lenient; insist on the canonical spelling so one nonce has one name.
    if (bytes.length !== NONCE_BYTES || bytes.toString("base64url") !== nonce) return undefined;
    const expected = this.#mac(bytes.subarray(0, SIGNED_BYTES), source);
    if (!timingSafeEqual(bytes.subarray(SIGNED_BYTES), expected)) return undefined;
    let ts = 0;
    for (let i = 0; i < 6; i++) ts = ts * 256 + (bytes[i] ?? 0);
    return ts;
  }

  #pick(authorization: string | readonly string[]): string | undefined {
    if (typeof authorization === "string") return authorization;
    let first: string | undefined;
    for (const value of authorization) {
      if (!/^\s*digest\s/i.test(value)) continue;
      first ??= value;
      try {
        if (parseAuthParams(value).params.get("realm") === this.realm) return value;
      } catch {
        // Malformed values are reported when chosen, not while choosing.
      }
    }
    return first ?? authorization[0];
  }

  #prepare(options: VerifyRequest): Prepared | AuthResult {
    if (options.authorization === undefined) return { ok: false, reason: "missing" };
    const header = this.#pick(options.authorization);
    if (header === undefined || header.trim() === "") return { ok: false, reason: "missing" };
    let params: Map<string, string>;
    try {
      const parsed = parseAuthParams(header);
      if (parsed.scheme.toLowerCase() !== "digest") return { ok: false, reason: "malformed" };
      params = parsed.params;
    } catch {
      return { ok: false, reason: "malformed" };
    }
    const username = params.get("username");
    if (username === undefined) return { ok: false, reason: "malformed" };
    const realm = params.get("realm");
    const nonce = params.get("nonce");
    const uri = params.get("uri");
    const response = params.get("response");
    if (realm === undefined || nonce === undefined || uri === undefined || response === undefined) {
      return { ok: false, reason: "malformed", username };
    }
    if (realm !== this.realm) return { ok: false, reason: "realm", username };
    const algorithmName = parseAlgorithm(params.get("algorithm"));
    if (algorithmName === undefined) return { ok: false, reason: "malformed", username };
    const algorithm = baseAlgorithm(algorithmName);
    if (!this.#algorithms.includes(algorithm)) return { ok: false, reason: "malformed", username };

    const input: DigestResponseInput = {
      algorithm: algorithmName,
      ha1: "",
      nonce,
      method: options.method,
      uri,
    };
    const qopParam = params.get("qop");
    let nc: number | undefined;
    if (qopParam !== undefined) {
      const qop = qopParam.toLowerCase();
      if (qop !== "auth" && qop !== "auth-int") return { ok: false, reason: "malformed", username };
      const ncText = params.get("nc");
      const cnonce = params.get("cnonce");
      if (ncText === undefined || cnonce === undefined || !NC_RE.test(ncText)) {
        return { ok: false, reason: "malformed", username };
      }
      nc = parseInt(ncText, 16);
      if (nc === 0) return { ok: false, reason: "malformed", username };
      input.qop = qop as DigestQop;
      input.nc = ncText;
      input.cnonce = cnonce;
      if (qop === "auth-int") input.body = options.body ?? new Uint8Array(0);
    } else if (algorithmName.endsWith("-sess")) {
      const cnonce = params.get("cnonce");
      if (cnonce === undefined) return { ok: false, reason: "malformed", username };
      input.cnonce = cnonce;
    }
    // Before any other check that can fail: every failure but malformed, realm and bad-nonce then
    // proves the sender received a challenge at its address (limiters count only those).
    const issuedAt = this.#nonceIssuedAt(nonce, options.source ?? "");
    if (issuedAt === undefined) return { ok: false, reason: "bad-nonce", username };
    if (options.requestUri !== undefined && uri.toLowerCase() !== options.requestUri.toLowerCase()) {
      return { ok: false, reason: "uri-mismatch", username };
    }
    const age = this.#clock.wallNow() - issuedAt;
    const stale = age > this.#lifetime || age < -FUTURE_SKEW_MS;
    return { username, realm, algorithm, input, response, nonce, issuedAt, stale, nc };
  }

  #finish(p: Prepared, storedHa1: string | undefined): AuthResult {
    const username = p.username;
    if (storedHa1 === undefined) {
      // Spend the same hashing work as a real check so timing does not reveal which users exist.
      hashHex(p.algorithm, `${p.nonce}:${p.response}`);
      return { ok: false, reason: "unknown-user", username };
    }
    p.input.ha1 = storedHa1.toLowerCase();
    const expected = digestResponse(p.input);
    const given = p.response.toLowerCase();
    if (
      given.length !== expected.length || !HEX_RE.test(given) ||
      !timingSafeEqual(Buffer.from(given, "latin1"), Buffer.from(expected, "latin1"))
    ) {
      return { ok: false, reason: "wrong-password", username };
    }
    // RFC 2617 section 3.2.1: stale only once the digest is known to be right.
    if (p.stale) return { ok: false, reason: "stale", username, stale: true };
    if (p.nc !== undefined) {
      const state = this.#seen.get(p.nonce);
      if (state === undefined) {
        // Its replay state may have been evicted: have the client take a fresh nonce.
        if (p.issuedAt <= this.#evictedFloor) return { ok: false, reason: "stale", username, stale: true };
        this.#seen.set(p.nonce, { nc: p.nc, issuedAt: p.issuedAt });
        this.#afterInsert();
      } else if (p.nc <= state.nc) {
        // A right digest with a used count: a replay, or a client that lost count. stale=true lets
        // an honest client recover with a new nonce; an attacker still cannot answer it.
        return { ok: false, reason: "replay", username, stale: true };
      } else {
        state.nc = p.nc;
      }
    }
    return { ok: true, username };
  }

  #afterInsert(): void {
    if (++this.#insertsSinceSweep < 1024 && this.#seen.size <= this.#maxTracked) return;
    this.#insertsSinceSweep = 0;
    const oldest = this.#clock.wallNow() - this.#lifetime - FUTURE_SKEW_MS;
    for (const [nonce, state] of this.#seen) {
      if (state.issuedAt < oldest) this.#seen.delete(nonce);
    }
    if (this.#seen.size <= this.#maxTracked) return;
    // Still over the bound: drop the longest-tracked entries and remember how far we dropped.
    const target = Math.floor(this.#maxTracked * 0.9);
    for (const [nonce, state] of this.#seen) {
      if (this.#seen.size <= target) break;
      this.#seen.delete(nonce);
      if (state.issuedAt > this.#evictedFloor) this.#evictedFloor = state.issuedAt;
    }
  }
}
