/**
 * Reading the RTP in a pcap file (sipp's `play_pcap_audio` files, e.g. /usr/share/sip-tester/g711a.pcap):
 * the payloads of one payload type in capture order, and G.711 decoded to PCM, as the reference a
 * test correlates what the box recorded against.
 */
import { decodeAlaw, decodeUlaw } from "../../runtime/media/g711/mod.ts";

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
