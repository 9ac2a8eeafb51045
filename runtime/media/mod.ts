/**
 * Media: RTP/RTCP, the relay worker (MediaPlane), G.711, WAV, jitter buffer, tones, mixer, DTMF.
 * Knows nothing of SIP. Codecs beyond G.711 live in ./codec (separate module).
 * @module
 */
export * from "./rtp/mod.ts";
export * from "./relay/mod.ts";
export * from "./g711/mod.ts";
export * from "./wav/mod.ts";
export * from "./jitter/mod.ts";
export * from "./tone/mod.ts";
export * from "./mix/mod.ts";
export * from "./dtmf/mod.ts";
