/**
 * libspeexdsp (Debian libspeexdsp1) through FFI: the resampler and the preprocessor (AGC, noise
 * suppression, VAD). 16-bit mono PCM.
 *
 * @module
 */
import { NativeHandle, NativeLibrary } from "../loader.ts";

const SYMBOLS = {
  speex_resampler_init: { parameters: ["u32", "u32", "u32", "i32", "buffer"], result: "pointer" },
  speex_resampler_process_int: {
    parameters: ["pointer", "u32", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  speex_resampler_get_input_latency: { parameters: ["pointer"], result: "i32" },
  speex_resampler_get_output_latency: { parameters: ["pointer"], result: "i32" },
  speex_resampler_skip_zeros: { parameters: ["pointer"], result: "i32" },
  speex_resampler_reset_mem: { parameters: ["pointer"], result: "i32" },
  speex_resampler_destroy: { parameters: ["pointer"], result: "void" },
  speex_preprocess_state_init: { parameters: ["i32", "i32"], result: "pointer" },
  speex_preprocess_ctl: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  speex_preprocess_run: { parameters: ["pointer", "buffer"], result: "i32" },
  speex_preprocess_state_destroy: { parameters: ["pointer"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The raw libspeexdsp symbols this driver binds. */
export type SpeexDspLib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** The lazily opened library (env override: PBX_LIBSPEEXDSP_PATH). Exposed for tests. */
export const library: NativeLibrary<typeof SYMBOLS> = new NativeLibrary({
  label: "speexdsp resampler/AGC/denoise (falling back to linear resampling)",
  soname: "libspeexdsp.so.1",
  aptPackage: "libspeexdsp1",
  envVar: "PBX_LIBSPEEXDSP_PATH",
  symbols: SYMBOLS,
});

/** Open libspeexdsp on first use; null (after one log line) when it is missing. */
export function load(): SpeexDspLib | null {
  return library.load();
}

/** True when libspeexdsp can be used. */
export function available(): boolean {
  return library.available();
}

/** speex resampler: fixed rates, quality 0 (fast) .. 10 (best); 3 is the VoIP default. */
export class SpeexResampler {
  /** Input rate in Hz. */
  readonly inRate: number;
  /** Output rate in Hz. */
  readonly outRate: number;
  readonly #lib: SpeexDspLib;
  readonly #h: NativeHandle;
  readonly #inLen = new Uint32Array(1);
  readonly #outLen = new Uint32Array(1);

  /** Create a mono resampler; throws Error when libspeexdsp is missing, RangeError on bad args. */
  constructor(inRate: number, outRate: number, options: { quality?: number } = {}) {
    const quality = options.quality ?? 3;
    if (!Number.isInteger(inRate) || inRate <= 0) {
      throw new RangeError(`resampler input rate ${inRate} invalid`);
    }
    if (!Number.isInteger(outRate) || outRate <= 0) {
      throw new RangeError(`resampler output rate ${outRate} invalid`);
    }
    if (!Number.isInteger(quality) || quality < 0 || quality > 10) {
      throw new RangeError(`resampler quality ${quality} not in 0..10`);
    }
    const lib = this.#lib = library.require();
    const err = new Int32Array(1);
    const ptr = lib.speex_resampler_init(1, inRate, outRate, quality, err);
    if (ptr === null) throw new Error(`speex_resampler_init failed: error ${err[0]}`);
    this.#h = new NativeHandle(ptr, (p) => lib.speex_resampler_destroy(p), "speex resampler");
    this.inRate = inRate;
    this.outRate = outRate;
  }

  /**
   * Resample `input` into `out`; returns samples written. When `out` is too small not all input is
   * consumed: {@linkcode SpeexResampler.consumed} tells how much was.
   */
  process(input: Int16Array, out: Int16Array): number {
    this.#inLen[0] = input.length;
    this.#outLen[0] = out.length;
    const rc = this.#lib.speex_resampler_process_int(this.#h.ptr, 0, input, this.#inLen, out, this.#outLen);
    if (rc !== 0) throw new Error(`speex_resampler_process_int failed: error ${rc}`);
    return this.#outLen[0] ?? 0;
  }

  /** Input samples consumed by the last {@linkcode SpeexResampler.process}. */
  get consumed(): number {
    return this.#inLen[0] ?? 0;
  }

  /** Delay in input samples. */
  inputLatency(): number {
    return this.#lib.speex_resampler_get_input_latency(this.#h.ptr);
  }

  /** Clear history (new stream). */
  reset(): void {
    this.#lib.speex_resampler_reset_mem(this.#h.ptr);
  }

  /** Free the native state. */
  close(): void {
    this.#h.close();
  }
}

// speex_preprocess.h request numbers.
const PP_SET_DENOISE = 0;
const PP_SET_AGC = 2;
const PP_SET_VAD = 4;
const PP_SET_AGC_LEVEL = 6; // float
const PP_SET_NOISE_SUPPRESS = 18;
const PP_SET_AGC_INCREMENT = 26;
const PP_SET_AGC_DECREMENT = 28;
const PP_SET_AGC_MAX_GAIN = 30;
const PP_GET_AGC_GAIN = 35;

/** Preprocessor settings. */
export interface PreprocessOptions {
  /** Noise suppression on (default true). */
  denoise?: boolean;
  /** Maximum noise attenuation in dB, negative (default -15). */
  noiseSuppressDb?: number;
  /** Automatic gain control on (default false). */
  agc?: boolean;
  /** AGC target level on a 16-bit scale (default 8000). */
  agcLevel?: number;
  /** AGC maximum gain in dB (default 30). */
  agcMaxGainDb?: number;
  /** AGC gain increase limit in dB/s. */
  agcIncrementDb?: number;
  /** AGC gain decrease limit in dB/s (negative). */
  agcDecrementDb?: number;
  /** Voice activity detection: `run` then reports speech/non-speech (default false). */
  vad?: boolean;
}

/** speex preprocessor on fixed-size frames (e.g. 160 samples at 8 kHz). */
export class SpeexPreprocessor {
  /** Samples per frame `run` expects. */
  readonly frameSize: number;
  readonly #lib: SpeexDspLib;
  readonly #h: NativeHandle;
  readonly #i = new Int32Array(1);
  readonly #f = new Float32Array(1);

  /** Create a preprocessor; throws Error when libspeexdsp is missing. */
  constructor(frameSize: number, sampleRate: number, options: PreprocessOptions = {}) {
    if (!Number.isInteger(frameSize) || frameSize <= 0) {
      throw new RangeError(`frame size ${frameSize} invalid`);
    }
    const lib = this.#lib = library.require();
    const ptr = lib.speex_preprocess_state_init(frameSize, sampleRate);
    if (ptr === null) throw new Error(`speex_preprocess_state_init(${frameSize}, ${sampleRate}) failed`);
    this.#h = new NativeHandle(ptr, (p) => lib.speex_preprocess_state_destroy(p), "speex preprocessor");
    this.frameSize = frameSize;
    this.#setInt(PP_SET_DENOISE, options.denoise === false ? 0 : 1);
    this.#setInt(PP_SET_NOISE_SUPPRESS, options.noiseSuppressDb ?? -15);
    this.#setInt(PP_SET_AGC, options.agc ? 1 : 0);
    // speexdsp prints a warning on any SET_VAD, so only touch it when asked.
    if (options.vad) this.#setInt(PP_SET_VAD, 1);
    if (options.agc) {
      this.#f[0] = options.agcLevel ?? 8000;
      this.#lib.speex_preprocess_ctl(this.#h.ptr, PP_SET_AGC_LEVEL, this.#f);
      this.#setInt(PP_SET_AGC_MAX_GAIN, options.agcMaxGainDb ?? 30);
      if (options.agcIncrementDb !== undefined) this.#setInt(PP_SET_AGC_INCREMENT, options.agcIncrementDb);
      if (options.agcDecrementDb !== undefined) this.#setInt(PP_SET_AGC_DECREMENT, options.agcDecrementDb);
    }
  }

  #setInt(request: number, value: number): void {
    this.#i[0] = value;
    const rc = this.#lib.speex_preprocess_ctl(this.#h.ptr, request, this.#i);
    if (rc !== 0) throw new RangeError(`speex_preprocess_ctl(${request}, ${value}) failed`);
  }

  /** Process one frame in place; returns false only when VAD is on and the frame is not speech. */
  run(frame: Int16Array): boolean {
    if (frame.length !== this.frameSize) {
      throw new RangeError(`preprocess frame of ${frame.length} samples, need ${this.frameSize}`);
    }
    return this.#lib.speex_preprocess_run(this.#h.ptr, frame) !== 0;
  }

  /** Current AGC gain in dB (libspeexdsp reports 20*log10 of the linear gain, not percent). */
  agcGain(): number {
    this.#lib.speex_preprocess_ctl(this.#h.ptr, PP_GET_AGC_GAIN, this.#i);
    return this.#i[0] ?? 0;
  }

  /** Free the native state. */
  close(): void {
    this.#h.close();
  }
}
