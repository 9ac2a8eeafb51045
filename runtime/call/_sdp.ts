/**
 * SDP handling for the B2BUA's anchored media: each side only ever sees the box's address and
 * the port of its own media leg, in SDP with the box's own origin line whose version goes up
 * whenever the content changes (RFC 3264 section 8). Direction attributes pass through, so hold
 * and resume work end to end; the legacy c=0.0.0.0 hold becomes an explicit a=sendonly.
 */
import {
  type Attribute,
  type Codec,
  type Direction,
  directionOf,
  type MediaDescription,
  parseSdp,
  serializeSdp,
  type SessionDescription,
} from "../sdp/mod.ts";
import {
  acceptCryptoAnswer,
  createCryptoOffer,
  cryptoAttribute,
  cryptoOf,
  judgeCryptoOffer,
  planCryptoOffer,
  type SdesCrypto,
  type SdesNegotiated,
  selectCryptoAnswer,
  type SrtpPolicy,
} from "../sdp/crypto.ts";

/** What the B2BUA needs to know of one side's SDP. */
export interface SdpInfo {
  sd: SessionDescription;
  /** Index of the first usable audio stream, -1 when none. */
  audioIndex: number;
  /** Where that side wants its RTP; undefined when on hold the legacy way (0.0.0.0). */
  remote?: { address: string; port: number; rtcpPort?: number };
  /**
   * The audio stream uses ICE (a=ice-ufrag): its address comes from the connectivity checks, so a
   * c=0.0.0.0 (WebRTC) is not a hold.
   */
  ice?: boolean;
}

const DIRECTIONS = new Set(["sendrecv", "sendonly", "recvonly", "inactive"]);

/**
 * The direction of a side's audio stream. With ICE the connection address means nothing (WebRTC
 * writes c=0.0.0.0), so only the direction attributes count; otherwise RFC 3264's rules, where
 * c=0.0.0.0 is the legacy hold.
 */
export function audioDirection(info: SdpInfo): Direction {
  const m = info.sd.media[info.audioIndex];
  if (m === undefined) return "inactive";
  if (!info.ice) return directionOf(m, info.sd);
  const attr = m.attributes.find((a) => DIRECTIONS.has(a.name)) ??
    info.sd.attributes.find((a) => DIRECTIONS.has(a.name));
  return (attr?.name ?? "sendrecv") as Direction;
}

/** The side holds the call: sendonly/inactive, or the legacy c=0.0.0.0 (not with ICE). */
export function holdsCall(info: SdpInfo): boolean {
  const d = audioDirection(info);
  return d === "sendonly" || d === "inactive";
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
    if (m.attributes.some((a) => a.name === "ice-ufrag")) info.ice = true;
    if (address !== "0.0.0.0" && address !== "::") {
      const rtcp = m.attributes.find((a) => a.name === "rtcp")?.value;
      const rtcpPort = rtcp !== undefined ? Number.parseInt(rtcp, 10) : undefined;
      info.remote = { address, port: m.port };
      if (rtcpPort !== undefined && Number.isInteger(rtcpPort)) info.remote.rtcpPort = rtcpPort;
    }
  }
  return info;
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

/** The SRTP keys of one media leg, as the media plane takes them (LegConfig.srtp). */
export interface SrtpLegKeys {
  suite: string;
  sendKey: Uint8Array;
  recvKey: Uint8Array;
  replayWindow?: number;
}

/** SRTP (SDES, RFC 4568) toward one side: its extension's policy and how its signalling travels. */
export interface SdpSecurity {
  policy: SrtpPolicy;
  /** The side's signalling is TLS or WSS: only then may SDES keys travel in its SDP. */
  secure: boolean;
  /** The box's DTLS certificate fingerprint (SHA-256) for DTLS-SRTP answers; null: no DTLS-SRTP. */
  dtlsFingerprint?: () => string | null;
  /**
   * The side is a WebRTC client (registered over WebSocket): offers to it are DTLS-SRTP with ICE-lite,
   * rtcp-mux and BUNDLE (a browser takes nothing else).
   */
  webrtc?: boolean;
  /**
   * Offers to this SIP phone key SRTP by DTLS (RFC 5763/5764: `UDP/TLS/RTP/SAVP`, the box's
   * fingerprint, `a=setup:actpass`, no ICE) instead of SDES: a phone such as baresip `dtls_srtp`
   * that takes no a=crypto. Only with secure signalling and a policy other than "off".
   */
  dtlsOffer?: boolean;
}

/** DTLS-SRTP of one media leg, as the media plane takes it (LegConfig.dtls). */
export interface DtlsLegKeys {
  role: "client" | "server";
  peerFingerprint: string;
  ice?: { localUfrag: string; localPwd: string };
  rtcpMux?: boolean;
}

const DTLS_PROTOCOL = /^UDP\/TLS\/RTP\/SAVPF?$/i;

function randomToken(n: number): string {
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  return Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => abc[b & 63]).join("");
}

/** RTP/SAVP -> RTP/AVP, RTP/SAVPF -> RTP/AVPF, UDP/TLS/RTP/SAVP(F) (WebRTC) -> RTP/AVP. */
function plainProtocol(p: string): string {
  if (DTLS_PROTOCOL.test(p)) return "RTP/AVP";
  return p.replace(/^RTP\/SAVP(F?)$/i, "RTP/AVP$1");
}

/**
 * One side's SDP identity: a stable session id and a version that goes up with every change. With
 * an {@linkcode SdpSecurity} it also negotiates SDES SRTP with that side: `takeOffer` /
 * `takeAnswer` read the side's a=crypto, the SDP built for the side carries the box's own, and
 * the negotiated keys go to the side's media leg through the function given to `bindKeys`.
 */
export class SdpSession {
  #address: string;
  #sessionId = String(Math.floor(Math.random() * 1e9) + 1);
  #version = 0;
  #last: string | undefined;
  #security: SdpSecurity;
  /** Our a=crypto lines in the last offer to this side, undefined when it offered none. */
  #offered: SdesCrypto[] | undefined;
  /** Our a=crypto answer to this side's last offer (if SRTP) and that offer's protocol. */
  #answering: { line?: SdesCrypto; protocol: string } | undefined;
  #negotiated: SdesNegotiated | null = null;
  #apply: ((keys: SrtpLegKeys | null) => void) | undefined;
  #applied = false;
  /** DTLS-SRTP with this side (it offered UDP/TLS/RTP/SAVP(F)): the leg config and our answer's lines. */
  #dtls: { leg: DtlsLegKeys; media: Attribute[]; session: Attribute[] } | undefined;
  #applyDtls: ((dtls: DtlsLegKeys | null) => void) | undefined;
  /** Our ICE credentials in a WebRTC offer to this side, until its answer sets up #dtls. */
  #dtlsOffer: { ice: { localUfrag: string; localPwd: string } | undefined } | undefined;

  constructor(address: string, security: SdpSecurity = { policy: "off", secure: false }) {
    this.#address = address;
    this.#security = security;
  }

  /** The SRTP suite negotiated with this side, null for plain RTP. */
  get srtpSuite(): string | null {
    return this.#negotiated?.suite ?? null;
  }

  /**
   * Where negotiated keys go (the side's media leg); keys negotiated before this call are passed at
   * once. Called with null when the side falls back to plain RTP.
   */
  bindKeys(apply: (keys: SrtpLegKeys | null) => void): void {
    this.#apply = apply;
    if (this.#negotiated !== null) this.#push();
  }

  /** Where this side's DTLS-SRTP set-up goes (its media leg); null when it stops using DTLS. */
  bindDtls(apply: (dtls: DtlsLegKeys | null) => void): void {
    this.#applyDtls = apply;
    if (this.#dtls !== undefined) apply(this.#dtls.leg);
  }

  /** True when this side uses DTLS-SRTP (WebRTC, baresip dtls_srtp). */
  get dtls(): boolean {
    return this.#dtls !== undefined;
  }

  /**
   * An offer over UDP/TLS/RTP/SAVP(F) (RFC 5763/5764): the box answers as DTLS server (client when
   * the offer is a=setup:passive), ICE-lite when the offer uses ICE, rtcp-mux and BUNDLE when
   * offered. Returns a 488 reason, or undefined.
   */
  #takeDtlsOffer(info: SdpInfo, m: MediaDescription): string | undefined {
    const box = this.#security.dtlsFingerprint?.() ?? null;
    if (box === null) return "DTLS-SRTP is not available";
    const find = (name: string) =>
      m.attributes.find((a) => a.name === name)?.value ??
        info.sd.attributes.find((a) => a.name === name)?.value;
    const fp = find("fingerprint");
    const fm = fp === undefined
      ? null
      : /^sha-256\s+((?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2})$/i.exec(fp.trim());
    if (fm === null) return "DTLS-SRTP offer needs an a=fingerprint:sha-256";
    const setup = (find("setup") ?? "actpass").trim().toLowerCase();
    const role = setup === "passive" ? "client" : "server";
    const prev = this.#dtls;
    const ufrag = m.attributes.some((a) => a.name === "ice-ufrag");
    const rtcpMux = m.attributes.some((a) => a.name === "rtcp-mux");
    const mid = m.attributes.find((a) => a.name === "mid")?.value;
    const leg: DtlsLegKeys = { role, peerFingerprint: fm[1]!.toUpperCase(), rtcpMux };
    if (ufrag) leg.ice = prev?.leg.ice ?? { localUfrag: randomToken(8), localPwd: randomToken(24) };
    const media: Attribute[] = [
      { name: "fingerprint", value: `sha-256 ${box}` },
      { name: "setup", value: role === "server" ? "passive" : "active" },
    ] as Attribute[];
    if (leg.ice !== undefined) {
      media.push(
        { name: "ice-ufrag", value: leg.ice.localUfrag } as Attribute,
        { name: "ice-pwd", value: leg.ice.localPwd } as Attribute,
      );
    }
    if (rtcpMux) media.push({ name: "rtcp-mux" } as Attribute);
    if (mid !== undefined) media.push({ name: "mid", value: mid } as Attribute);
    const session: Attribute[] = [];
    if (leg.ice !== undefined) session.push({ name: "ice-lite" } as Attribute);
    const bundle = info.sd.attributes.find((a) => a.name === "group" && /^BUNDLE\b/.test(a.value ?? ""));
    if (bundle !== undefined && mid !== undefined) {
      session.push({ name: "group", value: `BUNDLE ${mid}` } as Attribute);
    }
    this.#dtls = { leg, media, session };
    this.#answering = { protocol: m.protocol };
    this.#setNegotiated(null);
    this.#applyDtls?.(leg);
    return undefined;
  }

  /** The WebRTC side's answer to our DTLS-SRTP offer: its fingerprint and DTLS role. */
  #takeDtlsAnswer(
    info: SdpInfo,
    m: MediaDescription,
    ice: { localUfrag: string; localPwd: string } | undefined,
  ): string | undefined {
    if (!DTLS_PROTOCOL.test(m.protocol)) return `a DTLS-SRTP offer was answered with ${m.protocol}`;
    const find = (name: string) =>
      m.attributes.find((a) => a.name === name)?.value ??
        info.sd.attributes.find((a) => a.name === name)?.value;
    const fm = /^sha-256\s+((?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2})$/i.exec(
      (find("fingerprint") ?? "").trim(),
    );
    if (fm === null) return "DTLS-SRTP answer needs an a=fingerprint:sha-256";
    const setup = (find("setup") ?? "active").trim().toLowerCase();
    const leg: DtlsLegKeys = {
      role: setup === "passive" ? "client" : "server",
      peerFingerprint: fm[1]!.toUpperCase(),
      rtcpMux: m.attributes.some((a) => a.name === "rtcp-mux"),
      ...(ice !== undefined ? { ice } : {}),
    };
    const same = this.#dtls !== undefined && this.#dtls.leg.role === leg.role &&
      this.#dtls.leg.peerFingerprint === leg.peerFingerprint;
    this.#dtls = { leg, media: [], session: [] };
    this.#dtlsOffer = undefined;
    if (!same) this.#applyDtls?.(leg);
    return undefined;
  }

  /**
   * Why no offer can be made to this side (its policy requires SRTP but its signalling is not
   * secure), undefined when one can.
   */
  offerError(): string | undefined {
    const plan = planCryptoOffer(this.#security.policy, { secureSignalling: this.#security.secure });
    return "error" in plan ? plan.error : undefined;
  }

  /**
   * This side's SDP offer (INVITE, re-INVITE): judge its a=crypto under the policy. Returns the
   * reason for a 488 (never containing key material), or undefined when the offer is acceptable;
   * then the answer built for this side carries the box's a=crypto when SRTP was chosen.
   */
  takeOffer(info: SdpInfo): string | undefined {
    const m = info.sd.media[info.audioIndex];
    if (m === undefined) return undefined;
    if (DTLS_PROTOCOL.test(m.protocol)) return this.#takeDtlsOffer(info, m);
    if (this.#dtls !== undefined) {
      this.#dtls = undefined;
      this.#applyDtls?.(null);
    }
    const verdict = judgeCryptoOffer(this.#security.policy, m, { secureSignalling: this.#security.secure });
    if ("status" in verdict) return verdict.reason;
    if (!verdict.srtp) {
      this.#answering = { protocol: plainProtocol(m.protocol) };
      this.#setNegotiated(null);
      return undefined;
    }
    const chosen = selectCryptoAnswer(verdict.crypto);
    if (chosen === null) return "no supported crypto suite";
    const prev = this.#negotiated;
    // A re-offer keeping the suite keeps our key (and so the leg's outbound session).
    if (prev !== null && prev.suite === chosen.negotiated.suite) {
      chosen.negotiated.local = prev.local;
      chosen.answer.keys = [{ key: prev.local }];
    }
    this.#answering = { line: chosen.answer, protocol: m.protocol };
    this.#setNegotiated(chosen.negotiated);
    return undefined;
  }

  /**
   * This side's answer to the box's offer: match its a=crypto against what we offered. Returns why
   * it is unacceptable (SRTP required but answered without crypto, or a crypto line we did not
   * offer), else undefined.
   */
  takeAnswer(info: SdpInfo): string | undefined {
    const m = info.sd.media[info.audioIndex];
    if (m !== undefined && this.#dtlsOffer !== undefined) {
      return this.#takeDtlsAnswer(info, m, this.#dtlsOffer.ice);
    }
    const offered = this.#offered;
    if (m === undefined || offered === undefined) return undefined;
    const { crypto } = cryptoOf(m.attributes);
    if (crypto.length === 0) {
      if (this.#security.policy === "required") return "SRTP required: answer has no a=crypto";
      this.#setNegotiated(null);
      return undefined;
    }
    try {
      this.#setNegotiated(acceptCryptoAnswer(offered, crypto));
    } catch (e) {
      return (e as Error).message;
    }
    return undefined;
  }

  #setNegotiated(n: SdesNegotiated | null): void {
    if (n === null && this.#negotiated === null) return;
    this.#negotiated = n;
    this.#push();
  }

  #push(): void {
    const n = this.#negotiated;
    if (this.#apply === undefined) return;
    if (n === null) {
      if (this.#applied) this.#apply(null);
      this.#applied = false;
      return;
    }
    this.#applied = true;
    this.#apply({
      suite: n.suite,
      sendKey: n.local.exportBytes(),
      recvKey: n.remote.exportBytes(),
      ...(n.replayWindow !== undefined ? { replayWindow: n.replayWindow } : {}),
    });
  }

  /** The protocol and a=crypto lines of an offer to this side (fresh keys, or the negotiated ones). */
  #cryptoForOffer(): {
    protocol: string;
    lines: SdesCrypto[];
    dtls?: { media: Attribute[]; session: Attribute[] };
  } {
    const box = this.#security.webrtc === true ? this.#security.dtlsFingerprint?.() ?? null : null;
    if (box !== null) {
      // WebRTC offer (RFC 8829 shape, box as ICE-lite): the peer picks the DTLS role (actpass).
      this.#offered = undefined;
      this.#answering = undefined;
      const ice = this.#dtls?.leg.ice ?? this.#dtlsOffer?.ice ??
        { localUfrag: randomToken(8), localPwd: randomToken(24) };
      this.#dtlsOffer = { ice };
      const setup = this.#dtls === undefined
        ? "actpass"
        : this.#dtls.leg.role === "server"
        ? "passive"
        : "active";
      const media = [
        { name: "fingerprint", value: `sha-256 ${box}` },
        { name: "setup", value: setup },
        { name: "ice-ufrag", value: ice.localUfrag },
        { name: "ice-pwd", value: ice.localPwd },
        { name: "rtcp-mux" },
        { name: "mid", value: "0" },
      ] as Attribute[];
      const session = [{ name: "ice-lite" }, { name: "group", value: "BUNDLE 0" }] as Attribute[];
      return { protocol: "UDP/TLS/RTP/SAVPF", lines: [], dtls: { media, session } };
    }
    const sip = this.#security.dtlsOffer === true && this.#security.secure && this.#security.policy !== "off"
      ? this.#security.dtlsFingerprint?.() ?? null
      : null;
    if (sip !== null) {
      // DTLS-SRTP offer to a SIP phone (RFC 5763 5): no ICE, no BUNDLE; the answer's a=setup decides.
      this.#offered = undefined;
      this.#answering = undefined;
      this.#dtlsOffer = { ice: undefined };
      const setup = this.#dtls === undefined
        ? "actpass"
        : this.#dtls.leg.role === "server"
        ? "passive"
        : "active";
      const media = [{ name: "fingerprint", value: `sha-256 ${sip}` }, { name: "setup", value: setup }];
      return { protocol: "UDP/TLS/RTP/SAVP", lines: [], dtls: { media: media as Attribute[], session: [] } };
    }
    const plan = planCryptoOffer(this.#security.policy, { secureSignalling: this.#security.secure });
    if (!plan.crypto) {
      this.#offered = undefined;
      return { protocol: "", lines: [] };
    }
    const n = this.#negotiated;
    // A re-offer keeps the negotiated suite and our key (RFC 4568 section 7.1.4 allows either).
    const prevTag = this.#answering?.line?.tag ?? this.#offered?.find((c) => c.suite === n?.suite)?.tag ?? 1;
    const lines = n !== null
      ? [{ tag: prevTag, suite: n.suite, keys: [{ key: n.local }], sessionParams: [] }]
      : createCryptoOffer();
    this.#offered = lines;
    this.#answering = undefined;
    return { protocol: plan.protocol, lines };
  }

  /** Build the SDP this side gets, from the other side's SDP, anchored at the box on `port`. */
  offerFrom(other: SdpInfo, port: number, rewrite: CodecRewrite = {}): string {
    const c = this.#cryptoForOffer();
    if (c.dtls !== undefined && this.#dtls !== undefined) this.#dtlsOffer = { ice: this.#dtls.leg.ice };
    return this.#build(other, port, rewrite, c);
  }

  /** Same transformation for an answer (the m-line layout follows the other side's SDP). */
  answerFrom(other: SdpInfo, port: number, rewrite: CodecRewrite = {}): string {
    const a = this.#answering;
    return this.#build(other, port, rewrite, {
      protocol: a?.protocol ?? "",
      lines: a?.line !== undefined ? [a.line] : [],
      ...(this.#dtls !== undefined ? { dtls: this.#dtls } : {}),
    });
  }

  /**
   * The transport part of an answer to this side's last offer when the answer's SDP is built
   * elsewhere (calls the box answers itself, runtime/call/local.ts): the protocol ("" keeps the
   * offer's), the audio stream's attributes (a=crypto, or DTLS-SRTP's fingerprint, setup, ICE-lite
   * credentials and the box's host candidate on `port`) and the session's (a=ice-lite, BUNDLE).
   */
  answerParts(port: number): { protocol: string; media: Attribute[]; session: Attribute[] } {
    const a = this.#answering;
    const media: Attribute[] = [];
    if (a?.line !== undefined) media.push(cryptoAttribute(a.line) as Attribute);
    const dtls = this.#dtls;
    if (dtls !== undefined) {
      media.push(...dtls.media);
      if (dtls.media.some((x) => x.name === "ice-ufrag")) {
        media.push(
          { name: "candidate", value: `1 1 udp 2130706431 ${this.#address} ${port} typ host` } as Attribute,
          { name: "end-of-candidates" } as Attribute,
        );
      }
    }
    return { protocol: a?.protocol ?? "", media, session: [...(dtls?.session ?? [])] };
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

  #build(
    other: SdpInfo,
    port: number,
    rewrite: CodecRewrite,
    srtp: { protocol: string; lines: SdesCrypto[]; dtls?: { media: Attribute[]; session: Attribute[] } },
  ): string {
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
      let direction = i === other.audioIndex ? audioDirection(other) : directionOf(m, other.sd);
      if (other.remote === undefined && !other.ice && direction === "sendrecv") direction = "sendonly";
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
      // This side's own SRTP: the other side's a=crypto (its keys) never crosses (not in PASSED).
      for (const c of srtp.lines) attributes.push(cryptoAttribute(c) as (typeof attributes)[number]);
      if (srtp.dtls !== undefined) {
        attributes.push(...srtp.dtls.media as (typeof attributes)[number][]);
        // ICE-lite: the box's one host candidate is the leg's port (RTP and, with rtcp-mux, RTCP).
        if (srtp.dtls.media.some((a) => a.name === "ice-ufrag")) {
          const cand = `1 1 udp 2130706431 ${this.#address} ${port} typ host`;
          attributes.push(
            { name: "candidate", value: cand } as (typeof attributes)[number],
            { name: "end-of-candidates" } as (typeof attributes)[number],
          );
        }
      }
      const out: MediaDescription = {
        type: m.type,
        port,
        // Plain RTP keeps the other side's profile (RTP/AVP, RTP/AVPF) without the S.
        protocol: srtp.protocol !== "" ? srtp.protocol : plainProtocol(m.protocol),
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
      // Only the box's own session attributes (ICE-lite, BUNDLE of a DTLS-SRTP answer).
      attributes: [...(srtp.dtls?.session ?? [])] as SessionDescription["attributes"],
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
