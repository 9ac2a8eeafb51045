/**
 * An independent SRTP reference for the driver's interop tests, built on WebCrypto only (AES-CTR,
 * AES-GCM, HMAC-SHA1): RFC 3711 key derivation (kdr 0) and AES-CM/HMAC-SHA1 packets, RFC 7714
 * AEAD_AES_*_GCM packets. Test code only (named `_test.ts` so the import rules exempt it); checked
 * against the RFC 3711 Appendix B vectors in mod_test.ts before it is trusted.
 *
 * @module
 */
import type { SrtpSuite } from "./mod.ts";
import { SRTP_SUITES } from "./mod.ts";

const subtle = crypto.subtle;

/** Bytes WebCrypto accepts. */
export type Bytes = Uint8Array<ArrayBuffer>;

/** AES-CTR keystream-encrypt `data` with a 16-byte counter block. */
export async function aesCtr(key: Bytes, counter: Bytes, data: Bytes): Promise<Bytes> {
  const k = await subtle.importKey("raw", key, "AES-CTR", false, ["encrypt"]);
  return new Uint8Array(await subtle.encrypt({ name: "AES-CTR", counter, length: 64 }, k, data));
}

/**
 * RFC 3711 4.3 AES-CM PRF with key derivation rate 0. A 12-byte (GCM) master salt is used as
 * the first 12 of 14 salt bytes, as libsrtp and RFC 7714 section 11 do.
 */
export async function deriveKey(
  masterKey: Bytes,
  masterSalt: Bytes,
  label: number,
  length: number,
): Promise<Bytes> {
  const iv = new Uint8Array(16);
  iv.set(masterSalt);
  iv[7]! ^= label;
  return await aesCtr(masterKey, iv, new Uint8Array(length));
}

function headerLength(pkt: Bytes): number {
  const cc = pkt[0]! & 0x0f;
  let n = 12 + 4 * cc;
  if (pkt[0]! & 0x10) {
    const words = (pkt[n + 2]! << 8) | pkt[n + 3]!;
    n += 4 + 4 * words;
  }
  return n;
}

interface SessionKeys {
  enc: Bytes;
  auth: Bytes;
  salt: Bytes;
}

async function rtpKeys(suite: SrtpSuite, keySalt: Bytes): Promise<SessionKeys> {
  const info = SRTP_SUITES[suite];
  const mk = keySalt.subarray(0, info.keyLength);
  const ms = keySalt.subarray(info.keyLength);
  return {
    enc: await deriveKey(mk, ms, 0, info.keyLength),
    auth: await deriveKey(mk, ms, 1, 20),
    salt: await deriveKey(mk, ms, 2, info.saltLength),
  };
}

function isGcm(suite: SrtpSuite): boolean {
  return suite.startsWith("AEAD_");
}

function gcmIv(salt: Bytes, ssrc: Bytes, roc: number, seq: Bytes): Bytes {
  const iv = new Uint8Array(12);
  iv.set(ssrc, 2);
  new DataView(iv.buffer).setUint32(6, roc);
  iv.set(seq, 10);
  for (let i = 0; i < 12; i++) iv[i]! ^= salt[i]!;
  return iv;
}

function cmIv(salt: Bytes, ssrc: Bytes, roc: number, seq: Bytes): Bytes {
  const iv = new Uint8Array(16);
  iv.set(salt);
  for (let i = 0; i < 4; i++) iv[4 + i]! ^= ssrc[i]!;
  const idx = new Uint8Array(6);
  new DataView(idx.buffer).setUint32(0, roc);
  idx.set(seq, 4);
  for (let i = 0; i < 6; i++) iv[8 + i]! ^= idx[i]!;
  return iv;
}

async function hmac(key: Bytes, data: Bytes): Promise<Bytes> {
  const k = await subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  return new Uint8Array(await subtle.sign("HMAC", k, data));
}

/** Protect one RTP packet (ROC 0) the RFC way; returns the SRTP packet. */
export async function referenceProtect(
  suite: SrtpSuite,
  keySalt: Bytes,
  rtp: Bytes,
): Promise<Bytes> {
  const keys = await rtpKeys(suite, keySalt);
  const h = headerLength(rtp);
  const header = rtp.subarray(0, h);
  const ssrc = rtp.subarray(8, 12);
  const seq = rtp.subarray(2, 4);
  if (isGcm(suite)) {
    const k = await subtle.importKey("raw", keys.enc, "AES-GCM", false, ["encrypt"]);
    const ct = new Uint8Array(
      await subtle.encrypt(
        { name: "AES-GCM", iv: gcmIv(keys.salt, ssrc, 0, seq), additionalData: header, tagLength: 128 },
        k,
        rtp.subarray(h),
      ),
    );
    const out = new Uint8Array(h + ct.length);
    out.set(header);
    out.set(ct, h);
    return out;
  }
  const ct = await aesCtr(keys.enc, cmIv(keys.salt, ssrc, 0, seq), rtp.subarray(h));
  const tagLen = SRTP_SUITES[suite].rtpOverhead;
  const authed = new Uint8Array(h + ct.length + 4); // ... || ROC (0)
  authed.set(header);
  authed.set(ct, h);
  const tag = (await hmac(keys.auth, authed)).subarray(0, tagLen);
  const out = new Uint8Array(h + ct.length + tagLen);
  out.set(authed.subarray(0, h + ct.length));
  out.set(tag, h + ct.length);
  return out;
}

/** Verify and decrypt one SRTP packet (ROC 0) the RFC way; throws when authentication fails. */
export async function referenceUnprotect(
  suite: SrtpSuite,
  keySalt: Bytes,
  srtp: Bytes,
): Promise<Bytes> {
  const keys = await rtpKeys(suite, keySalt);
  const h = headerLength(srtp);
  const header = srtp.subarray(0, h);
  const ssrc = srtp.subarray(8, 12);
  const seq = srtp.subarray(2, 4);
  if (isGcm(suite)) {
    const k = await subtle.importKey("raw", keys.enc, "AES-GCM", false, ["decrypt"]);
    const pt = new Uint8Array(
      await subtle.decrypt(
        { name: "AES-GCM", iv: gcmIv(keys.salt, ssrc, 0, seq), additionalData: header, tagLength: 128 },
        k,
        srtp.subarray(h),
      ),
    );
    const out = new Uint8Array(h + pt.length);
    out.set(header);
    out.set(pt, h);
    return out;
  }
  const tagLen = SRTP_SUITES[suite].rtpOverhead;
  const body = srtp.subarray(0, srtp.length - tagLen);
  const authed = new Uint8Array(body.length + 4);
  authed.set(body);
  const want = (await hmac(keys.auth, authed)).subarray(0, tagLen);
  const got = srtp.subarray(srtp.length - tagLen);
  if (!want.every((b, i) => b === got[i])) throw new Error("reference: auth tag mismatch");
  const pt = await aesCtr(keys.enc, cmIv(keys.salt, ssrc, 0, seq), body.subarray(h));
  const out = new Uint8Array(body.length);
  out.set(header);
  out.set(pt, h);
  return out;
}
