/** Adaptive jitter buffer. @module */
export {
  JitterBuffer,
  type JitterOptions,
  type JitterPacket,
  type JitterStats,
  type PushResult,
} from "./jitter.ts";
