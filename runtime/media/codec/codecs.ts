/**
 * The concrete codecs: G.711 (TypeScript, always available), Opus, G.722, G.726-32 and G.729
 * (native libraries through drivers/, available only when their library loads).
 *
 * @module
 */
import { decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw } from "../g711/mod.ts";
import * as opusDriver from "../../../drivers/opus/mod.ts";
import * as spandsp from "../../../drivers/spandsp/mod.ts";
import * as bcg729 from "../../../drivers/bcg729/mod.ts";
import { type AudioCodec, type CodecFactory, type CodecOptions, frameSamples, parseFmtp } from "./types.ts";

function checkFrameMs(name: string, frameMs: number, allowed: (ms: number) => boolean): number {
  if (!Number.isFinite(frameMs) || !allowed(frameMs)) {
    throw new RangeError(`${name}: frame of ${frameMs} ms unsupported`);
  }
  return frameMs;
}

const multipleOf = (step: number, max = 200) => (ms: number) => ms > 0 && ms <= max && ms % step === 0;

/**
 * Loss concealment for codecs without a native one: replay the last frame at halving gain, then
 * silence. Crude, but keeps short gaps from clicking.
 */
class RepeatConcealer {
  readonly #last: Int16Array;
  #lastLen = 0;
  #losses = 0;

  constructor(maxSamples: number) {
    this.#last = new Int16Array(maxSamples);
  }

  remember(pcm: Int16Array): void {
    const n = Math.min(pcm.length, this.#last.length);
    this.#last.set(pcm.subarray(0, n));
    this.#lastLen = n;
    this.#losses = 0;
  }

  fill(out: Int16Array, samples: number): number {
    if (out.length < samples) {
      throw new RangeError(`conceal buffer of ${out.length} samples, need ${samples}`);
    }
    this.#losses++;
    const gain = this.#losses > 3 || this.#lastLen === 0 ? 0 : 0.5 ** this.#losses;
    for (let i = 0; i < samples; i++) out[i] = gain === 0 ? 0 : (this.#last[i % this.#lastLen]! * gain) | 0;
    return samples;
  }
}

function needOut(name: string, out: { length: number }, need: number, unit: string): void {
  if (out.length < need) throw new RangeError(`${name}: output of ${out.length} ${unit}, need ${need}`);
}

/** G.711 codec (PCMU/PCMA); concealment uses spandsp PLC when present, else frame repeat. */
class G711 implements AudioCodec {
  readonly rtpClockRate = 8000;
  readonly sampleRate = 8000;
  readonly channels = 1;
  readonly frameMs: number;
  readonly #enc: (pcm: Int16Array, out: Uint8Array) => number;
  readonly #dec: (bytes: Uint8Array, out: Int16Array) => number;
  #plc: spandsp.Plc | null = null;
  #repeat: RepeatConcealer | null = null;

  constructor(readonly name: "PCMU" | "PCMA", options: CodecOptions) {
    this.frameMs = checkFrameMs(name, options.frameMs ?? 20, multipleOf(10));
    const ulaw = name === "PCMU";
    this.#enc = ulaw ? encodeUlaw : encodeAlaw;
    this.#dec = ulaw ? decodeUlaw : decodeAlaw;
    if (spandsp.available()) this.#plc = new spandsp.Plc();
    else this.#repeat = new RepeatConcealer(frameSamples(this));
  }

  encode(pcm: Int16Array, out: Uint8Array): number {
    needOut(this.name, out, pcm.length, "bytes");
    return this.#enc(pcm, out);
  }

  decode(payload: Uint8Array, out: Int16Array): number {
    needOut(this.name, out, payload.length, "samples");
    const n = this.#dec(payload, out);
    const pcm = out.subarray(0, n);
    if (this.#plc !== null) this.#plc.rx(pcm);
    else this.#repeat?.remember(pcm);
    return n;
  }

  conceal(out: Int16Array): number {
    const n = frameSamples(this);
    if (this.#plc !== null) {
      needOut(this.name, out, n, "samples");
      return this.#plc.fillin(out.subarray(0, n));
    }
    return this.#repeat!.fill(out, n);
  }

  close(): void {
    this.#plc?.close();
  }
}

const OPUS_FRAME_MS = new Set([2.5, 5, 10, 20, 40, 60]);
// Longest Opus packet is 120 ms.
const OPUS_MAX_MS = 120;

/** Opus codec: RTP clock 48000 (RFC 7587) whatever the internal PCM rate. */
export class OpusCodec implements AudioCodec {
  readonly name = "opus";
  readonly rtpClockRate = 48000;
  readonly sampleRate: number;
  readonly channels = 1;
  readonly frameMs: number;
  readonly #enc: opusDriver.OpusEncoder;
  readonly #dec: opusDriver.OpusDecoder;
  readonly #dtx: boolean;

  /** Create encoder and decoder; see {@linkcode CodecOptions} for the Opus knobs. */
  constructor(options: CodecOptions = {}) {
    const fmtp = parseFmtp(options.fmtp);
    this.sampleRate = options.sampleRate ?? 16000;
    this.frameMs = checkFrameMs("opus", options.frameMs ?? 20, (ms) => OPUS_FRAME_MS.has(ms));
    const fec = options.fec ?? fmtp.get("useinbandfec") === "1";
    const maxBitrate = Number(fmtp.get("maxaveragebitrate"));
    const bitrate = options.bitrate ??
      (Number.isInteger(maxBitrate) && maxBitrate > 0 ? maxBitrate : undefined);
    const encOptions: opusDriver.OpusEncoderOptions = {
      sampleRate: this.sampleRate,
      complexity: options.complexity ?? 5,
      inbandFec: fec,
      packetLossPerc: options.packetLossPerc ?? (fec ? 5 : 0),
      dtx: options.dtx ?? fmtp.get("usedtx") === "1",
    };
    this.#dtx = encOptions.dtx === true;
    if (bitrate !== undefined) encOptions.bitrate = bitrate;
    this.#enc = new opusDriver.OpusEncoder(encOptions);
    try {
      this.#dec = new opusDriver.OpusDecoder({ sampleRate: this.sampleRate });
    } catch (err) {
      this.#enc.destroy();
      throw err;
    }
  }

  encode(pcm: Int16Array, out: Uint8Array): number {
    const n = this.#enc.encode(pcm, out);
    // A 1-2 byte packet is DTX silence: RFC 7587 lets us skip sending it.
    return n <= 2 && this.#dtx ? 0 : n;
  }

  decode(payload: Uint8Array, out: Int16Array): number {
    // libopus treats an empty packet as a loss of `out.length` samples: conceal one frame instead.
    if (payload.length === 0) return this.conceal(out);
    const max = Math.round(this.sampleRate * OPUS_MAX_MS / 1000);
    return this.#dec.decode(payload, out.length > max ? out.subarray(0, max) : out);
  }

  /** Rebuild the packet lost just before `nextPayload` from its in-band FEC (`frameMs` samples). */
  decodeFec(nextPayload: Uint8Array, out: Int16Array): number {
    const n = frameSamples(this);
    needOut("opus", out, n, "samples");
    return this.#dec.decode(nextPayload, out.subarray(0, n), true);
  }

  conceal(out: Int16Array): number {
    const n = frameSamples(this);
    needOut("opus", out, n, "samples");
    return this.#dec.decode(null, out.subarray(0, n));
  }

  close(): void {
    this.#enc.destroy();
    this.#dec.destroy();
  }
}

/** G.722 at 64 kbit/s: 16 kHz PCM, RTP clock 8000 (RFC 3551's historical quirk). */
class G722 implements AudioCodec {
  readonly name = "G722";
  readonly rtpClockRate = 8000;
  readonly sampleRate = 16000;
  readonly channels = 1;
  readonly frameMs: number;
  readonly #enc: spandsp.G722Encoder;
  readonly #dec: spandsp.G722Decoder;
  readonly #repeat: RepeatConcealer;

  constructor(options: CodecOptions) {
    this.frameMs = checkFrameMs("G722", options.frameMs ?? 20, multipleOf(10));
    this.#enc = new spandsp.G722Encoder();
    this.#dec = new spandsp.G722Decoder();
    this.#repeat = new RepeatConcealer(frameSamples(this));
  }

  encode(pcm: Int16Array, out: Uint8Array): number {
    if (pcm.length % 2 !== 0) throw new RangeError(`G722: odd PCM length ${pcm.length}`);
    return this.#enc.encode(pcm, out);
  }

  decode(payload: Uint8Array, out: Int16Array): number {
    const n = this.#dec.decode(payload, out);
    this.#repeat.remember(out.subarray(0, n));
    return n;
  }

  conceal(out: Int16Array): number {
    return this.#repeat.fill(out, frameSamples(this));
  }

  close(): void {
    this.#enc.close();
    this.#dec.close();
  }
}

/** G.726 at 32 kbit/s, RFC 3551 packing (first code word in the low nibble). */
class G726 implements AudioCodec {
  readonly name = "G726-32";
  readonly rtpClockRate = 8000;
  readonly sampleRate = 8000;
  readonly channels = 1;
  readonly frameMs: number;
  readonly #enc: spandsp.G726Encoder;
  readonly #dec: spandsp.G726Decoder;
  readonly #plc: spandsp.Plc;

  constructor(options: CodecOptions) {
    this.frameMs = checkFrameMs("G726-32", options.frameMs ?? 20, multipleOf(10));
    this.#enc = new spandsp.G726Encoder({ bitRate: 32000, packing: spandsp.G726Packing.right });
    this.#dec = new spandsp.G726Decoder({ bitRate: 32000, packing: spandsp.G726Packing.right });
    this.#plc = new spandsp.Plc();
  }

  encode(pcm: Int16Array, out: Uint8Array): number {
    if (pcm.length % 2 !== 0) throw new RangeError(`G726-32: odd PCM length ${pcm.length}`);
    return this.#enc.encode(pcm, out);
  }

  decode(payload: Uint8Array, out: Int16Array): number {
    needOut("G726-32", out, payload.length * 2, "samples");
    const n = this.#dec.decode(payload, out);
    this.#plc.rx(out.subarray(0, n));
    return n;
  }

  conceal(out: Int16Array): number {
    const n = frameSamples(this);
    needOut("G726-32", out, n, "samples");
    return this.#plc.fillin(out.subarray(0, n));
  }

  close(): void {
    this.#enc.close();
    this.#dec.close();
    this.#plc.close();
  }
}

const G729_FRAME = bcg729.G729_FRAME_SAMPLES;

/**
 * G.729A with optional Annex B. A packet carries frameMs/10 frames of 10 bytes; with VAD, silent
 * frames become one trailing 2-byte SID or nothing (RFC 3551 section 4.5.6).
 */
class G729 implements AudioCodec {
  readonly name = "G729";
  readonly rtpClockRate = 8000;
  readonly sampleRate = 8000;
  readonly channels = 1;
  readonly frameMs: number;
  readonly #enc: bcg729.G729Encoder;
  readonly #dec: bcg729.G729Decoder;
  readonly #frame = new Uint8Array(bcg729.G729_FRAME_BYTES);

  constructor(options: CodecOptions) {
    this.frameMs = checkFrameMs("G729", options.frameMs ?? 20, multipleOf(10));
    const vad = options.vad ?? parseFmtp(options.fmtp).get("annexb")?.toLowerCase() === "yes";
    this.#enc = new bcg729.G729Encoder({ vad });
    this.#dec = new bcg729.G729Decoder();
  }

  encode(pcm: Int16Array, out: Uint8Array): number {
    if (pcm.length % G729_FRAME !== 0) {
      throw new RangeError(`G729: PCM length ${pcm.length} not a multiple of 80`);
    }
    let bytes = 0;
    for (let off = 0; off < pcm.length; off += G729_FRAME) {
      const len = this.#enc.encodeFrame(pcm.subarray(off, off + G729_FRAME), this.#frame);
      if (len === 0) continue;
      // A SID may only end a packet: one followed by voice is dropped (the decoder keeps its noise).
      if (bytes > 0 && bytes % bcg729.G729_FRAME_BYTES === bcg729.G729_SID_BYTES) {
        bytes -= bcg729.G729_SID_BYTES;
      }
      needOut("G729", out, bytes + len, "bytes");
      out.set(this.#frame.subarray(0, len), bytes);
      bytes += len;
    }
    return bytes;
  }

  decode(payload: Uint8Array, out: Int16Array): number {
    const voice = Math.floor(payload.length / bcg729.G729_FRAME_BYTES);
    const rest = payload.length % bcg729.G729_FRAME_BYTES;
    if (rest !== 0 && rest !== bcg729.G729_SID_BYTES) {
      throw new RangeError(`G729: payload of ${payload.length} bytes is not 10*n or 10*n+2`);
    }
    const frames = voice + (rest === 0 ? 0 : 1);
    needOut("G729", out, frames * G729_FRAME, "samples");
    for (let f = 0; f < frames; f++) {
      const start = f * bcg729.G729_FRAME_BYTES;
      const end = f < voice ? start + bcg729.G729_FRAME_BYTES : start + bcg729.G729_SID_BYTES;
      this.#dec.decodeFrame(payload.subarray(start, end), out.subarray(f * G729_FRAME, (f + 1) * G729_FRAME));
    }
    return frames * G729_FRAME;
  }

  conceal(out: Int16Array): number {
    const n = frameSamples(this);
    needOut("G729", out, n, "samples");
    for (let off = 0; off < n; off += G729_FRAME) this.#dec.concealFrame(out.subarray(off, off + G729_FRAME));
    return n;
  }

  close(): void {
    this.#enc.close();
    this.#dec.close();
  }
}

function factory(
  base: Omit<CodecFactory, "create" | "available">,
  available: () => boolean,
  make: (options: CodecOptions) => AudioCodec,
): CodecFactory {
  return { ...base, available, create: (options = {}) => make(options) };
}

/** PCMU (G.711 mu-law), static payload type 0. */
export const pcmuFactory: CodecFactory = factory(
  { name: "PCMU", rtpClockRate: 8000, sampleRate: 8000, channels: 1, staticPayloadType: 0 },
  () => true,
  (o) => new G711("PCMU", o),
);

/** PCMA (G.711 A-law), static payload type 8. */
export const pcmaFactory: CodecFactory = factory(
  { name: "PCMA", rtpClockRate: 8000, sampleRate: 8000, channels: 1, staticPayloadType: 8 },
  () => true,
  (o) => new G711("PCMA", o),
);

/** Opus defaults for {@linkcode opusFactory}-like factories. */
export function createOpusFactory(defaults: CodecOptions = {}): CodecFactory {
  return factory(
    {
      name: "opus",
      rtpClockRate: 48000,
      sampleRate: defaults.sampleRate ?? 16000,
      channels: 2,
      fmtp: "minptime=10;useinbandfec=1",
    },
    opusDriver.available,
    (o) => new OpusCodec({ ...defaults, ...o }),
  );
}

/** opus/48000/2, dynamic payload type; 16 kHz internal, complexity 5 by default. */
export const opusFactory: CodecFactory = createOpusFactory();

/** G722/8000 (16 kHz audio), static payload type 9. */
export const g722Factory: CodecFactory = factory(
  { name: "G722", rtpClockRate: 8000, sampleRate: 16000, channels: 1, staticPayloadType: 9 },
  spandsp.available,
  (o) => new G722(o),
);

/** G726-32/8000 (RFC 3551 packing), dynamic payload type. */
export const g726Factory: CodecFactory = factory(
  { name: "G726-32", rtpClockRate: 8000, sampleRate: 8000, channels: 1 },
  spandsp.available,
  (o) => new G726(o),
);

/** G729/8000, static payload type 18; offers annexb=no (VAD only when the peer asks). */
export const g729Factory: CodecFactory = factory(
  {
    name: "G729",
    rtpClockRate: 8000,
    sampleRate: 8000,
    channels: 1,
    staticPayloadType: 18,
    fmtp: "annexb=no",
  },
  bcg729.available,
  (o) => new G729(o),
);
