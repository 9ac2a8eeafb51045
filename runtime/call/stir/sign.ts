/**
 * The STIR/SHAKEN authentication service (RFC 8224 section 6.1, RFC 8588): signs an outbound
 * call's PASSporT with the configured certificate's private key and builds the `Identity` header.
 * Also the attestation rule (A, B, C) the trunk code applies per call.
 *
 * @module
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import { CompactSign, importJWK, type JWK } from "jose";
import { type Clock, realClock } from "../../clock/mod.ts";
import { formatIdentityHeader, normalizeTn } from "./identity.ts";
import type { Attestation, ShakenClaims, ShakenHeader } from "./verify.ts";

/** What the box knows about an outbound call's caller, for {@link chooseAttestation}. */
export interface AttestationFacts {
  /** The caller is one of the box's own extensions (authenticated). */
  knownCaller: boolean;
  /** The calling number is one the box owns on this trunk (a DID of the trunk). */
  numberOwnedOnTrunk: boolean;
  /** The call came in from elsewhere and is going back out (forward, gateway, transfer to outside). */
  forwarded?: boolean;
}

/**
 * RFC 8588 / ATIS-1000074 attestation: A when a known extension calls with a number the box owns
 * on that trunk; B when the caller is known but the number is not the box's on that trunk; C for
 * forwarded/gateway calls and callers the box cannot vouch for.
 */
export function chooseAttestation(facts: AttestationFacts): Attestation {
  if (facts.forwarded === true || !facts.knownCaller) return "C";
  return facts.numberOwnedOnTrunk ? "A" : "B";
}

/** Settings for {@link StirSigner}. */
export interface StirSignerOptions {
  /** The signing (leaf) certificate, PEM; its public key must match `keyPem`. */
  certPem: string;
  /** The private key, PEM (PKCS#8 or SEC1 "EC PRIVATE KEY"), EC P-256. */
  keyPem: string;
  /** The https URL where the certificate (chain) is published: goes in `x5u` and `info`. */
  x5u: string;
  clock?: Clock;
}

/** One call to sign. */
export interface SignInput {
  /** Calling number (any format; normalized). */
  origTn: string;
  /** Called number(s). */
  destTns: string | readonly string[];
  attest: Attestation;
  /** Opaque origination id (UUID); a random one when absent. */
  origid?: string;
}

/** The signed PASSporT and the header to put on the INVITE. */
export interface SignResult {
  passport: string;
  identity: string;
  header: ShakenHeader;
  claims: ShakenClaims;
}

/** Signs outbound PASSporTs. Build with {@link StirSigner.create} (key import is async). */
export class StirSigner {
  readonly #key: CryptoKey;
  readonly #x5u: string;
  readonly #clock: Clock;

  private constructor(key: CryptoKey, x5u: string, clock: Clock) {
    this.#key = key;
    this.#x5u = x5u;
    this.#clock = clock;
  }

  /**
   * Check the key and certificate (P-256, matching, certificate not expired) and import the key.
   * Throws `TypeError` with a reason on a bad configuration.
   */
  static async create(options: StirSignerOptions): Promise<StirSigner> {
    const clock = options.clock ?? realClock;
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(options.certPem);
    } catch (e) {
      throw new TypeError(`STIR certificate does not parse: ${(e as Error).message}`);
    }
    let jwk: JWK;
    try {
      jwk = createPrivateKey(options.keyPem).export({ format: "jwk" }) as JWK;
    } catch (e) {
      throw new TypeError(`STIR private key does not parse: ${(e as Error).message}`);
    }
    if (jwk.kty !== "EC" || jwk.crv !== "P-256") throw new TypeError("STIR private key is not EC P-256");
    const pub = cert.publicKey.export({ format: "jwk" }) as JWK;
    if (pub.x !== jwk.x || pub.y !== jwk.y) {
      throw new TypeError("STIR private key does not match the certificate");
    }
    if (Date.parse(cert.validTo) < clock.wallNow()) {
      throw new TypeError(`STIR certificate expired ${cert.validTo}`);
    }
    let url: URL;
    try {
      url = new URL(options.x5u);
    } catch {
      throw new TypeError(`STIR x5u is not a URL: ${options.x5u}`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new TypeError("STIR x5u must be https");
    const key = await importJWK(jwk, "ES256");
    if (!(key instanceof CryptoKey)) throw new TypeError("STIR private key import failed");
    return new StirSigner(key, options.x5u, clock);
  }

  /** Sign one call. Throws `TypeError` when a number is not a telephone number. */
  async sign(input: SignInput): Promise<SignResult> {
    const orig = normalizeTn(input.origTn);
    if (orig === undefined) throw new TypeError(`orig is not a telephone number: ${input.origTn}`);
    const dests = (typeof input.destTns === "string" ? [input.destTns] : input.destTns).map((t) => {
      const n = normalizeTn(t);
      if (n === undefined) throw new TypeError(`dest is not a telephone number: ${t}`);
      return n;
    });
    if (dests.length === 0) throw new TypeError("no dest telephone number");
    // Lexicographic member order, as in RFC 8225 / RFC 8588 examples.
    const header: ShakenHeader = {
      alg: "ES256",
      ppt: "shaken",
      typ: "passport",
      x5u: this.#x5u,
    } as ShakenHeader;
    const claims: ShakenClaims = {
      attest: input.attest,
      dest: { tn: dests },
      iat: Math.floor(this.#clock.wallNow() / 1000),
      orig: { tn: orig },
      origid: input.origid ?? crypto.randomUUID(),
    };
    const passport = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader({ ...header })
      .sign(this.#key);
    return { passport, identity: formatIdentityHeader(passport, { info: this.#x5u }), header, claims };
  }
}
