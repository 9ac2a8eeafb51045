/** WAV reading and writing (PCM16, mu-law, A-law), with a streaming writer for recordings. @module */
export {
  readWav,
  type ReadWavOptions,
  type WavData,
  type WavFormat,
  type WavSink,
  type WavSpec,
  WavWriter,
  writeWav,
} from "./wav.ts";
