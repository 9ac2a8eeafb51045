/**
 * RTP (RFC 3550) header parsing and writing. Parsing never copies: it returns where the payload
 * sits inside the caller's buffer, so the relay can forward or rewrite packets in place.
 */

/** A parsed RTP header. `payloadOffset`/`payloadLength` index into the parsed buffer. */
export interface RtpHeader {
  version: 2;
  padding: boolean;
  extension: boolean;
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  /** Header extension profile (RFC 3550 5.3.1), present when `extension` is true. */
  extensionProfile?: number;
  /** Offset and length (bytes) of the extension data words, when present. */
  extensionOffset?: number;
  extensionLength?: number;
  payloadOffset: number;
  payloadLength: number;
  paddingLength: number;
}

/** Fixed RTP header size in bytes. */
export const RTP_HEADER_SIZE = 12;

/**
 * Parse an RTP packet header. Returns null for anything that is not a well-formed version 2 RTP
 * packet (too short, wrong version, CSRC/extension/padding running past the end).
 */
export function parseRtp(buf: Uint8Array): RtpHeader | null {
  if (buf.length < RTP_HEADER_SIZE) return null;
  const b0 = buf[0]!;
  if (b0 >> 6 !== 2) return null;
  const padding = (b0 & 0x20) !== 0;
  const extension = (b0 & 0x10) !== 0;
  const cc = b0 & 0x0f;
  const b1 = buf[1]!;
  let off = RTP_HEADER_SIZE + cc * 4;
  if (off > buf.length) return null;
  const csrcs: number[] = [];
  for (let i = 0; i < cc; i++) csrcs.push(readU32(buf, RTP_HEADER_SIZE + i * 4));
  const header: RtpHeader = {
    version: 2,
    padding,
    extension,
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequence: (buf[2]! << 8) | buf[3]!,
    timestamp: readU32(buf, 4),
    ssrc: readU32(buf, 8),
    csrcs,
    payloadOffset: 0,
    payloadLength: 0,
    paddingLength: 0,
  };
  if (extension) {
    if (off + 4 > buf.length) return null;
    header.extensionProfile = (buf[off]! << 8) | buf[off + 1]!;
    const words = (buf[off + 2]! << 8) | buf[off + 3]!;
    header.extensionOffset = off + 4;
    header.extensionLength = words * 4;
    off += 4 + words * 4;
    if (off > buf.length) return null;
  }
  let end = buf.length;
  if (padding) {
    if (end <= off) return null;
    const pad = buf[end - 1]!;
    if (pad === 0 || off + pad > end) return null;
    header.paddingLength = pad;
    end -= pad;
  }
  header.payloadOffset = off;
  header.payloadLength = end - off;
  return header;
}

/**
 * The header fields a relay reads per packet, filled in place by {@linkcode readRtpHeaderInto} so
 * relaying allocates nothing per packet. An {@linkcode RtpHeader} has the same fields.
 */
export interface RtpHeaderInfo {
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** Offset and length (bytes) of the payload inside the read buffer (padding excluded). */
  payloadOffset: number;
  payloadLength: number;
  paddingLength: number;
}

/** A zeroed {@linkcode RtpHeaderInfo} to reuse with {@linkcode readRtpHeaderInto}. */
export function newRtpHeaderInfo(): RtpHeaderInfo {
  // Doubles from the start: timestamp/SSRC above 2^31 then never change the object's shape.
  return {
    marker: false,
    payloadType: 0,
    sequence: 0,
    timestamp: 0.5,
    ssrc: 0.5,
    payloadOffset: 0,
    payloadLength: 0,
    paddingLength: 0,
  };
}

/**
 * Read an RTP header into `out` without allocating (CSRC values stay in the buffer). Accepts and
 * rejects exactly what {@linkcode parseRtp} does; false means not well-formed RTP, and `out` then
 * holds partial values.
 */
export function readRtpHeaderInto(buf: Uint8Array, out: RtpHeaderInfo): boolean {
  const len = buf.length;
  if (len < RTP_HEADER_SIZE) return false;
  const b0 = buf[0]!;
  if (b0 >> 6 !== 2) return false;
  let off = RTP_HEADER_SIZE + (b0 & 0x0f) * 4;
  if (off > len) return false;
  if ((b0 & 0x10) !== 0) {
    if (off + 4 > len) return false;
    off += 4 + ((buf[off + 2]! << 8) | buf[off + 3]!) * 4;
    if (off > len) return false;
  }
  let end = len;
  let pad = 0;
  if ((b0 & 0x20) !== 0) {
    if (end <= off) return false;
    pad = buf[end - 1]!;
    if (pad === 0 || off + pad > end) return false;
    end -= pad;
  }
  const b1 = buf[1]!;
  out.marker = (b1 & 0x80) !== 0;
  out.payloadType = b1 & 0x7f;
  out.sequence = (buf[2]! << 8) | buf[3]!;
  out.timestamp = readU32(buf, 4);
  out.ssrc = readU32(buf, 8);
  out.payloadOffset = off;
  out.payloadLength = end - off;
  out.paddingLength = pad;
  return true;
}

/** Fields for writeRtpHeader. */
export interface RtpHeaderFields {
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  marker?: boolean;
  csrcs?: readonly number[];
}

/**
 * Write a version 2 RTP header (no extension, no padding) at the start of `out`; returns the
 * header length, i.e. where the payload goes.
 */
export function writeRtpHeader(out: Uint8Array, fields: RtpHeaderFields): number {
  const csrcs = fields.csrcs ?? [];
  if (csrcs.length > 15) throw new RangeError(`too many CSRCs: ${csrcs.length}`);
  if (!Number.isInteger(fields.payloadType) || fields.payloadType < 0 || fields.payloadType > 127) {
    throw new RangeError(`payload type out of range: ${fields.payloadType}`);
  }
  const len = RTP_HEADER_SIZE + csrcs.length * 4;
  if (out.length < len) throw new RangeError(`buffer too small for RTP header: ${out.length} < ${len}`);
  out[0] = 0x80 | csrcs.length;
  out[1] = (fields.marker ? 0x80 : 0) | fields.payloadType;
  out[2] = (fields.sequence >> 8) & 0xff;
  out[3] = fields.sequence & 0xff;
  writeU32(out, 4, fields.timestamp);
  writeU32(out, 8, fields.ssrc);
  for (let i = 0; i < csrcs.length; i++) writeU32(out, RTP_HEADER_SIZE + i * 4, csrcs[i]!);
  return len;
}

/** Rewrite the payload type of an RTP packet in place (keeps the marker bit). */
export function setRtpPayloadType(buf: Uint8Array, payloadType: number): void {
  buf[1] = (buf[1]! & 0x80) | (payloadType & 0x7f);
}

/** Read a big-endian unsigned 32-bit integer. */
export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

/** Write a big-endian unsigned 32-bit integer. */
export function writeU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 24) & 0xff;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

/** One RFC 4733 telephone-event payload. */
export interface TelephoneEvent {
  /** Event code: 0-9, 10 = '*', 11 = '#', 12-15 = A-D, 16 = flash. */
  event: number;
  /** E bit: last packet(s) of this event. */
  end: boolean;
  /** Power level in -dBm0 (0..63). */
  volume: number;
  /** Duration so far, in RTP timestamp units. */
  duration: number;
}

/** Size of one telephone-event payload. */
export const TELEPHONE_EVENT_SIZE = 4;

/** Decode an RFC 4733 payload (the first event block); null when shorter than 4 bytes. */
export function decodeTelephoneEvent(payload: Uint8Array): TelephoneEvent | null {
  if (payload.length < TELEPHONE_EVENT_SIZE) return null;
  const b1 = payload[1]!;
  return {
    event: payload[0]!,
    end: (b1 & 0x80) !== 0,
    volume: b1 & 0x3f,
    duration: (payload[2]! << 8) | payload[3]!,
  };
}

/** Encode an RFC 4733 payload into `out` (4 bytes); returns 4. */
export function encodeTelephoneEvent(ev: TelephoneEvent, out: Uint8Array): number {
  if (out.length < TELEPHONE_EVENT_SIZE) throw new RangeError(`buffer too small: ${out.length}`);
  if (!Number.isInteger(ev.event) || ev.event < 0 || ev.event > 255) {
    throw new RangeError(`telephone-event code out of range: ${ev.event}`);
  }
  if (ev.volume < 0 || ev.volume > 63) {
    throw new RangeError(`telephone-event volume out of range: ${ev.volume}`);
  }
  const duration = Math.min(0xffff, Math.max(0, Math.round(ev.duration)));
  out[0] = ev.event;
  out[1] = (ev.end ? 0x80 : 0) | (ev.volume & 0x3f);
  out[2] = duration >> 8;
  out[3] = duration & 0xff;
  return TELEPHONE_EVENT_SIZE;
}
