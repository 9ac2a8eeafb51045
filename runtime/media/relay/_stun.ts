/**
 * The STUN part of ICE-lite (RFC 8445 section 2.5, RFC 5389): a media leg answers the peer's
 * Binding requests checked with the short-term credential (USERNAME "ours:theirs",
 * MESSAGE-INTEGRITY keyed with our ice-pwd, FINGERPRINT). A lite agent never sends checks; each
 * valid request also renews consent (RFC 7675). Pure functions over bytes.
 */
import { createHmac } from "node:crypto";

const MAGIC = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const ATTR_USERNAME = 0x0006;
const ATTR_MESSAGE_INTEGRITY = 0x0008;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
const ATTR_FINGERPRINT = 0x8028;
const FINGERPRINT_XOR = 0x5354554e;

/** RFC 7983: the first byte of a STUN message is 0-3. */
export function isStun(msg: Uint8Array): boolean {
  return msg.length >= 20 && msg[0]! < 4 && new DataView(msg.buffer, msg.byteOffset).getUint32(4) === MAGIC;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function hmacSha1(key: string, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha1", key).update(data).digest());
}

/** What a valid Binding request asked for. */
export interface BindingRequest {
  transactionId: Uint8Array;
  /** USE-CANDIDATE present (the controlling agent nominates this pair). */
  useCandidate: boolean;
}

/**
 * Check a Binding request against our credentials: USERNAME must start with `localUfrag:` and
 * MESSAGE-INTEGRITY must verify with `localPwd`. Null for anything else (not a request, bad
 * credentials, malformed).
 */
export function checkBindingRequest(
  msg: Uint8Array,
  localUfrag: string,
  localPwd: string,
): BindingRequest | null {
  if (!isStun(msg)) return null;
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  if (v.getUint16(0) !== BINDING_REQUEST) return null;
  const len = v.getUint16(2);
  if (20 + len > msg.length || len % 4 !== 0) return null;
  let username: string | null = null;
  let integrityAt = -1;
  let useCandidate = false;
  for (let off = 20; off + 4 <= 20 + len;) {
    const type = v.getUint16(off);
    const alen = v.getUint16(off + 2);
    const body = off + 4;
    if (body + alen > 20 + len) return null;
    if (type === ATTR_USERNAME) username = new TextDecoder().decode(msg.subarray(body, body + alen));
    else if (type === 0x0025) useCandidate = true;
    else if (type === ATTR_MESSAGE_INTEGRITY) {
      if (alen !== 20) return null;
      integrityAt = off;
      break; // only FINGERPRINT may follow
    }
    off = body + ((alen + 3) & ~3);
  }
  if (username === null || integrityAt < 0 || !username.startsWith(`${localUfrag}:`)) return null;
  // The HMAC covers the message up to MESSAGE-INTEGRITY with the length field ending at it.
  const covered = msg.slice(0, integrityAt);
  new DataView(covered.buffer).setUint16(2, integrityAt + 24 - 20);
  const want = hmacSha1(localPwd, covered);
  const got = msg.subarray(integrityAt + 4, integrityAt + 24);
  let diff = 0;
  for (let i = 0; i < 20; i++) diff |= want[i]! ^ got[i]!;
  if (diff !== 0) return null;
  return { transactionId: msg.slice(8, 20), useCandidate };
}

/** A Binding success response with XOR-MAPPED-ADDRESS (IPv4), MESSAGE-INTEGRITY and FINGERPRINT. */
export function bindingSuccess(
  transactionId: Uint8Array,
  mapped: { address: string; port: number },
  localPwd: string,
): Uint8Array {
  const parts = mapped.address.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new RangeError(`STUN: only IPv4 mapped addresses, got ${mapped.address}`);
  }
  const out = new Uint8Array(20 + 12 + 24 + 8);
  const v = new DataView(out.buffer);
  v.setUint16(0, BINDING_SUCCESS);
  v.setUint32(4, MAGIC);
  out.set(transactionId, 8);
  // XOR-MAPPED-ADDRESS
  v.setUint16(20, ATTR_XOR_MAPPED_ADDRESS);
  v.setUint16(22, 8);
  v.setUint8(25, 0x01);
  v.setUint16(26, mapped.port ^ (MAGIC >>> 16));
  const ip = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  v.setUint32(28, (ip ^ MAGIC) >>> 0);
  // MESSAGE-INTEGRITY over the header (length up to and including it) and XOR-MAPPED-ADDRESS.
  v.setUint16(2, 12 + 24);
  v.setUint16(32, ATTR_MESSAGE_INTEGRITY);
  v.setUint16(34, 20);
  out.set(hmacSha1(localPwd, out.subarray(0, 32)), 36);
  // FINGERPRINT over everything before it, length including it.
  v.setUint16(2, 12 + 24 + 8);
  v.setUint16(56, ATTR_FINGERPRINT);
  v.setUint16(58, 4);
  v.setUint32(60, (crc32(out.subarray(0, 56)) ^ FINGERPRINT_XOR) >>> 0);
  return out;
}

/** A Binding request as a controlling agent sends it (for tests and interop checks). */
export function bindingRequest(
  username: string,
  password: string,
  options: { transactionId?: Uint8Array; useCandidate?: boolean } = {},
): Uint8Array {
  const user = new TextEncoder().encode(username);
  const userLen = (user.length + 3) & ~3;
  const uc = options.useCandidate ? 4 : 0;
  const out = new Uint8Array(20 + 4 + userLen + uc + 24 + 8);
  const v = new DataView(out.buffer);
  v.setUint16(0, BINDING_REQUEST);
  v.setUint32(4, MAGIC);
  out.set(options.transactionId ?? crypto.getRandomValues(new Uint8Array(12)), 8);
  v.setUint16(20, ATTR_USERNAME);
  v.setUint16(22, user.length);
  out.set(user, 24);
  let off = 24 + userLen;
  if (uc) {
    v.setUint16(off, 0x0025);
    v.setUint16(off + 2, 0);
    off += 4;
  }
  v.setUint16(2, off + 24 - 20);
  v.setUint16(off, ATTR_MESSAGE_INTEGRITY);
  v.setUint16(off + 2, 20);
  out.set(hmacSha1(password, out.subarray(0, off)), off + 4);
  off += 24;
  v.setUint16(2, off + 8 - 20);
  v.setUint16(off, ATTR_FINGERPRINT);
  v.setUint16(off + 2, 4);
  v.setUint32(off + 4, (crc32(out.subarray(0, off)) ^ FINGERPRINT_XOR) >>> 0);
  return out;
}
