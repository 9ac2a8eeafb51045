/**
 * Calls the box answers itself (paging today; voicemail and IVR later). The call layer owns the
 * SIP side: SDP answer, the dialog, 2xx retransmission until ACK, BYE either way, the call record.
 * A feature only sees `LocalCallHandler`: it accepts or refuses the call, receives the caller's
 * decoded audio and DTMF, and may hang up. Features never touch SIP (ARCHITECTURE.md).
 */
import type { Peer, SipRequest, SipResponse } from "../sip/message/types.ts";
import {
  addHeader,
  createResponse,
  getHeader,
  parseNameAddr,
  parseUri,
  setHeader,
} from "../sip/message/mod.ts";
import { Dialog, newTag } from "../sip/mod.ts";
import type { ServerTransaction, TransactionLayer } from "../sip/mod.ts";
import {
  answerDirection,
  type CodecPreference,
  createAnswer,
  directionOf,
  negotiateAudio,
  parseSdp,
  serializeSdp,
} from "../sdp/mod.ts";
import type { Clock } from "../clock/mod.ts";
import type { Logger } from "../log/mod.ts";
import { type OkRetransmit, retransmitOk } from "./_ok_retransmit.ts";
import type { CallRecordSink, MediaLeg, MediaPort } from "./types.ts";
import { CallRegistry, DIALOG_LINGER_MS, tagOf } from "./registry.ts";
import { contactFor, viaFor } from "./request.ts";
import { describeSdp, type DtlsLegKeys, SdpSession, type SrtpLegKeys } from "./_sdp.ts";
import type { SrtpPolicy } from "../sdp/crypto.ts";
import { parseInfoDtmf } from "./_call_media.ts";
import type { RouteTarget } from "./dispatcher.ts";
import type { Binding } from "../registrar/mod.ts";
import type { AnsweredCodec } from "./outbound.ts";
import { type DialResult, type OnwardDeps, type OnwardLeg, runOnward } from "./onward.ts";

const TEXT = new TextEncoder();
const DECODE = new TextDecoder();

/** What a feature may do with a call it accepted. */
export interface LocalCallControl {
  /** End the call from the box's side (BYE to the caller). */
  hangup(reason?: string): void;
  /** The call's media leg at the box (for players: tones, prompts, music). */
  legId: string;
  /** The caller's Call-ID: the link id of every record the call writes. */
  callId?: string;
  /** The codec the leg speaks (what a bridge or an onward call must match to relay). */
  codec?: AnsweredCodec & { telephoneEventRate?: number };
  /**
   * Route the caller onward (LocalCalls with `onward` set): ring `target` (a number through the
   * dialplan, or a target), bridge on answer, resolve with the outcome when it ended.
   */
  dial?(target: string | RouteTarget, options?: DialOptions): Promise<DialResult>;
  /** Hand the caller to the dialplan at `number`: the session ends (onEnd "system"), the call goes on. */
  continueTo?(number: string): Promise<void>;
}

/** Options of `dial`. */
export interface DialOptions {
  /** Ring time of a step without its own ringSeconds. */
  ringMs?: number;
  /** Extra headers on the INVITEs (e.g. Alert-Info). */
  headers?: readonly { name: string; value: string }[];
}

/** Timing of one frame of caller audio. */
export interface LocalAudioInfo {
  /** Epoch ms its RTP packet arrived at the box (or when a lost one was concealed). */
  receivedAt: number;
}

/** The feature's side of an accepted call. */
export interface LocalSession {
  /**
   * Decoded audio from the caller: mono PCM at the negotiated codec's own rate (8000 for G.711,
   * 16000 for G.722, 48000 for Opus), one frame per packet.
   */
  onAudio?(pcm: Int16Array, sampleRate: number, info: LocalAudioInfo): void;
  /** A DTMF digit from the caller (RFC 4733 or in-band from the media plane, or SIP INFO). */
  onDtmf?(digit: string, source?: "rfc4733" | "inband" | "info"): void;
  /** The call is up: media flows; `control` lets the feature hang up. */
  onStart?(control: LocalCallControl): void;
  /** The call ended (caller hung up, the feature hung up, or the box shut down). */
  onEnd?(by: "caller" | "system"): void;
  /** The caller put the call on hold (re-INVITE sendonly, inactive or c=0.0.0.0) or resumed it. */
  onHold?(held: boolean): void;
  /**
   * The caller sent REFER to `target` (a blind transfer of the box's side). The box cannot transfer
   * a call it answers itself yet: the REFER is answered 501 and the application is told.
   */
  onRefer?(target: string): void;
}

/**
 * Whether a re-INVITE's SDP holds the call (RFC 3264 section 8.4 sendonly/inactive, or the RFC 2543
 * c=0.0.0.0 form), and the direction to answer; undefined without usable SDP (a session refresh).
 */
export function holdOf(
  body: Uint8Array,
): { held: boolean; offered: ReturnType<typeof directionOf> } | undefined {
  if (body.length === 0) return undefined;
  let sdp;
  try {
    sdp = parseSdp(DECODE.decode(body));
  } catch {
    return undefined;
  }
  const m = sdp.media.find((x) => x.type === "audio" && x.port !== 0);
  if (m === undefined) return undefined;
  const offered = directionOf(m, sdp);
  const address = (m.connection ?? sdp.connection)?.address;
  return { held: offered === "sendonly" || offered === "inactive" || address === "0.0.0.0", offered };
}

/** The call a feature is asked to accept. */
export interface LocalCallInfo {
  /** The authenticated calling extension. */
  caller: string;
  /** The number dialled. */
  dialled: string;
  /** Epoch ms the (authenticated) INVITE reached the box: the start of latency measurements. */
  receivedAt: number;
  /** The audio codec negotiated with the caller ("opus/48000", "G722/8000", "PCMU/8000"). */
  codec: string;
  /** A call handed over by a blind transfer: the extension that transferred it (park recalls it). */
  referredBy?: string;
}

/** A feature reachable by a number. */
export interface LocalCallHandler {
  /**
   * Accept (return a session) or refuse (return a SIP status, e.g. 403 or 486); an application may
   * decide asynchronously (see application.ts).
   */
  accept(
    call: LocalCallInfo,
  ):
    | LocalSession
    | { status: number; reason?: string }
    | Promise<LocalSession | { status: number; reason?: string }>;
}

/** A codec the media plane decodes (MediaPlane `codecs()` entries fit). */
export interface LocalCodec {
  name: string;
  clockRate: number;
  channels: number;
  fmtp?: string;
}

/**
 * The media the local path needs: the call layer's media port (legs), plus decoded audio from a
 * leg (`tap`) and its events.
 */
export interface LocalMediaPort
  extends Pick<MediaPort, "allocateLeg" | "configureLeg" | "releaseLeg" | "dtlsFingerprint"> {
  tap(legId: string, on: boolean): Promise<void>;
  on(
    listener: (
      ev:
        | { event: "audio"; legId: string; pcm: Int16Array; sampleRate: number; receivedAt?: number }
        | { event: "dtmf"; legId: string; digit: string; source?: "rfc4733" | "inband" }
        | { event: string; legId: string },
    ) => void,
  ): () => void;
  /** Codecs the tap decodes (beyond G.711), in the plane's preference order. */
  codecs?(): readonly LocalCodec[];
}

/** Options for `LocalCalls`. */
export interface LocalCallsOptions {
  transactions: TransactionLayer;
  media: LocalMediaPort;
  cdr: CallRecordSink;
  clock: Clock;
  log: Logger;
  publicAddress: string;
  sipPort: number;
  t1Ms?: number;
  t2Ms?: number;
  /** The registry owning the dialogs (shared with the B2BUA); default: its own. */
  registry?: CallRegistry;
  /**
   * A caller's SRTP policy (SDES keys only over TLS/WSS, as for B2BUA legs; DTLS-SRTP offers are
   * taken whatever it says); default "off": RTP/SAVP offers get 488, a=crypto is answered plain.
   */
  srtpPolicy?(extension: string): SrtpPolicy;
  /** How SRTP is keyed toward extensions the box rings onward (B2buaOptions.srtpKeying). */
  srtpKeying?(extension: string): "sdes" | "dtls";
  /**
   * Onward routing from an answered call (`dial`, `continueTo`, REFER on the call): the dialplan,
   * contacts, raw sends and the bridge. Without it those answer "not available" (REFER 501).
   */
  onward?: {
    route(number: string): RouteTarget;
    bindings(number: string): Binding[];
    busy?(number: string): boolean;
    sendRaw(req: SipRequest, target: Peer): void;
    media: OnwardDeps["media"];
    noAnswerMs?: number;
    allow?(): string;
    /** Told about legs sent out of trunks (see OutboundDeps.trunkLegStarted). */
    trunkLegStarted?: OnwardDeps["trunkLegStarted"];
  };
}

/** Audio profiles a local call takes (SRTP ones only after the caller's SDP session accepted them). */
const PROTOCOLS = ["RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF", "UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVPF"];

/** What the local path accepts when the media plane does not list its codecs: G.711. */
const G711_ONLY: LocalCodec[] = [
  { name: "PCMU", clockRate: 8000, channels: 1 },
  { name: "PCMA", clockRate: 8000, channels: 1 },
];

/** Wideband first: a page or a prompt sounds better in G.722 or Opus than in G.711. */
const WIDEBAND = ["opus", "g722"];

/**
 * The codecs a local call accepts, best first: the plane's wideband codecs, then the rest in the
 * plane's order, then telephone-event (RFC 4733 digits).
 */
export function localCodecPreferences(codecs: readonly LocalCodec[]): CodecPreference[] {
  const list = codecs.length > 0 ? [...codecs] : [...G711_ONLY];
  const rank = (c: LocalCodec) => {
    const i = WIDEBAND.indexOf(c.name.toLowerCase());
    return i < 0 ? WIDEBAND.length : i;
  };
  list.sort((a, b) => rank(a) - rank(b)); // stable: the plane's order among equals
  const out: CodecPreference[] = list.map((c) => ({
    name: c.name,
    clockRate: c.clockRate,
    channels: c.channels,
    ...(c.fmtp !== undefined ? { fmtp: c.fmtp } : {}),
  }));
  out.push({ name: "telephone-event", clockRate: 8000, payloadType: 101 });
  return out;
}

interface LocalCall {
  id: string;
  caller: string;
  dialled: string;
  tag: string;
  /** The INVITE and its transaction (absent for a call adopted from the B2BUA). */
  invite?: SipRequest;
  tx?: ServerTransaction;
  /** The call this one belongs to (its records' link id): its own Call-ID, or the adopting call's. */
  linkedId: string;
  peer: Peer;
  dialog: Dialog;
  leg: MediaLeg;
  session: LocalSession;
  answer: string;
  startedAt: number;
  answeredAt: number;
  ok?: OkRetransmit | undefined;
  unsubscribe: () => void;
  ended: boolean;
  /** The caller has the call on hold. */
  held: boolean;
  callId: string;
  codec: AnsweredCodec & { telephoneEventRate?: number };
  /** Settles when the call ends. */
  over: Promise<void>;
  resolveOver: () => void;
  /** An onward route (dial, continueTo, REFER) is running on the call. */
  onward: boolean;
  /** Subscription state of a REFER's implied subscription while its transfer runs. */
  refer?: { done: boolean } | undefined;
  /** The caller's SDP session (SRTP keys, DTLS-SRTP): re-offers are judged by it. */
  sdp?: SdpSession | undefined;
}

/** Answers and runs calls to feature numbers. */
export class LocalCalls {
  #o: LocalCallsOptions;
  #calls = new Map<string, LocalCall>();
  #registry: CallRegistry;
  /** INVITEs being answered (the feature is deciding, or media is being set up), and whether a CANCEL came. */
  #pending = new Map<ServerTransaction, { invite: SipRequest; cancelled: boolean }>();

  constructor(options: LocalCallsOptions) {
    this.#o = options;
    this.#registry = options.registry ?? new CallRegistry({ clock: options.clock });
  }

  /** Number of local calls in progress. */
  get active(): number {
    return this.#calls.size;
  }

  /**
   * Callers of the local calls in progress (voicemail, IVR, conference, queue and other application
   * legs): with the B2BUA's busyExtensions, who is on a call (intercom never auto-answers them).
   */
  busyExtensions(): Set<string> {
    const s = new Set<string>();
    for (const c of this.#calls.values()) if (!c.ended) s.add(c.caller);
    return s;
  }

  #contact(peer: Peer): string {
    return contactFor(this.#o, peer.transport);
  }

  /**
   * Answer an authenticated INVITE to `dialled` with `handler`. `receivedAt` is the epoch ms the
   * INVITE arrived (default: now; the path from the transport to here is synchronous).
   */
  async answer(
    invite: SipRequest,
    tx: ServerTransaction,
    options: {
      caller: string;
      dialled: string;
      source: Peer;
      handler: LocalCallHandler;
      receivedAt?: number;
    },
  ): Promise<void> {
    const pending = { invite, cancelled: false };
    this.#pending.set(tx, pending);
    try {
      await this.#answer(invite, tx, options, pending);
    } finally {
      this.#pending.delete(tx);
    }
  }

  /**
   * CANCEL for an INVITE being answered here (RFC 3261 9.2): 487 now; the feature's session, if it
   * accepted, ends before any 200. False when the INVITE is not one of ours or already answered.
   */
  cancel(inviteTx: ServerTransaction): boolean {
    const p = this.#pending.get(inviteTx);
    if (p === undefined || p.cancelled) return p !== undefined;
    p.cancelled = true;
    inviteTx.respond(createResponse(p.invite, 487));
    return true;
  }

  async #answer(
    invite: SipRequest,
    tx: ServerTransaction,
    options: {
      caller: string;
      dialled: string;
      source: Peer;
      handler: LocalCallHandler;
      receivedAt?: number;
    },
    pending: { cancelled: boolean },
  ): Promise<void> {
    const o = this.#o;
    const { caller, dialled, source, handler } = options;
    const receivedAt = options.receivedAt ?? performance.timeOrigin + performance.now();
    const startedAt = o.clock.wallNow();
    const callId = getHeader(invite, "Call-ID") ?? "";
    const refuse = (status: number, reason?: string) => {
      if (pending.cancelled) {
        // The caller gave up (487 sent) while the feature decided or media was set up.
        status = 487;
        reason = "Request Terminated (cancelled by the caller)";
      } else tx.respond(createResponse(invite, status, reason !== undefined ? { reason } : {}));
      o.cdr.insert({
        callId,
        caller,
        callee: dialled,
        startedAt,
        endedAt: o.clock.wallNow(),
        durationMs: o.clock.wallNow() - startedAt,
        billsecMs: 0,
        disposition: status === 487 ? "cancelled" : status === 486 ? "busy" : "rejected",
        hangupBy: "system",
        sipCode: status,
        ...(reason !== undefined ? { reason } : {}),
      });
    };
    let offer, info;
    try {
      offer = parseSdp(DECODE.decode(invite.body));
      info = describeSdp(DECODE.decode(invite.body));
    } catch (e) {
      tx.respond(createResponse(invite, invite.body.length ? 400 : 488, {
        reason: invite.body.length
          ? `Bad SDP: ${(e as Error).message}`.slice(0, 100)
          : "Not Acceptable Here (no SDP)",
      }));
      return;
    }
    // SRTP as on B2BUA legs: SDES under the caller's policy (keys only over TLS/WSS), DTLS-SRTP offers.
    const sdp = this.#sdpFor(caller, source.transport);
    const srtp = info.audioIndex >= 0 ? sdp.takeOffer(info) : undefined;
    if (srtp !== undefined) {
      o.log.info("call refused: SRTP policy", { caller, dialled, reason: srtp });
      const res = createResponse(invite, 488, { reason: "Not Acceptable Here (SRTP)" });
      addHeader(res, "Warning", `302 ${o.publicAddress} "${srtp.replaceAll('"', "'")}"`);
      tx.respond(res);
      return;
    }
    const prefs = localCodecPreferences(o.media.codecs?.() ?? []);
    // Our order, not the caller's: wideband wins when the phone offers it at all.
    const chosen = negotiateAudio(offer, prefs, { preferOfferOrder: false, protocols: PROTOCOLS });
    const first = chosen?.negotiated.codecs.find((c) => c.name.toLowerCase() !== "cn");
    if (chosen === null || first === undefined) {
      const names = prefs.filter((p) => p.name !== "telephone-event").map((p) => p.name).join(", ");
      tx.respond(createResponse(invite, 488, { reason: `Not Acceptable Here (offer one of ${names})` }));
      return;
    }
    // Answer with one codec so the caller cannot switch mid-call.
    chosen.negotiated.codecs = [first];
    const te = chosen.negotiated.telephoneEvent;
    const payloadMap: Record<number, string> = { [first.payloadType]: `${first.name}/${first.clockRate}` };
    if (te !== undefined) payloadMap[te.payloadType] = `${te.name}/${te.clockRate}`;
    const ptime = chosen.negotiated.ptime;
    let verdict: LocalSession | { status: number; reason?: string };
    const deciding = handler.accept({
      caller,
      dialled,
      receivedAt,
      codec: `${first.name}/${first.clockRate}`,
    });
    try {
      verdict = deciding instanceof Promise ? await deciding : deciding;
    } catch (e) {
      o.log.error("feature failed to decide on a call", { error: e as Error });
      verdict = { status: 500, reason: "Server Internal Error (feature failed)" };
    }
    if ("status" in verdict) {
      refuse(verdict.status, verdict.reason);
      return;
    }
    const session = verdict;
    if (pending.cancelled) {
      session.onEnd?.("caller");
      refuse(487);
      return;
    }
    let leg: MediaLeg;
    try {
      leg = await o.media.allocateLeg();
    } catch {
      session.onEnd?.("system");
      refuse(503, "Service Unavailable (no media ports)");
      return;
    }
    const m = offer.media[chosen.mediaIndex]!;
    const address = (m.connection ?? offer.connection)?.address;
    // The negotiated keys go with the leg's first configuration; later changes (a re-offer) on their own.
    const keys: { srtp?: SrtpLegKeys | null; dtls?: DtlsLegKeys | null } = {};
    let configured = false;
    this.#bindKeys(sdp, leg.legId, callId, keys, () => configured);
    try {
      await o.media.configureLeg(leg.legId, {
        ...(address !== undefined && address !== "0.0.0.0" ? { remote: { address, port: m.port } } : {}),
        payloadMap,
        ...(ptime !== undefined && Number.isInteger(ptime) && ptime >= 10 && ptime <= 120 ? { ptime } : {}),
        ...keys,
      });
      configured = true;
    } catch (e) {
      o.log.error("configuring a media leg failed", { error: e as Error });
      await o.media.releaseLeg(leg.legId).catch(() => {});
      session.onEnd?.("system");
      refuse(500, "Server Internal Error (media)");
      return;
    }
    const tag = newTag();
    const secured = sdp.answerParts(leg.rtpPort);
    const answerSd = createAnswer(offer, {
      address: o.publicAddress,
      port: leg.rtpPort,
      negotiated: chosen.negotiated,
      mediaIndex: chosen.mediaIndex,
      username: "pbx",
      attributes: secured.media,
    });
    if (secured.protocol !== "") answerSd.media[chosen.mediaIndex]!.protocol = secured.protocol;
    answerSd.attributes.push(...secured.session);
    const answerSdp = serializeSdp(answerSd);
    let resolveOver: () => void = () => {};
    const over = new Promise<void>((r) => (resolveOver = r));
    const call: LocalCall = {
      callId,
      codec: {
        name: first.name,
        clockRate: first.clockRate,
        payloadType: first.payloadType,
        ...(te !== undefined ? { telephoneEvent: te.payloadType, telephoneEventRate: te.clockRate } : {}),
      },
      over,
      resolveOver,
      onward: false,
      linkedId: callId,
      id: `${callId}|${tag}`,
      caller,
      dialled,
      tag,
      invite,
      tx,
      peer: source,
      dialog: Dialog.fromUasRequest(invite, tag, this.#contact(source)),
      leg,
      session,
      answer: answerSdp,
      startedAt,
      answeredAt: o.clock.wallNow(),
      unsubscribe: () => {},
      ended: false,
      held: false,
      sdp,
    };
    this.#calls.set(call.id, call);
    this.#registry.register(callId, tag, {
      kind: "invite",
      handle: (req, tx, source) => this.#inDialog(call, req, tx, source),
    });
    call.unsubscribe = o.media.on((ev) => {
      if (ev.legId !== leg.legId || call.ended) return;
      if (ev.event === "audio" && "pcm" in ev) {
        session.onAudio?.(ev.pcm, ev.sampleRate, { receivedAt: ev.receivedAt ?? Date.now() });
      } else if (ev.event === "dtmf" && "digit" in ev) {
        session.onDtmf?.(ev.digit, ev.source === "inband" ? "inband" : "rfc4733");
      } else if (ev.event === "inactive" && !call.held) {
        // No RTP or RTCP from the caller for the RTP timeout: the phone is gone (a held call waits).
        o.log.warn("ending feature call: no media from the caller", {
          caller,
          dialled,
          reason: "rtp-timeout",
        });
        void this.#end(call, "system", true, "rtp-timeout");
      }
    });
    try {
      await o.media.tap(leg.legId, true);
    } catch (e) {
      // Half-way set-up: nothing was answered yet, so the call leaves at once with its port.
      o.log.error("tapping a media leg failed", { error: e as Error });
      call.ended = true;
      call.unsubscribe();
      this.#calls.delete(call.id);
      this.#registry.unregister(callId, tag);
      await o.media.releaseLeg(leg.legId).catch(() => {});
      session.onEnd?.("system");
      refuse(500, "Server Internal Error (media)");
      return;
    }
    if (pending.cancelled) {
      // CANCEL while media was set up: the call leaves before its 200.
      call.ended = true;
      call.unsubscribe();
      this.#calls.delete(call.id);
      this.#registry.unregister(callId, tag);
      await o.media.tap(leg.legId, false).catch(() => {});
      await o.media.releaseLeg(leg.legId).catch(() => {});
      session.onEnd?.("caller");
      refuse(487);
      return;
    }
    const ok = createResponse(invite, 200, { toTag: tag });
    addHeader(ok, "Contact", this.#contact(source));
    ok.body = TEXT.encode(answerSdp);
    setHeader(ok, "Content-Type", "application/sdp");
    tx.respond(ok);
    this.#retransmit(call, ok);
    o.log.info("feature call answered", {
      call: callId,
      caller,
      dialled,
      codec: payloadMap[first.payloadType],
    });
    session.onStart?.(this.#control(call));
  }

  /** The caller's SDP session under its extension's SRTP policy and its signalling transport. */
  #sdpFor(caller: string, transport: Peer["transport"]): SdpSession {
    return new SdpSession(this.#o.publicAddress, {
      policy: this.#o.srtpPolicy?.(caller) ?? "off",
      secure: transport === "tls" || transport === "wss",
      dtlsFingerprint: () => this.#o.media.dtlsFingerprint?.() ?? null,
      webrtc: transport === "wss" || transport === "ws",
    });
  }

  /**
   * Negotiated SRTP / DTLS-SRTP of the caller go to its media leg: into `initial` until the leg's
   * first configuration is sent (`configured()`), then as configurations of their own.
   */
  #bindKeys(
    sdp: SdpSession,
    legId: string,
    callId: string,
    initial: { srtp?: SrtpLegKeys | null; dtls?: DtlsLegKeys | null },
    configured: () => boolean,
  ): void {
    const o = this.#o;
    const apply = (cfg: { srtp?: SrtpLegKeys | null; dtls?: DtlsLegKeys | null }, what: string) => {
      if (!configured()) return void Object.assign(initial, cfg);
      o.media.configureLeg(legId, cfg).catch((e) => {
        o.log.error(`${what} set-up failed`, { call: callId, error: e as Error });
      });
    };
    sdp.bindDtls((dtls) => apply({ dtls }, "DTLS-SRTP"));
    sdp.bindKeys((srtp) => {
      if (srtp !== null) o.log.info("SRTP on", { call: callId, leg: legId, suite: srtp.suite });
      apply({ srtp }, "SRTP");
    });
  }

  /**
   * A re-offer from the caller on an SRTP call: judged by its SDP session (new keys re-key the leg's
   * inbound direction); our answer's a=crypto follows. Returns a 488 reason, or undefined.
   */
  #reoffer(call: LocalCall, body: Uint8Array): string | undefined {
    const sdp = call.sdp;
    if (sdp === undefined || body.length === 0 || (sdp.srtpSuite === null && !sdp.dtls)) return undefined;
    let info;
    try {
      info = describeSdp(DECODE.decode(body));
    } catch {
      return undefined; // answered with our last SDP, as before
    }
    if (info.audioIndex < 0) return undefined;
    const why = sdp.takeOffer(info);
    if (why !== undefined) return why;
    const crypto = sdp.answerParts(call.leg.rtpPort).media.filter((a) => a.name === "crypto");
    if (crypto.length === 0) return undefined;
    const lines = call.answer.split("\r\n");
    const fresh = crypto.map((a) => `a=crypto:${a.value}`);
    const old = lines.filter((l) => l.startsWith("a=crypto:"));
    if (old.join("\n") === fresh.join("\n")) return undefined;
    const out: string[] = [];
    for (const l of lines) {
      if (l.startsWith("a=crypto:")) {
        if (l === old[0]) out.push(...fresh);
        continue;
      }
      const v = /^(o=\S+ \S+ )(\d+)( .*)$/.exec(l);
      out.push(v ? `${v[1]}${BigInt(v[2]!) + 1n}${v[3]}` : l);
    }
    call.answer = out.join("\r\n");
    return undefined;
  }

  /** What a session may do with its call (a handed-over session gets its own). */
  #control(call: LocalCall): LocalCallControl {
    const mine = call.session;
    const current = () => call.session === mine && !call.ended;
    const control: LocalCallControl = {
      hangup: (reason) => {
        if (current()) void this.#end(call, "system", true, reason);
      },
      legId: call.leg.legId,
      callId: call.callId,
      codec: call.codec,
    };
    if (this.#o.onward !== undefined) {
      control.dial = (target, options = {}) => {
        if (!current()) return Promise.resolve({ outcome: "cancelled" } as DialResult);
        return this.#runOnward(call, target, options);
      };
      control.continueTo = async (number) => {
        if (!current()) return;
        this.#leaveSession(call);
        const r = await this.#runOnward(call, number, {});
        if (r.outcome !== "handedOver" && !call.ended) {
          void this.#end(call, "system", true, `onward ${r.outcome}`);
        }
      };
    }
    return control;
  }

  /** The session's application leaves the call (continueTo, REFER): it is told the call ended for it. */
  #leaveSession(call: LocalCall): void {
    const old = call.session;
    call.session = {}; // nothing listens until an application takes the call over
    try {
      old.onEnd?.("system");
    } catch (e) {
      this.#o.log.error("feature failed at call end", { error: e as Error });
    }
  }

  /** Run an onward route (a number through the dialplan, or a target) for an answered call. */
  async #runOnward(
    call: LocalCall,
    target: string | RouteTarget,
    options: DialOptions,
    onAnswered?: (number: string) => void,
  ): Promise<DialResult> {
    const w = this.#o.onward!;
    const o = this.#o;
    if (call.onward) return { outcome: "failed", status: 491, reason: "Request Pending (already dialling)" };
    call.onward = true;
    const dialled = typeof target === "string"
      ? target
      : target.kind === "extension"
      ? target.number
      : call.dialled;
    const leg: OnwardLeg = {
      legId: call.leg.legId,
      linkedId: call.linkedId,
      caller: call.caller,
      codec: call.codec,
      ended: call.over,
      isEnded: () => call.ended,
      handOver: (handler, number) => this.#handOver(call, handler, number),
    };
    try {
      const first = typeof target === "string" ? w.route(target) : target;
      return await runOnward(leg, first, {
        transactions: o.transactions,
        sendRaw: w.sendRaw,
        // Method calls on the objects themselves (a MediaPlane's methods need their `this`).
        media: {
          allocateLeg: () => o.media.allocateLeg(),
          configureLeg: (id, c) => o.media.configureLeg(id, c),
          releaseLeg: (id) => o.media.releaseLeg(id),
          dtlsFingerprint: () => o.media.dtlsFingerprint?.() ?? null,
          bridge: (a, b, opt) => w.media.bridge(a, b, opt),
          unbridge: (id) => w.media.unbridge?.(id) ?? Promise.resolve(),
          playTone: (id, spec, op) => w.media.playTone?.(id, spec, op) ?? Promise.resolve(),
          stopPlay: (id) => w.media.stopPlay?.(id) ?? Promise.resolve(),
        },
        registry: this.#registry,
        ...(o.srtpPolicy !== undefined ? { srtpPolicy: o.srtpPolicy } : {}),
        ...(o.srtpKeying !== undefined ? { srtpKeying: o.srtpKeying } : {}),
        cdr: o.cdr,
        clock: o.clock,
        log: o.log,
        publicAddress: o.publicAddress,
        sipPort: o.sipPort,
        route: w.route,
        bindings: w.bindings,
        ...(w.busy !== undefined ? { busy: w.busy } : {}),
        ...(w.noAnswerMs !== undefined ? { noAnswerMs: w.noAnswerMs } : {}),
        ...(w.allow !== undefined ? { allow: w.allow } : {}),
        ...(w.trunkLegStarted !== undefined ? { trunkLegStarted: w.trunkLegStarted } : {}),
      }, {
        dialled,
        ...(options.ringMs !== undefined ? { ringMs: options.ringMs } : {}),
        ...(options.headers !== undefined ? { headers: options.headers } : {}),
        reason: `onward from ${call.dialled}`,
        ...(onAnswered !== undefined ? { onAnswered } : {}),
      });
    } finally {
      call.onward = false;
    }
  }

  /** Give an answered call to another application's handler (its session starts at once). */
  async #handOver(call: LocalCall, handler: LocalCallHandler, dialled: string): Promise<boolean> {
    if (call.ended) return false;
    let verdict;
    try {
      verdict = await handler.accept({
        caller: call.caller,
        dialled,
        receivedAt: Date.now(),
        codec: `${call.codec.name}/${call.codec.clockRate}`,
      });
    } catch (e) {
      this.#o.log.error("feature failed to decide on a call", { error: e as Error });
      return false;
    }
    if ("status" in verdict) {
      this.#o.log.info("application refused a handed-over call", { dialled, status: verdict.status });
      return false;
    }
    if (call.ended) {
      verdict.onEnd?.("caller");
      return false;
    }
    this.#leaveSession(call);
    call.session = verdict;
    call.dialled = dialled;
    this.#o.log.info("call handed over", { call: call.callId, dialled });
    verdict.onStart?.(this.#control(call));
    return true;
  }

  /**
   * Take over a leg the B2BUA holds (a blind transfer of that party to an application's number:
   * park, IVR, voicemail): its dialog, media leg and the box's last SDP toward it become a local
   * call run by `handler`, as if the party had called `dialled`. False when the handler refuses (the
   * caller should then end the leg) or the media tap fails.
   */
  async adopt(options: {
    dialog: Dialog;
    peer: Peer;
    leg: MediaLeg;
    /** The box's last SDP toward the party (answered again on a re-INVITE). */
    sdp: string;
    codec: AnsweredCodec & { telephoneEventRate?: number };
    caller: string;
    dialled: string;
    /** The call it came from: the records' link id. */
    linkedId: string;
    referredBy?: string;
    /** The party's SDP session (SRTP keys already on its leg). */
    session?: SdpSession;
    handler: LocalCallHandler;
  }): Promise<boolean | { status: number; reason?: string | undefined }> {
    const o = this.#o;
    let verdict;
    try {
      verdict = await options.handler.accept({
        caller: options.caller,
        dialled: options.dialled,
        receivedAt: Date.now(),
        codec: `${options.codec.name}/${options.codec.clockRate}`,
        ...(options.referredBy !== undefined ? { referredBy: options.referredBy } : {}),
      });
    } catch (e) {
      o.log.error("feature failed to decide on a call", { error: e as Error });
      return false;
    }
    // Refused: the status goes back to the transferor's NOTIFY.
    if ("status" in verdict) return { status: verdict.status, reason: verdict.reason };
    const { dialog, leg } = options;
    let resolveOver: () => void = () => {};
    const over = new Promise<void>((r) => (resolveOver = r));
    const now = o.clock.wallNow();
    const call: LocalCall = {
      callId: dialog.callId,
      linkedId: options.linkedId,
      codec: options.codec,
      over,
      resolveOver,
      onward: false,
      id: `${dialog.callId}|${dialog.localTag}`,
      caller: options.caller,
      dialled: options.dialled,
      tag: dialog.localTag,
      peer: options.peer,
      dialog,
      leg,
      session: verdict,
      answer: options.sdp,
      startedAt: now,
      answeredAt: now,
      unsubscribe: () => {},
      ended: false,
      held: false,
      sdp: options.session,
    };
    this.#calls.set(call.id, call);
    this.#registry.register(dialog.callId, dialog.localTag, {
      kind: "invite",
      handle: (req, tx, source) => this.#inDialog(call, req, tx, source),
    });
    call.unsubscribe = o.media.on((ev) => {
      if (ev.legId !== leg.legId || call.ended) return;
      if (ev.event === "audio" && "pcm" in ev) {
        call.session.onAudio?.(ev.pcm, ev.sampleRate, { receivedAt: ev.receivedAt ?? Date.now() });
      } else if (ev.event === "dtmf" && "digit" in ev) {
        call.session.onDtmf?.(ev.digit, ev.source === "inband" ? "inband" : "rfc4733");
      }
    });
    try {
      await o.media.tap(leg.legId, true);
    } catch (e) {
      o.log.error("tapping a media leg failed", { error: e as Error });
      await this.#end(call, "system", true);
      return true; // the call ended here (BYE sent, leg released)
    }
    o.log.info("feature call adopted", {
      call: call.callId,
      caller: options.caller,
      dialled: options.dialled,
    });
    verdict.onStart?.(this.#control(call));
    return true;
  }

  /** Our answer SDP with `direction` on its audio stream and the o= version bumped when it changed. */
  #directed(call: LocalCall, direction: string): string {
    const lines = call.answer.split("\r\n");
    const current = lines.find((l) => /^a=(sendrecv|sendonly|recvonly|inactive)$/.test(l))?.slice(2) ??
      "sendrecv";
    if (current === direction) return call.answer;
    const out = lines.map((l) => {
      if (/^a=(sendrecv|sendonly|recvonly|inactive)$/.test(l)) return `a=${direction}`;
      const o = /^(o=\S+ \S+ )(\d+)( .*)$/.exec(l);
      return o ? `${o[1]}${BigInt(o[2]!) + 1n}${o[3]}` : l;
    });
    if (!out.some((l) => l === `a=${direction}`)) {
      const i = out.findIndex((l) => l.startsWith("m=audio"));
      out.splice(i + 1, 0, `a=${direction}`);
    }
    call.answer = out.join("\r\n");
    return call.answer;
  }

  #retransmit(call: LocalCall, response: SipResponse): void {
    call.ok = retransmitOk(() => call.tx?.respond(response), {
      clock: this.#o.clock,
      ...(this.#o.t1Ms !== undefined ? { t1Ms: this.#o.t1Ms } : {}),
      ...(this.#o.t2Ms !== undefined ? { t2Ms: this.#o.t2Ms } : {}),
      onGiveUp: () => {
        call.ok = undefined;
        void this.#end(call, "system", true); // RFC 3261 13.3.1.4: no ACK, end the call
      },
    });
  }

  /** In-dialog requests for local calls; false when the dialog is not ours. */
  handleInDialog(req: SipRequest, tx: ServerTransaction | undefined, source: Peer): boolean {
    return this.#registry.route(req, tx, source);
  }

  #inDialog(call: LocalCall, req: SipRequest, tx: ServerTransaction | undefined, source: Peer): boolean {
    if (req.method === "ACK") {
      call.ok?.stop();
      call.ok = undefined;
      return true;
    }
    if (!tx) return true;
    call.peer = source;
    if (!call.dialog.acceptsRequest(req)) {
      tx.respond(createResponse(req, 500, { reason: "Server Internal Error (CSeq out of order)" }));
      return true;
    }
    if (req.method === "BYE") {
      tx.respond(createResponse(req, 200));
      void this.#end(call, "caller", false);
    } else if (req.method === "INVITE") {
      // A re-INVITE (hold, resume or a session refresh): keep the same media, answer with our SDP in
      // the direction the offer allows (sendonly -> recvonly, inactive -> inactive).
      const refused = this.#reoffer(call, req.body);
      if (refused !== undefined) {
        this.#o.log.info("re-INVITE refused: SRTP policy", { caller: call.caller, reason: refused });
        const res = createResponse(req, 488, { reason: "Not Acceptable Here (SRTP)", toTag: call.tag });
        addHeader(res, "Warning", `302 ${this.#o.publicAddress} "${refused.replaceAll('"', "'")}"`);
        tx.respond(res);
        return true;
      }
      const hold = holdOf(req.body);
      const ok = createResponse(req, 200, { toTag: call.tag });
      addHeader(ok, "Contact", this.#contact(source));
      ok.body = TEXT.encode(
        hold === undefined ? call.answer : this.#directed(call, answerDirection(hold.offered)),
      );
      setHeader(ok, "Content-Type", "application/sdp");
      tx.respond(ok);
      if (hold !== undefined && hold.held !== call.held && !call.ended) {
        call.held = hold.held;
        this.#o.log.info(hold.held ? "feature call held" : "feature call resumed", { caller: call.caller });
        try {
          call.session.onHold?.(hold.held);
        } catch (e) {
          this.#o.log.error("feature failed on hold", { error: e as Error });
        }
      }
    } else if (req.method === "REFER") {
      this.#refer(call, req, tx);
    } else if (req.method === "INFO") {
      let dtmf;
      try {
        dtmf = parseInfoDtmf(getHeader(req, "Content-Type"), DECODE.decode(req.body));
      } catch (e) {
        tx.respond(
          createResponse(req, 400, { reason: `Bad Request (${(e as Error).message})`.slice(0, 100) }),
        );
        return true;
      }
      tx.respond(createResponse(req, 200));
      if (dtmf !== null && !call.ended) call.session.onDtmf?.(dtmf.digit, "info");
    } else if (req.method === "OPTIONS" || req.method === "UPDATE") {
      tx.respond(createResponse(req, 200));
    } else {
      tx.respond(createResponse(req, 405));
    }
    return true;
  }

  /**
   * REFER from the caller (RFC 3515): with onward routing, a blind transfer of the caller's leg to
   * the Refer-To number through the dialplan (202, NOTIFY sipfrag 100 then the final status); the
   * application leaves the call. 400 for a Refer-To naming no number, 404 for an unknown number,
   * 491 while one runs; without onward routing 501 (the application is still told).
   */
  #refer(call: LocalCall, req: SipRequest, tx: ServerTransaction): void {
    const to = tagOf(getHeader(req, "To")) ?? call.tag;
    const respond = (status: number, reason: string) =>
      tx.respond(createResponse(req, status, { reason, toTag: to }));
    const referTo = getHeader(req, "Refer-To");
    let number: string | undefined;
    let replaces = false;
    try {
      const uri = referTo === undefined ? undefined : parseUri(parseNameAddr(referTo).uri);
      number = uri?.user;
      replaces = uri !== undefined && [...uri.headers.keys()].some((k) => k.toLowerCase() === "replaces");
    } catch {
      number = undefined;
    }
    if (number === undefined || number === "" || !/^[0-9*#+]{1,32}$/.test(number)) {
      this.#o.log.info("REFER with a malformed Refer-To refused", { caller: call.caller, referTo });
      return respond(400, "Bad Request (Refer-To names no number)");
    }
    const tell = () => {
      if (call.ended) return;
      try {
        call.session.onRefer?.(number);
      } catch (e) {
        this.#o.log.error("feature failed on refer", { error: e as Error });
      }
    };
    const w = this.#o.onward;
    if (w === undefined || replaces) {
      respond(
        501,
        replaces
          ? "Not Implemented (Replaces on a feature call)"
          : "Not Implemented (transfer of a feature call)",
      );
      tell();
      return;
    }
    if (call.onward || call.refer !== undefined) return respond(491, "Request Pending");
    const first = w.route(number);
    if (first.kind === "none" && (first.status === undefined || first.status === 404)) {
      this.#o.log.info("transfer to an unknown number refused", { caller: call.caller, target: number });
      return respond(404, "Not Found (no such number)");
    }
    respond(202, "Accepted");
    const refer = { done: false };
    call.refer = refer;
    const notify = (frag: string, final: boolean) => {
      if (refer.done || call.ended) return;
      refer.done = final;
      const n = call.dialog.createRequest("NOTIFY", {
        via: viaFor(this.#o, call.peer.transport),
        headers: [
          { name: "Event", value: "refer" },
          { name: "Subscription-State", value: final ? "terminated;reason=noresource" : "active;expires=60" },
        ],
        body: `${frag}\r\n`,
        contentType: "message/sipfrag;version=2.0",
      });
      this.#o.transactions.sendRequest(n, call.peer, { onResponse: () => {} });
    };
    notify("SIP/2.0 100 Trying", false);
    this.#o.log.info("blind transfer of a feature call", { caller: call.caller, target: number });
    tell();
    this.#leaveSession(call);
    void this.#runOnward(call, first, {}, () => notify("SIP/2.0 200 OK", true)).then((r) => {
      call.refer = undefined;
      if (r.outcome === "handedOver") notify("SIP/2.0 200 OK", true);
      else if (r.outcome !== "answered" && r.outcome !== "cancelled") {
        notify(`SIP/2.0 ${r.status} ${r.reason ?? "Failed"}`, true);
      }
      if (r.outcome !== "handedOver" && !call.ended) void this.#end(call, "system", true, "transfer over");
    });
  }

  async #end(call: LocalCall, by: "caller" | "system", sendBye: boolean, reason?: string): Promise<void> {
    if (call.ended) return;
    call.ended = true;
    call.resolveOver();
    const o = this.#o;
    call.ok?.stop();
    call.ok = undefined;
    if (sendBye) {
      const bye = call.dialog.createRequest("BYE", { via: viaFor(o, call.peer.transport) });
      o.transactions.sendRequest(bye, call.peer, { onResponse: () => {} });
    }
    call.unsubscribe();
    try {
      call.session.onEnd?.(by);
    } catch (e) {
      o.log.error("feature failed at call end", { error: e as Error });
    }
    const endedAt = o.clock.wallNow();
    try {
      o.cdr.insert({
        callId: call.callId,
        linkedId: call.linkedId, // an onward leg's record shares it
        caller: call.caller,
        callee: call.dialled,
        startedAt: call.startedAt,
        answeredAt: call.answeredAt,
        endedAt,
        durationMs: endedAt - call.startedAt,
        billsecMs: endedAt - call.answeredAt,
        disposition: "answered",
        hangupBy: by,
        sipCode: 200,
        ...(reason !== undefined ? { reason } : {}),
      });
    } catch (e) {
      o.log.error("writing call record failed", { error: e as Error });
    }
    o.log.info("feature call ended", { caller: call.caller, dialled: call.dialled, by });
    // Forget the dialog after Timer J so a retransmitted BYE still gets its 200.
    this.#registry.linger(call.dialog.callId, call.tag);
    o.clock.setTimeout(() => this.#calls.delete(call.id), DIALOG_LINGER_MS);
    // Untapping may fail (the tap never started): the leg's ports are released all the same.
    await o.media.tap(call.leg.legId, false).catch(() => {});
    try {
      await o.media.releaseLeg(call.leg.legId);
    } catch (e) {
      o.log.error("releasing a media leg failed", { error: e as Error });
    }
  }

  /**
   * The caller's TCP or TLS connection ended from its side: its calls end (no BYE: the flow is
   * gone), record reason "connection-lost", so a page frees its zone at once.
   */
  connectionLost(peer: Peer): number {
    let n = 0;
    for (const c of [...this.#calls.values()]) {
      const p = c.peer;
      if (c.ended || p.transport !== peer.transport || p.address !== peer.address || p.port !== peer.port) {
        continue;
      }
      this.#o.log.warn("ending feature call: connection lost", { caller: c.caller, dialled: c.dialled });
      void this.#end(c, "system", false, "connection-lost");
      n++;
    }
    return n;
  }

  /** End every local call (shutdown). */
  async close(): Promise<void> {
    for (const c of [...this.#calls.values()]) await this.#end(c, "system", true);
  }
}
