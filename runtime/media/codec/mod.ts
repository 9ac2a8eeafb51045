/**
 * Audio codecs for the media plane: the AudioCodec/CodecFactory contracts, the registry SDP
 * advertises from, a resampler and a transcoder. Native codecs come from drivers/.
 *
 * @module
 */
export { type AudioCodec, type CodecFactory, type CodecOptions, frameSamples, parseFmtp } from "./types.ts";
export { CodecRegistry, defaultRegistry, type DefaultRegistryOptions } from "./registry.ts";
export {
  createOpusFactory,
  g722Factory,
  g726Factory,
  g729Factory,
  OpusCodec,
  opusFactory,
  pcmaFactory,
  pcmuFactory,
} from "./codecs.ts";
export { Resampler, type ResamplerOptions } from "./resampler.ts";
export { type PacketSink, Transcoder } from "./transcoder.ts";
