/**
 * The STIR/SHAKEN verification service (RFC 8224 section 6.2, RFC 8588, ATIS-1000074): takes an
 * inbound call's `Identity` header and its From/To/P-Asserted-Identity, and answers a `verstat`
 * with a reason and the RFC 8224 response code a strict verifier would send.
 *
 * @module
 */

import { compactVerify, decodeProtectedHeader, importX509 } from "jose";
import { type Clock, realClock } from "../../clock/mod.ts";
import { ChainError, parsePemBundle, TrustStore } from "./chain.ts";
import { normalizeTn, parseIdentityHeader, tnFromUri, type Verstat } from "./identity.ts";
import { X5uCache, type X5uCacheOptions, X5uFetchError } from "./x5u_cache.ts";

/** SHAKEN attestation levels (RFC 8588 section 4). */
export type Attestation = "A" | "B" | "C";

/** The PASSporT protected header for SHAKEN. */
export interface ShakenHeader {
  alg: "ES256";
  typ: "passport";
  ppt: "shaken";
  x5u: string;
}

/** The SHAKEN PASSporT claims (RFC 8225 + RFC 8588). */
export interface ShakenClaims {
  attest: Attestation;
  dest: { tn: string[] };
  iat: number;
  orig: { tn: string };
  origid: string;
}

/** Stable failure codes for logs and the call record. */
export type VerifyFailure =
  | "no-identity"
  | "malformed"
  | "unsupported-ppt"
  | "bad-alg"
  | "bad-header"
  | "bad-claims"
  | "stale"
  | "orig-mismatch"
  | "dest-mismatch"
  | "x5u-fetch"
  | "bad-certificate"
  | "untrusted"
  | "bad-signature";

/** What the verifier concluded about one call. */
export interface VerifyResult {
  verstat: Verstat;
  /** Human-readable reason (for the log line and call record). */
  reason: string;
  /** `undefined` on success. */
  failure?: VerifyFailure;
  /**
   * The RFC 8224 response a verifier that rejects would send (403 Stale Date, 428, 436 Bad
   * Identity Info, 437 Unsupported Credential, 438 Invalid Identity Header). The box does not
   * reject calls on verification failure by default; this is for the record and for policy.
   */
  sipCode?: 403 | 428 | 436 | 437 | 438;
  attest?: Attestation;
  origTn?: string;
  destTns?: string[];
  origid?: string;
  x5u?: string;
  /** Subject of the signing certificate, when it was fetched. */
  signer?: string;
}

/** The call facts the PASSporT is checked against. */
export interface VerifyInput {
  /** The `Identity` header value (`undefined` when the INVITE had none). */
  identity: string | undefined;
  /** From header value. */
  from: string;
  /** To header value. */
  to: string;
  /** P-Asserted-Identity value, if any: then `orig` is compared with it instead of From. */
  pai?: string;
  /** Request-URI: `dest` may match it as well as To (carriers retarget). */
  requestUri?: string;
}

/** Settings for {@link StirVerifier}. */
export interface StirVerifierOptions {
  /** PEM root certificates (one bundle or several) the signing certificate must chain to. */
  trustRoots: string | readonly string[];
  clock?: Clock;
  /** Largest accepted |now - iat| in seconds. Default 60 (RFC 8224 recommends 60). */
  maxAgeSec?: number;
  /** x5u fetching; ignored when `cache` is given. */
  fetch?: X5uCacheOptions;
  /** A shared cache (e.g. one per box). */
  cache?: X5uCache;
}

/** Verifies inbound `Identity` headers. Never throws for bad input; the result says why. */
export class StirVerifier {
  readonly #trust: TrustStore;
  readonly #clock: Clock;
  readonly #maxAgeSec: number;
  readonly cache: X5uCache;

  constructor(options: StirVerifierOptions) {
    this.#trust = new TrustStore(options.trustRoots);
    if (this.#trust.roots.length === 0) throw new TypeError("STIR trust store holds no certificate");
    this.#clock = options.clock ?? realClock;
    this.#maxAgeSec = options.maxAgeSec ?? 60;
    this.cache = options.cache ?? new X5uCache({ clock: this.#clock, ...options.fetch });
  }

  /** Verify one call's Identity header against its From/To/PAI. */
  async verify(input: VerifyInput): Promise<VerifyResult> {
    if (input.identity === undefined || input.identity.trim() === "") {
      return {
        verstat: "No-TN-Validation",
        reason: "no Identity header",
        failure: "no-identity",
        sipCode: 428,
      };
    }
    let ident;
    try {
      ident = parseIdentityHeader(input.identity);
    } catch (e) {
      return fail("malformed", (e as Error).message, 438);
    }
    if (ident.ppt !== undefined && ident.ppt.replace(/"/g, "") !== "shaken") {
      return {
        verstat: "No-TN-Validation",
        reason: `unsupported ppt ${ident.ppt}`,
        failure: "unsupported-ppt",
        sipCode: 438,
      };
    }
    if (ident.alg !== undefined && ident.alg !== "ES256") {
      return fail("bad-alg", `Identity alg ${ident.alg} is not ES256`, 437);
    }
    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(ident.passport) as Record<string, unknown>;
    } catch (e) {
      return fail("malformed", `PASSporT header does not decode: ${(e as Error).message}`, 438);
    }
    if (header["ppt"] !== "shaken") {
      return {
        verstat: "No-TN-Validation",
        reason: `unsupported PASSporT ppt ${String(header["ppt"])}`,
        failure: "unsupported-ppt",
        sipCode: 438,
      };
    }
    if (header["alg"] !== "ES256") {
      return fail("bad-alg", `PASSporT alg ${String(header["alg"])} is not ES256`, 437);
    }
    if (header["typ"] !== "passport") return fail("bad-header", `PASSporT typ ${String(header["typ"])}`, 438);
    const x5u = header["x5u"];
    if (typeof x5u !== "string" || x5u === "") return fail("bad-header", "PASSporT has no x5u", 436);
    if (x5u !== ident.info) {
      return fail("bad-header", "PASSporT x5u differs from the Identity info parameter", 436, { x5u });
    }

    let pem: string;
    try {
      pem = await this.cache.get(x5u);
    } catch (e) {
      const msg = e instanceof X5uFetchError ? e.message : `x5u fetch failed: ${(e as Error).message}`;
      return fail("x5u-fetch", msg, 436, { x5u });
    }
    let signerPem: string;
    let signer: string;
    try {
      const chain = parsePemBundle(pem);
      const leaf = this.#trust.verify(chain, this.#clock.wallNow());
      signerPem = leaf.toString();
      signer = leaf.subject.replace(/\n/g, ", ");
    } catch (e) {
      const code = e instanceof ChainError && e.code !== "bad-certificate" ? "untrusted" : "bad-certificate";
      return fail(code, (e as Error).message, 437, { x5u });
    }

    let payload: Uint8Array;
    try {
      const key = await importX509(signerPem, "ES256");
      payload = (await compactVerify(ident.passport, key, { algorithms: ["ES256"] })).payload;
    } catch (e) {
      return fail("bad-signature", `PASSporT signature does not verify: ${(e as Error).message}`, 438, {
        x5u,
        signer,
      });
    }

    let claims: ShakenClaims;
    try {
      claims = checkClaims(JSON.parse(new TextDecoder().decode(payload)));
    } catch (e) {
      return fail("bad-claims", (e as Error).message, 438, { x5u, signer });
    }
    const facts = {
      x5u,
      signer,
      attest: claims.attest,
      origTn: claims.orig.tn,
      destTns: claims.dest.tn,
      origid: claims.origid,
    };
    const nowSec = this.#clock.wallNow() / 1000;
    if (Math.abs(nowSec - claims.iat) > this.#maxAgeSec) {
      return fail(
        "stale",
        `PASSporT iat is ${Math.round(nowSec - claims.iat)} s from now (limit ${this.#maxAgeSec} s)`,
        403,
        facts,
      );
    }
    const callerTn = tnFromUri(input.pai ?? input.from);
    if (callerTn === undefined || claims.orig.tn !== callerTn) {
      return fail(
        "orig-mismatch",
        `orig ${claims.orig.tn} does not match the caller ${callerTn ?? "(not a telephone number)"}`,
        438,
        facts,
      );
    }
    const called = [
      tnFromUri(input.to),
      input.requestUri === undefined ? undefined : tnFromUri(input.requestUri),
    ]
      .filter((t): t is string => t !== undefined);
    if (!claims.dest.tn.some((t) => called.includes(t))) {
      return fail(
        "dest-mismatch",
        `dest ${claims.dest.tn.join(",")} does not match the called number ${called.join(",") || "(none)"}`,
        438,
        facts,
      );
    }
    return { verstat: "TN-Validation-Passed", reason: `attestation ${claims.attest} by ${signer}`, ...facts };
  }
}

function fail(
  failure: VerifyFailure,
  reason: string,
  sipCode: 403 | 436 | 437 | 438,
  facts: Partial<VerifyResult> = {},
): VerifyResult {
  return { ...facts, verstat: "TN-Validation-Failed", reason, failure, sipCode };
}

/** Validate the claim shapes; TNs are normalized (leading + and separators dropped). */
function checkClaims(raw: unknown): ShakenClaims {
  if (typeof raw !== "object" || raw === null) throw new TypeError("PASSporT payload is not an object");
  const c = raw as Record<string, unknown>;
  const attest = c["attest"];
  if (attest !== "A" && attest !== "B" && attest !== "C") throw new TypeError("attest is not A, B or C");
  const iat = c["iat"];
  if (typeof iat !== "number" || !Number.isInteger(iat)) throw new TypeError("iat is not an integer");
  const origid = c["origid"];
  if (typeof origid !== "string" || origid === "") throw new TypeError("origid missing");
  const orig = c["orig"] as Record<string, unknown> | undefined;
  const origTn = typeof orig?.["tn"] === "string" ? normalizeTn(orig["tn"]) : undefined;
  if (origTn === undefined) throw new TypeError("orig.tn missing or not a telephone number");
  const dest = c["dest"] as Record<string, unknown> | undefined;
  const tns = dest?.["tn"];
  if (!Array.isArray(tns) || tns.length === 0) throw new TypeError("dest.tn missing");
  const destTns = tns.map((t) => (typeof t === "string" ? normalizeTn(t) : undefined));
  if (destTns.some((t) => t === undefined)) throw new TypeError("dest.tn holds a non telephone number");
  return { attest, iat, origid, orig: { tn: origTn }, dest: { tn: destTns as string[] } };
}
