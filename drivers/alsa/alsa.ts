/**
 * alsa-lib (Debian libasound2, 1.2.8) through FFI: open a playback PCM by name (optionally from a
 * local config string), set format/rate/channels with `snd_pcm_set_params`, write interleaved S16
 * frames, recover from xruns, drain, close; list cards and PCM names; set a simple mixer
 * element's playback volume. Prototypes from alsa-lib's include/pcm.h, control.h, mixer.h, conf.h.
 *
 * @module
 */
import { NativeLibrary } from "../loader.ts";

const SYMBOLS = {
  // int snd_pcm_open(snd_pcm_t **pcm, const char *name, snd_pcm_stream_t stream, int mode)
  snd_pcm_open: { parameters: ["buffer", "buffer", "i32", "i32"], result: "i32" },
  // int snd_pcm_open_lconf(snd_pcm_t **pcm, const char *name, stream, int mode, snd_config_t *lconf)
  snd_pcm_open_lconf: { parameters: ["buffer", "buffer", "i32", "i32", "pointer"], result: "i32" },
  // int snd_pcm_set_params(pcm, format, access, channels, rate, soft_resample, latency_us)
  snd_pcm_set_params: { parameters: ["pointer", "i32", "i32", "u32", "u32", "i32", "u32"], result: "i32" },
  // snd_pcm_sframes_t snd_pcm_writei(snd_pcm_t *pcm, const void *buffer, snd_pcm_uframes_t size)
  snd_pcm_writei: { parameters: ["pointer", "buffer", "u64"], result: "i64" },
  snd_pcm_recover: { parameters: ["pointer", "i32", "i32"], result: "i32" },
  snd_pcm_drain: { parameters: ["pointer"], result: "i32" },
  snd_pcm_drop: { parameters: ["pointer"], result: "i32" },
  snd_pcm_close: { parameters: ["pointer"], result: "i32" },
  snd_pcm_nonblock: { parameters: ["pointer", "i32"], result: "i32" },
  snd_strerror: { parameters: ["i32"], result: "pointer" },
  // Cards and device hints.
  snd_card_next: { parameters: ["buffer"], result: "i32" },
  snd_card_get_name: { parameters: ["i32", "buffer"], result: "i32" },
  snd_card_get_longname: { parameters: ["i32", "buffer"], result: "i32" },
  snd_device_name_hint: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  snd_device_name_get_hint: { parameters: ["pointer", "buffer"], result: "pointer" },
  snd_device_name_free_hint: { parameters: ["pointer"], result: "i32" },
  // Local configuration from a string.
  snd_config_top: { parameters: ["buffer"], result: "i32" },
  snd_input_buffer_open: { parameters: ["buffer", "buffer", "i64"], result: "i32" },
  snd_config_load: { parameters: ["pointer", "pointer"], result: "i32" },
  snd_input_close: { parameters: ["pointer"], result: "i32" },
  snd_config_delete: { parameters: ["pointer"], result: "i32" },
  // Mixer (simple element interface).
  snd_mixer_open: { parameters: ["buffer", "i32"], result: "i32" },
  snd_mixer_attach: { parameters: ["pointer", "buffer"], result: "i32" },
  snd_mixer_selem_register: { parameters: ["pointer", "pointer", "pointer"], result: "i32" },
  snd_mixer_load: { parameters: ["pointer"], result: "i32" },
  snd_mixer_close: { parameters: ["pointer"], result: "i32" },
  snd_mixer_selem_id_malloc: { parameters: ["buffer"], result: "i32" },
  snd_mixer_selem_id_free: { parameters: ["pointer"], result: "void" },
  snd_mixer_selem_id_set_index: { parameters: ["pointer", "u32"], result: "void" },
  snd_mixer_selem_id_set_name: { parameters: ["pointer", "buffer"], result: "void" },
  snd_mixer_find_selem: { parameters: ["pointer", "pointer"], result: "pointer" },
  snd_mixer_selem_get_playback_volume_range: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  snd_mixer_selem_set_playback_volume_all: { parameters: ["pointer", "i64"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The raw alsa-lib symbols this driver binds. */
export type AlsaLib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** The lazily opened library (env override: PBX_LIBASOUND_PATH). Exposed for tests. */
export const library: NativeLibrary<typeof SYMBOLS> = new NativeLibrary({
  label: "ALSA audio output (paging speakers)",
  soname: "libasound.so.2",
  aptPackage: "libasound2",
  envVar: "PBX_LIBASOUND_PATH",
  symbols: SYMBOLS,
});

/** True when libasound can be used (opens it on first call; one log line if missing). */
export function available(): boolean {
  return library.available();
}

const SND_PCM_STREAM_PLAYBACK = 0;
const SND_PCM_FORMAT_S16_LE = 2;
const SND_PCM_ACCESS_RW_INTERLEAVED = 3;
const EPIPE = 32;
const ESTRPIPE = 86;
const EAGAIN = 11;

const enc = new TextEncoder();

function cstr(s: string): Uint8Array {
  return enc.encode(s + "\0");
}

function readCString(p: Deno.PointerValue): string | null {
  if (p === null) return null;
  return new Deno.UnsafePointerView(p).getCString();
}

/** alsa-lib's message for a negative error code. */
export function strerror(code: number): string {
  const lib = library.load();
  if (lib === null) return `error ${code}`;
  return readCString(lib.snd_strerror(code)) ?? `error ${code}`;
}

function outPointer(box: BigUint64Array): Deno.PointerValue {
  return Deno.UnsafePointer.create(box[0]!);
}

/** An ALSA error: `code` is alsa-lib's negative errno. */
export class AlsaError extends Error {
  override name = "AlsaError";
  /** The negative error code from alsa-lib. */
  readonly code: number;
  /** Build an error for `what` failing with `code`. */
  constructor(what: string, code: number) {
    super(`${what}: ${strerror(code)} (${code})`);
    this.code = code;
  }
}

/** Options for {@linkcode AlsaPcm.open}. */
export interface PcmOpenOptions {
  /** Sample rate in Hz (default 48000). */
  rate?: number;
  /** Interleaved channels (default 1). */
  channels?: number;
  /** Buffer latency in microseconds handed to snd_pcm_set_params (default 100000). */
  latencyUs?: number;
  /** Let alsa-lib resample when the device lacks the rate (default true). */
  softResample?: boolean;
  /**
   * An ALSA configuration text (asound.conf syntax) that defines `name`; opened with
   * snd_pcm_open_lconf instead of the global configuration.
   */
  config?: string;
}

/** A playback PCM writing interleaved signed 16-bit little-endian frames. Not thread-safe. */
export class AlsaPcm {
  /** The PCM name it was opened with. */
  readonly name: string;
  /** Sample rate in Hz. */
  readonly rate: number;
  /** Interleaved channels. */
  readonly channels: number;
  readonly #lib: AlsaLib;
  #pcm: Deno.PointerValue;
  #recoveries = 0;

  private constructor(lib: AlsaLib, pcm: Deno.PointerValue, name: string, rate: number, channels: number) {
    this.#lib = lib;
    this.#pcm = pcm;
    this.name = name;
    this.rate = rate;
    this.channels = channels;
  }

  /**
   * Open `name` ("default", "hw:1,0", "plughw:0", a name from `options.config`) for playback.
   * Throws Error when libasound is missing, AlsaError when the device cannot be opened or does
   * not accept the format, RangeError on bad arguments.
   */
  static open(name: string, options: PcmOpenOptions = {}): AlsaPcm {
    const rate = options.rate ?? 48000;
    const channels = options.channels ?? 1;
    const latencyUs = options.latencyUs ?? 100_000;
    if (typeof name !== "string" || name === "" || name.includes("\0")) {
      throw new RangeError(`ALSA PCM name ${JSON.stringify(name)} invalid`);
    }
    if (!Number.isInteger(rate) || rate < 1000 || rate > 384000) {
      throw new RangeError(`ALSA rate ${rate} invalid`);
    }
    if (!Number.isInteger(channels) || channels < 1 || channels > 64) {
      throw new RangeError(`ALSA channel count ${channels} invalid`);
    }
    const lib = library.require();
    const box = new BigUint64Array(1);
    let rc: number;
    if (options.config !== undefined) {
      const conf = loadConfig(lib, options.config);
      try {
        rc = lib.snd_pcm_open_lconf(box, cstr(name), SND_PCM_STREAM_PLAYBACK, 0, conf);
      } finally {
        // The PCM keeps its own references to the nodes it needs.
        lib.snd_config_delete(conf);
      }
    } else {
      rc = lib.snd_pcm_open(box, cstr(name), SND_PCM_STREAM_PLAYBACK, 0);
    }
    if (rc < 0) throw new AlsaError(`cannot open ALSA PCM "${name}"`, rc);
    const pcm = outPointer(box);
    rc = lib.snd_pcm_set_params(
      pcm,
      SND_PCM_FORMAT_S16_LE,
      SND_PCM_ACCESS_RW_INTERLEAVED,
      channels,
      rate,
      options.softResample === false ? 0 : 1,
      latencyUs,
    );
    if (rc < 0) {
      lib.snd_pcm_close(pcm);
      throw new AlsaError(`ALSA PCM "${name}" refused S16_LE ${channels}ch ${rate} Hz`, rc);
    }
    return new AlsaPcm(lib, pcm, name, rate, channels);
  }

  /** xrun recoveries so far. */
  get recoveries(): number {
    return this.#recoveries;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#pcm === null;
  }

  #ptr(): Deno.PointerObject {
    if (this.#pcm === null) throw new TypeError(`ALSA PCM "${this.name}" used after close()`);
    return this.#pcm;
  }

  /**
   * Write interleaved frames (`samples.length` must be a multiple of `channels`). Recovers from
   * underrun (EPIPE) and suspend (ESTRPIPE) once per call and retries; returns frames written.
   */
  write(samples: Int16Array): number {
    const pcm = this.#ptr();
    if (samples.length % this.channels !== 0) {
      throw new RangeError(
        `${samples.length} samples is not a whole number of ${this.channels}-channel frames`,
      );
    }
    let frames = samples.length / this.channels;
    let offset = 0;
    let recovered = false;
    while (frames > 0) {
      const view = offset === 0 ? samples : samples.subarray(offset * this.channels);
      const n = Number(this.#lib.snd_pcm_writei(pcm, view, BigInt(frames)));
      if (n >= 0) {
        offset += n;
        frames -= n;
        continue;
      }
      if (n === -EAGAIN) continue;
      if ((n === -EPIPE || n === -ESTRPIPE) && !recovered) {
        recovered = true;
        this.#recoveries++;
        const rc = this.#lib.snd_pcm_recover(pcm, n, 1);
        if (rc < 0) throw new AlsaError(`ALSA PCM "${this.name}" could not recover`, rc);
        continue;
      }
      throw new AlsaError(`ALSA write to "${this.name}" failed`, n);
    }
    return offset;
  }

  /** Play out what is buffered, then stop (blocks for up to the buffer length). */
  drain(): void {
    const rc = this.#lib.snd_pcm_drain(this.#ptr());
    if (rc < 0 && rc !== -EPIPE) throw new AlsaError(`ALSA drain of "${this.name}" failed`, rc);
  }

  /** Close the PCM (drops what is buffered; call `drain()` first to play it). Idempotent. */
  close(): void {
    if (this.#pcm === null) return;
    const p = this.#pcm;
    this.#pcm = null;
    this.#lib.snd_pcm_close(p);
  }
}

function loadConfig(lib: AlsaLib, text: string): Deno.PointerObject {
  const box = new BigUint64Array(1);
  let rc = lib.snd_config_top(box);
  if (rc < 0) throw new AlsaError("snd_config_top failed", rc);
  const conf = outPointer(box)!;
  const bytes = enc.encode(text);
  const inBox = new BigUint64Array(1);
  rc = lib.snd_input_buffer_open(inBox, bytes, BigInt(bytes.length));
  if (rc < 0) {
    lib.snd_config_delete(conf);
    throw new AlsaError("snd_input_buffer_open failed", rc);
  }
  const input = outPointer(inBox);
  rc = lib.snd_config_load(conf, input);
  lib.snd_input_close(input);
  if (rc < 0) {
    lib.snd_config_delete(conf);
    throw new AlsaError("ALSA configuration text does not parse", rc);
  }
  return conf;
}

/** One sound card as the UI lists it. */
export interface AlsaCard {
  /** Card index (hw:N). */
  index: number;
  /** Short name. */
  name: string;
  /** Long name. */
  longName: string;
}

/** Every sound card ALSA sees (empty on a machine without cards). Throws Error if libasound is missing. */
export function listCards(): AlsaCard[] {
  const lib = library.require();
  const out: AlsaCard[] = [];
  const card = new Int32Array([-1]);
  for (let guard = 0; guard < 64; guard++) {
    if (lib.snd_card_next(card) < 0 || card[0]! < 0) break;
    const idx = card[0]!;
    out.push({ index: idx, name: cardString(lib, idx, false), longName: cardString(lib, idx, true) });
  }
  return out;
}

function cardString(lib: AlsaLib, idx: number, long: boolean): string {
  const box = new BigUint64Array(1);
  const rc = long ? lib.snd_card_get_longname(idx, box) : lib.snd_card_get_name(idx, box);
  if (rc < 0) return "";
  // alsa-lib strdup()s the name; the few bytes per UI listing are not worth binding libc free().
  return readCString(outPointer(box)) ?? "";
}

/** One PCM name from the device hints ("default", "null", "hw:CARD=...,DEV=0", ...). */
export interface AlsaPcmHint {
  /** Name to pass to {@linkcode AlsaPcm.open}. */
  name: string;
  /** Description, may be multi-line. */
  description: string;
  /** "Output", "Input" or "" (both). */
  direction: string;
}

/** PCM names from the global configuration and cards (`aplay -L`). Throws Error if libasound is missing. */
export function listPcms(): AlsaPcmHint[] {
  const lib = library.require();
  const box = new BigUint64Array(1);
  const rc = lib.snd_device_name_hint(-1, cstr("pcm"), box);
  if (rc < 0) throw new AlsaError("snd_device_name_hint failed", rc);
  const hints = outPointer(box);
  if (hints === null) return [];
  const out: AlsaPcmHint[] = [];
  const view = new Deno.UnsafePointerView(hints);
  const get = (hint: Deno.PointerObject, id: string) =>
    readCString(lib.snd_device_name_get_hint(hint, cstr(id)));
  try {
    for (let i = 0; i < 4096; i++) {
      const hint = Deno.UnsafePointer.create(view.getBigUint64(i * 8));
      if (hint === null) break;
      const name = get(hint, "NAME");
      if (name === null) continue;
      out.push({ name, description: get(hint, "DESC") ?? "", direction: get(hint, "IOID") ?? "" });
    }
  } finally {
    lib.snd_device_name_free_hint(hints);
  }
  return out;
}

/**
 * Set the playback volume of a simple mixer element (e.g. "Master", "PCM", "Speaker") on a
 * card ("hw:0", "default") to `percent` (0-100) of its range, all channels.
 */
export function setMixerVolume(
  card: string,
  element: string,
  percent: number,
  options: { index?: number } = {},
): void {
  if (!(percent >= 0 && percent <= 100)) throw new RangeError(`mixer volume ${percent} not in 0..100`);
  const lib = library.require();
  const box = new BigUint64Array(1);
  let rc = lib.snd_mixer_open(box, 0);
  if (rc < 0) throw new AlsaError("snd_mixer_open failed", rc);
  const mixer = outPointer(box)!;
  let sid: Deno.PointerValue = null;
  try {
    rc = lib.snd_mixer_attach(mixer, cstr(card));
    if (rc < 0) throw new AlsaError(`cannot attach mixer to "${card}"`, rc);
    rc = lib.snd_mixer_selem_register(mixer, null, null);
    if (rc < 0) throw new AlsaError("snd_mixer_selem_register failed", rc);
    rc = lib.snd_mixer_load(mixer);
    if (rc < 0) throw new AlsaError(`cannot load mixer of "${card}"`, rc);
    const idBox = new BigUint64Array(1);
    rc = lib.snd_mixer_selem_id_malloc(idBox);
    if (rc < 0) throw new AlsaError("snd_mixer_selem_id_malloc failed", rc);
    sid = outPointer(idBox);
    lib.snd_mixer_selem_id_set_index(sid, options.index ?? 0);
    lib.snd_mixer_selem_id_set_name(sid, cstr(element));
    const elem = lib.snd_mixer_find_selem(mixer, sid);
    if (elem === null) throw new RangeError(`mixer element "${element}" not found on "${card}"`);
    const min = new BigInt64Array(1);
    const max = new BigInt64Array(1);
    rc = lib.snd_mixer_selem_get_playback_volume_range(elem, min, max);
    if (rc < 0) throw new AlsaError(`"${element}" has no playback volume`, rc);
    const lo = Number(min[0]);
    const hi = Number(max[0]);
    const value = Math.round(lo + (hi - lo) * percent / 100);
    rc = lib.snd_mixer_selem_set_playback_volume_all(elem, BigInt(value));
    if (rc < 0) throw new AlsaError(`cannot set "${element}" volume`, rc);
  } finally {
    if (sid !== null) lib.snd_mixer_selem_id_free(sid);
    lib.snd_mixer_close(mixer);
  }
}
