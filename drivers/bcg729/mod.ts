/**
 * libbcg729 (Debian libbcg729-0, 1.1.1) through FFI: G.729 / G.729 Annex A encoder and decoder
 * with Annex B (VAD, DTX, comfort noise). One frame = 10 ms = 80 samples at 8 kHz; a voice frame
 * is 10 bytes, an Annex B SID frame 2 bytes, an untransmitted (DTX) frame 0 bytes.
 *
 * @module
 */
import { NativeHandle, NativeLibrary } from "../loader.ts";

const SYMBOLS = {
  initBcg729EncoderChannel: { parameters: ["u8"], result: "pointer" },
  closeBcg729EncoderChannel: { parameters: ["pointer"], result: "void" },
  bcg729Encoder: { parameters: ["pointer", "buffer", "buffer", "buffer"], result: "void" },
  initBcg729DecoderChannel: { parameters: [], result: "pointer" },
  closeBcg729DecoderChannel: { parameters: ["pointer"], result: "void" },
  bcg729Decoder: { parameters: ["pointer", "buffer", "u8", "u8", "u8", "u8", "buffer"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The raw libbcg729 symbols this driver binds. */
export type Bcg729Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** The lazily opened library (env override: PBX_LIBBCG729_PATH). Exposed for tests. */
export const library: NativeLibrary<typeof SYMBOLS> = new NativeLibrary({
  label: "G.729",
  soname: "libbcg729.so.0",
  aptPackage: "libbcg729-0",
  envVar: "PBX_LIBBCG729_PATH",
  symbols: SYMBOLS,
});

/** Open libbcg729 on first use; null (after one log line) when it is missing. */
export function load(): Bcg729Lib | null {
  return library.load();
}

/** True when libbcg729 can be used. */
export function available(): boolean {
  return library.available();
}

/** Samples in one G.729 frame (10 ms at 8 kHz). */
export const G729_FRAME_SAMPLES = 80;
/** Bytes in one G.729 voice frame. */
export const G729_FRAME_BYTES = 10;
/** Bytes in one G.729 Annex B SID frame. */
export const G729_SID_BYTES = 2;

/** G.729 encoder; with `vad` (Annex B) silent frames come out as 2-byte SID or 0 bytes. */
export class G729Encoder {
  readonly #lib: Bcg729Lib;
  readonly #h: NativeHandle;
  readonly #len = new Uint8Array(1);

  /** Create an encoder; throws Error when libbcg729 is missing. */
  constructor(options: { vad?: boolean } = {}) {
    const lib = this.#lib = library.require();
    const ptr = lib.initBcg729EncoderChannel(options.vad ? 1 : 0);
    if (ptr === null) throw new Error("initBcg729EncoderChannel failed");
    this.#h = new NativeHandle(ptr, (p) => lib.closeBcg729EncoderChannel(p), "G.729 encoder");
  }

  /** Encode exactly 80 samples into `out` (>= 10 bytes); returns 10, 2 (SID) or 0 (DTX). */
  encodeFrame(pcm: Int16Array, out: Uint8Array): number {
    if (pcm.length !== G729_FRAME_SAMPLES) {
      throw new RangeError(`G.729 frame of ${pcm.length} samples, need 80`);
    }
    if (out.length < G729_FRAME_BYTES) throw new RangeError(`G.729 output of ${out.length} bytes, need 10`);
    this.#lib.bcg729Encoder(this.#h.ptr, pcm, out, this.#len);
    return this.#len[0] ?? 0;
  }

  /** Free the native state. */
  close(): void {
    this.#h.close();
  }
}

/** G.729 decoder (Annex A/B bit streams). */
export class G729Decoder {
  readonly #lib: Bcg729Lib;
  readonly #h: NativeHandle;
  readonly #empty = new Uint8Array(G729_FRAME_BYTES);

  /** Create a decoder; throws Error when libbcg729 is missing. */
  constructor() {
    const lib = this.#lib = library.require();
    const ptr = lib.initBcg729DecoderChannel();
    if (ptr === null) throw new Error("initBcg729DecoderChannel failed");
    this.#h = new NativeHandle(ptr, (p) => lib.closeBcg729DecoderChannel(p), "G.729 decoder");
  }

  /**
   * Decode one frame into `out` (80 samples): `frame` of 10 bytes (voice) or 2 bytes (SID).
   * Returns 80.
   */
  decodeFrame(frame: Uint8Array, out: Int16Array): number {
    if (out.length < G729_FRAME_SAMPLES) {
      throw new RangeError(`G.729 output of ${out.length} samples, need 80`);
    }
    const sid = frame.length === G729_SID_BYTES;
    if (!sid && frame.length !== G729_FRAME_BYTES) {
      throw new RangeError(`G.729 frame of ${frame.length} bytes, need 10 or 2`);
    }
    this.#lib.bcg729Decoder(this.#h.ptr, frame, frame.length, 0, sid ? 1 : 0, 0, out);
    return G729_FRAME_SAMPLES;
  }

  /** Conceal one lost (or, after a SID, untransmitted) frame into `out`; returns 80. */
  concealFrame(out: Int16Array): number {
    if (out.length < G729_FRAME_SAMPLES) {
      throw new RangeError(`G.729 output of ${out.length} samples, need 80`);
    }
    this.#lib.bcg729Decoder(this.#h.ptr, this.#empty, 0, 1, 0, 0, out);
    return G729_FRAME_SAMPLES;
  }

  /** Free the native state. */
  close(): void {
    this.#h.close();
  }
}
