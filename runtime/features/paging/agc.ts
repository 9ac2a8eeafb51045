/**
 * A small automatic gain control for paging speech: tracks the short-term RMS level and moves a
 * gain towards the target level, slowly up and quickly down, and leaves near-silence alone so
 * background hiss is not pumped up between words.
 *
 * @module
 */

/** AGC settings. */
export interface AgcOptions {
  /** Target RMS on the 16-bit scale (default 6000, about -15 dBFS). */
  target?: number;
  /** Maximum gain in dB (default 18). */
  maxGainDb?: number;
  /** Minimum gain in dB (default -12). */
  minGainDb?: number;
  /** RMS below which the gain is frozen (default 300). */
  gate?: number;
}

/** Stateful AGC over mono PCM frames of any size. */
export class Agc {
  #gain = 1;
  readonly #target: number;
  readonly #max: number;
  readonly #min: number;
  readonly #gate: number;

  /** Create an AGC; RangeError on a non-positive target. */
  constructor(options: AgcOptions = {}) {
    this.#target = options.target ?? 6000;
    if (!(this.#target > 0 && this.#target < 32768)) {
      throw new RangeError(`AGC target ${this.#target} invalid`);
    }
    this.#max = Math.pow(10, (options.maxGainDb ?? 18) / 20);
    this.#min = Math.pow(10, (options.minGainDb ?? -12) / 20);
    this.#gate = options.gate ?? 300;
  }

  /** Current linear gain. */
  get gain(): number {
    return this.#gain;
  }

  /** Apply the gain in place, then adapt it from this frame's level. */
  process(samples: Int16Array): void {
    if (samples.length === 0) return;
    let sum = 0;
    for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
    const rms = Math.sqrt(sum / samples.length);
    if (rms >= this.#gate) {
      const want = Math.min(this.#max, Math.max(this.#min, this.#target / rms));
      // Attack fast (loud input), release slowly: no pumping between syllables.
      const k = want < this.#gain ? 0.5 : 0.05;
      this.#gain += (want - this.#gain) * k;
    }
    const g = this.#gain;
    if (g === 1) return;
    for (let i = 0; i < samples.length; i++) {
      const v = samples[i]! * g;
      samples[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
  }
}

/** Scale `samples` by a volume 0-100 (100 = unity), in place. */
export function applyVolume(samples: Int16Array, volume: number): void {
  if (volume >= 100) return;
  const g = volume <= 0 ? 0 : Math.pow(10, (volume - 100) * 0.4 / 20); // 100 -> 0 dB, 0 -> mute, 50 -> -20 dB
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(samples[i]! * g);
}
