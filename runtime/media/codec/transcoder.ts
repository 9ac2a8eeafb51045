/**
 * Payloads of codec A in, payloads of codec B out: decode -> resample -> re-packetize -> encode.
 * Frame sizes may differ (20 ms Opus in, 30 ms G.729 out): PCM waits in a FIFO until a whole
 * output packet is there.
 *
 * @module
 */
import { type AudioCodec, frameSamples } from "./types.ts";
import { Resampler, type ResamplerOptions } from "./resampler.ts";

/** Receives each output packet; `payload` is a view into scratch memory valid during the call. */
export type PacketSink = (payload: Uint8Array, rtpTicks: number) => void;

const MAX_PAYLOAD = 1500;
// Longest packet we accept on input: 120 ms (an Opus maximum) at 48 kHz.
const MAX_DECODED = 5760;

/**
 * One direction of a transcoded call. It does not own the codecs (the caller closes them);
 * it owns its resampler and buffers.
 */
export class Transcoder {
  /** Source codec. */
  readonly from: AudioCodec;
  /** Target codec. */
  readonly to: AudioCodec;
  readonly #resampler: Resampler;
  readonly #decoded = new Int16Array(MAX_DECODED);
  readonly #resampled: Int16Array;
  readonly #fifo: Int16Array;
  #fifoLen = 0;
  readonly #outFrame: number;
  readonly #ticks: number;
  readonly #payload = new Uint8Array(MAX_PAYLOAD);

  /** Build the pipeline from `from` to `to`. */
  constructor(from: AudioCodec, to: AudioCodec, options: ResamplerOptions = {}) {
    this.from = from;
    this.to = to;
    this.#resampler = new Resampler(from.sampleRate, to.sampleRate, options);
    this.#resampled = new Int16Array(this.#resampler.maxOutput(MAX_DECODED));
    this.#outFrame = frameSamples(to);
    this.#fifo = new Int16Array(this.#outFrame + this.#resampled.length);
    this.#ticks = Math.round(this.#outFrame * to.rtpClockRate / to.sampleRate);
  }

  /**
   * Feed one source payload; `emit` runs once per finished target packet (payload length 0 means
   * DTX silence: advance the timestamp by `rtpTicks`, send nothing). Returns packets emitted.
   * Throws RangeError on a payload the source codec rejects (the pipeline stays usable).
   */
  push(payload: Uint8Array, emit: PacketSink): number {
    const n = this.from.decode(payload, this.#decoded);
    return this.#feed(n, emit);
  }

  /** The source packet was lost: conceal it (or insert silence) and carry on. */
  lost(emit: PacketSink): number {
    let n: number;
    if (this.from.conceal) n = this.from.conceal(this.#decoded);
    else {
      n = frameSamples(this.from);
      this.#decoded.fill(0, 0, n);
    }
    return this.#feed(n, emit);
  }

  #feed(decoded: number, emit: PacketSink): number {
    const m = this.#resampler.process(this.#decoded.subarray(0, decoded), this.#resampled);
    this.#fifo.set(this.#resampled.subarray(0, m), this.#fifoLen);
    this.#fifoLen += m;
    let packets = 0;
    let read = 0;
    while (this.#fifoLen - read >= this.#outFrame) {
      const bytes = this.to.encode(this.#fifo.subarray(read, read + this.#outFrame), this.#payload);
      read += this.#outFrame;
      packets++;
      emit(this.#payload.subarray(0, bytes), this.#ticks);
    }
    if (read > 0) {
      this.#fifo.copyWithin(0, read, this.#fifoLen);
      this.#fifoLen -= read;
    }
    return packets;
  }

  /** Samples waiting for a full target packet. */
  get buffered(): number {
    return this.#fifoLen;
  }

  /** Free the resampler (not the codecs). */
  close(): void {
    this.#resampler.close();
  }
}
