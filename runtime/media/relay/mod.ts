/** The media plane: RTP/RTCP relay running in a worker, with latching, PT rewriting and prompts. @module */
export { MediaPlane, type PlayResult } from "./media_plane.ts";
export { Latch, type LatchDecision, type LatchOptions } from "./_latch.ts";
export type {
  AllocatedLeg,
  BridgeOptions,
  CodecInfo,
  CodecRef,
  DtmfDelivery,
  LegConfig,
  LegStats,
  MediaEvent,
  MediaPlaneOptions,
  MediaResources,
  MixOptions,
  PayloadMap,
  PlayOptions,
  PlaySource,
  RecordOptions,
  RecordResult,
  RemoteEndpoint,
  TranscodeSpec,
} from "./_protocol.ts";
