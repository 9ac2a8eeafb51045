/**
 * SDES (RFC 4568) `a=crypto` attributes: parse and serialize, offers with fresh keys, answer
 * selection, and the per-extension SRTP policy (off / offered / required).
 *
 * Pure functions over plain data, like the rest of runtime/sdp (no driver imports: the suite table
 * below repeats the sizes drivers/srtp checks). Key material lives only in {@linkcode SrtpKeySalt},
 * whose `toString`, `toJSON` and inspect output are redacted, so a logged offer, answer or error
 * never carries a key; the only way out is {@linkcode SrtpKeySalt.exportBytes} (for the SRTP
 * driver) and {@linkcode serializeCrypto} (for the SDP, where RFC 4568 puts the key).
 *
 * @module
 */
import type { Attribute } from "./types.ts";

/** The SDES crypto suites this box implements (RFC 4568 6.2; RFC 7714 14.2 for AEAD). */
export type SdesSuite =
  | "AES_CM_128_HMAC_SHA1_80"
  | "AES_CM_128_HMAC_SHA1_32"
  | "AEAD_AES_128_GCM"
  | "AEAD_AES_256_GCM";

/** Master key and salt lengths in bytes per suite. */
export const SDES_SUITES: Readonly<Record<SdesSuite, { keyLength: number; saltLength: number }>> = Object
  .freeze({
    AES_CM_128_HMAC_SHA1_80: { keyLength: 16, saltLength: 14 },
    AES_CM_128_HMAC_SHA1_32: { keyLength: 16, saltLength: 14 },
    AEAD_AES_128_GCM: { keyLength: 16, saltLength: 12 },
    AEAD_AES_256_GCM: { keyLength: 32, saltLength: 12 },
  });

/** Our default preference, strongest first (the AEAD suites are also the cheapest per packet). */
export const DEFAULT_SDES_SUITES: readonly SdesSuite[] = Object.freeze([
  "AEAD_AES_256_GCM",
  "AEAD_AES_128_GCM",
  "AES_CM_128_HMAC_SHA1_80",
  "AES_CM_128_HMAC_SHA1_32",
]);

/** True when `name` is a suite this box implements. */
export function isSdesSuite(name: string): name is SdesSuite {
  return Object.hasOwn(SDES_SUITES, name);
}

const REDACTED = "[redacted SRTP key]";

/**
 * SRTP master key || master salt. Redacted everywhere text is made of it: `String(k)`,
 * `JSON.stringify`, `Deno.inspect`/`console.log` and node's `util.inspect`.
 */
export class SrtpKeySalt {
  readonly #bytes: Uint8Array;

  /** Copy `bytes` (key followed by salt). */
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes.slice();
  }

  /** Number of bytes (key + salt). */
  get length(): number {
    return this.#bytes.length;
  }

  /** A copy of the key||salt bytes, for the SRTP driver. Never log it. */
  exportBytes(): Uint8Array<ArrayBuffer> {
    return this.#bytes.slice();
  }

  /** Base64 (RFC 4648, padded) as `inline:` carries it in SDP. Never log it. */
  exportBase64(): string {
    let bin = "";
    for (const b of this.#bytes) bin += String.fromCharCode(b);
    return btoa(bin);
  }

  /** Constant-time-ish equality (length leaks; contents compared in full). */
  equals(other: SrtpKeySalt): boolean {
    const a = this.#bytes;
    const b = other.#bytes;
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
    return diff === 0;
  }

  /** Overwrite the bytes with zeros (after handing them to the driver). */
  wipe(): void {
    this.#bytes.fill(0);
  }

  /** Redacted. */
  toString(): string {
    return REDACTED;
  }

  /** Redacted. */
  toJSON(): string {
    return REDACTED;
  }

  /** Redacted (Deno.inspect / console.log). */
  [Symbol.for("Deno.customInspect")](): string {
    return REDACTED;
  }

  /** Redacted (node:util inspect). */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return REDACTED;
  }
}

/** One `inline:` key parameter. */
export interface SdesKeyParam {
  /** Master key || salt. */
  key: SrtpKeySalt;
  /** Key lifetime as written ("2^31" or a decimal packet count), if present. */
  lifetime?: string;
  /** Master key identifier: decimal value and its length in bytes on the wire, if present. */
  mki?: { value: string; length: number };
}

/** One parsed `a=crypto` attribute. */
export interface SdesCrypto {
  /** Tag (1..999999999), echoed by the answer. */
  tag: number;
  /** The crypto suite as written; {@linkcode isSdesSuite} tells whether we implement it. */
  suite: string;
  /** One or more keys (more than one only with MKIs). */
  keys: SdesKeyParam[];
  /** Session parameters as written, e.g. "KDR=0", "UNENCRYPTED_SRTCP", "WSH=128". */
  sessionParams: string[];
}

/**
 * `value` with anything that could be key material removed, safe for messages and logs: only a
 * numeric tag and a suite-shaped name are kept; every further field is replaced.
 */
export function redactCrypto(value: string): string {
  const parts = value.trim().split(/[ \t]+/).filter((p) => p !== "");
  const out: string[] = [];
  parts.forEach((p, i) => {
    if (i === 0 && /^\d{1,9}$/.test(p)) out.push(p);
    else if (i === 1 && /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/.test(p) && p.length <= 40) out.push(p);
    else if (i === 2 && /^[a-z]+:/i.test(p)) out.push(`${p.slice(0, p.indexOf(":") + 1)}[redacted]`);
    else out.push("[redacted]");
  });
  return out.join(" ");
}

function fail(what: string, value: string): never {
  throw new SyntaxError(`malformed a=crypto (${what}): "${redactCrypto(value).slice(0, 200)}"`);
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const LIFETIME = /^(?:2\^\d{1,2}|\d{1,20})$/;
const MKI = /^(\d{1,128}):(\d{1,3})$/;
const SESSION_PARAM = /^[\x21-\x7e]+$/;

function decodeBase64(text: string, value: string): Uint8Array {
  if (!B64.test(text) || text.length % 4 === 1) fail("key is not base64", value);
  const padded = text.padEnd(Math.ceil(text.length / 4) * 4, "=");
  let bin: string;
  try {
    bin = atob(padded);
  } catch {
    fail("key is not base64", value);
  }
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/**
 * Parse an `a=crypto` value (without the `crypto:` prefix), e.g.
 * `1 AES_CM_128_HMAC_SHA1_80 inline:<base64>|2^20|1:4 KDR=0`. Throws SyntaxError, with key
 * material redacted from the message, when it is malformed or a known suite's key has the wrong
 * length.
 */
export function parseCrypto(value: string): SdesCrypto {
  const parts = value.trim().split(/[ \t]+/);
  if (parts.length < 3) fail("needs tag, suite and key parameters", value);
  const [tagText, suite, keyText, ...sessionParams] = parts as [string, string, string, ...string[]];
  if (!/^\d{1,9}$/.test(tagText) || Number(tagText) === 0) fail("tag", value);
  if (!/^[A-Za-z0-9_]+$/.test(suite)) fail("suite", value);
  const sizes = isSdesSuite(suite) ? SDES_SUITES[suite] : null;
  const keys: SdesKeyParam[] = [];
  for (const param of keyText.split(";")) {
    if (!/^inline:/i.test(param)) fail("key method must be inline", value);
    const [b64, ...extra] = param.slice(7).split("|");
    if (b64 === undefined || b64 === "" || extra.length > 2) fail("key parameters", value);
    const bytes = decodeBase64(b64, value);
    if (sizes !== null && bytes.length !== sizes.keyLength + sizes.saltLength) {
      bytes.fill(0);
      fail(`${suite} needs ${sizes.keyLength + sizes.saltLength} bytes of key+salt`, value);
    }
    const kp: SdesKeyParam = { key: new SrtpKeySalt(bytes) };
    bytes.fill(0);
    for (const field of extra) {
      const m = MKI.exec(field);
      if (m !== null && kp.mki === undefined) {
        const length = Number(m[2]);
        if (length < 1 || length > 128) fail("MKI length", value);
        kp.mki = { value: m[1]!, length };
      } else if (LIFETIME.test(field) && kp.lifetime === undefined && kp.mki === undefined) {
        if (field.startsWith("2^") && Number(field.slice(2)) > 48) fail("lifetime", value);
        kp.lifetime = field;
      } else {
        fail("lifetime or MKI", value);
      }
    }
    keys.push(kp);
  }
  if (keys.length > 1 && keys.some((k) => k.mki === undefined)) fail("several keys need MKIs", value);
  for (const p of sessionParams) if (!SESSION_PARAM.test(p)) fail("session parameter", value);
  return { tag: Number(tagText), suite, keys, sessionParams };
}

/** Serialize to an `a=crypto` value (without `crypto:`). This output carries the key: SDP only. */
export function serializeCrypto(c: SdesCrypto): string {
  const keys = c.keys.map((k) => {
    let s = `inline:${k.key.exportBase64()}`;
    if (k.lifetime !== undefined) s += `|${k.lifetime}`;
    if (k.mki !== undefined) s += `|${k.mki.value}:${k.mki.length}`;
    return s;
  });
  return [String(c.tag), c.suite, keys.join(";"), ...c.sessionParams].join(" ");
}

/** The attribute for a media description's `attributes`. */
export function cryptoAttribute(c: SdesCrypto): Attribute {
  return { name: "crypto", value: serializeCrypto(c) };
}

/** Every `a=crypto` of a media section: the parsed ones, and the malformed ones' redacted errors. */
export function cryptoOf(attributes: readonly Attribute[]): { crypto: SdesCrypto[]; malformed: string[] } {
  const crypto: SdesCrypto[] = [];
  const malformed: string[] = [];
  for (const a of attributes) {
    if (a.name.toLowerCase() !== "crypto") continue;
    try {
      crypto.push(parseCrypto(a.value ?? ""));
    } catch (err) {
      malformed.push(err instanceof Error ? err.message : String(err));
    }
  }
  return { crypto, malformed };
}

/** Fresh key||salt for `suite` from `crypto.getRandomValues`. */
export function generateKeySalt(suite: SdesSuite): SrtpKeySalt {
  const s = SDES_SUITES[suite];
  const bytes = crypto.getRandomValues(new Uint8Array(s.keyLength + s.saltLength));
  const k = new SrtpKeySalt(bytes);
  bytes.fill(0);
  return k;
}

/** Options for {@linkcode createCryptoOffer} and {@linkcode selectCryptoAnswer}. */
export interface SdesOptions {
  /** Suites we accept, in our order of preference (default {@linkcode DEFAULT_SDES_SUITES}). */
  suites?: readonly SdesSuite[];
}

/** One `a=crypto` per suite, tags 1.., each with its own fresh key. */
export function createCryptoOffer(options: SdesOptions = {}): SdesCrypto[] {
  const suites = options.suites ?? DEFAULT_SDES_SUITES;
  return suites.map((suite, i) => ({
    tag: i + 1,
    suite,
    keys: [{ key: generateKeySalt(suite) }],
    sessionParams: [],
  }));
}

/**
 * Whether the SRTP driver can honour `c`: a suite we implement and allow, one key without MKI,
 * and session parameters limited to KDR=0 and WSH (replay window, 64 or more).
 */
export function isUsableCrypto(c: SdesCrypto, suites: readonly SdesSuite[] = DEFAULT_SDES_SUITES): boolean {
  if (!isSdesSuite(c.suite) || !suites.includes(c.suite)) return false;
  if (c.keys.length !== 1 || c.keys[0]!.mki !== undefined) return false;
  return c.sessionParams.every((p) => p === "KDR=0" || (/^WSH=\d{1,5}$/.test(p) && Number(p.slice(4)) >= 64));
}

/** The replay window a usable crypto line asks for (WSH), or undefined for the default. */
export function replayWindowOf(c: SdesCrypto): number | undefined {
  const p = c.sessionParams.find((s) => s.startsWith("WSH="));
  return p === undefined ? undefined : Number(p.slice(4));
}

/** A negotiated SDES pair: what we send with, and what the peer sends with. */
export interface SdesNegotiated {
  /** The suite both sides use. */
  suite: SdesSuite;
  /** Our key (protects what we send): in our SDP. */
  local: SrtpKeySalt;
  /** The peer's key (unprotects what we receive): from its SDP. */
  remote: SrtpKeySalt;
  /** Replay window the peer asked for, if any. */
  replayWindow?: number;
}

/**
 * Answer an offer's crypto lines: the first offered line (offer order) that we can use gets an
 * answer with the same tag and suite and a fresh key for our direction. Null when none is usable.
 */
export function selectCryptoAnswer(
  offered: readonly SdesCrypto[],
  options: SdesOptions = {},
): { answer: SdesCrypto; negotiated: SdesNegotiated } | null {
  const suites = options.suites ?? DEFAULT_SDES_SUITES;
  for (const c of offered) {
    if (!isUsableCrypto(c, suites)) continue;
    const suite = c.suite as SdesSuite;
    const local = generateKeySalt(suite);
    const answer: SdesCrypto = { tag: c.tag, suite, keys: [{ key: local }], sessionParams: [] };
    const negotiated: SdesNegotiated = { suite, local, remote: c.keys[0]!.key };
    const w = replayWindowOf(c);
    if (w !== undefined) negotiated.replayWindow = w;
    return { answer, negotiated };
  }
  return null;
}

/**
 * Match the answer's crypto lines against our offer: exactly one usable line whose tag and suite
 * are one we offered. Throws RangeError (message without keys) otherwise.
 */
export function acceptCryptoAnswer(
  ourOffer: readonly SdesCrypto[],
  answered: readonly SdesCrypto[],
): SdesNegotiated {
  if (answered.length !== 1) throw new RangeError(`answer has ${answered.length} a=crypto lines, expected 1`);
  const a = answered[0]!;
  const mine = ourOffer.find((o) => o.tag === a.tag);
  if (mine === undefined) throw new RangeError(`answer a=crypto tag ${a.tag} was not offered`);
  if (mine.suite !== a.suite) {
    throw new RangeError(`answer a=crypto tag ${a.tag} changed suite to ${a.suite}`);
  }
  if (!isUsableCrypto(a, [mine.suite as SdesSuite])) {
    throw new RangeError(`answer a=crypto tag ${a.tag} uses parameters we cannot honour`);
  }
  const negotiated: SdesNegotiated = {
    suite: a.suite as SdesSuite,
    local: mine.keys[0]!.key,
    remote: a.keys[0]!.key,
  };
  const w = replayWindowOf(a);
  if (w !== undefined) negotiated.replayWindow = w;
  return negotiated;
}

/** An extension's SRTP policy. */
export type SrtpPolicy = "off" | "offered" | "required";

/** True when `p` is a policy name. */
export function isSrtpPolicy(p: string): p is SrtpPolicy {
  return p === "off" || p === "offered" || p === "required";
}

/** How to build an offer toward an extension. */
export type SdesOfferPlan =
  | { crypto: false; protocol: "RTP/AVP" }
  | { crypto: true; protocol: "RTP/AVP" | "RTP/SAVP" }
  | { crypto: false; error: string };

/**
 * What to offer under `policy`. SDES keys travel in the SDP, so they are offered only over
 * secure signalling (TLS/WSS): `offered` uses RTP/AVP with a=crypto (opportunistic SRTP, RFC
 * 8643) so a phone without SRTP still answers; `required` uses RTP/SAVP, and over plain signalling
 * gives an error instead of a call.
 */
export function planCryptoOffer(policy: SrtpPolicy, options: { secureSignalling: boolean }): SdesOfferPlan {
  if (policy === "off") return { crypto: false, protocol: "RTP/AVP" };
  if (!options.secureSignalling) {
    if (policy === "offered") return { crypto: false, protocol: "RTP/AVP" };
    return {
      crypto: false,
      error: "SRTP required but signalling is not TLS (SDES keys would travel in clear)",
    };
  }
  return { crypto: true, protocol: policy === "required" ? "RTP/SAVP" : "RTP/AVP" };
}

/** The verdict on an incoming media offer. */
export type SdesOfferVerdict =
  | { srtp: true; crypto: SdesCrypto[] }
  | { srtp: false }
  | { srtp: false; status: 488; reason: string };

/**
 * Judge an incoming offer's media section (`protocol`, its `attributes`) under `policy`:
 * `srtp: true` with the parsed lines to answer with {@linkcode selectCryptoAnswer}, plain RTP, or a
 * 488 with a reason phrase (never containing key material).
 */
export function judgeCryptoOffer(
  policy: SrtpPolicy,
  media: { protocol: string; attributes: readonly Attribute[] },
  options: SdesOptions & { secureSignalling: boolean },
): SdesOfferVerdict {
  const savp = /^RTP\/SAVPF?$/i.test(media.protocol);
  const { crypto } = cryptoOf(media.attributes);
  const usable = crypto.filter((c) => isUsableCrypto(c, options.suites ?? DEFAULT_SDES_SUITES));
  if (policy === "off") {
    return savp
      ? { srtp: false, status: 488, reason: "SRTP not enabled for this extension" }
      : { srtp: false };
  }
  if (!options.secureSignalling) {
    if (policy === "required" || savp) {
      return {
        srtp: false,
        status: 488,
        reason: "SRTP needs TLS signalling (SDES keys would travel in clear)",
      };
    }
    return { srtp: false };
  }
  if (usable.length > 0) return { srtp: true, crypto: usable };
  if (policy === "required") {
    return {
      srtp: false,
      status: 488,
      reason: crypto.length === 0
        ? "SRTP required: offer has no a=crypto"
        : "SRTP required: no supported crypto suite",
    };
  }
  return savp ? { srtp: false, status: 488, reason: "no supported crypto suite" } : { srtp: false };
}
