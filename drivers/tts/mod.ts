/**
 * flite (Debian libflite1, also a Yocto recipe) through FFI: English text to 16-bit mono PCM.
 *
 * Chosen over espeak-ng after measuring both (docs/prompts.md): flite's `kal16` voice was the one
 * pocketsphinx recognised best, synthesises fastest, and needs no data directory. Voices are
 * separate shared objects (`libflite_cmu_us_<voice>.so.1`); each opens lazily and drags libflite in.
 *
 * flite keeps global state and is not thread-safe, so calls are serialised: {@linkcode synthesize}
 * runs the synthesis on a worker thread (FFI `nonblocking`) one at a time, leaving the event loop
 * free.
 *
 * @module
 */
import { NativeLibrary } from "../loader.ts";

const SYMBOLS = {
  flite_init: { parameters: [], result: "i32" },
  flite_text_to_wave: { parameters: ["buffer", "pointer"], result: "pointer", nonblocking: true },
  delete_wave: { parameters: ["pointer"], result: "void" },
  feat_set_float: { parameters: ["pointer", "buffer", "f32"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/** Voices shipped by Debian's libflite1 that speak US English. `kal16` is the default. */
export const VOICES = ["kal16", "slt", "rms", "awb", "kal"] as const;
/** One flite voice name. */
export type FliteVoice = typeof VOICES[number];

type FliteLib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** The core library (env override: PBX_LIBFLITE_PATH). Exposed for tests. */
export const library: NativeLibrary<typeof SYMBOLS> = new NativeLibrary({
  label: "text-to-speech (flite)",
  soname: "libflite.so.1",
  aptPackage: "libflite1",
  envVar: "PBX_LIBFLITE_PATH",
  symbols: SYMBOLS,
});

const voiceLibs = new Map<FliteVoice, NativeLibrary<Deno.ForeignLibraryInterface>>();
const voices = new Map<FliteVoice, Deno.PointerObject>();
let initialised = false;
let queue: Promise<unknown> = Promise.resolve();

function voiceLibrary(voice: FliteVoice): NativeLibrary<Deno.ForeignLibraryInterface> {
  let lib = voiceLibs.get(voice);
  if (lib === undefined) {
    lib = new NativeLibrary({
      label: `text-to-speech voice ${voice} (flite)`,
      soname: `libflite_cmu_us_${voice}.so.1`,
      aptPackage: "libflite1",
      envVar: `PBX_LIBFLITE_${voice.toUpperCase()}_PATH`,
      symbols: { [`register_cmu_us_${voice}`]: { parameters: ["pointer"], result: "pointer" } },
    });
    voiceLibs.set(voice, lib);
  }
  return lib;
}

/** True when libflite and the given voice can be opened. */
export function available(voice: FliteVoice = "kal16"): boolean {
  return library.available() && voiceLibrary(voice).available();
}

/** Why text-to-speech is unavailable (one line naming the package), or null when it works. */
export function unavailableReason(voice: FliteVoice = "kal16"): string | null {
  if (!library.available()) return library.reason();
  if (!voiceLibrary(voice).available()) return voiceLibrary(voice).reason();
  return null;
}

function voicePointer(lib: FliteLib, voice: FliteVoice): Deno.PointerObject {
  const known = voices.get(voice);
  if (known !== undefined) return known;
  const vlib = voiceLibrary(voice).require();
  if (!initialised) {
    lib.flite_init();
    initialised = true;
  }
  const register = vlib[`register_cmu_us_${voice}`] as unknown as (dir: null) => Deno.PointerValue;
  const ptr = register(null);
  if (ptr === null) throw new Error(`flite could not register voice ${voice}`);
  voices.set(voice, ptr);
  return ptr;
}

/** Synthesised audio: mono 16-bit PCM at the voice's own rate. */
export interface Speech {
  sampleRate: number;
  samples: Int16Array;
}

/** Options for {@linkcode synthesize}. */
export interface SynthesizeOptions {
  /** Voice (default `kal16`, 16 kHz). */
  voice?: FliteVoice;
  /** Speaking rate, 1 = normal; 0.5..2 (flite `duration_stretch` = 1 / rate). */
  rate?: number;
}

const encoder = new TextEncoder();
/** Longest text accepted in one call, in characters (prompts are sentences, not books). */
export const MAX_TEXT = 4000;

/**
 * Speak `text`. Throws Error (naming the Debian package) when libflite or the voice is missing,
 * RangeError on an empty or too long text, a rate out of range or an unknown voice.
 */
export function synthesize(text: string, options: SynthesizeOptions = {}): Promise<Speech> {
  const voice = options.voice ?? "kal16";
  const rate = options.rate ?? 1;
  if (!(VOICES as readonly string[]).includes(voice)) {
    return Promise.reject(new RangeError(`unknown flite voice "${voice}" (have ${VOICES.join(", ")})`));
  }
  if (!(rate >= 0.5 && rate <= 2)) {
    return Promise.reject(new RangeError(`speaking rate ${rate} not in 0.5..2`));
  }
  if (text.trim() === "") return Promise.reject(new RangeError("nothing to say: empty text"));
  if (text.length > MAX_TEXT) {
    return Promise.reject(new RangeError(`text of ${text.length} characters, limit ${MAX_TEXT}`));
  }
  const run = queue.then(() => synthesizeNow(text, voice, rate));
  queue = run.catch(() => {});
  return run;
}

async function synthesizeNow(text: string, voice: FliteVoice, rate: number): Promise<Speech> {
  const lib = library.require();
  const v = voicePointer(lib, voice);
  // cst_voice { const char *name; cst_features *features; ... }: set the stretch on its features.
  const features = new Deno.UnsafePointerView(v).getPointer(8);
  if (features !== null) lib.feat_set_float(features, encoder.encode("duration_stretch\0"), 1 / rate);
  const wave = await lib.flite_text_to_wave(encoder.encode(text + "\0"), v);
  if (wave === null) throw new Error(`flite produced no audio for ${JSON.stringify(text.slice(0, 80))}`);
  try {
    // cst_wave { const char *type; int sample_rate; int num_samples; int num_channels; short *samples; }
    const view = new Deno.UnsafePointerView(wave);
    const sampleRate = view.getInt32(8);
    const n = view.getInt32(12);
    const channels = view.getInt32(16);
    const data = view.getPointer(24);
    if (channels !== 1 || n < 0 || data === null) {
      throw new Error(`flite returned an unexpected wave: ${channels} channels, ${n} samples`);
    }
    const samples = new Int16Array(n);
    if (n > 0) samples.set(new Int16Array(Deno.UnsafePointerView.getArrayBuffer(data, n * 2)));
    return { sampleRate, samples };
  } finally {
    lib.delete_wave(wave);
  }
}
