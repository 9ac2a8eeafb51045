/**
 * SDP handling for the B2BUA's anchored media: each side only ever sees the box's address and
 * the port of its own media leg, in SDP with the box's own origin line whose version goes up
 * whenever the content changes (RFC 3264 section 8). Direction attributes pass through, so hold
 * and resume work end to end; the legacy c=0.0.0.0 hold becomes an explicit a=sendonly.
 */
import {
  type Codec,
  directionOf,
  type MediaDescription,
  parseSdp,
  serializeSdp,
  type SessionDescription,
} from "../sdp/mod.ts";

/** What the B2BUA needs to know of one side's SDP. */
export interface SdpInfo {
  sd: SessionDescription;
  /** Index of the first usable audio stream, -1 when none. */
  audioIndex: number;
  /** Where that side wants its RTP; undefined when on hold the legacy way (0.0.0.0). */
  remote?: { address: string; port: number; rtcpPort?: number };
}

/** Parse an SDP body; throws SyntaxError on bad SDP. */
export function describeSdp(text: string): SdpInfo {
  const sd = parseSdp(text);
  const audioIndex = sd.media.findIndex((m) => m.type === "audio" && m.port !== 0);
  const info: SdpInfo = { sd, audioIndex };
  const m = sd.media[audioIndex];
  if (m) {
    const address = (m.connection ?? sd.connection)?.address;
    if (address === undefined) throw new SyntaxError("SDP has no connection address for its audio stream");
    if (address !== "0.0.0.0" && address !== "::") {
      const rtcp = m.attributes.find((a) => a.name === "rtcp")?.value;
      const rtcpPort = rtcp !== undefined ? Number.parseInt(rtcp, 10) : undefined;
      info.remote = { address, port: m.port };
      if (rtcpPort !== undefined && Number.isInteger(rtcpPort)) info.remote.rtcpPort = rtcpPort;
    }
  }
  return info;
}

/**
 * The Warning value (RFC 3261 20.43, code 302 "Incompatible transport protocol") for an offer whose
 * audio streams all require SRTP (RTP/SAVP, RTP/SAVPF, UDP/TLS/RTP/SAVPF): the box does not do SRTP
 * yet. Undefined when some audio stream is plain RTP (or there is none: that is another 488).
 */
export function srtpRefusal(sd: SessionDescription, host: string): string | undefined {
  const audio = sd.media.filter((m) => m.type === "audio" && m.port !== 0);
  if (audio.length === 0 || !audio.every((m) => /SAVP/i.test(m.protocol))) return undefined;
  const protos = [...new Set(audio.map((m) => m.protocol))].join(", ");
  return `302 ${host} "SRTP is not supported here: offered ${protos}, offer RTP/AVP"`;
}

/** Media-level attributes that cross the bridge: codecs, packetization (the direction is re-added). */
const PASSED = new Set(["rtpmap", "fmtp", "ptime", "maxptime"]);

/** Attributes that describe the far phone's transport and must not leak to the other side. */
const DROPPED = new Set([
  "rtcp",
  "candidate",
  "ice-ufrag",
  "ice-pwd",
  "ice-options",
  "end-of-candidates",
  "rtcp-mux",
]);

/** How to rewrite the audio stream's payload formats when building one side's SDP. */
export interface CodecRewrite {
  /** The formats this side gets (m= list, a=rtpmap, a=fmtp), replacing the other side's. */
  codecs?: readonly Codec[];
  /** Drop a=ptime/a=maxptime (transcoding: the other side's packetization means nothing here). */
  dropPtime?: boolean;
}

/** a=rtpmap and a=fmtp attributes describing `codecs`. */
export function codecAttributes(codecs: readonly Codec[]): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  for (const c of codecs) {
    const ch = c.channels > 1 ? `/${c.channels}` : "";
    out.push({ name: "rtpmap", value: `${c.payloadType} ${c.name}/${c.clockRate}${ch}` });
    if (c.fmtp !== undefined) out.push({ name: "fmtp", value: `${c.payloadType} ${c.fmtp}` });
  }
  return out;
}

/**
 * An SDP the box describes itself with (address, one sendrecv audio stream listing `codecs`), as the
 * "other side" to build an offer from when the caller sent none (delayed offer, RFC 3261 13.2.1).
 */
export function localOfferInfo(address: string, codecs: readonly Codec[]): SdpInfo {
  const ip = address.includes(":") ? "IP6" : "IP4";
  const lines = [
    "v=0",
    `o=pbx 1 1 IN ${ip} ${address}`,
    "s=pbx",
    `c=IN ${ip} ${address}`,
    "t=0 0",
    `m=audio 9 RTP/AVP ${codecs.map((c) => c.payloadType).join(" ")}`,
    ...codecAttributes(codecs).map((a) => `a=${a.name}:${a.value}`),
    "a=sendrecv",
    "",
  ];
  return describeSdp(lines.join("\r\n"));
}

/** One side's SDP identity: a stable session id and a version that goes up with every change. */
export class SdpSession {
  #address: string;
  #sessionId = String(Math.floor(Math.random() * 1e9) + 1);
  #version = 0;
  #last: string | undefined;

  constructor(address: string) {
    this.#address = address;
  }

  /** Build the SDP this side gets, from the other side's SDP, anchored at the box on `port`. */
  offerFrom(other: SdpInfo, port: number, rewrite: CodecRewrite = {}): string {
    return this.#build(other, port, rewrite);
  }

  /** Same transformation for an answer (the m-line layout follows the other side's SDP). */
  answerFrom(other: SdpInfo, port: number, rewrite: CodecRewrite = {}): string {
    return this.#build(other, port, rewrite);
  }

  /** The SDP this side got last (for a re-INVITE without an offer). */
  repeatLast(port: number): string {
    if (this.#last !== undefined) return this.#last;
    const sd: SessionDescription = {
      version: 0,
      origin: this.#origin(),
      sessionName: "pbx",
      connection: { netType: "IN", addrType: "IP4", address: this.#address },
      bandwidths: [],
      timing: [{ start: 0, stop: 0 }],
      attributes: [],
      media: [{
        type: "audio",
        port,
        protocol: "RTP/AVP",
        formats: ["0", "8"],
        bandwidths: [],
        attributes: [{ name: "sendrecv" }],
      }],
    } as unknown as SessionDescription;
    return this.#remember(serializeSdp(sd));
  }

  #origin(): SessionDescription["origin"] {
    return {
      username: "pbx",
      sessionId: this.#sessionId,
      sessionVersion: String(this.#version),
      netType: "IN",
      addrType: this.#address.includes(":") ? "IP6" : "IP4",
      address: this.#address,
    } as SessionDescription["origin"];
  }

  #remember(text: string): string {
    this.#last = text;
    return text;
  }

  #build(other: SdpInfo, port: number, rewrite: CodecRewrite): string {
    const addrType = this.#address.includes(":") ? "IP6" : "IP4";
    const connection = { netType: "IN", addrType, address: this.#address } as NonNullable<
      SessionDescription["connection"]
    >;
    const sessionDirection = directionOf(other.sd);
    const media: MediaDescription[] = other.sd.media.map((m, i) => {
      if (i !== other.audioIndex) {
        // Only one audio stream is anchored; others are declined in place so m-lines stay aligned.
        return { ...m, port: 0, connection: undefined, attributes: [] } as unknown as MediaDescription;
      }
      let direction = directionOf(m, other.sd);
      if (other.remote === undefined && direction === "sendrecv") direction = "sendonly";
      // Topology hiding: only what offer/answer needs crosses (no a=ssrc, a=tool, a=label, ...).
      let attributes = m.attributes.filter((a) => PASSED.has(a.name) && !DROPPED.has(a.name));
      let formats = m.formats;
      if (rewrite.codecs !== undefined) {
        // Our own format list: the other side's rtpmap/fmtp lines describe payload types we replace.
        attributes = attributes.filter((a) => a.name !== "rtpmap" && a.name !== "fmtp");
        if (rewrite.dropPtime) {
          attributes = attributes.filter((a) => a.name !== "ptime" && a.name !== "maxptime");
        }
        attributes.unshift(...codecAttributes(rewrite.codecs) as typeof attributes);
        formats = rewrite.codecs.map((c) => String(c.payloadType));
      }
      attributes.push({ name: direction } as (typeof attributes)[number]);
      const out: MediaDescription = {
        type: m.type,
        port,
        protocol: m.protocol,
        formats,
        bandwidths: [],
        attributes,
      };
      return out;
    });
    void sessionDirection;
    // The box's own session: nothing of the other party's session level (e-mail, a=tool, a=group).
    const sd: SessionDescription = {
      version: 0,
      origin: this.#origin(),
      sessionName: "pbx",
      connection,
      bandwidths: [],
      timing: [{ start: 0, stop: 0, repeats: [] }],
      attributes: [],
      media,
    };
    let text = serializeSdp(sd);
    if (text !== this.#last) {
      this.#version++;
      sd.origin = this.#origin();
      text = serializeSdp(sd);
    }
    return this.#remember(text);
  }
}
