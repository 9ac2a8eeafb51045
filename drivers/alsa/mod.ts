/**
 * ALSA (libasound2) through FFI: playback PCMs, card/PCM listing, mixer volume, and
 * {@linkcode AlsaWriter}, a worker-owned paced output for the paging speakers.
 *
 * @example
 * ```ts
 * const out = await AlsaWriter.open({ device: "default", rate: 16000, channels: 2 });
 * out.write([1], new Int16Array(320), { hold: true }); // 20 ms on the right channel
 * await out.end([1]);
 * await out.close();
 * ```
 *
 * @module
 */
export {
  type AlsaCard,
  AlsaError,
  type AlsaLib,
  AlsaPcm,
  type AlsaPcmHint,
  available,
  library,
  listCards,
  listPcms,
  type PcmOpenOptions,
  setMixerVolume,
  strerror,
} from "./alsa.ts";
export { AlsaWriter, type AlsaWriterOptions, type WriterStats } from "./writer.ts";
