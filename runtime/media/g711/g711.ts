/**
 * ITU-T G.711 mu-law (PCMU) and A-law (PCMA), table-driven. The tables are built once from the
 * ITU-T G.191 reference algorithm (one's-complement folding of negative samples), so encoding a
 * 16-bit sample is one table lookup and decoding one byte is another.
 */

/** 16-bit PCM -> mu-law byte, indexed by `sample & 0xffff`. */
const ULAW_ENCODE = new Uint8Array(65536);
/** 16-bit PCM -> A-law byte, indexed by `sample & 0xffff`. */
const ALAW_ENCODE = new Uint8Array(65536);
/** mu-law byte -> 16-bit PCM. */
const ULAW_DECODE = new Int16Array(256);
/** A-law byte -> 16-bit PCM. */
const ALAW_DECODE = new Int16Array(256);

function ulawCompress(x: number): number {
  // G.191 ulaw_compress: magnitude in 14 bits, bias 33, one's complement for negatives.
  let absno = x < 0 ? ((~x) >> 2) + 33 : (x >> 2) + 33;
  if (absno > 0x1fff) absno = 0x1fff;
  let i = absno >> 6;
  let segno = 1;
  while (i !== 0) {
    segno++;
    i >>= 1;
  }
  const high = 0x0008 - segno;
  const low = 0x000f - ((absno >> segno) & 0x000f);
  let out = (high << 4) | low;
  if (x >= 0) out |= 0x0080;
  return out & 0xff;
}

function ulawExpand(y: number): number {
  const sign = y < 0x80 ? -1 : 1;
  const mantissa = ~y;
  const exponent = (mantissa >> 4) & 0x07;
  const segment = exponent + 1;
  const m = mantissa & 0x0f;
  const step = 4 << segment;
  return sign * ((0x80 << exponent) + step * m + step / 2 - 4 * 33);
}

function alawCompress(x: number): number {
  // G.191 alaw_compress: 12-bit magnitude, one's complement for negatives, even bits inverted.
  let ix = x < 0 ? (~x) >> 4 : x >> 4;
  if (ix > 15) {
    let iexp = 1;
    while (ix > 16 + 15) {
      ix >>= 1;
      iexp++;
    }
    ix -= 16;
    ix += iexp << 4;
  }
  if (x >= 0) ix |= 0x0080;
  return (ix ^ 0x0055) & 0xff;
}

function alawExpand(y: number): number {
  const ix = y ^ 0x0055;
  const iexp = (ix & 0x70) >> 4;
  let mant = ix & 0x0f;
  if (iexp > 0) mant += 16;
  mant = (mant << 4) + 0x0008;
  if (iexp > 1) mant <<= iexp - 1;
  return ix > 127 ? mant : -mant;
}

for (let s = -32768; s < 32768; s++) {
  ULAW_ENCODE[s & 0xffff] = ulawCompress(s);
  ALAW_ENCODE[s & 0xffff] = alawCompress(s);
}
for (let b = 0; b < 256; b++) {
  ULAW_DECODE[b] = ulawExpand(b);
  ALAW_DECODE[b] = alawExpand(b);
}

/** Encode one 16-bit sample to a mu-law byte. */
export function linearToUlaw(sample: number): number {
  return ULAW_ENCODE[sample & 0xffff]!;
}

/** Decode one mu-law byte to a 16-bit sample. */
export function ulawToLinear(byte: number): number {
  return ULAW_DECODE[byte & 0xff]!;
}

/** Encode one 16-bit sample to an A-law byte. */
export function linearToAlaw(sample: number): number {
  return ALAW_ENCODE[sample & 0xffff]!;
}

/** Decode one A-law byte to a 16-bit sample. */
export function alawToLinear(byte: number): number {
  return ALAW_DECODE[byte & 0xff]!;
}

/** Encode PCM to mu-law into `out`; returns bytes written (min of both lengths). */
export function encodeUlaw(pcm: Int16Array, out: Uint8Array): number {
  const n = Math.min(pcm.length, out.length);
  for (let i = 0; i < n; i++) out[i] = ULAW_ENCODE[pcm[i]! & 0xffff]!;
  return n;
}

/** Decode mu-law into `out`; returns samples written (min of both lengths). */
export function decodeUlaw(bytes: Uint8Array, out: Int16Array): number {
  const n = Math.min(bytes.length, out.length);
  for (let i = 0; i < n; i++) out[i] = ULAW_DECODE[bytes[i]!]!;
  return n;
}

/** Encode PCM to A-law into `out`; returns bytes written (min of both lengths). */
export function encodeAlaw(pcm: Int16Array, out: Uint8Array): number {
  const n = Math.min(pcm.length, out.length);
  for (let i = 0; i < n; i++) out[i] = ALAW_ENCODE[pcm[i]! & 0xffff]!;
  return n;
}

/** Decode A-law into `out`; returns samples written (min of both lengths). */
export function decodeAlaw(bytes: Uint8Array, out: Int16Array): number {
  const n = Math.min(bytes.length, out.length);
  for (let i = 0; i < n; i++) out[i] = ALAW_DECODE[bytes[i]!]!;
  return n;
}

/** mu-law -> A-law without going through a caller buffer (for PCMU<->PCMA relay transcoding). */
export function ulawToAlaw(bytes: Uint8Array, out: Uint8Array): number {
  const n = Math.min(bytes.length, out.length);
  for (let i = 0; i < n; i++) out[i] = ALAW_ENCODE[ULAW_DECODE[bytes[i]!]! & 0xffff]!;
  return n;
}

/** A-law -> mu-law (see ulawToAlaw). */
export function alawToUlaw(bytes: Uint8Array, out: Uint8Array): number {
  const n = Math.min(bytes.length, out.length);
  for (let i = 0; i < n; i++) out[i] = ULAW_ENCODE[ALAW_DECODE[bytes[i]!]! & 0xffff]!;
  return n;
}

/**
 * The AudioCodec shape shared with runtime/media/codec (declared structurally here so media/g711
 * does not depend on the registry).
 */
export interface G711Codec {
  readonly name: "PCMU" | "PCMA";
  readonly clockRate: 8000;
  readonly sampleRate: 8000;
  readonly channels: 1;
  readonly frameMs: number;
  /** Static RTP payload type (0 for PCMU, 8 for PCMA). */
  readonly payloadType: 0 | 8;
  encode(pcm: Int16Array, out: Uint8Array): number;
  decode(payload: Uint8Array, out: Int16Array): number;
  plc?(out: Int16Array): number;
  close(): void;
}

/** Create a stateless G.711 codec object; `frameMs` defaults to 20. */
export function createG711Codec(name: "PCMU" | "PCMA", options: { frameMs?: number } = {}): G711Codec {
  if (name !== "PCMU" && name !== "PCMA") throw new TypeError(`unknown G.711 variant: ${String(name)}`);
  const ulaw = name === "PCMU";
  return {
    name,
    clockRate: 8000,
    sampleRate: 8000,
    channels: 1,
    frameMs: options.frameMs ?? 20,
    payloadType: ulaw ? 0 : 8,
    encode: ulaw ? encodeUlaw : encodeAlaw,
    decode: ulaw ? decodeUlaw : decodeAlaw,
    close() {},
  };
}
