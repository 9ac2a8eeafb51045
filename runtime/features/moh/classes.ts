/**
 * Music-on-hold classes: the built-in `default` (the generated melody) and classes an admin
 * uploads as WAV files of any rate, channel count and G.711/PCM16 format. An upload is parsed in
 * full before it is kept (a truncated or non-WAV file is refused with the parser's words for what
 * is wrong), written to `<dir>/<name>.wav` through a temporary file and a rename, so a crash never
 * leaves half a class. The media worker plays a class file in each held leg's own codec,
 * resampling and mixing down as it reads it (`playFile`), so a 44.1 kHz stereo upload serves
 * narrowband and wideband callers alike.
 * @module
 */
import { readWav } from "../../media/wav/mod.ts";

/** The built-in class (the generated melody); it cannot be replaced or deleted. */
export const BUILTIN_CLASS = "default";

/** Settings key holding the name of the class held parties hear. */
export const MOH_CLASS_SETTING = "moh.class";

/** Largest upload (bytes): 10 minutes of 44.1 kHz 16-bit stereo is ~106 MB; we keep it smaller. */
export const MAX_CLASS_BYTES = 32 * 1024 * 1024;

/** Shortest class worth looping (ms). */
const MIN_CLASS_MS = 500;

/** One class as the API lists it. */
export interface MohClass {
  name: string;
  builtin: boolean;
  /** The class held parties hear now. */
  selected: boolean;
  sampleRate?: number;
  channels?: number;
  durationMs?: number;
  bytes?: number;
}

/** An upload the library refused; `message` says what is wrong. */
export class MohClassError extends Error {
  constructor(message: string, readonly status: 400 | 404 | 409 | 413 = 400) {
    super(message);
    this.name = "MohClassError";
  }
}

/** Where selection is kept (the settings store fits). */
export interface MohSettings {
  get<T = unknown>(key: string): T | undefined;
  set(key: string, value: unknown): void;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** The class library over a folder and the settings store. */
export class MohClasses {
  readonly #dir: string;
  readonly #settings: MohSettings;

  constructor(dir: string, settings: MohSettings) {
    this.#dir = dir;
    this.#settings = settings;
  }

  /** The selected class's file, or undefined for the built-in melody (or a selection that vanished). */
  selectedFile(): string | undefined {
    const name = this.selected();
    if (name === BUILTIN_CLASS) return undefined;
    const path = this.#path(name);
    try {
      Deno.statSync(path);
      return path;
    } catch {
      return undefined;
    }
  }

  /** The selected class's name. */
  selected(): string {
    const name = this.#settings.get<string>(MOH_CLASS_SETTING);
    return typeof name === "string" && NAME.test(name) ? name : BUILTIN_CLASS;
  }

  /** Every class, the built-in first. */
  list(): MohClass[] {
    const selected = this.selected();
    const out: MohClass[] = [{ name: BUILTIN_CLASS, builtin: true, selected: selected === BUILTIN_CLASS }];
    let entries: Deno.DirEntry[] = [];
    try {
      entries = [...Deno.readDirSync(this.#dir)];
    } catch {
      return out; // nothing uploaded yet
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!e.isFile || !e.name.endsWith(".wav")) continue;
      const name = e.name.slice(0, -4);
      if (!NAME.test(name)) continue;
      try {
        const bytes = Deno.readFileSync(this.#path(name));
        const w = readWav(bytes);
        out.push({
          name,
          builtin: false,
          selected: selected === name,
          sampleRate: w.sampleRate,
          channels: w.channels,
          durationMs: Math.round((w.samples.length / w.channels / w.sampleRate) * 1000),
          bytes: bytes.length,
        });
      } catch {
        // a file put there by hand that does not parse: not offered
      }
    }
    return out;
  }

  /** Keep an uploaded WAV as class `name` (replacing an upload of that name). */
  put(name: string, bytes: Uint8Array): MohClass {
    checkName(name);
    if (bytes.length > MAX_CLASS_BYTES) {
      throw new MohClassError(`the file is ${bytes.length} bytes; the limit is ${MAX_CLASS_BYTES}`, 413);
    }
    let w;
    try {
      w = readWav(bytes);
    } catch (e) {
      throw new MohClassError(`not a usable WAV file: ${(e as Error).message}`);
    }
    const durationMs = Math.round((w.samples.length / w.channels / w.sampleRate) * 1000);
    if (w.sampleRate < 8000 || w.sampleRate > 48000) {
      throw new MohClassError(`sample rate ${w.sampleRate} Hz is outside 8000-48000`);
    }
    if (durationMs < MIN_CLASS_MS) {
      throw new MohClassError(
        `the file holds ${durationMs} ms of audio; music on hold needs ${MIN_CLASS_MS} ms`,
      );
    }
    Deno.mkdirSync(this.#dir, { recursive: true });
    const tmp = `${this.#path(name)}.part`;
    Deno.writeFileSync(tmp, bytes);
    Deno.renameSync(tmp, this.#path(name));
    return {
      name,
      builtin: false,
      selected: this.selected() === name,
      sampleRate: w.sampleRate,
      channels: w.channels,
      durationMs,
      bytes: bytes.length,
    };
  }

  /** Remove an uploaded class; the selection falls back to the built-in one if it was this. */
  delete(name: string): void {
    checkName(name);
    try {
      Deno.removeSync(this.#path(name));
    } catch {
      throw new MohClassError(`no music-on-hold class "${name}"`, 404);
    }
    if (this.selected() === name) this.#settings.set(MOH_CLASS_SETTING, BUILTIN_CLASS);
  }

  /** Choose the class held parties hear. */
  select(name: string): void {
    if (name !== BUILTIN_CLASS) {
      checkName(name);
      if (!this.list().some((c) => c.name === name)) {
        throw new MohClassError(`no music-on-hold class "${name}"`, 404);
      }
    }
    this.#settings.set(MOH_CLASS_SETTING, name);
  }

  #path(name: string): string {
    return `${this.#dir}/${name}.wav`;
  }
}

function checkName(name: string): void {
  if (name === BUILTIN_CLASS) throw new MohClassError(`"${BUILTIN_CLASS}" is the built-in class`, 409);
  if (!NAME.test(name)) {
    throw new MohClassError(
      "a class name is 1-32 characters: lower-case letters, digits, '-' and '_', starting with a letter or digit",
    );
  }
}
