/**
 * DTMF: RFC 4733 event codes, tone generation and an in-band Goertzel detector for PCM.
 */
import { ToneGenerator } from "../tone/tone.ts";

const DIGITS = "0123456789*#ABCD";

/** Map a DTMF digit (0-9 * # A-D, case-insensitive; "!" = hook flash) to its RFC 4733 event code. */
export function digitToEvent(digit: string): number {
  if (digit === "!") return 16;
  const i = DIGITS.indexOf(digit.toUpperCase());
  if (digit.length !== 1 || i < 0) throw new RangeError(`not a DTMF digit: "${digit}"`);
  return i;
}

/** Map an RFC 4733 event code to a digit; undefined for codes that are not DTMF (17+). */
export function eventToDigit(event: number): string | undefined {
  if (event === 16) return "!";
  return event >= 0 && event < 16 ? DIGITS[event] : undefined;
}

/** DTMF low (row) group frequencies in Hz. */
export const DTMF_ROWS = [697, 770, 852, 941] as const;
/** DTMF high (column) group frequencies in Hz. */
export const DTMF_COLS = [1209, 1336, 1477, 1633] as const;
const KEYPAD = ["123A", "456B", "789C", "*0#D"];

/** The (row, column) frequency pair of a DTMF digit. */
export function dtmfFrequencies(digit: string): [number, number] {
  const d = digit.toUpperCase();
  for (let r = 0; r < 4; r++) {
    const c = KEYPAD[r]!.indexOf(d);
    if (d.length === 1 && c >= 0) return [DTMF_ROWS[r]!, DTMF_COLS[c]!];
  }
  throw new RangeError(`not a DTMF digit: "${digit}"`);
}

/** Options for generateDtmf. */
export interface DtmfToneOptions {
  sampleRate?: number;
  /** Tone length per digit; default 100 ms. */
  toneMs?: number;
  /** Silence after each digit; default 100 ms. */
  gapMs?: number;
  /** Level per frequency in dBm0; default -10. */
  levelDbm0?: number;
}

/** Generate in-band DTMF for a digit string as 16-bit PCM. */
export function generateDtmf(digits: string, options: DtmfToneOptions = {}): Int16Array {
  const { sampleRate = 8000, toneMs = 100, gapMs = 100, levelDbm0 = -10 } = options;
  const spec = [...digits].map((d) => {
    const [lo, hi] = dtmfFrequencies(d);
    return `!${lo}+${hi}/${toneMs},!0/${gapMs}`;
  }).join(",");
  const out = new Int16Array(Math.round(digits.length * (toneMs + gapMs) * sampleRate / 1000));
  if (digits.length > 0) new ToneGenerator(spec, { sampleRate, levelDbm0 }).generate(out);
  return out;
}

/**
 * Goertzel power of one frequency over `samples` (squared magnitude of the DFT term). A sine of
 * amplitude A over N samples gives about (A*N/2)^2.
 */
export function goertzelPower(samples: ArrayLike<number>, freq: number, sampleRate: number): number {
  const coeff = 2 * Math.cos(2 * Math.PI * freq / sampleRate);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < samples.length; i++) {
    const s0 = samples[i]! + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

/** Options for DtmfDetector. */
export interface DtmfDetectorOptions {
  sampleRate?: number;
  /** Minimum amplitude of each component (16-bit units); default 400 (about -35 dBm0). */
  minAmplitude?: number;
  /** Allowed normal twist (column weaker than row), dB; default 8. */
  normalTwistDb?: number;
  /** Allowed reverse twist (row weaker than column), dB; default 4. */
  reverseTwistDb?: number;
}

/**
 * In-band DTMF detector (Goertzel over ~12.75 ms blocks, as in spandsp). A digit is reported on
 * its onset once two consecutive blocks agree, and must drop out for two blocks before the same
 * digit can be reported again. Checks: minimum energy, twist, each peak standing clear of the
 * other tones in its group, and the two tones carrying most of the block energy (rejects speech).
 */
export class DtmfDetector {
  readonly sampleRate: number;
  #block: Float64Array;
  #fill = 0;
  #minPower: number;
  #normalTwist: number;
  #reverseTwist: number;
  #last: string | null = null; // hit in previous block
  #current: string | null = null; // digit currently held down
  #misses = 0;

  constructor(options: DtmfDetectorOptions = {}) {
    this.sampleRate = options.sampleRate ?? 8000;
    const n = Math.round(this.sampleRate * 102 / 8000);
    this.#block = new Float64Array(n);
    const a = options.minAmplitude ?? 400;
    // Off-bin tones lose up to ~4 dB in a short rectangular window; allow for it.
    this.#minPower = (a * n / 2) ** 2 * 0.4;
    this.#normalTwist = Math.pow(10, (options.normalTwistDb ?? 8) / 10);
    this.#reverseTwist = Math.pow(10, (options.reverseTwistDb ?? 4) / 10);
  }

  /**
   * True while a DTMF tone is sounding (a digit is held, or the last block already looked like
   * one): the relay keeps such audio away from a peer that gets the digit as RFC 4733 instead.
   */
  get toneActive(): boolean {
    return this.#current !== null || this.#last !== null;
  }

  /** Feed PCM; returns the digits whose onset was detected in this chunk, in order. */
  process(pcm: Int16Array): string[] {
    const out: string[] = [];
    const block = this.#block;
    for (let i = 0; i < pcm.length; i++) {
      block[this.#fill++] = pcm[i]!;
      if (this.#fill === block.length) {
        this.#fill = 0;
        const hit = this.#analyse(block);
        if (hit !== null && hit === this.#last && hit !== this.#current) {
          this.#current = hit;
          this.#misses = 0;
          out.push(hit);
        } else if (this.#current !== null && hit !== this.#current) {
          if (++this.#misses >= 2) this.#current = null;
        } else if (hit === this.#current) {
          this.#misses = 0;
        }
        this.#last = hit;
      }
    }
    return out;
  }

  #analyse(block: Float64Array): string | null {
    const sr = this.sampleRate;
    let r = 0;
    let c = 0;
    const rowP = DTMF_ROWS.map((f) => goertzelPower(block, f, sr));
    const colP = DTMF_COLS.map((f) => goertzelPower(block, f, sr));
    for (let i = 1; i < 4; i++) {
      if (rowP[i]! > rowP[r]!) r = i;
      if (colP[i]! > colP[c]!) c = i;
    }
    const rp = rowP[r]!;
    const cp = colP[c]!;
    if (rp < this.#minPower || cp < this.#minPower) return null;
    if (rp > cp * this.#normalTwist || cp > rp * this.#reverseTwist) return null;
    // Relative peak: every other tone in the group at least 6 dB below the peak.
    for (let i = 0; i < 4; i++) {
      if (i !== r && rowP[i]! * 4 > rp) return null;
      if (i !== c && colP[i]! * 4 > cp) return null;
    }
    let energy = 0;
    for (let i = 0; i < block.length; i++) energy += block[i]! * block[i]!;
    // Goertzel power * 2/N is the energy of that component; demand most of the block's energy.
    const toneEnergy = (rp + cp) * 2 / block.length;
    if (toneEnergy < energy * 0.5) return null;
    return KEYPAD[r]![c]!;
  }
}
