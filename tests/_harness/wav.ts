/**
 * WAV files and signal checks for audio tests: a test signal to send, a reader for what peers
 * recorded, and normalized cross-correlation to show the received audio is the sent signal.
 *
 * @module
 */
import { readWav as readWavBytes, writeWav as writeWavBytes } from "../../runtime/media/wav/mod.ts";

/** 16-bit PCM audio; `samples` are interleaved when channels > 1. */
export interface Pcm {
  sampleRate: number;
  channels: number;
  samples: Int16Array;
}

/**
 * Parses a WAV with the box's own reader (runtime/media/wav), leniently: a recorder that was killed
 * before it finalized the data chunk size still yields what it wrote.
 */
export function parseWav(bytes: Uint8Array): Pcm {
  const w = readWavBytes(bytes, { lenient: true });
  return { sampleRate: w.sampleRate, channels: w.channels, samples: w.samples };
}

/** Reads and parses a WAV file. */
export async function readWav(path: string): Promise<Pcm> {
  return parseWav(await Deno.readFile(path));
}

/** Encodes 16-bit PCM as a WAV (runtime/media/wav's writer). */
export function encodeWav(pcm: Pcm): Uint8Array {
  return writeWavBytes({ sampleRate: pcm.sampleRate, channels: pcm.channels }, pcm.samples);
}

/** Writes a 16-bit PCM WAV file. */
export async function writeWav(path: string, pcm: Pcm): Promise<void> {
  await Deno.writeFile(path, encodeWav(pcm));
}

/** Options for {@linkcode makeTestSignal}. */
export interface TestSignalOptions {
  /** Samples per second. Default 8000. */
  sampleRate?: number;
  /** Length in seconds. Default 4. */
  seconds?: number;
  /** Channels (the same signal on each). Default 1. */
  channels?: number;
  /** Sweep start and end in Hz; kept inside the telephone band by default (300-3000). */
  fromHz?: number;
  /** See fromHz. */
  toHz?: number;
  /** Sweep period in seconds; correlation lags are unique modulo this. Default 1.3. */
  periodSec?: number;
  /** Peak amplitude 0..1. Default 0.5. */
  amplitude?: number;
}

/**
 * A repeating linear chirp: tonal (survives G.711, G.722 and Opus with its waveform intact) and
 * never periodic within one sweep, so cross-correlation has one clear peak per period.
 */
export function makeTestSignal(options: TestSignalOptions = {}): Pcm {
  const {
    sampleRate = 8000,
    seconds = 4,
    channels = 1,
    fromHz = 300,
    toHz = 3000,
    periodSec = 1.3,
    amplitude = 0.5,
  } = options;
  const frames = Math.round(sampleRate * seconds);
  const samples = new Int16Array(frames * channels);
  const k = (toHz - fromHz) / periodSec;
  for (let n = 0; n < frames; n++) {
    const t = (n / sampleRate) % periodSec;
    const v = Math.round(amplitude * 32767 * Math.sin(2 * Math.PI * (fromHz * t + (k * t * t) / 2)));
    for (let c = 0; c < channels; c++) samples[n * channels + c] = v;
  }
  return { sampleRate, channels, samples };
}

/** Writes {@linkcode makeTestSignal} to `path` and returns the signal. */
export async function makeTestWav(path: string, options: TestSignalOptions = {}): Promise<Pcm> {
  const pcm = makeTestSignal(options);
  await writeWav(path, pcm);
  return pcm;
}

/** Channel `channel` (default 0) of interleaved PCM. */
export function toMono(pcm: Pcm, channel = 0): Int16Array {
  if (pcm.channels === 1) return pcm.samples;
  const out = new Int16Array(Math.floor(pcm.samples.length / pcm.channels));
  for (let i = 0; i < out.length; i++) out[i] = pcm.samples[i * pcm.channels + channel]!;
  return out;
}

/** Root mean square level, 0..32768. */
export function rms(samples: Int16Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  return samples.length === 0 ? 0 : Math.sqrt(sum / samples.length);
}

/** Power of one frequency (Goertzel), normalized so a full-scale sine gives about 1. */
export function toneLevel(samples: Int16Array, sampleRate: number, hz: number): number {
  const w = (2 * Math.PI * hz) / sampleRate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s0 = x / 32768 + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return samples.length === 0 ? 0 : (4 * power) / (samples.length * samples.length);
}

function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k;
        const b = a + len / 2;
        const xr = re[b]! * cr - im[b]! * ci;
        const xi = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
        const t = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = t;
      }
    }
  }
  if (inverse) {
    for (let i = 0; i < n; i++) {
      re[i] = re[i]! / n;
      im[i] = im[i]! / n;
    }
  }
}

/** Options for {@linkcode correlate}. */
export interface CorrelateOptions {
  /** Largest |lag| searched, in samples. Default: the shorter signal's length. */
  maxLagSamples?: number;
  /** Smallest overlap (samples) a lag needs to count. Default: half the shorter signal. */
  minOverlap?: number;
}

/**
 * Normalized cross-correlation of `a` (e.g. the sent signal) with `b` (the received one): the
 * best value over lags, where lag L pairs a[i] with b[i + L], normalized by the energies of the
 * overlapping parts. 1 = identical up to gain and delay; silence or noise stays near 0; G.711 round
 * trips give about 0.99. Both signals must have the same sample rate.
 */
export function correlate(
  a: Int16Array,
  b: Int16Array,
  options: CorrelateOptions = {},
): { maxCorr: number; lagSamples: number } {
  const na = a.length;
  const nb = b.length;
  if (na === 0 || nb === 0) return { maxCorr: 0, lagSamples: 0 };
  const maxLag = options.maxLagSamples ?? Math.min(na, nb);
  const minOverlap = Math.max(1, options.minOverlap ?? Math.floor(Math.min(na, nb) / 2));
  let size = 1;
  while (size < na + nb) size <<= 1;
  const ar = new Float64Array(size);
  const ai = new Float64Array(size);
  const br = new Float64Array(size);
  const bi = new Float64Array(size);
  for (let i = 0; i < na; i++) ar[i] = a[i]!;
  for (let i = 0; i < nb; i++) br[i] = b[i]!;
  fft(ar, ai, false);
  fft(br, bi, false);
  // conj(A) * B gives sum_i a[i] b[i + L] at index L (negative lags wrap to the end).
  for (let i = 0; i < size; i++) {
    const r = ar[i]! * br[i]! + ai[i]! * bi[i]!;
    const im = ar[i]! * bi[i]! - ai[i]! * br[i]!;
    ar[i] = r;
    ai[i] = im;
  }
  fft(ar, ai, true);
  const pa = new Float64Array(na + 1);
  const pb = new Float64Array(nb + 1);
  for (let i = 0; i < na; i++) pa[i + 1] = pa[i]! + a[i]! * a[i]!;
  for (let i = 0; i < nb; i++) pb[i + 1] = pb[i]! + b[i]! * b[i]!;
  let best = 0;
  let bestLag = 0;
  for (let lag = -Math.min(maxLag, na - 1); lag <= Math.min(maxLag, nb - 1); lag++) {
    const start = Math.max(0, -lag);
    const end = Math.min(na, nb - lag);
    if (end - start < minOverlap) continue;
    const ea = pa[end]! - pa[start]!;
    const eb = pb[end + lag]! - pb[start + lag]!;
    if (ea <= 0 || eb <= 0) continue;
    const c = ar[lag >= 0 ? lag : size + lag]! / Math.sqrt(ea * eb);
    if (c > best) {
      best = c;
      bestLag = lag;
    }
  }
  return { maxCorr: best, lagSamples: bestLag };
}
