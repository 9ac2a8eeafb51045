/**
 * The offer/answer model (RFC 3264): codec negotiation, building offers and answers, and
 * rewriting addresses when the box anchors RTP.
 */

import { getRandomValues } from "node:crypto";
import {
  answerDirection,
  codecsOf,
  directionOf,
  isComfortNoise,
  isTelephoneEvent,
  ptimeOf,
  rtpClockRate,
  staticPayloadType,
  telephoneEventOf,
} from "./media.ts";
import type {
  Attribute,
  Codec,
  CodecPreference,
  Direction,
  MediaDescription,
  SessionDescription,
} from "./types.ts";

/** Result of {@link negotiate}: what the answer will carry for one media section. */
export interface Negotiated {
  /** Common codecs with the offerer's payload types, in the chosen order (CN included if both do it). */
  codecs: Codec[];
  /** The RFC 4733 event format, when both sides support it. */
  telephoneEvent?: Codec;
  /** The direction to answer with. */
  direction: Direction;
  /** The offerer's a=ptime, to echo. */
  ptime?: number;
}

/** Options of {@link negotiate}. */
export interface NegotiateOptions {
  /** Keep the offerer's codec order (RFC 3264 section 6.1 recommends it); default true. */
  preferOfferOrder?: boolean;
  /** The direction we want; the answer is limited by the offer's (default sendrecv). */
  direction?: Direction;
  /** The session the media belongs to, for session-level direction, c= and ptime. */
  session?: SessionDescription;
  /** Transport protocols we accept; default RTP/AVP and RTP/AVPF (no SRTP yet). */
  protocols?: readonly string[];
}

function matches(offered: Codec, pref: CodecPreference): boolean {
  return offered.name.toLowerCase() === pref.name.toLowerCase() &&
    rtpClockRate(offered.name, offered.clockRate) === rtpClockRate(pref.name, pref.clockRate) &&
    (pref.channels === undefined || pref.channels === offered.channels);
}

/**
 * Intersect an offered media section with the codecs we support. Returns null when nothing usable
 * is in common (answer 488, or reject the stream with port 0): a zero port, an unsupported
 * protocol, or no common codec other than telephone-event and CN.
 * telephone-event is negotiated when `supported` lists it (any clock rate).
 */
export function negotiate(
  offer: MediaDescription,
  supported: readonly CodecPreference[],
  options: NegotiateOptions = {},
): Negotiated | null {
  const protocols = options.protocols ?? ["RTP/AVP", "RTP/AVPF"];
  if (offer.port === 0) return null;
  if (!protocols.some((p) => p.toLowerCase() === offer.protocol.toLowerCase())) return null;
  const offered = codecsOf(offer);
  const wantEvents = supported.some(isTelephoneEvent);
  const prefs = supported.filter((p) => !isTelephoneEvent(p));
  const pairs: { codec: Codec; pref: CodecPreference; rank: number }[] = [];
  for (const codec of offered) {
    if (isTelephoneEvent(codec)) continue;
    const rank = prefs.findIndex((p) => matches(codec, p));
    if (rank < 0) continue;
    pairs.push({ codec, pref: prefs[rank]!, rank });
  }
  if (!(options.preferOfferOrder ?? true)) pairs.sort((a, b) => a.rank - b.rank);
  const codecs = pairs.map(({ codec, pref }) => {
    const out: Codec = { ...codec };
    if (pref.fmtp !== undefined) out.fmtp = pref.fmtp;
    return out;
  });
  const first = codecs.find((c) => !isComfortNoise(c));
  if (first === undefined) return null;
  const result: Negotiated = {
    codecs,
    direction: answerDirection(directionOf(offer, options.session), options.direction),
  };
  if (wantEvents) {
    const event = telephoneEventOf(offer, first.clockRate);
    if (event !== undefined) result.telephoneEvent = event;
  }
  const ptime = ptimeOf(offer, options.session);
  if (ptime !== undefined) result.ptime = ptime;
  return result;
}

/**
 * Negotiate the first audio section of an offer that has a codec in common.
 * Returns its index and the result, or null when no audio section is usable (answer 488).
 */
export function negotiateAudio(
  offer: SessionDescription,
  supported: readonly CodecPreference[],
  options: Omit<NegotiateOptions, "session"> = {},
): { mediaIndex: number; negotiated: Negotiated } | null {
  for (let i = 0; i < offer.media.length; i++) {
    const media = offer.media[i]!;
    if (media.type.toLowerCase() !== "audio") continue;
    const negotiated = negotiate(media, supported, { ...options, session: offer });
    if (negotiated !== null) return { mediaIndex: i, negotiated };
  }
  return null;
}

function addrType(address: string): "IP4" | "IP6" {
  return address.includes(":") ? "IP6" : "IP4";
}

function checkPort(port: number, what = "port"): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`${what} must be an integer in 0..65535, got ${port}`);
  }
}

function checkPayloadType(pt: number): void {
  if (!Number.isInteger(pt) || pt < 0 || pt > 127) {
    throw new RangeError(`RTP payload type must be an integer in 0..127, got ${pt}`);
  }
}

function randomSessionId(): string {
  const [a = 0, b = 0] = getRandomValues(new Uint32Array(2));
  // 52 random bits: plenty, and still an exact JavaScript number for whoever parses it.
  return String((a & 0xfffff) * 2 ** 32 + b);
}

function rtpAttributes(codecs: readonly Codec[]): Attribute[] {
  const out: Attribute[] = [];
  for (const c of codecs) {
    const channels = c.channels !== 1 ? `/${c.channels}` : "";
    out.push({ name: "rtpmap", value: `${c.payloadType} ${c.name}/${c.clockRate}${channels}` });
  }
  for (const c of codecs) {
    if (c.fmtp !== undefined && c.fmtp !== "") {
      out.push({ name: "fmtp", value: `${c.payloadType} ${c.fmtp}` });
    }
  }
  return out;
}

function session(options: {
  address: string;
  sessionId?: string | number | undefined;
  sessionVersion?: string | number | undefined;
  username?: string | undefined;
  sessionName?: string | undefined;
}): SessionDescription {
  const type = addrType(options.address);
  return {
    version: 0,
    origin: {
      username: options.username ?? "-",
      sessionId: String(options.sessionId ?? randomSessionId()),
      sessionVersion: String(options.sessionVersion ?? 1),
      netType: "IN",
      addrType: type,
      address: options.address,
    },
    sessionName: options.sessionName ?? "-",
    connection: { netType: "IN", addrType: type, address: options.address },
    bandwidths: [],
    timing: [{ start: 0, stop: 0, repeats: [] }],
    attributes: [],
    media: [],
  };
}

/** Options of {@link createOffer}. */
export interface CreateOfferOptions {
  /** Our RTP address for c= and o=. */
  address: string;
  /** Our RTP port. */
  port: number;
  /** Codecs in order of preference; static ones get their RFC 3551 payload type. */
  codecs: readonly CodecPreference[];
  /** Offer RFC 4733 events: true for 101 telephone-event/8000 with 0-16, or the details. */
  telephoneEvent?: boolean | { payloadType?: number; clockRate?: number; fmtp?: string };
  direction?: Direction;
  ptime?: number;
  sessionId?: string | number;
  sessionVersion?: string | number;
  /** o= username, default `-`. */
  username?: string;
  sessionName?: string;
  /** Default RTP/AVP. */
  protocol?: string;
  /** Extra media-level attributes (rtcp-mux, ...). */
  attributes?: readonly Attribute[];
}

/** Build a one-stream audio offer. Throws RangeError on a bad port or payload type. */
export function createOffer(options: CreateOfferOptions): SessionDescription {
  checkPort(options.port);
  if (options.codecs.length === 0) throw new RangeError("createOffer needs at least one codec");
  const used = new Set<number>();
  const assigned: (number | undefined)[] = options.codecs.map((c) => {
    const pt = staticPayloadType(c.name, rtpClockRate(c.name, c.clockRate), c.channels ?? 1) ?? c.payloadType;
    if (pt !== undefined) {
      checkPayloadType(pt);
      if (used.has(pt)) throw new RangeError(`Payload type ${pt} given to two codecs`);
      used.add(pt);
    }
    return pt;
  });
  const te = options.telephoneEvent;
  let event: Codec | undefined;
  if (te !== undefined && te !== false) {
    const details = te === true ? {} : te;
    let pt = details.payloadType ?? 101;
    checkPayloadType(pt);
    if (used.has(pt)) {
      if (details.payloadType !== undefined) throw new RangeError(`Payload type ${pt} given to two codecs`);
      pt = 96;
      while (used.has(pt) && pt < 127) pt++;
    }
    used.add(pt);
    event = {
      payloadType: pt,
      name: "telephone-event",
      clockRate: details.clockRate ?? 8000,
      channels: 1,
      fmtp: details.fmtp ?? "0-16",
    };
  }
  let next = 96;
  const codecs: Codec[] = options.codecs.map((c, i) => {
    let pt = assigned[i];
    if (pt === undefined) {
      while (used.has(next)) next++;
      if (next > 127) throw new RangeError("Ran out of dynamic RTP payload types");
      pt = next;
      used.add(pt);
    }
    const codec: Codec = {
      payloadType: pt,
      name: c.name,
      clockRate: rtpClockRate(c.name, c.clockRate),
      channels: c.channels ?? 1,
    };
    if (c.fmtp !== undefined) codec.fmtp = c.fmtp;
    return codec;
  });
  const all = event === undefined ? codecs : [...codecs, event];
  const sd = session(options);
  const attributes = rtpAttributes(all);
  if (options.ptime !== undefined) attributes.push({ name: "ptime", value: String(options.ptime) });
  attributes.push(...(options.attributes ?? []));
  attributes.push({ name: options.direction ?? "sendrecv" });
  sd.media.push({
    type: "audio",
    port: options.port,
    protocol: options.protocol ?? "RTP/AVP",
    formats: all.map((c) => String(c.payloadType)),
    bandwidths: [],
    attributes,
  });
  return sd;
}

/** Options of {@link createAnswer}. */
export interface CreateAnswerOptions {
  /** Our RTP address for c= and o=. */
  address: string;
  /** Our RTP port for the accepted stream. */
  port: number;
  /** From {@link negotiate}; null rejects every stream. */
  negotiated: Negotiated | null;
  /** Which offered stream `negotiated` answers; default the first audio stream with a port. */
  mediaIndex?: number;
  sessionId?: string | number;
  sessionVersion?: string | number;
  /** o= username, default `-`. */
  username?: string;
  sessionName?: string;
  /** Extra attributes for the accepted stream (rtcp-mux, ...). */
  attributes?: readonly Attribute[];
}

/**
 * Build the answer to an offer: the chosen stream carries the negotiated codecs; every other
 * stream is rejected with port 0, keeping the m-line order and count (RFC 3264 section 6).
 */
export function createAnswer(offer: SessionDescription, options: CreateAnswerOptions): SessionDescription {
  checkPort(options.port);
  const index = options.mediaIndex ??
    offer.media.findIndex((m) => m.type.toLowerCase() === "audio" && m.port !== 0);
  const sd = session(options);
  offer.media.forEach((m, i) => {
    const n = options.negotiated;
    if (i !== index || n === null) {
      sd.media.push({
        type: m.type,
        port: 0,
        protocol: m.protocol,
        formats: m.formats.length > 0 ? [...m.formats] : ["0"],
        bandwidths: [],
        attributes: [],
      });
      return;
    }
    const all = n.telephoneEvent === undefined ? n.codecs : [...n.codecs, n.telephoneEvent];
    const attributes = rtpAttributes(all);
    if (n.ptime !== undefined) attributes.push({ name: "ptime", value: String(n.ptime) });
    attributes.push(...(options.attributes ?? []));
    attributes.push({ name: n.direction });
    sd.media.push({
      type: m.type,
      port: options.port,
      protocol: m.protocol,
      formats: all.map((c) => String(c.payloadType)),
      bandwidths: [],
      attributes,
    });
  });
  return sd;
}

/** A copy with o= session version increased by one (RFC 3264 section 8). */
export function bumpVersion(sd: SessionDescription): SessionDescription {
  const copy = structuredClone(sd);
  const v = sd.origin.sessionVersion;
  copy.origin.sessionVersion = /^\d{1,30}$/.test(v) ? (BigInt(v) + 1n).toString() : "1";
  return copy;
}

// Attributes naming the original endpoint's transport addresses: stale once RTP is anchored.
const ENDPOINT_ATTRIBUTES = new Set(["rtcp", "candidate", "remote-candidates", "end-of-candidates"]);

function isUnspecified(address: string | undefined): boolean {
  const host = address?.split("/")[0];
  return host === "0.0.0.0" || host === "::";
}

/** Options of {@link rewriteConnection}. */
export interface RewriteConnectionOptions {
  /** The box's media address. */
  address: string;
  /** New RTP port per m-line, by index; undefined entries and rejected (port 0) streams stay. */
  ports: readonly (number | undefined)[];
  /** Also rewrite the o= address; default true. */
  origin?: boolean;
}

/**
 * Point a session description at the box (RTP anchoring): c= at session and media level, the
 * m= ports, and o=. Legacy hold addresses (0.0.0.0) are kept so hold still reads as hold; a=rtcp
 * and ICE candidates of the original endpoint are dropped. The o= version is bumped when anything
 * changed. Returns a new object.
 */
export function rewriteConnection(
  sd: SessionDescription,
  options: RewriteConnectionOptions,
): SessionDescription {
  options.ports.forEach((p) => p !== undefined && checkPort(p, "ports[]"));
  const out = structuredClone(sd);
  const type = addrType(options.address);
  const connection = { netType: "IN", addrType: type, address: options.address };
  if (options.origin ?? true) {
    out.origin.netType = "IN";
    out.origin.addrType = type;
    out.origin.address = options.address;
  }
  if (out.connection === undefined || !isUnspecified(out.connection.address)) {
    out.connection = { ...connection };
  }
  out.media.forEach((m, i) => {
    if (m.connection !== undefined && !isUnspecified(m.connection.address)) m.connection = { ...connection };
    const port = options.ports[i];
    if (port !== undefined && m.port !== 0) m.port = port;
    m.attributes = m.attributes.filter((a) => !ENDPOINT_ATTRIBUTES.has(a.name.toLowerCase()));
  });
  return JSON.stringify(out) === JSON.stringify(sd) ? out : bumpVersion(out);
}
