/**
 * Mono 16-bit PCM rate conversion: speexdsp when it loads, else a linear interpolator (no
 * anti-alias filter: adequate for speech up-sampling, audibly worse when down-sampling).
 *
 * @module
 */
import * as speexdsp from "../../../drivers/speexdsp/mod.ts";

/** Resampler settings. */
export interface ResamplerOptions {
  /** speex quality 0..10 (default 3, the VoIP setting). */
  quality?: number;
  /** Force the pure TypeScript linear path (tests, or to save CPU). */
  linear?: boolean;
}

/** Streaming resampler between two fixed rates; keeps history across calls. */
export class Resampler {
  /** Input rate in Hz. */
  readonly inRate: number;
  /** Output rate in Hz. */
  readonly outRate: number;
  /** "speex", "linear" or "copy" (equal rates). */
  readonly kind: "speex" | "linear" | "copy";
  readonly #speex: speexdsp.SpeexResampler | null = null;
  // Linear state: position of the next output in the coming chunk (-1 = the kept previous sample).
  #pos = 0;
  #prev = 0;
  readonly #step: number;

  /** Create a resampler; RangeError on non-positive or non-integer rates. */
  constructor(inRate: number, outRate: number, options: ResamplerOptions = {}) {
    if (!Number.isInteger(inRate) || inRate <= 0) throw new RangeError(`input rate ${inRate} invalid`);
    if (!Number.isInteger(outRate) || outRate <= 0) throw new RangeError(`output rate ${outRate} invalid`);
    this.inRate = inRate;
    this.outRate = outRate;
    this.#step = inRate / outRate;
    if (inRate === outRate) this.kind = "copy";
    else if (!options.linear && speexdsp.available()) {
      this.#speex = new speexdsp.SpeexResampler(inRate, outRate, { quality: options.quality ?? 3 });
      this.kind = "speex";
    } else this.kind = "linear";
  }

  /** Output capacity that always suffices for `inputLength` input samples. */
  maxOutput(inputLength: number): number {
    return Math.ceil(inputLength * this.outRate / this.inRate) + 2;
  }

  /** Convert all of `input` into `out` (at least `maxOutput(input.length)`); returns samples written. */
  process(input: Int16Array, out: Int16Array): number {
    if (out.length < this.maxOutput(input.length) && this.kind !== "copy") {
      throw new RangeError(`resampler output of ${out.length} samples, need ${this.maxOutput(input.length)}`);
    }
    if (this.kind === "copy") {
      if (out.length < input.length) {
        throw new RangeError(`resampler output of ${out.length} samples too small`);
      }
      out.set(input);
      return input.length;
    }
    if (this.#speex !== null) return this.#speex.process(input, out);
    return this.#linear(input, out);
  }

  #linear(input: Int16Array, out: Int16Array): number {
    const len = input.length;
    if (len === 0) return 0;
    let pos = this.#pos;
    let n = 0;
    const last = len - 1;
    while (pos <= last) {
      const i = Math.floor(pos);
      const frac = pos - i;
      const x0 = i < 0 ? this.#prev : input[i]!;
      const x1 = i + 1 <= last ? input[i + 1]! : x0;
      out[n++] = Math.round(x0 + (x1 - x0) * frac);
      pos += this.#step;
    }
    this.#pos = pos - len;
    this.#prev = input[last]!;
    return n;
  }

  /** Free native state. */
  close(): void {
    this.#speex?.close();
  }
}
