/**
 * libopus (Debian libopus0, 1.3.1) through FFI: a thin, audited surface. Mono/stereo 16-bit PCM at
 * 8/12/16/24/48 kHz. Hot paths take typed arrays as `"buffer"` parameters; no per-call pointers.
 *
 * @module
 */
import { NativeHandle, NativeLibrary } from "../loader.ts";

/** OPUS_APPLICATION_VOIP (opus_defines.h). */
export const OPUS_APPLICATION_VOIP = 2048;
/** OPUS_APPLICATION_AUDIO. */
export const OPUS_APPLICATION_AUDIO = 2049;

// CTL request numbers from opus_defines.h (1.3.1).
const SET_BITRATE = 4002;
const SET_COMPLEXITY = 4010;
const SET_INBAND_FEC = 4012;
const SET_PACKET_LOSS_PERC = 4014;
const SET_DTX = 4016;
const SET_SIGNAL = 4024;
const GET_LOOKAHEAD = 4027;
const RESET_STATE = 4028;
const SIGNAL_VOICE = 3001;

const SYMBOLS = {
  opus_get_version_string: { parameters: [], result: "pointer" },
  opus_encoder_create: { parameters: ["i32", "i32", "i32", "buffer"], result: "pointer" },
  opus_encoder_destroy: { parameters: ["pointer"], result: "void" },
  opus_encode: { parameters: ["pointer", "buffer", "i32", "buffer", "i32"], result: "i32" },
  // opus_encoder_ctl is variadic; on x86-64/arm64 SysV an int or pointer third argument is passed
  // exactly like a fixed one, so two fixed-arity aliases cover the setters and getters we use.
  opus_encoder_ctl: { parameters: ["pointer", "i32", "i32"], result: "i32" },
  opus_encoder_ctl_get: { name: "opus_encoder_ctl", parameters: ["pointer", "i32", "buffer"], result: "i32" },
  opus_decoder_create: { parameters: ["i32", "i32", "buffer"], result: "pointer" },
  opus_decoder_destroy: { parameters: ["pointer"], result: "void" },
  opus_decode: { parameters: ["pointer", "buffer", "i32", "buffer", "i32", "i32"], result: "i32" },
  opus_decoder_ctl: { parameters: ["pointer", "i32", "i32"], result: "i32" },
  opus_packet_get_nb_samples: { parameters: ["buffer", "i32", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The raw libopus symbols this driver binds. */
export type OpusLib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** The lazily opened library (env override: PBX_LIBOPUS_PATH). Exposed for tests. */
export const library: NativeLibrary<typeof SYMBOLS> = new NativeLibrary({
  label: "Opus",
  soname: "libopus.so.0",
  aptPackage: "libopus0",
  envVar: "PBX_LIBOPUS_PATH",
  symbols: SYMBOLS,
});

/** Open libopus on first use; null (after one log line) when it is missing. */
export function load(): OpusLib | null {
  return library.load();
}

/** True when libopus can be used. */
export function available(): boolean {
  return library.available();
}

/** libopus version string, e.g. "libopus 1.3.1"; null when unavailable. */
export function version(): string | null {
  const lib = load();
  if (lib === null) return null;
  const p = lib.opus_get_version_string();
  return p === null ? null : new Deno.UnsafePointerView(p).getCString();
}

const ERRORS: Record<number, string> = {
  [-1]: "OPUS_BAD_ARG",
  [-2]: "OPUS_BUFFER_TOO_SMALL",
  [-3]: "OPUS_INTERNAL_ERROR",
  [-4]: "OPUS_INVALID_PACKET",
  [-5]: "OPUS_UNIMPLEMENTED",
  [-6]: "OPUS_INVALID_STATE",
  [-7]: "OPUS_ALLOC_FAIL",
};

/** Name of a libopus error code. */
export function errorName(code: number): string {
  return ERRORS[code] ?? `opus error ${code}`;
}

const RATES = new Set([8000, 12000, 16000, 24000, 48000]);

function checkFormat(sampleRate: number, channels: number): void {
  if (!RATES.has(sampleRate)) {
    throw new RangeError(`Opus sample rate ${sampleRate} not one of 8/12/16/24/48 kHz`);
  }
  if (channels !== 1 && channels !== 2) throw new RangeError(`Opus channels ${channels} must be 1 or 2`);
}

/** Encoder settings; defaults suit VoIP. */
export interface OpusEncoderOptions {
  /** Internal PCM rate (8000, 12000, 16000, 24000, 48000). Default 48000. */
  sampleRate?: number;
  /** 1 or 2. Default 1. */
  channels?: number;
  /** OPUS_APPLICATION_VOIP (default) or OPUS_APPLICATION_AUDIO. */
  application?: number;
  /** Target bit rate in bit/s (500..512000); library default when absent. */
  bitrate?: number;
  /** 0..10. */
  complexity?: number;
  /** In-band forward error correction. */
  inbandFec?: boolean;
  /** Expected loss in percent (0..100); drives how much FEC is spent. */
  packetLossPerc?: number;
  /** Discontinuous transmission (tiny packets in silence). */
  dtx?: boolean;
}

/** One libopus encoder state. Call {@linkcode OpusEncoder.destroy} when done. */
export class OpusEncoder {
  /** PCM rate the encoder takes. */
  readonly sampleRate: number;
  /** PCM channels. */
  readonly channels: number;
  readonly #lib: OpusLib;
  readonly #h: NativeHandle;

  /** Create an encoder; throws Error when libopus is missing, RangeError on bad settings. */
  constructor(options: OpusEncoderOptions = {}) {
    const { sampleRate = 48000, channels = 1, application = OPUS_APPLICATION_VOIP } = options;
    checkFormat(sampleRate, channels);
    this.#lib = library.require();
    const err = new Int32Array(1);
    const ptr = this.#lib.opus_encoder_create(sampleRate, channels, application, err);
    if (ptr === null || err[0] !== 0) {
      throw new Error(`opus_encoder_create failed: ${errorName(err[0] ?? -3)}`);
    }
    const lib = this.#lib;
    this.#h = new NativeHandle(ptr, (p) => lib.opus_encoder_destroy(p), "Opus encoder");
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.#ctl(SET_SIGNAL, SIGNAL_VOICE);
    if (options.bitrate !== undefined) this.setBitrate(options.bitrate);
    if (options.complexity !== undefined) this.setComplexity(options.complexity);
    if (options.inbandFec !== undefined) this.setInbandFec(options.inbandFec);
    if (options.packetLossPerc !== undefined) this.setPacketLossPerc(options.packetLossPerc);
    if (options.dtx !== undefined) this.setDtx(options.dtx);
  }

  #state(): Deno.PointerObject {
    return this.#h.ptr;
  }

  #ctl(request: number, value: number): void {
    const rc = this.#lib.opus_encoder_ctl(this.#state(), request, value);
    if (rc !== 0) throw new RangeError(`opus_encoder_ctl(${request}, ${value}) failed: ${errorName(rc)}`);
  }

  /** Target bit rate in bit/s. */
  setBitrate(bps: number): void {
    this.#ctl(SET_BITRATE, bps);
  }
  /** Complexity 0..10. */
  setComplexity(c: number): void {
    this.#ctl(SET_COMPLEXITY, c);
  }
  /** In-band FEC on/off. */
  setInbandFec(on: boolean): void {
    this.#ctl(SET_INBAND_FEC, on ? 1 : 0);
  }
  /** Expected packet loss in percent. */
  setPacketLossPerc(perc: number): void {
    this.#ctl(SET_PACKET_LOSS_PERC, perc);
  }
  /** DTX on/off. */
  setDtx(on: boolean): void {
    this.#ctl(SET_DTX, on ? 1 : 0);
  }
  /** Encoder lookahead (algorithmic delay) in samples at the encoder rate. */
  lookahead(): number {
    const out = new Int32Array(1);
    const rc = this.#lib.opus_encoder_ctl_get(this.#state(), GET_LOOKAHEAD, out);
    if (rc !== 0) throw new Error(`OPUS_GET_LOOKAHEAD failed: ${errorName(rc)}`);
    return out[0] ?? 0;
  }

  /**
   * Encode one frame (2.5/5/10/20/40/60 ms of interleaved PCM) into `out`.
   * Returns the packet length in bytes (1-2 bytes means DTX silence).
   */
  encode(pcm: Int16Array, out: Uint8Array): number {
    const n = this.#lib.opus_encode(this.#state(), pcm, pcm.length / this.channels, out, out.length);
    if (n < 0) throw new RangeError(`opus_encode of ${pcm.length} samples failed: ${errorName(n)}`);
    return n;
  }

  /** Free the native state; idempotent. */
  destroy(): void {
    this.#h.close();
  }
}

/** Decoder settings. */
export interface OpusDecoderOptions {
  /** Output PCM rate (8000, 12000, 16000, 24000, 48000). Default 48000. */
  sampleRate?: number;
  /** 1 or 2. Default 1 (a stereo stream is downmixed). */
  channels?: number;
}

/** One libopus decoder state. Call {@linkcode OpusDecoder.destroy} when done. */
export class OpusDecoder {
  /** PCM rate the decoder produces. */
  readonly sampleRate: number;
  /** PCM channels. */
  readonly channels: number;
  readonly #lib: OpusLib;
  readonly #h: NativeHandle;

  /** Create a decoder; throws Error when libopus is missing, RangeError on bad settings. */
  constructor(options: OpusDecoderOptions = {}) {
    const { sampleRate = 48000, channels = 1 } = options;
    checkFormat(sampleRate, channels);
    this.#lib = library.require();
    const err = new Int32Array(1);
    const ptr = this.#lib.opus_decoder_create(sampleRate, channels, err);
    if (ptr === null || err[0] !== 0) {
      throw new Error(`opus_decoder_create failed: ${errorName(err[0] ?? -3)}`);
    }
    const lib = this.#lib;
    this.#h = new NativeHandle(ptr, (p) => lib.opus_decoder_destroy(p), "Opus decoder");
    this.sampleRate = sampleRate;
    this.channels = channels;
  }

  #state(): Deno.PointerObject {
    return this.#h.ptr;
  }

  /**
   * Decode a packet into `out` (interleaved). With `packet` null the decoder conceals a loss of
   * exactly `out.length / channels` samples (PLC). With `fec` true it rebuilds the *previous*
   * lost frame from this packet's FEC data; `out` must then hold exactly that lost duration.
   * Returns samples per channel written; throws RangeError on a corrupt packet.
   */
  decode(packet: Uint8Array | null, out: Int16Array, fec = false): number {
    const frame = Math.floor(out.length / this.channels);
    const n = this.#lib.opus_decode(
      this.#state(),
      packet,
      packet === null ? 0 : packet.length,
      out,
      frame,
      fec ? 1 : 0,
    );
    if (n < 0) {
      throw new RangeError(`opus_decode of a ${packet?.length ?? 0}-byte packet failed: ${errorName(n)}`);
    }
    return n;
  }

  /** Samples per channel a packet holds at this decoder's rate (negative: invalid packet). */
  packetSamples(packet: Uint8Array): number {
    return this.#lib.opus_packet_get_nb_samples(packet, packet.length, this.sampleRate);
  }

  /** Reset the decoder state (e.g. after an SSRC change). */
  reset(): void {
    this.#lib.opus_decoder_ctl(this.#state(), RESET_STATE, 0);
  }

  /** Free the native state; idempotent. */
  destroy(): void {
    this.#h.close();
  }
}
