/**
 * Minimal RTCP (RFC 3550 section 6): enough to relay compound packets (identify them, read the
 * sender SSRC) and to send our own sender/receiver reports.
 */
import { readU32, writeU32 } from "./rtp.ts";

/** RTCP packet types we name. */
export const RtcpType = { SR: 200, RR: 201, SDES: 202, BYE: 203, APP: 204 } as const;

/** One RTCP packet inside a (possibly compound) datagram. */
export interface RtcpPacket {
  packetType: number;
  /** Reception report count / subtype (the 5-bit field). */
  count: number;
  /** SSRC of the sender of this packet (first word after the header). */
  ssrc: number;
  /** Byte offset and length of this packet within the datagram. */
  offset: number;
  length: number;
}

/**
 * Parse a compound RTCP datagram into its packets. Returns null when the datagram is not valid
 * RTCP (version != 2, length words running past the end, first packet not SR/RR per RFC 3550 6.1
 * is tolerated because RFC 5506 allows reduced-size RTCP).
 */
export function parseRtcp(buf: Uint8Array): RtcpPacket[] | null {
  const out: RtcpPacket[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < 8) return null;
    const b0 = buf[off]!;
    if (b0 >> 6 !== 2) return null;
    const pt = buf[off + 1]!;
    if (pt < 192 || pt > 223) return null;
    const len = (((buf[off + 2]! << 8) | buf[off + 3]!) + 1) * 4;
    if (off + len > buf.length) return null;
    out.push({ packetType: pt, count: b0 & 0x1f, ssrc: readU32(buf, off + 4), offset: off, length: len });
    off += len;
  }
  return out.length > 0 ? out : null;
}

/** True when the second byte looks like an RTCP packet type (RFC 5761 demultiplexing). */
export function looksLikeRtcp(buf: Uint8Array): boolean {
  return buf.length >= 8 && buf[0]! >> 6 === 2 && buf[1]! >= 192 && buf[1]! <= 223;
}

/** One reception report block. */
export interface ReportBlock {
  ssrc: number;
  /** Fraction lost since last report, 0..255 (fixed point /256). */
  fractionLost: number;
  /** Cumulative packets lost (24-bit signed). */
  cumulativeLost: number;
  /** Extended highest sequence number received. */
  highestSeq: number;
  /** Interarrival jitter in timestamp units. */
  jitter: number;
  /** Middle 32 bits of the last SR's NTP timestamp. */
  lsr: number;
  /** Delay since last SR in 1/65536 s. */
  dlsr: number;
}

/** Fields of a sender report. */
export interface SenderReport {
  ssrc: number;
  /** Wall clock (Unix epoch ms) the report describes; converted to NTP. */
  wallMs: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  reports?: readonly ReportBlock[];
}

const NTP_EPOCH_OFFSET_S = 2208988800;

/** Convert Unix epoch milliseconds to the 64-bit NTP timestamp as [seconds, fraction]. */
export function toNtp(wallMs: number): [number, number] {
  const s = Math.floor(wallMs / 1000);
  const frac = Math.floor(((wallMs - s * 1000) / 1000) * 0x100000000);
  return [(s + NTP_EPOCH_OFFSET_S) >>> 0, frac >>> 0];
}

function writeBlocks(out: Uint8Array, off: number, blocks: readonly ReportBlock[]): void {
  for (const r of blocks) {
    writeU32(out, off, r.ssrc);
    const lost = Math.max(-0x800000, Math.min(0x7fffff, r.cumulativeLost)) & 0xffffff;
    writeU32(out, off + 4, ((r.fractionLost & 0xff) << 24 | lost) >>> 0);
    writeU32(out, off + 8, r.highestSeq);
    writeU32(out, off + 12, r.jitter);
    writeU32(out, off + 16, r.lsr);
    writeU32(out, off + 20, r.dlsr);
    off += 24;
  }
}

/** Build an RTCP sender report (PT 200). */
export function buildRtcpSr(sr: SenderReport): Uint8Array {
  const blocks = sr.reports ?? [];
  if (blocks.length > 31) throw new RangeError(`too many report blocks: ${blocks.length}`);
  const len = 28 + blocks.length * 24;
  const out = new Uint8Array(len);
  out[0] = 0x80 | blocks.length;
  out[1] = RtcpType.SR;
  out[2] = ((len / 4 - 1) >> 8) & 0xff;
  out[3] = (len / 4 - 1) & 0xff;
  writeU32(out, 4, sr.ssrc);
  const [sec, frac] = toNtp(sr.wallMs);
  writeU32(out, 8, sec);
  writeU32(out, 12, frac);
  writeU32(out, 16, sr.rtpTimestamp);
  writeU32(out, 20, sr.packetCount);
  writeU32(out, 24, sr.octetCount);
  writeBlocks(out, 28, blocks);
  return out;
}

/** Build an RTCP receiver report (PT 201). */
export function buildRtcpRr(rr: { ssrc: number; reports?: readonly ReportBlock[] }): Uint8Array {
  const blocks = rr.reports ?? [];
  if (blocks.length > 31) throw new RangeError(`too many report blocks: ${blocks.length}`);
  const len = 8 + blocks.length * 24;
  const out = new Uint8Array(len);
  out[0] = 0x80 | blocks.length;
  out[1] = RtcpType.RR;
  out[2] = ((len / 4 - 1) >> 8) & 0xff;
  out[3] = (len / 4 - 1) & 0xff;
  writeU32(out, 4, rr.ssrc);
  writeBlocks(out, 8, blocks);
  return out;
}

/** Read the report blocks of an SR or RR packet found by parseRtcp. */
export function readReportBlocks(buf: Uint8Array, pkt: RtcpPacket): ReportBlock[] {
  const start = pkt.offset + (pkt.packetType === RtcpType.SR ? 28 : 8);
  const out: ReportBlock[] = [];
  for (let i = 0; i < pkt.count; i++) {
    const o = start + i * 24;
    if (o + 24 > pkt.offset + pkt.length) break;
    const w = readU32(buf, o + 4);
    let lost = w & 0xffffff;
    if (lost & 0x800000) lost -= 0x1000000;
    out.push({
      ssrc: readU32(buf, o),
      fractionLost: w >>> 24,
      cumulativeLost: lost,
      highestSeq: readU32(buf, o + 8),
      jitter: readU32(buf, o + 12),
      lsr: readU32(buf, o + 16),
      dlsr: readU32(buf, o + 20),
    });
  }
  return out;
}
