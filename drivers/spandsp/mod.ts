/**
 * libspandsp (Debian libspandsp2, 0.0.6) through FFI: G.722, G.726, DTMF detection/generation,
 * tone generation and G.711 packet loss concealment. Every `*_init(NULL, ...)` allocates its own
 * state, so no struct layouts are needed; each wrapper frees it with the matching `*_free`.
 *
 * @module
 */
import { NativeHandle, NativeLibrary } from "../loader.ts";

const SYMBOLS = {
  g722_encode_init: { parameters: ["pointer", "i32", "i32"], result: "pointer" },
  g722_encode: { parameters: ["pointer", "buffer", "buffer", "i32"], result: "i32" },
  g722_encode_free: { parameters: ["pointer"], result: "i32" },
  g722_decode_init: { parameters: ["pointer", "i32", "i32"], result: "pointer" },
  g722_decode: { parameters: ["pointer", "buffer", "buffer", "i32"], result: "i32" },
  g722_decode_free: { parameters: ["pointer"], result: "i32" },
  g726_init: { parameters: ["pointer", "i32", "i32", "i32"], result: "pointer" },
  g726_encode: { parameters: ["pointer", "buffer", "buffer", "i32"], result: "i32" },
  g726_decode: { parameters: ["pointer", "buffer", "buffer", "i32"], result: "i32" },
  g726_free: { parameters: ["pointer"], result: "i32" },
  // With a NULL callback the receiver queues digits internally; dtmf_rx_get drains them, so no
  // Deno.UnsafeCallback (and no re-entrancy from C into JS) is needed.
  dtmf_rx_init: { parameters: ["pointer", "pointer", "pointer"], result: "pointer" },
  dtmf_rx: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  dtmf_rx_get: { parameters: ["pointer", "buffer", "i32"], result: "usize" },
  dtmf_rx_status: { parameters: ["pointer"], result: "i32" },
  dtmf_rx_free: { parameters: ["pointer"], result: "i32" },
  // 0.0.6 takes (s, callback, user_data); older builds take only s and ignore the extra NULLs.
  dtmf_tx_init: { parameters: ["pointer", "pointer", "pointer"], result: "pointer" },
  dtmf_tx_put: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  dtmf_tx: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  dtmf_tx_set_level: { parameters: ["pointer", "i32", "i32"], result: "void" },
  dtmf_tx_set_timing: { parameters: ["pointer", "i32", "i32"], result: "void" },
  dtmf_tx_free: { parameters: ["pointer"], result: "i32" },
  plc_init: { parameters: ["pointer"], result: "pointer" },
  plc_rx: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  plc_fillin: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  plc_free: { parameters: ["pointer"], result: "i32" },
  tone_gen_descriptor_init: {
    parameters: ["pointer", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"],
    result: "pointer",
  },
  tone_gen_descriptor_free: { parameters: ["pointer"], result: "i32" },
  tone_gen_init: { parameters: ["pointer", "pointer"], result: "pointer" },
  tone_gen: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  tone_gen_free: { parameters: ["pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The raw libspandsp symbols this driver binds. */
export type SpandspLib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** The lazily opened library (env override: PBX_LIBSPANDSP_PATH). Exposed for tests. */
export const library: NativeLibrary<typeof SYMBOLS> = new NativeLibrary({
  label: "spandsp (G.722, G.726, DTMF detection, G.711 PLC)",
  soname: "libspandsp.so.2",
  aptPackage: "libspandsp2",
  envVar: "PBX_LIBSPANDSP_PATH",
  symbols: SYMBOLS,
});

/** Open libspandsp on first use; null (after one log line) when it is missing. */
export function load(): SpandspLib | null {
  return library.load();
}

/** True when libspandsp can be used. */
export function available(): boolean {
  return library.available();
}

function created(ptr: Deno.PointerValue, what: string): Deno.PointerObject {
  if (ptr === null) throw new Error(`${what} init failed (out of memory or bad arguments)`);
  return ptr;
}

/** G.722 encoder at 64 kbit/s from 16 kHz PCM: 2 samples -> 1 byte (RTP clock stays 8000). */
export class G722Encoder {
  readonly #lib: SpandspLib;
  readonly #h: NativeHandle;

  /** Create an encoder; throws Error when libspandsp is missing. */
  constructor() {
    const lib = this.#lib = library.require();
    // rate 64000, options 0: 16 kHz input, unpacked one octet per code pair (RFC 3551 G722).
    const ptr = created(lib.g722_encode_init(null, 64000, 0), "g722_encode");
    this.#h = new NativeHandle(ptr, (p) => lib.g722_encode_free(p), "G.722 encoder");
  }

  /** Encode `pcm` (16 kHz) into `out` (needs pcm.length / 2 bytes); returns bytes written. */
  encode(pcm: Int16Array, out: Uint8Array): number {
    if (out.length * 2 < pcm.length) throw new RangeError(`G.722 output of ${out.length} bytes too small`);
    return this.#lib.g722_encode(this.#h.ptr, out, pcm, pcm.length);
  }

  /** Free the native state. */
  close(): void {
    this.#h.close();
  }
}

/** G.722 decoder at 64 kbit/s to 16 kHz PCM: 1 byte -> 2 samples. */
export class G722Decoder {
  readonly #lib: SpandspLib;
  readonly #h: NativeHandle;

  /** Create a decoder; throws Error when libspandsp is missing. */
  constructor() {
    const lib = this.#lib = library.require();
    const ptr = created(lib.g722_decode_init(null, 64000, 0), "g722_decode");
    this.#h = new NativeHandle(ptr, (p) => lib.g722_decode_free(p), "G.722 decoder");
  }

  /** Decode `data` into `out` (needs 2 * data.length samples); returns samples written. */
  decode(data: Uint8Array, out: Int16Array): number {
    if (out.length < data.length * 2) throw new RangeError(`G.722 output of ${out.length} samples too small`);
    return this.#lib.g722_decode(this.#h.ptr, out, data, data.length);
  }

  /** Free the native state. */
  close(): void {
    this.#h.close();
  }
}

/** spandsp G726_PACKING_* values. */
export const G726Packing = {
  /** One code per octet. */
  none: 0,
  /** First code in the most significant bits: the AAL2 / ITU I.366.2 order ("AAL2-G726-32"). */
  left: 1,
  /** First code in the least significant bits: RFC 3551 section 4.5.4 order for RTP "G726-32". */
  right: 2,
} as const;

/** G.726 encoder/decoder settings. */
export interface G726Options {
  /** 16000, 24000, 32000 (default) or 40000 bit/s. */
  bitRate?: number;
  /** Bit packing; default `G726Packing.right` (RFC 3551 RTP). */
  packing?: number;
}

const G726_RATES = new Set([16000, 24000, 32000, 40000]);

function g726State(lib: SpandspLib, options: G726Options, what: string): NativeHandle {
  const { bitRate = 32000, packing = G726Packing.right } = options;
  if (!G726_RATES.has(bitRate)) throw new RangeError(`G.726 bit rate ${bitRate} not 16/24/32/40 kbit/s`);
  if (packing !== 0 && packing !== 1 && packing !== 2) {
    throw new RangeError(`G.726 packing ${packing} invalid`);
  }
  // ext_coding 0 = G726_ENCODING_LINEAR: 16-bit PCM on the outside.
  const ptr = created(lib.g726_init(null, bitRate, 0, packing), "g726");
  return new NativeHandle(ptr, (p) => lib.g726_free(p), what);
}

/** G.726 encoder from 8 kHz PCM (32 kbit/s: 2 samples per octet). */
export class G726Encoder {
  readonly #lib: SpandspLib;
  readonly #h: NativeHandle;

  /** Create an encoder; throws Error when libspandsp is missing. */
  constructor(options: G726Options = {}) {
    this.#lib = library.require();
    this.#h = g726State(this.#lib, options, "G.726 encoder");
  }

  /** Encode `pcm` into `out`; returns bytes written. */
  encode(pcm: Int16Array, out: Uint8Array): number {
    if (out.length * 2 < pcm.length) throw new RangeError(`G.726 output of ${out.length} bytes too small`);
    return this.#lib.g726_encode(this.#h.ptr, out, pcm, pcm.length);
  }

  /** Free the native state. */
  close(): void {
    this.#h.close();
  }
}

/** G.726 decoder to 8 kHz PCM. */
export class G726Decoder {
  readonly #lib: SpandspLib;
  readonly #h: NativeHandle;
  readonly #bitsPerSample: number;

  /** Create a decoder; throws Error when libspandsp is missing. */
  constructor(options: G726Options = {}) {
    this.#lib = library.require();
    this.#h = g726State(this.#lib, options, "G.726 decoder");
    this.#bitsPerSample = (options.bitRate ?? 32000) / 8000;
  }

  /** Decode `data` into `out` (8 / bits-per-sample samples per byte); returns samples written. */
  decode(data: Uint8Array, out: Int16Array): number {
    const need = Math.ceil(data.length * 8 / this.#bitsPerSample);
    if (out.length < need) throw new RangeError(`G.726 output of ${out.length} samples, need ${need}`);
    return this.#lib.g726_decode(this.#h.ptr, out, data, data.length);
  }

  /** Free the native state. */
  close(): void {
    this.#h.close();
  }
}

const textDecoder = new TextDecoder();

/** DTMF detector on 8 kHz PCM (ITU Q.23/Q.24). Digits queue inside spandsp until read. */
export class DtmfDetector {
  readonly #lib: SpandspLib;
  readonly #h: NativeHandle;
  readonly #digits = new Uint8Array(128);

  /** Create a detector; throws Error when libspandsp is missing. */
  constructor() {
    const lib = this.#lib = library.require();
    const ptr = created(lib.dtmf_rx_init(null, null, null), "dtmf_rx");
    this.#h = new NativeHandle(ptr, (p) => lib.dtmf_rx_free(p), "DTMF detector");
  }

  /** Feed 8 kHz samples; returns the digits completed so far ("" when none). */
  process(pcm: Int16Array): string {
    this.#lib.dtmf_rx(this.#h.ptr, pcm, pcm.length);
    const n = Number(this.#lib.dtmf_rx_get(this.#h.ptr, this.#digits, this.#digits.length));
    return n === 0 ? "" : textDecoder.decode(this.#digits.subarray(0, n));
  }

  /** The digit currently being heard ("" when none): lets callers time key-down. */
  current(): string {
    const c = this.#lib.dtmf_rx_status(this.#h.ptr);
    return c > 0 ? String.fromCharCode(c) : "";
  }

  /** Free the native state. */
  close(): void {
    this.#h.close();
  }
}

const DTMF_CHARS = /^[0-9A-D*#]*$/;

/** DTMF generator producing 8 kHz PCM. */
export class DtmfGenerator {
  readonly #lib: SpandspLib;
  readonly #h: NativeHandle;

  /**
   * Create a generator; `level` in dBm0 (default -10), `onMs`/`offMs` tone and gap (default 50/55).
   * Throws Error when libspandsp is missing.
   */
  constructor(options: { level?: number; twist?: number; onMs?: number; offMs?: number } = {}) {
    const lib = this.#lib = library.require();
    const ptr = created(lib.dtmf_tx_init(null, null, null), "dtmf_tx");
    this.#h = new NativeHandle(ptr, (p) => lib.dtmf_tx_free(p), "DTMF generator");
    lib.dtmf_tx_set_level(ptr, options.level ?? -10, options.twist ?? 0);
    lib.dtmf_tx_set_timing(ptr, options.onMs ?? 50, options.offMs ?? 55);
  }

  /** Queue digits (0-9, A-D, *, #); all or nothing: returns digits.length, or 0 when full. */
  put(digits: string): number {
    if (!DTMF_CHARS.test(digits)) throw new TypeError(`not DTMF digits: ${JSON.stringify(digits)}`);
    const bytes = new TextEncoder().encode(digits + "\0");
    const rejected = this.#lib.dtmf_tx_put(this.#h.ptr, bytes, digits.length);
    // spandsp loads the whole string only if it fits, else returns how many would not fit.
    return rejected === 0 ? digits.length : 0;
  }

  /** Fill `out` with tone/gap samples; returns samples written (0 when the queue is empty). */
  generate(out: Int16Array): number {
    return this.#lib.dtmf_tx(this.#h.ptr, out, out.length);
  }

  /** Free the native state. */
  close(): void {
    this.#h.close();
  }
}

/** Cadenced one- or two-frequency tone (dial, ringback, busy) at 8 kHz. */
export interface ToneSpec {
  /** First frequency in Hz. */
  f1: number;
  /** First level in dBm0. */
  level1: number;
  /** Second frequency in Hz (0 for none). */
  f2?: number;
  /** Second level in dBm0. */
  level2?: number;
  /** Cadence in ms: on, off, on, off (0 = unused; on only = continuous). */
  cadenceMs?: [number, number?, number?, number?];
  /** Repeat the cadence (default true). */
  repeat?: boolean;
}

/** spandsp tone generator. */
export class ToneGenerator {
  readonly #lib: SpandspLib;
  readonly #h: NativeHandle;

  /** Create a generator for `spec`; throws Error when libspandsp is missing. */
  constructor(spec: ToneSpec) {
    const lib = this.#lib = library.require();
    const [d1 = 0, d2 = 0, d3 = 0, d4 = 0] = spec.cadenceMs ?? [1000];
    const desc = created(
      lib.tone_gen_descriptor_init(
        null,
        spec.f1,
        spec.level1,
        spec.f2 ?? 0,
        spec.level2 ?? spec.level1,
        d1,
        d2,
        d3,
        d4,
        spec.repeat === false ? 0 : 1,
      ),
      "tone_gen_descriptor",
    );
    try {
      // tone_gen_init copies the descriptor's parameters, so it can be freed right away.
      const ptr = created(lib.tone_gen_init(null, desc), "tone_gen");
      this.#h = new NativeHandle(ptr, (p) => lib.tone_gen_free(p), "tone generator");
    } finally {
      lib.tone_gen_descriptor_free(desc);
    }
  }

  /** Fill `out`; returns samples written (fewer when a non-repeating tone ends). */
  generate(out: Int16Array): number {
    return this.#lib.tone_gen(this.#h.ptr, out, out.length);
  }

  /** Free the native state. */
  close(): void {
    this.#h.close();
  }
}

/** G.711 packet loss concealment (ITU G.711 Appendix I style) on 8 kHz PCM. */
export class Plc {
  readonly #lib: SpandspLib;
  readonly #h: NativeHandle;

  /** Create a PLC state; throws Error when libspandsp is missing. */
  constructor() {
    const lib = this.#lib = library.require();
    const ptr = created(lib.plc_init(null), "plc");
    this.#h = new NativeHandle(ptr, (p) => lib.plc_free(p), "PLC");
  }

  /** Feed received audio (may be modified in place to smooth the end of a gap). */
  rx(pcm: Int16Array): void {
    this.#lib.plc_rx(this.#h.ptr, pcm, pcm.length);
  }

  /** Synthesize `out.length` samples for a lost frame; returns samples written. */
  fillin(out: Int16Array): number {
    return this.#lib.plc_fillin(this.#h.ptr, out, out.length);
  }

  /** Free the native state. */
  close(): void {
    this.#h.close();
  }
}
