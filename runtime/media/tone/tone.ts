/**
 * Call-progress tone generation from a compact text spec, in the spirit of Asterisk's
 * indications.conf.
 *
 * Spec format (whitespace ignored):
 *
 *   spec    := segment ("," segment)*
 *   segment := ["!"] freqs ["/" ms]
 *   freqs   := "0" | hz ("+" hz)*
 *
 * - `440+480/2000` plays the sum of 440 Hz and 480 Hz for 2000 ms; `0/4000` is 4 s of silence.
 * - The sequence repeats forever. Segments marked `!` are played on the first pass only, so
 *   `!425/200,!0/200,425/1000,0/4000` plays a one-off prefix before a repeating cadence; a spec
 *   made only of `!` segments plays once and ends (used for paging chimes).
 * - A segment without `/ms` lasts forever (a steady dial tone: `350+440`); it must be the last.
 * - Each frequency has its own oscillator whose phase continues across segments and calls, so
 *   cadences and frame-by-frame generation are click-free at boundaries between tones.
 * - Level is set per generator (`levelDbm0`, default -13 dBm0 per frequency).
 */

/** One parsed tone segment. */
export interface ToneSegment {
  /** Frequencies in Hz summed together; empty for silence. */
  freqs: number[];
  /** Duration in ms; Infinity for a steady tone. */
  durationMs: number;
  /** Played on the first pass only. */
  once: boolean;
}

/** Parse a tone spec; throws SyntaxError naming the bad segment. */
export function parseToneSpec(spec: string): ToneSegment[] {
  const text = spec.replace(/\s+/g, "");
  if (text === "") throw new SyntaxError("empty tone spec");
  const parts = text.split(",");
  const out: ToneSegment[] = [];
  for (let i = 0; i < parts.length; i++) {
    let p = parts[i]!;
    const once = p.startsWith("!");
    if (once) p = p.slice(1);
    const m = /^([0-9.+]+)(?:\/([0-9]+))?$/.exec(p);
    if (!m) throw new SyntaxError(`bad tone segment: "${parts[i]}" in "${spec}"`);
    const freqs = m[1]!.split("+").map((f) => {
      const hz = Number(f);
      if (f === "" || !Number.isFinite(hz) || hz < 0 || hz > 20000) {
        throw new SyntaxError(`bad tone frequency: "${f}" in "${spec}"`);
      }
      return hz;
    }).filter((hz) => hz > 0);
    const durationMs = m[2] === undefined ? Infinity : Number(m[2]);
    if (durationMs === Infinity && i !== parts.length - 1) {
      throw new SyntaxError(`only the last tone segment may omit its duration: "${parts[i]}"`);
    }
    out.push({ freqs, durationMs, once });
  }
  return out;
}

/** Amplitude of a 0 dBm0 sine in 16-bit PCM (G.711: full-scale sine is +3.17 dBm0). */
const DBM0_REF = 32768 / Math.pow(10, 3.17 / 20);

/** Options for ToneGenerator. */
export interface ToneOptions {
  sampleRate?: number;
  /** Level of each frequency component in dBm0; default -13. */
  levelDbm0?: number;
}

/** Stateful tone generator: call `generate` repeatedly; phase and cadence continue across calls. */
export class ToneGenerator {
  readonly sampleRate: number;
  readonly segments: readonly ToneSegment[];
  #amp: number;
  #phase: number[] = [];
  #seg = 0;
  #segSamples = 0; // samples already played of the current segment
  #firstPass = true;
  #done = false;

  constructor(spec: string | readonly ToneSegment[], options: ToneOptions = {}) {
    this.sampleRate = options.sampleRate ?? 8000;
    if (!(this.sampleRate > 0)) throw new RangeError(`bad sample rate: ${this.sampleRate}`);
    this.segments = typeof spec === "string" ? parseToneSpec(spec) : spec;
    if (this.segments.length === 0) throw new RangeError("tone has no segments");
    this.#amp = DBM0_REF * Math.pow(10, (options.levelDbm0 ?? -13) / 20);
    const maxFreqs = Math.max(...this.segments.map((s) => s.freqs.length));
    this.#phase = new Array(maxFreqs).fill(0);
  }

  /** True once a play-once tone has finished. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Fill `out` with tone samples; returns how many were written (less than `out.length` only
   * when a play-once tone ends; the rest of `out` is zeroed).
   */
  generate(out: Int16Array): number {
    let i = 0;
    while (i < out.length && !this.#done) {
      const seg = this.segments[this.#seg]!;
      const segLen = seg.durationMs === Infinity
        ? Infinity
        : Math.round(seg.durationMs * this.sampleRate / 1000);
      const n = Math.min(out.length - i, segLen - this.#segSamples);
      if (n > 0) {
        this.#render(seg, out, i, n);
        i += n;
        this.#segSamples += n;
      }
      if (this.#segSamples >= segLen) this.#advance();
    }
    out.fill(0, i);
    return i;
  }

  #render(seg: ToneSegment, out: Int16Array, start: number, n: number): void {
    if (seg.freqs.length === 0) {
      out.fill(0, start, start + n);
      return;
    }
    const amp = this.#amp;
    for (let k = start; k < start + n; k++) out[k] = 0;
    // Sum into a float scratch so several components saturate once, not per component.
    for (let f = 0; f < seg.freqs.length; f++) {
      const w = 2 * Math.PI * seg.freqs[f]! / this.sampleRate;
      let ph = this.#phase[f]!;
      for (let k = start; k < start + n; k++) {
        const v = out[k]! + amp * Math.sin(ph);
        out[k] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
        ph += w;
      }
      this.#phase[f] = ph % (2 * Math.PI);
    }
  }

  #advance(): void {
    this.#segSamples = 0;
    for (;;) {
      this.#seg++;
      if (this.#seg >= this.segments.length) {
        this.#seg = 0;
        this.#firstPass = false;
        if (this.segments.every((s) => s.once)) {
          this.#done = true;
          return;
        }
      }
      if (this.#firstPass || !this.segments[this.#seg]!.once) return;
    }
  }
}

/** Render `durationMs` of a tone (or until a play-once tone ends) into a new buffer. */
export function renderTone(
  spec: string,
  options: ToneOptions & { durationMs?: number } = {},
): Int16Array {
  const gen = new ToneGenerator(spec, options);
  let total = options.durationMs;
  if (total === undefined) {
    if (gen.segments.some((s) => !s.once)) {
      throw new RangeError(`durationMs is required for a repeating tone: "${spec}"`);
    }
    total = gen.segments.reduce((a, s) => a + s.durationMs, 0);
  }
  const out = new Int16Array(Math.round(total * gen.sampleRate / 1000));
  const n = gen.generate(out);
  return n === out.length ? out : out.slice(0, n);
}

/** Names of the call-progress tones every country preset defines. */
export type ToneName = "dial" | "ringback" | "busy" | "congestion" | "callwaiting";

/** Country tone presets (values from the national standards as collected in Asterisk's indications.conf). */
export const TONE_PRESETS: Readonly<Record<"us" | "uk" | "de" | "fr", Readonly<Record<ToneName, string>>>> = {
  us: {
    dial: "350+440",
    ringback: "440+480/2000,0/4000",
    busy: "480+620/500,0/500",
    congestion: "480+620/250,0/250",
    callwaiting: "440/300,0/10000",
  },
  uk: {
    dial: "350+440",
    ringback: "400+450/400,0/200,400+450/400,0/2000",
    busy: "400/375,0/375",
    congestion: "400/400,0/350,400/225,0/525",
    callwaiting: "400/100,0/4000",
  },
  de: {
    dial: "425",
    ringback: "425/1000,0/4000",
    busy: "425/480,0/480",
    congestion: "425/240,0/240",
    callwaiting: "!425/200,!0/200,!425/200,!0/5000,425/200,0/200,425/200,0/5000",
  },
  fr: {
    dial: "440",
    ringback: "440/1500,0/3500",
    busy: "440/500,0/500",
    congestion: "440/250,0/250",
    callwaiting: "440/300,0/10000",
  },
};

/** Paging chimes: a rising three-note chime before an announcement, a falling one after. Play once. */
export const PAGING_CHIMES: Readonly<{ preAnnounce: string; postAnnounce: string }> = {
  preAnnounce: "!523/250,!659/250,!784/500,!0/200",
  postAnnounce: "!784/250,!659/250,!523/500,!0/200",
};

/** Look up a preset tone spec by country and name; throws RangeError for an unknown country. */
export function presetTone(country: string, name: ToneName): string {
  const c = TONE_PRESETS[country.toLowerCase() as keyof typeof TONE_PRESETS];
  if (c === undefined) throw new RangeError(`no tone preset for country: "${country}"`);
  return c[name];
}
