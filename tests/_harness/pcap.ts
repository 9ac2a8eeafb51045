/**
 * Reading the RTP in a pcap file (sipp's `play_pcap_audio` files, e.g. /usr/share/sip-tester/g711a.pcap):
 * the payloads of one payload type in capture order, and G.711 decoded to PCM, as the reference a
 * test correlates what the box recorded against.
 */
import { decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw } from "../../runtime/media/g711/mod.ts";

/** One RTP packet from a pcap. */
export interface PcapRtp {
  payloadType: number;
  seq: number;
  timestamp: number;
  payload: Uint8Array;
}

/** The RTP packets (Ethernet or Linux cooked, IPv4, UDP) in a classic pcap file. */
export function readPcapRtp(bytes: Uint8Array): PcapRtp[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = v.getUint32(0, true);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && v.getUint32(0, false) !== 0xa1b2c3d4 && v.getUint32(0, false) !== 0xa1b23c4d) {
    throw new SyntaxError("not a pcap file");
  }
  const link = v.getUint32(20, le);
  const linkLen = link === 1 ? 14 : link === 113 ? 16 : link === 0 ? 4 : -1;
  if (linkLen < 0) throw new RangeError(`unsupported pcap link type ${link}`);
  const out: PcapRtp[] = [];
  for (let off = 24; off + 16 <= bytes.length;) {
    const incl = v.getUint32(off + 8, le);
    const p = off + 16;
    off = p + incl;
    const ip = p + linkLen;
    if ((bytes[ip]! >> 4) !== 4 || bytes[ip + 9] !== 17) continue; // IPv4 UDP only
    const udp = ip + (bytes[ip]! & 0x0f) * 4;
    const rtp = udp + 8;
    const end = Math.min(off, udp + v.getUint16(udp + 4, false));
    if (rtp + 12 > end || bytes[rtp]! >> 6 !== 2) continue;
    const cc = bytes[rtp]! & 0x0f;
    out.push({
      payloadType: bytes[rtp + 1]! & 0x7f,
      seq: v.getUint16(rtp + 2, false),
      timestamp: v.getUint32(rtp + 4, false),
      payload: bytes.slice(rtp + 12 + cc * 4, end),
    });
  }
  return out;
}

/** The G.711 audio (PT 0 PCMU or 8 PCMA) of a pcap file, decoded to 8 kHz PCM. */
export async function pcapG711(path: string): Promise<Int16Array> {
  const packets = readPcapRtp(await Deno.readFile(path)).filter((p) =>
    p.payloadType === 0 || p.payloadType === 8
  );
  const total = packets.reduce((n, p) => n + p.payload.length, 0);
  const pcm = new Int16Array(total);
  let at = 0;
  for (const p of packets) {
    const frame = new Int16Array(p.payload.length);
    (p.payloadType === 8 ? decodeAlaw : decodeUlaw)(p.payload, frame);
    pcm.set(frame, at);
    at += frame.length;
  }
  return pcm;
}

/**
 * A classic pcap (Ethernet, IPv4, UDP 127.0.0.1:4000 -> :4001) of G.711 RTP, 20 ms per packet,
 * timestamps 20 ms apart: what sipp's `play_pcap_audio` replays (it paces by capture time).
 */
export function writePcapG711(pcm: Int16Array, payloadType: 0 | 8): Uint8Array {
  const frames = Math.ceil(pcm.length / 160);
  const rec = 16 + 14 + 20 + 8 + 12 + 160;
  const out = new Uint8Array(24 + frames * rec);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, 65535, true);
  v.setUint32(20, 1, true); // Ethernet
  const frame = new Int16Array(160);
  const bytes = new Uint8Array(160);
  for (let i = 0; i < frames; i++) {
    const at = 24 + i * rec;
    const usec = i * 20_000;
    v.setUint32(at, Math.floor(usec / 1e6), true);
    v.setUint32(at + 4, usec % 1e6, true);
    v.setUint32(at + 8, rec - 16, true);
    v.setUint32(at + 12, rec - 16, true);
    const eth = at + 16;
    v.setUint16(eth + 12, 0x0800, false);
    const ip = eth + 14;
    out[ip] = 0x45;
    v.setUint16(ip + 2, 20 + 8 + 12 + 160, false);
    out[ip + 8] = 64;
    out[ip + 9] = 17;
    out.set([127, 0, 0, 1], ip + 12);
    out.set([127, 0, 0, 1], ip + 16);
    const udp = ip + 20;
    v.setUint16(udp, 4000, false);
    v.setUint16(udp + 2, 4001, false);
    v.setUint16(udp + 4, 8 + 12 + 160, false);
    const rtp = udp + 8;
    out[rtp] = 0x80;
    out[rtp + 1] = payloadType;
    v.setUint16(rtp + 2, i & 0xffff, false);
    v.setUint32(rtp + 4, i * 160, false);
    v.setUint32(rtp + 8, 0x5eed1234, false);
    frame.fill(0);
    frame.set(pcm.subarray(i * 160, i * 160 + 160));
    (payloadType === 8 ? encodeAlaw : encodeUlaw)(frame, bytes);
    out.set(bytes, rtp + 12);
  }
  return out;
}

const DTMF_FREQS: Record<string, [number, number]> = {
  "1": [697, 1209],
  "2": [697, 1336],
  "3": [697, 1477],
  "4": [770, 1209],
  "5": [770, 1336],
  "6": [770, 1477],
  "7": [852, 1209],
  "8": [852, 1336],
  "9": [852, 1477],
  "*": [941, 1209],
  "0": [941, 1336],
  "#": [941, 1477],
};

/** In-band DTMF at 8 kHz: each digit `toneMs` of its two tones (-10 dBm0 each), then `gapMs` of silence. */
export function dtmfTones(digits: string, toneMs = 120, gapMs = 120): Int16Array {
  const tone = toneMs * 8, gap = gapMs * 8;
  const pcm = new Int16Array(digits.length * (tone + gap) + gap);
  let at = gap;
  for (const d of digits) {
    const f = DTMF_FREQS[d];
    if (f === undefined) throw new RangeError(`no DTMF tone for ${JSON.stringify(d)}`);
    for (let n = 0; n < tone; n++) {
      const t = n / 8000;
      pcm[at + n] = Math.round(5000 * (Math.sin(2 * Math.PI * f[0] * t) + Math.sin(2 * Math.PI * f[1] * t)));
    }
    at += tone + gap;
  }
  return pcm;
}
