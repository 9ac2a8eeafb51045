/**
 * Digest computations (RFC 2617 section 3.2.2, RFC 7616 section 3.4, RFC 8760 for SIP) and the
 * client side: building an Authorization value from a challenge.
 */

import { createHash, getRandomValues } from "node:crypto";
import { parseAuthParams, quote } from "./params.ts";

/** Hash algorithms a digest can use. */
export type DigestAlgorithm = "MD5" | "SHA-256";

/** Algorithm names as they appear on the wire, including the session variants. */
export type DigestAlgorithmName = DigestAlgorithm | "MD5-sess" | "SHA-256-sess";

/** The qop values we compute. */
export type DigestQop = "auth" | "auth-int";

const NODE_HASH: Record<DigestAlgorithm, string> = { "MD5": "md5", "SHA-256": "sha256" };

/**
 * Map an `algorithm=` value (case-insensitive; absent means MD5 per RFC 2617 section 3.2.1) to
 * its canonical name, or undefined when we do not support it.
 */
export function parseAlgorithm(value: string | undefined): DigestAlgorithmName | undefined {
  if (value === undefined) return "MD5";
  switch (value.toLowerCase()) {
    case "md5":
      return "MD5";
    case "md5-sess":
      return "MD5-sess";
    case "sha-256":
      return "SHA-256";
    case "sha-256-sess":
      return "SHA-256-sess";
    default:
      return undefined;
  }
}

/** The hash behind an algorithm name (`MD5-sess` -> `MD5`). */
export function baseAlgorithm(name: DigestAlgorithmName): DigestAlgorithm {
  return name.startsWith("SHA-256") ? "SHA-256" : "MD5";
}

/** Lower-case hex hash of a UTF-8 string or bytes. */
export function hashHex(algorithm: DigestAlgorithm, data: string | Uint8Array): string {
  return createHash(NODE_HASH[algorithm]).update(data).digest("hex");
}

/** HA1 = H(username ":" realm ":" password), the value a user store keeps instead of the password. */
export function ha1(algorithm: DigestAlgorithm, user: string, realm: string, password: string): string {
  return hashHex(algorithm, `${user}:${realm}:${password}`);
}

/** Inputs of the request-digest (RFC 2617 section 3.2.2.1). */
export interface DigestResponseInput {
  algorithm: DigestAlgorithmName;
  /** H(user:realm:password) for the base algorithm. */
  ha1: string;
  nonce: string;
  method: string;
  /** The digest-uri as sent in the credentials. */
  uri: string;
  /** Absent for RFC 2069 clients. */
  qop?: DigestQop;
  /** Required with qop or a -sess algorithm. */
  cnonce?: string;
  /** The nc value as sent: 8 hex digits. Required with qop. */
  nc?: string;
  /** Message body, for qop=auth-int (empty when absent). */
  body?: Uint8Array;
}

/** Compute the `response=` value. */
export function digestResponse(input: DigestResponseInput): string {
  const alg = baseAlgorithm(input.algorithm);
  let a1 = input.ha1;
  if (input.algorithm.endsWith("-sess")) {
    a1 = hashHex(alg, `${a1}:${input.nonce}:${input.cnonce ?? ""}`);
  }
  const a2 = input.qop === "auth-int"
    ? `${input.method}:${input.uri}:${hashHex(alg, input.body ?? new Uint8Array(0))}`
    : `${input.method}:${input.uri}`;
  const ha2 = hashHex(alg, a2);
  if (input.qop === undefined) return hashHex(alg, `${a1}:${input.nonce}:${ha2}`);
  return hashHex(alg, `${a1}:${input.nonce}:${input.nc ?? ""}:${input.cnonce ?? ""}:${input.qop}:${ha2}`);
}

/** Format a nonce-count as the 8 hex digits the wire wants. */
export function formatNc(nc: number): string {
  if (!Number.isInteger(nc) || nc < 1 || nc > 0xffffffff) {
    throw new RangeError(`Nonce count must be an integer in 1..0xffffffff, got ${nc}`);
  }
  return nc.toString(16).padStart(8, "0");
}

/** A random client nonce: 16 hex digits. */
export function randomCnonce(): string {
  const bytes = getRandomValues(new Uint8Array(8));
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** Options for {@link computeAuthorization}. */
export interface ComputeAuthorizationOptions {
  method: string;
  /** The Request-URI of the request being authorized. */
  uri: string;
  username: string;
  password: string;
  /** One WWW-Authenticate / Proxy-Authenticate value. */
  challenge: string;
  /** Nonce count, default 1. */
  nc?: number;
  /** Client nonce, default random. */
  cnonce?: string;
  /** Body for qop=auth-int; auth is used whenever the challenge offers it. */
  body?: Uint8Array;
}

/**
 * Build an Authorization / Proxy-Authorization value answering a Digest challenge (client side,
 * used for trunks and in tests). Prefers qop=auth, falls back to auth-int, then to RFC 2069.
 * Throws SyntaxError for an unparsable challenge, RangeError for an unsupported one.
 */
export function computeAuthorization(options: ComputeAuthorizationOptions): string {
  const { scheme, params } = parseAuthParams(options.challenge);
  if (scheme.toLowerCase() !== "digest") {
    throw new RangeError(`Unsupported auth scheme ${JSON.stringify(scheme)}`);
  }
  const realm = params.get("realm");
  const nonce = params.get("nonce");
  if (realm === undefined || nonce === undefined) {
    throw new SyntaxError("Digest challenge lacks realm or nonce");
  }
  const algorithmParam = params.get("algorithm");
  const algorithm = parseAlgorithm(algorithmParam);
  if (algorithm === undefined) {
    throw new RangeError(`Unsupported digest algorithm ${JSON.stringify(algorithmParam)}`);
  }
  const qopOptions = (params.get("qop") ?? "").split(",").map((q) => q.trim().toLowerCase());
  const qop: DigestQop | undefined = qopOptions.includes("auth")
    ? "auth"
    : qopOptions.includes("auth-int")
    ? "auth-int"
    : undefined;
  if (qop === undefined && params.has("qop")) {
    throw new RangeError(`Unsupported qop options ${JSON.stringify(params.get("qop"))}`);
  }
  const needsCnonce = qop !== undefined || algorithm.endsWith("-sess");
  const cnonce = needsCnonce ? options.cnonce ?? randomCnonce() : undefined;
  const nc = qop !== undefined ? formatNc(options.nc ?? 1) : undefined;
  const input: DigestResponseInput = {
    algorithm,
    ha1: ha1(baseAlgorithm(algorithm), options.username, realm, options.password),
    nonce,
    method: options.method,
    uri: options.uri,
  };
  if (qop !== undefined) input.qop = qop;
  if (cnonce !== undefined) input.cnonce = cnonce;
  if (nc !== undefined) input.nc = nc;
  if (options.body !== undefined) input.body = options.body;
  const response = digestResponse(input);

  let out = `Digest username=${quote(options.username)}, realm=${quote(realm)}, nonce=${quote(nonce)}` +
    `, uri=${quote(options.uri)}, response=${quote(response)}`;
  if (algorithmParam !== undefined) out += `, algorithm=${algorithmParam}`;
  if (cnonce !== undefined) out += `, cnonce=${quote(cnonce)}`;
  const opaque = params.get("opaque");
  if (opaque !== undefined) out += `, opaque=${quote(opaque)}`;
  if (qop !== undefined) out += `, qop=${qop}, nc=${nc}`;
  return out;
}
