/**
 * The prompt library: catalogue texts synthesised once (flite) and cached as 16 kHz WAV files in the
 * data dir, kept in memory at 8 and 16 kHz, and admin overrides (uploaded WAVs, normalised to 16 kHz
 * mono) that replace a catalogue prompt.
 */
import { readWav, writeWav } from "../wav/mod.ts";
import { Resampler } from "../codec/mod.ts";
import * as tts from "../../../drivers/tts/mod.ts";
import * as speexdsp from "../../../drivers/speexdsp/mod.ts";
import { DEFAULT_PROMPTS, PROMPT_ID } from "./_catalogue.ts";

/** Rates a prompt is delivered at. */
export type PromptRate = 8000 | 16000;

/** One prompt's audio, mono PCM16 at both rates. */
export interface PromptAudio {
  /** What was said (the catalogue text, or the text given to `say`). */
  text: string;
  /** "tts" (synthesised) or "override" (an uploaded recording). */
  source: "tts" | "override";
  /** 8 kHz samples (narrowband calls). */
  rate8: Int16Array;
  /** 16 kHz samples (wideband calls). */
  rate16: Int16Array;
  /** Length in milliseconds. */
  durationMs: number;
}

/** A catalogue entry as the admin UI lists it. */
export interface PromptInfo {
  id: string;
  text: string;
  overridden: boolean;
  /** Present when overridden: what was uploaded. */
  override?: { sampleRate: number; channels: number; bytes: number; durationMs: number; uploadedAt: number };
}

/** Synthesis function (drivers/tts by default; tests pass a fake). */
export type Synthesizer = (text: string, options: { voice: string; rate: number }) => Promise<{
  sampleRate: number;
  samples: Int16Array;
}>;

/** Options for {@linkcode PromptLibrary}. */
export interface PromptLibraryOptions {
  /** flite voice (default "kal16"). */
  voice?: string;
  /** Speaking rate (default 1). */
  rate?: number;
  /** Texts by id replacing or adding to the defaults. */
  texts?: Record<string, string>;
  /** Largest upload in bytes (default 20 MiB). */
  maxUploadBytes?: number;
  /** Longest upload in milliseconds (default 5 minutes). */
  maxUploadMs?: number;
  /** Text-to-speech (default: flite through drivers/tts). */
  synthesize?: Synthesizer;
  /** Clock for upload times (default Date.now). */
  now?: () => number;
}

const flite: Synthesizer = (text, o) =>
  tts.synthesize(text, { voice: o.voice as tts.FliteVoice, rate: o.rate });

/** Resample mono PCM in one go (the tail is flushed with silence, the filter delay trimmed). */
export function resampleMono(samples: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return samples.slice();
  const want = Math.round(samples.length * to / from);
  const pad = Math.ceil(from / 20); // 50 ms of silence pushes the filter delay out
  const input = new Int16Array(samples.length + pad);
  input.set(samples);
  if (speexdsp.available()) {
    const r = new speexdsp.SpeexResampler(from, to, { quality: 5 });
    try {
      const out = new Int16Array(Math.ceil(input.length * to / from) + 4);
      const n = r.process(input, out);
      // The output starts late by the filter delay: drop it so the prompt starts on time.
      const lead = Math.min(Math.max(0, n - want), Math.round(r.inputLatency() * to / from));
      return out.slice(lead, Math.min(n, lead + want));
    } finally {
      r.close();
    }
  }
  const r = new Resampler(from, to, { linear: true });
  const out = new Int16Array(r.maxOutput(input.length));
  const n = r.process(input, out);
  return out.slice(0, Math.min(n, want));
}

function downmix(samples: Int16Array, channels: number): Int16Array {
  if (channels === 1) return samples;
  const frames = Math.floor(samples.length / channels);
  const out = new Int16Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += samples[f * channels + c]!;
    out[f] = Math.round(sum / channels);
  }
  return out;
}

async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  try {
    await Deno.writeFile(tmp, bytes, { mode: 0o600 });
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

async function readOrNull(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/**
 * Prompts for one box. Files: `<dataDir>/cache/prompts/<sha256>.wav` (synthesis cache, keyed by
 * text + voice + rate), `<dataDir>/prompts/<id>.wav` + `<id>.json` (overrides).
 */
export class PromptLibrary {
  readonly #dir: string;
  readonly #cacheDir: string;
  readonly #voice: string;
  readonly #rate: number;
  readonly #texts: Record<string, string>;
  readonly #synth: Synthesizer;
  readonly #now: () => number;
  readonly #memory = new Map<string, Promise<PromptAudio>>();
  /** Largest upload in bytes. */
  readonly maxUploadBytes: number;
  /** Longest upload in milliseconds. */
  readonly maxUploadMs: number;

  /** A library over `dataDir`; folders are created on first write. */
  constructor(dataDir: string, options: PromptLibraryOptions = {}) {
    this.#dir = `${dataDir}/prompts`;
    this.#cacheDir = `${dataDir}/cache/prompts`;
    this.#voice = options.voice ?? "kal16";
    this.#rate = options.rate ?? 1;
    this.#texts = { ...DEFAULT_PROMPTS, ...options.texts };
    this.#synth = options.synthesize ?? flite;
    this.#now = options.now ?? Date.now;
    this.maxUploadBytes = options.maxUploadBytes ?? 20 * 1024 * 1024;
    this.maxUploadMs = options.maxUploadMs ?? 5 * 60_000;
  }

  /** Every catalogue prompt, sorted by id, with its override state. */
  async list(): Promise<PromptInfo[]> {
    const out: PromptInfo[] = [];
    for (const id of Object.keys(this.#texts).sort()) out.push(await this.info(id));
    return out;
  }

  /** One prompt's entry; RangeError for an id not in the catalogue. */
  async info(id: string): Promise<PromptInfo> {
    const text = this.#text(id);
    const meta = await readOrNull(`${this.#dir}/${id}.json`);
    if (meta === null) return { id, text, overridden: false };
    return { id, text, overridden: true, override: JSON.parse(new TextDecoder().decode(meta)) };
  }

  /** True when `id` is in the catalogue. */
  has(id: string): boolean {
    return PROMPT_ID.test(id) && Object.hasOwn(this.#texts, id);
  }

  #text(id: string): string {
    if (!this.has(id)) throw new RangeError(`unknown prompt ${JSON.stringify(id.slice(0, 60))}`);
    return this.#texts[id]!;
  }

  /** A catalogue prompt: the override when one is stored, else the synthesised default text. */
  get(id: string): Promise<PromptAudio> {
    const text = this.#text(id);
    const key = `id:${id}`;
    let p = this.#memory.get(key);
    if (p === undefined) {
      p = (async () => {
        const bytes = await readOrNull(`${this.#dir}/${id}.wav`);
        if (bytes === null) return await this.say(text);
        const wav = readWav(bytes);
        return this.#audio(text, "override", wav.samples, wav.sampleRate);
      })();
      this.#remember(key, p);
    }
    return p;
  }

  /** Any text (e.g. from the sentence builder), synthesised once and cached on disk and in memory. */
  say(text: string): Promise<PromptAudio> {
    const key = `tts:${text}`;
    let p = this.#memory.get(key);
    if (p === undefined) {
      p = this.#synthCached(text);
      this.#remember(key, p);
    }
    return p;
  }

  #remember(key: string, p: Promise<PromptAudio>): void {
    this.#memory.set(key, p);
    p.catch(() => this.#memory.delete(key)); // a failure is retried next time
  }

  async #synthCached(text: string): Promise<PromptAudio> {
    const hash = await sha256Hex(`${this.#voice}\n${this.#rate}\n${text}`);
    const path = `${this.#cacheDir}/${hash}.wav`;
    const cached = await readOrNull(path);
    if (cached !== null) {
      try {
        const wav = readWav(cached);
        return this.#audio(text, "tts", wav.samples, wav.sampleRate);
      } catch {
        // a damaged cache file is simply made again
      }
    }
    const speech = await this.#synth(text, { voice: this.#voice, rate: this.#rate });
    const audio = this.#audio(text, "tts", speech.samples, speech.sampleRate);
    await Deno.mkdir(this.#cacheDir, { recursive: true });
    await writeAtomic(path, writeWav({ sampleRate: 16000, channels: 1 }, audio.rate16));
    return audio;
  }

  #audio(text: string, source: "tts" | "override", samples: Int16Array, rate: number): PromptAudio {
    const rate16 = resampleMono(samples, rate, 16000);
    const rate8 = resampleMono(rate16, 16000, 8000);
    return { text, source, rate16, rate8, durationMs: Math.round(rate16.length / 16) };
  }

  /** A prompt as a mono PCM16 WAV file at `rate` (for download and the browser player). */
  async wav(id: string, rate: PromptRate = 16000): Promise<Uint8Array> {
    const a = await this.get(id);
    return writeWav({ sampleRate: rate, channels: 1 }, rate === 8000 ? a.rate8 : a.rate16);
  }

  /**
   * Replace prompt `id` with an uploaded recording (WAV, PCM16/mu-law/A-law, any rate or channel
   * count). RangeError: unknown id, too many bytes, too long, empty or truncated; SyntaxError: not a
   * WAV file or a broken one. The message says which.
   */
  async setOverride(id: string, bytes: Uint8Array): Promise<PromptInfo> {
    const text = this.#text(id);
    if (bytes.length > this.maxUploadBytes) {
      throw new RangeError(`recording is ${bytes.length} bytes, the limit is ${this.maxUploadBytes}`);
    }
    const wav = readWav(bytes);
    if (wav.sampleRate < 4000 || wav.sampleRate > 192000) {
      throw new RangeError(`WAV sample rate ${wav.sampleRate} Hz not in 4000..192000`);
    }
    const mono = downmix(wav.samples, wav.channels);
    if (mono.length === 0) throw new RangeError("WAV has no audio samples");
    const durationMs = Math.round(mono.length * 1000 / wav.sampleRate);
    if (durationMs > this.maxUploadMs) {
      throw new RangeError(`recording is ${durationMs} ms long, the limit is ${this.maxUploadMs} ms`);
    }
    const audio = this.#audio(text, "override", mono, wav.sampleRate);
    const override = {
      sampleRate: wav.sampleRate,
      channels: wav.channels,
      bytes: bytes.length,
      durationMs,
      uploadedAt: this.#now(),
    };
    await Deno.mkdir(this.#dir, { recursive: true });
    await writeAtomic(`${this.#dir}/${id}.wav`, writeWav({ sampleRate: 16000, channels: 1 }, audio.rate16));
    await writeAtomic(`${this.#dir}/${id}.json`, new TextEncoder().encode(JSON.stringify(override)));
    this.#memory.set(`id:${id}`, Promise.resolve(audio));
    return { id, text, overridden: true, override };
  }

  /** Go back to the synthesised default; false when there was no override. RangeError: unknown id. */
  async deleteOverride(id: string): Promise<boolean> {
    this.#text(id);
    this.#memory.delete(`id:${id}`);
    let had = false;
    for (const ext of ["json", "wav"]) {
      try {
        await Deno.remove(`${this.#dir}/${id}.${ext}`);
        had = true;
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
    return had;
  }
}

/** Duration and loudness of mono PCM: for checking a prompt is not silent or cut. */
export function measureAudio(samples: Int16Array, sampleRate: number): {
  durationMs: number;
  rmsDbfs: number;
  activeMs: number;
} {
  let sum = 0;
  for (const s of samples) sum += s * s;
  const rms = samples.length === 0 ? 0 : Math.sqrt(sum / samples.length);
  // Active time: 20 ms blocks whose RMS is within 30 dB of the loudest block.
  const block = Math.max(1, Math.round(sampleRate / 50));
  const levels: number[] = [];
  for (let off = 0; off + block <= samples.length; off += block) {
    let e = 0;
    for (let i = off; i < off + block; i++) e += samples[i]! * samples[i]!;
    levels.push(Math.sqrt(e / block));
  }
  const peak = Math.max(0, ...levels);
  const active = levels.filter((l) => peak > 0 && l > peak / 31.6).length;
  return {
    durationMs: Math.round(samples.length * 1000 / sampleRate),
    rmsDbfs: rms === 0 ? -Infinity : 20 * Math.log10(rms / 32768),
    activeMs: active * 20,
  };
}
