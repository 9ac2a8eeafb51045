/**
 * The SDP model (RFC 8866, formerly RFC 4566). Plain data: parse, change, serialize.
 */

/** `o=` (RFC 8866 section 5.2). Ids stay strings: phones use 64-bit values beyond 2^53. */
export interface Origin {
  username: string;
  sessionId: string;
  sessionVersion: string;
  netType: string;
  addrType: string;
  address: string;
}

/** `c=` (RFC 8866 section 5.7). `address` keeps any multicast `/ttl/count` suffix. */
export interface Connection {
  netType: string;
  addrType: string;
  address: string;
}

/** `b=<type>:<kbps>` (RFC 8866 section 5.8). */
export interface Bandwidth {
  type: string;
  value: number;
}

/** `t=` with its `r=` lines kept verbatim (RFC 8866 sections 5.9, 5.10). */
export interface Timing {
  start: number;
  stop: number;
  repeats: string[];
}

/** `a=<name>[:<value>]`. */
export interface Attribute {
  name: string;
  value?: string;
}

/** A line of a type this model has no field for, kept so serialization does not lose it. */
export interface OtherLine {
  type: string;
  value: string;
}

/** One `m=` section (RFC 8866 section 5.14). */
export interface MediaDescription {
  /** `audio`, `video`, `application`, ... */
  type: string;
  /** 0 means the stream is rejected or disabled (RFC 3264 section 6). */
  port: number;
  /** The `/<count>` after the port, when present. */
  portCount?: number;
  /** `RTP/AVP`, `RTP/SAVP`, `RTP/AVPF`, `UDP/TLS/RTP/SAVPF`, ... */
  protocol: string;
  /** Payload types (as strings) for RTP; other tokens otherwise. */
  formats: string[];
  information?: string;
  /** The first media-level `c=`; further ones (multicast layering) are not modelled. */
  connection?: Connection;
  bandwidths: Bandwidth[];
  /** `k=` (obsolete, kept for round trips). */
  key?: string;
  attributes: Attribute[];
  /** Unknown line types within this section. */
  otherLines?: OtherLine[];
}

/** A whole session description. */
export interface SessionDescription {
  /** `v=`, always 0. */
  version: number;
  origin: Origin;
  /** `s=`; `-` when the sender had nothing to say. */
  sessionName: string;
  information?: string;
  uri?: string;
  emails?: string[];
  phones?: string[];
  connection?: Connection;
  bandwidths: Bandwidth[];
  timing: Timing[];
  /** `z=` verbatim. */
  timeZones?: string;
  /** `k=` (obsolete). */
  key?: string;
  attributes: Attribute[];
  /** Unknown line types at session level. */
  otherLines?: OtherLine[];
  media: MediaDescription[];
}

/** Media direction (RFC 3264 sections 5.1, 6.1). */
export type Direction = "sendrecv" | "sendonly" | "recvonly" | "inactive";

/** An RTP payload format as described by `m=`, `a=rtpmap` and `a=fmtp`. */
export interface Codec {
  payloadType: number;
  /** Encoding name as written; compare case-insensitively. */
  name: string;
  /** RTP clock rate (8000 for G.722 although it samples at 16 kHz: RFC 3551 section 4.5.2). */
  clockRate: number;
  /** Audio channels, 1 unless stated. */
  channels: number;
  /** The `a=fmtp` parameters, when present. */
  fmtp?: string;
}

/** A codec we are willing to use, in order of preference. */
export interface CodecPreference {
  name: string;
  clockRate: number;
  /** Default 1. */
  channels?: number;
  /** Payload type to use when we offer; static codecs get their RFC 3551 number regardless. */
  payloadType?: number;
  /** Our fmtp, used in offers and answers instead of the peer's when given. */
  fmtp?: string;
}
