/**
 * Reading what a media section says: codecs, direction, ptime, RTCP port.
 */

import type { Attribute, Codec, Direction, MediaDescription, SessionDescription } from "./types.ts";

/** Static RTP payload types (RFC 3551 section 6): name, clock rate, channels. */
export const STATIC_PAYLOAD_TYPES: ReadonlyMap<number, Readonly<Omit<Codec, "payloadType" | "fmtp">>> =
  new Map(
    [
      [0, { name: "PCMU", clockRate: 8000, channels: 1 }],
      [3, { name: "GSM", clockRate: 8000, channels: 1 }],
      [4, { name: "G723", clockRate: 8000, channels: 1 }],
      [5, { name: "DVI4", clockRate: 8000, channels: 1 }],
      [6, { name: "DVI4", clockRate: 16000, channels: 1 }],
      [7, { name: "LPC", clockRate: 8000, channels: 1 }],
      [8, { name: "PCMA", clockRate: 8000, channels: 1 }],
      // G.722 samples at 16 kHz but its RTP clock is 8000 (RFC 3551 section 4.5.2).
      [9, { name: "G722", clockRate: 8000, channels: 1 }],
      [10, { name: "L16", clockRate: 44100, channels: 2 }],
      [11, { name: "L16", clockRate: 44100, channels: 1 }],
      [12, { name: "QCELP", clockRate: 8000, channels: 1 }],
      [13, { name: "CN", clockRate: 8000, channels: 1 }],
      [14, { name: "MPA", clockRate: 90000, channels: 1 }],
      [15, { name: "G728", clockRate: 8000, channels: 1 }],
      [16, { name: "DVI4", clockRate: 11025, channels: 1 }],
      [17, { name: "DVI4", clockRate: 22050, channels: 1 }],
      [18, { name: "G729", clockRate: 8000, channels: 1 }],
      [25, { name: "CelB", clockRate: 90000, channels: 1 }],
      [26, { name: "JPEG", clockRate: 90000, channels: 1 }],
      [28, { name: "nv", clockRate: 90000, channels: 1 }],
      [31, { name: "H261", clockRate: 90000, channels: 1 }],
      [32, { name: "MPV", clockRate: 90000, channels: 1 }],
      [33, { name: "MP2T", clockRate: 90000, channels: 1 }],
      [34, { name: "H263", clockRate: 90000, channels: 1 }],
    ],
  );

/** The static payload type for a codec description, if RFC 3551 assigns one. */
export function staticPayloadType(name: string, clockRate: number, channels = 1): number | undefined {
  const lower = name.toLowerCase();
  for (const [pt, c] of STATIC_PAYLOAD_TYPES) {
    if (c.name.toLowerCase() === lower && c.clockRate === clockRate && c.channels === channels) return pt;
  }
  return undefined;
}

/**
 * The RTP clock rate to use for a codec: G.722's is 8000 although it samples at 16 kHz
 * (RFC 3551 section 4.5.2), and some stacks wrongly write G722/16000.
 */
export function rtpClockRate(name: string, clockRate: number): number {
  return clockRate === 16000 && name.toLowerCase() === "g722" ? 8000 : clockRate;
}

/** First attribute value with this name (case-insensitive) in a list. */
export function attributeValue(attributes: readonly Attribute[], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const a of attributes) if (a.name.toLowerCase() === lower) return a.value ?? "";
  return undefined;
}

/** Whether a flag or value attribute with this name (case-insensitive) is present. */
export function hasAttribute(attributes: readonly Attribute[], name: string): boolean {
  return attributeValue(attributes, name) !== undefined;
}

function parsePt(text: string): number | undefined {
  if (!/^\d{1,3}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 127 ? n : undefined;
}

/**
 * The RTP payload formats of a media section in `m=` order. Static payload types without an rtpmap
 * use the RFC 3551 defaults; dynamic ones without an rtpmap, and non-RTP formats, are skipped.
 */
export function codecsOf(media: MediaDescription): Codec[] {
  const rtpmap = new Map<number, { name: string; clockRate: number; channels: number }>();
  const fmtp = new Map<number, string>();
  for (const a of media.attributes) {
    const name = a.name.toLowerCase();
    if ((name !== "rtpmap" && name !== "fmtp") || a.value === undefined) continue;
    const m = /^\s*(\d{1,3})\s+(.*)$/.exec(a.value);
    if (m === null) continue;
    const pt = parsePt(m[1]!);
    if (pt === undefined) continue;
    const rest = m[2]!.trim();
    if (name === "fmtp") {
      if (!fmtp.has(pt)) fmtp.set(pt, rest);
      continue;
    }
    const parts = rest.split("/");
    const encoding = parts[0]?.trim() ?? "";
    const clockRate = Number(parts[1]);
    const channels = parts[2] === undefined ? 1 : Number(parts[2]);
    if (encoding === "" || !Number.isInteger(clockRate) || clockRate <= 0) continue;
    if (!Number.isInteger(channels) || channels <= 0) continue;
    if (!rtpmap.has(pt)) rtpmap.set(pt, { name: encoding, clockRate, channels });
  }
  const out: Codec[] = [];
  const seen = new Set<number>();
  for (const format of media.formats) {
    const pt = parsePt(format);
    if (pt === undefined || seen.has(pt)) continue;
    seen.add(pt);
    const described = rtpmap.get(pt) ?? STATIC_PAYLOAD_TYPES.get(pt);
    if (described === undefined) continue;
    const codec: Codec = {
      payloadType: pt,
      name: described.name,
      clockRate: rtpClockRate(described.name, described.clockRate),
      channels: described.channels,
    };
    const f = fmtp.get(pt);
    if (f !== undefined) codec.fmtp = f;
    out.push(codec);
  }
  return out;
}

/** Whether a codec is RFC 4733 telephone-event. */
export function isTelephoneEvent(codec: { name: string }): boolean {
  return codec.name.toLowerCase() === "telephone-event";
}

/** Whether a codec is comfort noise (RFC 3389). */
export function isComfortNoise(codec: { name: string }): boolean {
  return codec.name.toLowerCase() === "cn";
}

/**
 * The telephone-event format of a media section: the one at `clockRate` when given and offered,
 * else the 8000 Hz one, else the first.
 */
export function telephoneEventOf(media: MediaDescription, clockRate?: number): Codec | undefined {
  const events = codecsOf(media).filter(isTelephoneEvent);
  return events.find((c) => c.clockRate === clockRate) ?? events.find((c) => c.clockRate === 8000) ??
    events[0];
}

const DIRECTIONS: readonly Direction[] = ["sendrecv", "sendonly", "recvonly", "inactive"];

function directionAttribute(attributes: readonly Attribute[]): Direction | undefined {
  // The last one wins if a sender (wrongly) repeats it.
  let found: Direction | undefined;
  for (const a of attributes) {
    const name = a.name.toLowerCase() as Direction;
    if (DIRECTIONS.includes(name)) found = name;
  }
  return found;
}

function isUnspecifiedAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const host = address.split("/")[0];
  return host === "0.0.0.0" || host === "::";
}

/**
 * The direction of a media section (media-level attributes override the session's) or of a session.
 * A port of 0 is inactive. Legacy hold (RFC 3264 section 8.4, `c=0.0.0.0`) means the sender cannot
 * receive: sendrecv becomes sendonly and recvonly becomes inactive.
 */
export function directionOf(
  target: MediaDescription | SessionDescription,
  session?: SessionDescription,
): Direction {
  if ("media" in target) {
    return directionAttribute(target.attributes) ??
      (isUnspecifiedAddress(target.connection?.address) ? "sendonly" : "sendrecv");
  }
  const media = target;
  if (media.port === 0) return "inactive";
  let dir = directionAttribute(media.attributes) ?? (session && directionAttribute(session.attributes)) ??
    "sendrecv";
  const address = media.connection?.address ?? session?.connection?.address;
  if (isUnspecifiedAddress(address)) {
    if (dir === "sendrecv") dir = "sendonly";
    else if (dir === "recvonly") dir = "inactive";
  }
  return dir;
}

/** Whether the sender of this description is putting the stream on hold (sendonly or inactive). */
export function isHold(media: MediaDescription, session?: SessionDescription): boolean {
  const dir = directionOf(media, session);
  return dir === "sendonly" || dir === "inactive";
}

/** The answer direction for an offered one (RFC 3264 section 6.1), limited by what we want. */
export function answerDirection(offered: Direction, wanted: Direction = "sendrecv"): Direction {
  const offerSends = offered === "sendrecv" || offered === "sendonly";
  const offerReceives = offered === "sendrecv" || offered === "recvonly";
  const weSend = offerReceives && (wanted === "sendrecv" || wanted === "sendonly");
  const weReceive = offerSends && (wanted === "sendrecv" || wanted === "recvonly");
  return weSend ? (weReceive ? "sendrecv" : "sendonly") : (weReceive ? "recvonly" : "inactive");
}

function positiveNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text.trim());
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** `a=ptime` in ms (media level, else session level). */
export function ptimeOf(media: MediaDescription, session?: SessionDescription): number | undefined {
  return positiveNumber(attributeValue(media.attributes, "ptime")) ??
    (session && positiveNumber(attributeValue(session.attributes, "ptime")));
}

/** `a=maxptime` in ms (media level, else session level). */
export function maxPtimeOf(media: MediaDescription, session?: SessionDescription): number | undefined {
  return positiveNumber(attributeValue(media.attributes, "maxptime")) ??
    (session && positiveNumber(attributeValue(session.attributes, "maxptime")));
}

/** Explicit RTCP transport address (RFC 3605 `a=rtcp:<port> [IN IP4 <addr>]`). */
export interface RtcpAddress {
  port: number;
  address?: string;
}

/**
 * The RTCP port (and address) a media section asks for: `a=rtcp` when present, else undefined
 * (meaning RTP port + 1, or the RTP port itself with `a=rtcp-mux`: see {@link rtcpMuxOf}).
 */
export function rtcpOf(media: MediaDescription): RtcpAddress | undefined {
  const value = attributeValue(media.attributes, "rtcp");
  if (value === undefined) return undefined;
  const f = value.trim().split(/\s+/);
  if (!/^\d{1,5}$/.test(f[0] ?? "")) return undefined;
  const port = Number(f[0]);
  if (port > 65535) return undefined;
  return f.length >= 4 ? { port, address: f[3]! } : { port };
}

/** Whether the section offers or accepts RTP/RTCP multiplexing (RFC 5761). */
export function rtcpMuxOf(media: MediaDescription): boolean {
  return hasAttribute(media.attributes, "rtcp-mux");
}

/** The connection address for a media section: its own c= or the session's. */
export function connectionAddressOf(
  media: MediaDescription,
  session: SessionDescription,
): string | undefined {
  const c = media.connection ?? session.connection;
  return c?.address.split("/")[0];
}
