/**
 * Multicast paging to desk phones: plain RTP (G.711, 20 ms packets) and the Polycom PTT/group
 * paging format (Polycom engineering advisory 70568 "UC Software PTT/Group Paging Audio Packet
 * Format"): a 20-byte header (op code, channel, host serial, caller-id length, 13-byte caller id);
 * Alert (0x0F) packets announce the page, Transmit (0x10) packets add codec, flags, a sample count
 * and the audio (the previous frame repeated for redundancy, then the current one), and End of
 * Transmit (0xFF) packets close it. Alert and End go out 31 and 12 times, 30 ms apart.
 *
 * Sending is paced on the injected clock, one 20 ms frame per tick, so a burst of queued audio
 * (pre-tone, a WAV bell) never floods the phones' jitter buffers.
 *
 * @module
 */
import type { Clock, TimerId } from "../../clock/mod.ts";
import { encodeAlaw, encodeUlaw } from "../../media/g711/mod.ts";
import { writeRtpHeader } from "../../media/rtp/mod.ts";
import type { PagingMulticast } from "../../storage/mod.ts";
import type { DatagramSender } from "./types.ts";

/** Polycom op codes. */
export const POLYCOM_OP = { alert: 0x0f, transmit: 0x10, end: 0xff } as const;
/** Polycom codec byte values. */
export const POLYCOM_CODEC = { PCMU: 0x00, PCMA: 0x08, G722: 0x09 } as const;

const FRAME = 160; // 20 ms at 8 kHz
const POLYCOM_HEADER = 20;

/** Build the 20-byte Polycom header into `out`. Caller id is ASCII, cut or NUL-padded to 13 bytes. */
export function writePolycomHeader(
  out: Uint8Array,
  fields: { op: number; channel: number; hostSerial: number; callerId: string },
): void {
  if (out.length < POLYCOM_HEADER) {
    throw new RangeError(`buffer of ${out.length} bytes too small for the header`);
  }
  out[0] = fields.op;
  out[1] = fields.channel;
  new DataView(out.buffer, out.byteOffset).setUint32(2, fields.hostSerial >>> 0);
  out[6] = 13;
  out.fill(0, 7, 20);
  const id = fields.callerId.replace(/[^\x20-\x7e]/g, "?").slice(0, 13);
  for (let i = 0; i < id.length; i++) out[7 + i] = id.charCodeAt(i);
}

/** A parsed Polycom paging packet (for tests and diagnostics). */
export interface PolycomPacket {
  op: number;
  channel: number;
  hostSerial: number;
  callerId: string;
  codec?: number;
  flags?: number;
  sampleCount?: number;
  audio?: Uint8Array;
}

/** Parse a Polycom paging packet; SyntaxError when it is too short. */
export function parsePolycomPacket(p: Uint8Array): PolycomPacket {
  if (p.length < POLYCOM_HEADER) {
    throw new SyntaxError(`Polycom packet of ${p.length} bytes is shorter than 20`);
  }
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const len = Math.min(13, p[6]!);
  let callerId = "";
  for (let i = 0; i < len && p[7 + i] !== 0; i++) callerId += String.fromCharCode(p[7 + i]!);
  const out: PolycomPacket = { op: p[0]!, channel: p[1]!, hostSerial: dv.getUint32(2), callerId };
  if (p[0] === POLYCOM_OP.transmit) {
    if (p.length < POLYCOM_HEADER + 6) throw new SyntaxError("Polycom transmit packet without codec header");
    out.codec = p[20]!;
    out.flags = p[21]!;
    out.sampleCount = dv.getUint32(22);
    out.audio = p.subarray(26);
  }
  return out;
}

/** Options of a {@linkcode MulticastStream}. */
export interface MulticastStreamOptions {
  clock: Clock;
  sender: DatagramSender;
  /** Shown on Polycom phones (13 characters). */
  callerId: string;
  /** Polycom host serial (identifies this sender). */
  hostSerial: number;
  /** Polycom alert/end repetitions (default 31/12). */
  alertCount?: number;
  endCount?: number;
}

/** One outgoing paging stream to a multicast group, fed with 8 kHz mono PCM. */
export class MulticastStream {
  readonly #cfg: PagingMulticast;
  readonly #o: MulticastStreamOptions;
  readonly #queue: Uint8Array[] = [];
  #pending = new Int16Array(FRAME);
  #pendingLen = 0;
  #timer: TimerId | undefined;
  #seq = Math.floor(Math.random() * 65536);
  #ts = Math.floor(Math.random() * 0xffffffff) >>> 0;
  readonly #ssrc = Math.floor(Math.random() * 0xffffffff) >>> 0;
  #sampleCount = 0;
  #prev: Uint8Array | null = null;
  #alertsLeft: number;
  #finishing = false;
  #stopped = false;
  #first = true;
  #done: (() => void) | null = null;
  /** Packets sent. */
  sent = 0;

  /** Start the stream (Polycom: the alert packets start at once). */
  constructor(cfg: PagingMulticast, options: MulticastStreamOptions) {
    this.#cfg = cfg;
    this.#o = options;
    this.#alertsLeft = cfg.format === "polycom" ? options.alertCount ?? 31 : 0;
    this.#kick();
  }

  /** Queue 8 kHz mono PCM. */
  push(pcm8k: Int16Array): void {
    if (this.#finishing || this.#stopped) return;
    let i = 0;
    while (i < pcm8k.length) {
      const n = Math.min(FRAME - this.#pendingLen, pcm8k.length - i);
      this.#pending.set(pcm8k.subarray(i, i + n), this.#pendingLen);
      this.#pendingLen += n;
      i += n;
      if (this.#pendingLen === FRAME) {
        const payload = new Uint8Array(FRAME);
        (this.#cfg.codec === "PCMA" ? encodeAlaw : encodeUlaw)(this.#pending, payload);
        this.#queue.push(payload);
        this.#pendingLen = 0;
      }
    }
    this.#kick();
  }

  /** Send what is queued (padding the last frame), then the Polycom end packets; resolves when done. */
  finish(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#pendingLen > 0) this.push(new Int16Array(FRAME - this.#pendingLen));
    this.#finishing = true;
    return new Promise((resolve) => {
      this.#done = resolve;
      this.#kick();
    });
  }

  /** Stop at once (pre-emption), sending the Polycom end packets without pacing. */
  stop(): void {
    if (this.#stopped) return;
    this.#queue.length = 0;
    if (this.#cfg.format === "polycom") this.#send(this.#polycom(POLYCOM_OP.end, null));
    this.#end();
  }

  #end(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const d = this.#done;
    this.#done = null;
    d?.();
  }

  #kick(): void {
    if (this.#timer === undefined && !this.#stopped) this.#tick();
  }

  #tick(): void {
    this.#timer = undefined;
    let interval = 20;
    if (this.#alertsLeft > 0) {
      this.#send(this.#polycom(POLYCOM_OP.alert, null));
      this.#alertsLeft--;
      interval = 30;
    } else if (this.#queue.length > 0) {
      const payload = this.#queue.shift()!;
      this.#send(
        this.#cfg.format === "polycom" ? this.#polycom(POLYCOM_OP.transmit, payload) : this.#rtp(payload),
      );
    } else if (this.#finishing) {
      if (this.#cfg.format === "polycom") {
        let endsLeft = this.#o.endCount ?? 12;
        const sendEnd = () => {
          this.#timer = undefined;
          if (this.#stopped) return;
          this.#send(this.#polycom(POLYCOM_OP.end, null));
          if (--endsLeft > 0) this.#timer = this.#o.clock.setTimeout(sendEnd, 30);
          else this.#end();
        };
        sendEnd();
      } else this.#end();
      return;
    } else {
      return; // idle until more audio arrives
    }
    this.#timer = this.#o.clock.setTimeout(() => this.#tick(), interval);
  }

  #rtp(payload: Uint8Array): Uint8Array {
    const out = new Uint8Array(12 + payload.length);
    writeRtpHeader(out, {
      payloadType: this.#cfg.codec === "PCMA" ? 8 : 0,
      marker: this.#first,
      sequence: this.#seq,
      timestamp: this.#ts,
      ssrc: this.#ssrc,
    });
    this.#first = false;
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#ts = (this.#ts + FRAME) >>> 0;
    out.set(payload, 12);
    return out;
  }

  #polycom(op: number, payload: Uint8Array | null): Uint8Array {
    const redundant = payload !== null && this.#prev !== null ? this.#prev : null;
    const audioLen = payload === null ? 0 : payload.length + (redundant?.length ?? 0);
    const out = new Uint8Array(POLYCOM_HEADER + (payload === null ? 0 : 6 + audioLen));
    writePolycomHeader(out, {
      op,
      channel: this.#cfg.channel ?? 1,
      hostSerial: this.#o.hostSerial,
      callerId: this.#o.callerId,
    });
    if (payload !== null) {
      out[20] = this.#cfg.codec === "PCMA" ? POLYCOM_CODEC.PCMA : POLYCOM_CODEC.PCMU;
      out[21] = 0;
      new DataView(out.buffer).setUint32(22, this.#sampleCount >>> 0);
      let off = 26;
      if (redundant !== null) {
        out.set(redundant, off);
        off += redundant.length;
      }
      out.set(payload, off);
      this.#sampleCount += FRAME;
      this.#prev = payload;
    }
    return out;
  }

  #send(p: Uint8Array): void {
    try {
      this.#o.sender.send(p, this.#cfg.address, this.#cfg.port, {
        ttl: this.#cfg.ttl,
        ...(this.#cfg.interface === undefined ? {} : { interface: this.#cfg.interface }),
      });
      this.sent++;
    } catch {
      // a send error (no route) must not stop the speakers; the page goes on
    }
  }
}

/** A DatagramSender over node:dgram (one IPv4 socket, TTL and interface set per send as needed). */
export async function createUdpSender(): Promise<DatagramSender> {
  const dgram = await import("node:dgram");
  const sock = dgram.createSocket({ type: "udp4" });
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(0, () => {
      sock.off("error", reject);
      resolve();
    });
  });
  sock.on("error", () => {});
  let ttl = -1;
  let iface: string | undefined;
  return {
    send(packet, address, port, options) {
      if (options.ttl !== ttl) {
        ttl = options.ttl;
        try {
          sock.setMulticastTTL(ttl);
          sock.setMulticastLoopback(true);
        } catch {
          // unicast test targets do not need it
        }
      }
      if (options.interface !== undefined && options.interface !== iface) {
        iface = options.interface;
        try {
          sock.setMulticastInterface(iface);
        } catch {
          // not a multicast-capable interface: the system default applies
        }
      }
      sock.send(packet, port, address);
    },
    close() {
      try {
        sock.close();
      } catch {
        // already closed
      }
    },
  };
}
