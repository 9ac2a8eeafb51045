/**
 * The B2BUA for extension-to-extension calls. Each call has an A leg (the caller's INVITE, where
 * the box is the UAS) and one or more B forks (one INVITE per registered contact of the callee,
 * where the box is the UAC). Media is anchored at the box: every leg gets its own port pair and
 * the SDP each side sees names the box, never the other phone (RFC 3264 offer/answer per leg).
 *
 * Handled here: 100/180/183/200/ACK, BYE from either side, CANCEL before answer, busy and other
 * failures mapped back to the caller, a no-answer timeout, re-INVITE passed through (hold/resume),
 * INFO carrying DTMF answered here and turned into RFC 4733 or tones toward the other leg (other
 * INFO and UPDATE passed through), 2xx retransmission until ACK (RFC 3261 13.3.1.4) and re-ACK of
 * retransmitted 2xx from the callee (13.2.2.4). When the legs share no codec the media plane
 * transcodes (see _codec_plan.ts).
 *
 * Delayed offer (an INVITE without SDP, RFC 3261 13.2.1): the box offers B its own codecs, ACKs B's
 * 2xx at once, then sends A a 200 carrying an offer led by B's codec; A's ACK carries the answer. An
 * ACK without a usable answer ends the call with BYE to both sides (RFC 3264 section 5 / 3261
 * 13.3.1.4). Provisional responses to such a caller carry no SDP (no reliable provisionals here).
 */
import type { Peer, SipRequest, SipResponse } from "../sip/message/types.ts";
import {
  addHeader,
  createResponse,
  detachString,
  getHeader,
  parseCSeq,
  parseNameAddr,
  parseUri,
  setHeader,
} from "../sip/message/mod.ts";
import { Dialog, newCallId, newTag } from "../sip/mod.ts";
import type {
  ClientTransaction,
  ClientTransactionHandlers,
  ServerTransaction,
  TransactionLayer,
  ViaAddress,
} from "../sip/mod.ts";
import type { Clock, TimerId } from "../clock/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Binding } from "../registrar/mod.ts";
import type { CallRecord, CallRecordSink, Disposition, LiveCall, MediaLeg, MediaPort } from "./types.ts";
import { type OkRetransmit, retransmitOk } from "./_ok_retransmit.ts";
import { describeSdp, holdsCall, localOfferInfo, type SdpInfo, SdpSession } from "./_sdp.ts";
import type { SrtpPolicy } from "../sdp/crypto.ts";
import { type Codec, isHold } from "../sdp/mod.ts";
import {
  type AnswerPlan,
  boxOfferCodecs,
  delayedOfferForA,
  planAnswer,
  planDelayedAnswer,
  planOffer,
} from "./_codec_plan.ts";
import { audioCodecs, mediaSetup, parseInfoDtmf } from "./_call_media.ts";
import { CallRegistry, DIALOG_LINGER_MS, type DialogUsage, tagOf } from "./registry.ts";
import { buildRequest, contactFor, viaFor } from "./request.ts";
import type { FailureKind } from "./route/mod.ts";

/** How a ringing step ended without an answer, for the dialplan's continuations. */
export interface StepFailure {
  kind: FailureKind;
  /** The SIP final status seen (or 480 for no answer). */
  status: number;
  reason?: string;
}

/**
 * The outcome a final status from the callee's side means for the dialplan: 486/600 busy; 480,
 * 404/604, 408 (no response) and 503 from the transport (unreachable) unavailable; the rest failed.
 */
export function failureOf(status: number, reason?: string): StepFailure {
  const kind: FailureKind = status === 486 || status === 600
    ? "busy"
    : status === 480 || status === 404 || status === 604 || status === 408 || status === 503
    ? "unavailable"
    : "failed";
  return { kind, status, ...(reason !== undefined ? { reason } : {}) };
}

const TEXT = new TextEncoder();
const DECODE = new TextDecoder();

/** RFC 3326 Reason on the CANCELs to the other forks once one answered (no "missed call" on them). */
export const CANCEL_REASON_ELSEWHERE = 'SIP;cause=200;text="Call completed elsewhere"';

/** Methods the box accepts, for Allow headers. */
export const ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REGISTER, UPDATE";

/** What the B2BUA needs from the rest of the box. */
export interface B2buaOptions {
  transactions: TransactionLayer;
  /** Sends a request outside any transaction (ACK for 2xx). */
  sendRaw(req: SipRequest, target: Peer): void;
  media: MediaPort;
  cdr: CallRecordSink;
  clock: Clock;
  log: Logger;
  /** The box's address and SIP port as phones reach it. */
  publicAddress: string;
  sipPort: number;
  /** Current bindings of an extension. */
  bindings(extension: string): Binding[];
  /** Display name of an extension, for From headers toward the callee. */
  displayName(extension: string): string | undefined;
  noAnswerMs?: number;
  /** RFC 3261 T1 and T2 for 2xx retransmission. */
  t1Ms?: number;
  t2Ms?: number;
  /** Told whenever a call starts, changes state or ends. */
  onChange?(call: LiveCall, ended: boolean): void;
  /** The registry owning the dialogs (shared with LocalCalls and event packages); default: its own. */
  registry?: CallRegistry;
  /** Whether a number exists at all (REFER to an unknown number gets 404); default: has bindings. */
  exists?(number: string): boolean;
  /** Told when a party holds and resumes (music on hold plays to the held party's leg). */
  hold?: HoldHandler;
  /** The Allow header value (the dispatcher computes it from its registered methods); default ALLOW. */
  allow?(): string;
  /**
   * An extension's SRTP policy (SDES keys, only over TLS/WSS signalling; see runtime/sdp/crypto.ts);
   * default "off": SRTP offers get 488, offers with optional a=crypto are answered plain.
   */
  srtpPolicy?(extension: string): SrtpPolicy;
}

type Side = "a" | "b";

/** The held party of a call, as a hold handler sees it. */
export interface HeldParty {
  callId: string;
  /** The held party's media leg at the box: what it hears is played into this leg. */
  legId: string;
  /** That leg's codec ("PCMU/8000", "G722/8000", "opus/48000") when the call's codec plan names it. */
  codec?: string | undefined;
}

/** What the B2BUA tells when a party holds (sendonly, inactive, c=0.0.0.0) and resumes. */
export interface HoldHandler {
  held(party: HeldParty): void | Promise<void>;
  resumed(party: HeldParty): void | Promise<void>;
}

/**
 * One INVITE toward one contact of the callee. Once the call is confirmed the transaction is let go
 * and the request is cut down to what a late 2xx needs (see `#release`).
 */
interface Fork {
  branchTx: ClientTransaction | undefined;
  request: SipRequest;
  peer: Peer;
  contactUri: string;
  state: "calling" | "proceeding" | "answered" | "failed" | "cancelled";
  finalStatus?: number;
}

/** A blind transfer (RFC 3515) in progress: side `from` referred the other side to `target`. */
interface Transfer {
  from: Side;
  target: string;
  /** The transferor's extension: recalled when the target is busy or does not answer. */
  transferor: string;
  /** The transferor hung up (a blind transfer usually does after the 202). */
  transferorGone: boolean;
  recalling: boolean;
  /** The outbound leg being rung. */
  out?: Originated | undefined;
}

/** An outbound INVITE to every contact of an extension, with its own media leg and SDP session. */
interface Originated {
  number: string;
  /** When it began ringing (its call record starts there). */
  startedAt: number;
  callId: string;
  fromTag: string;
  leg: MediaLeg;
  sdp: SdpSession;
  forks: Fork[];
  timer?: TimerId | undefined;
  done: boolean;
}

/** What every fork of one outbound INVITE shares: From (with tag), To and Call-ID. */
interface ForkDialog {
  from: string;
  fromTag: string;
  to: string;
  callId: string;
}

/** The state of one in-dialog re-INVITE being passed across. */
interface PendingReinvite {
  from: Side;
  tx: ServerTransaction;
}

interface Call {
  id: string;
  caller: string;
  callee: string;
  callerName?: string;
  state: "trying" | "ringing" | "answered" | "ended";
  startedAt: number;
  answeredAt?: number;
  /**
   * A side: the caller's INVITE transaction, our To tag and, once answered, the dialog. The INVITE
   * and its transaction are dropped once A's ACK confirms the call (see `#release`).
   */
  aTx: ServerTransaction | undefined;
  aInvite: SipRequest | undefined;
  aPeer: Peer;
  aTag: string;
  aDialog?: Dialog;
  aSdp: SdpSession;
  aLeg: MediaLeg;
  /** B side: the forks while ringing, then the dialog of the one that answered. */
  bCallId: string;
  bFromTag: string;
  forks: Fork[];
  bDialog?: Dialog;
  bPeer?: Peer;
  bSdp: SdpSession;
  bLeg: MediaLeg;
  earlyMedia: boolean;
  /** A's INVITE had no SDP: the box offers in its 200 and A answers in the ACK. */
  delayedOffer: boolean;
  /** Delayed offer: B's answer, kept from B's 2xx until A's ACK brings A's answer. */
  awaitingAckAnswer?: SdpInfo | undefined;
  /** Codec planning: A's offer, and the plan once B answered (transcoding or pass-through). */
  aOffer?: SdpInfo | undefined;
  plan?: AnswerPlan | undefined;
  noAnswerTimer?: TimerId | undefined;
  /** 2xx retransmission toward A until its ACK (RFC 3261 13.3.1.4). */
  okRetransmit?: OkRetransmit | undefined;
  pending?: PendingReinvite | undefined;
  /** The side that put the call on hold, while it is held. */
  heldBy?: Side | undefined;
  /** A blind transfer (REFER) in progress. */
  transfer?: Transfer | undefined;
  /** Legs already released (a transferor's, when it left). */
  released?: Set<string>;
  /** Registry keys of each side's current dialog (a transfer replaces one). */
  keys: { a: [string, string]; b: [string, string] };
  disposition?: Disposition;
  hangupBy?: CallRecord["hangupBy"];
  finalCode?: number;
  /**
   * After a transfer: when the current part of the call began (its record starts there) and the
   * Call-ID of the leg that joined. Every record the call writes carries `id` as its link id.
   */
  segment?: { startedAt: number; callId: string } | undefined;
  /**
   * Memory hunt: asked at each ring timeout for more contacts to add to the ringing ones (with
   * their ring time); undefined or none: no answer. `ringing` keeps what a new fork needs.
   */
  more?: (() => { bindings: Binding[]; ringMs?: number | undefined } | undefined) | undefined;
  ringing?: { dialog: ForkDialog; sdp: string } | undefined;
  /** Ring time before no answer (the step's ringSeconds), default the box's. */
  ringMs?: number | undefined;
  /**
   * The dialplan goes on after a failure: A is not answered with it, the call ends quietly and
   * this is told once its legs are released (the INVITE transaction still awaits a final answer).
   */
  onFailure?: ((failure: StepFailure) => void) | undefined;
}

function userOf(headerValue: string | undefined): string | undefined {
  if (headerValue === undefined) return undefined;
  try {
    return parseUri(parseNameAddr(headerValue).uri).user;
  } catch {
    return undefined;
  }
}

/**
 * Where to send requests for a registered contact. Behind NAT the Contact names an address the box
 * cannot reach, so requests go back along the flow the REGISTER came in on (the source address and
 * port; over TCP or TLS the same connection). When the Contact's host is the source address, no NAT sits in
 * between and the Contact's own port is used (a phone may send from one port and listen on another).
 */
export function peerOfBinding(b: Binding): Peer {
  const t = b.sourceTransport;
  // Stream transports (and WebSockets, which the box cannot open) go back along the phone's flow.
  const transport = t === "tcp" || t === "tls" || t === "ws" || t === "wss" ? t : "udp";
  const flow: Peer = { transport, address: b.sourceAddress, port: b.sourcePort };
  if (transport !== "udp") return flow;
  let uri;
  try {
    uri = parseUri(b.contactUri);
  } catch {
    return flow;
  }
  if (uri.params.has("ob") || uri.host !== b.sourceAddress) return flow;
  const uriTransport = uri.params.get("transport")?.toLowerCase();
  if (uriTransport !== undefined && uriTransport !== "udp") return flow;
  return { transport, address: uri.host, port: uri.port ?? 5060 };
}

/**
 * How a callee's bindings are reached, for its SDP: "wss" when all are WebSockets (browsers: WebRTC
 * offers), "tls" when all are TLS or WSS (SDES may be offered), else "udp".
 */
function bTransport(bindings: Binding[]): Peer["transport"] {
  if (bindings.length === 0) return "udp";
  const ts = bindings.map((b) => peerOfBinding(b).transport);
  if (ts.every((t) => t === "ws" || t === "wss")) return "wss";
  return bindings.every(securedBinding) ? "tls" : "udp";
}

/** A binding whose requests travel over TLS or WSS (SDES keys may be offered to it). */
function securedBinding(b: Binding): boolean {
  const t = peerOfBinding(b).transport;
  return t === "tls" || t === "wss";
}

/** The headers `Dialog.fromUacResponse` reads from the request; the rest of a fork's INVITE can go. */
const DIALOG_HEADERS = new Set(["From", "To", "Call-ID", "CSeq", "Contact"]);

/** `req` without body and without the headers a UAC dialog is not built from. */
function dialogRequest(req: SipRequest): SipRequest {
  return {
    type: "request",
    method: req.method,
    uri: req.uri,
    headers: req.headers.filter((h) => DIALOG_HEADERS.has(h.name)),
    body: new Uint8Array(0),
  };
}

function dispositionFor(status: number): Disposition {
  if (status === 486 || status === 600) return "busy";
  if (status === 603) return "rejected";
  if (status === 487) return "cancelled";
  if (status === 404 || status === 604) return "not-found";
  if (status === 408 || status === 480) return "no-answer";
  return "failed";
}

/** The B2BUA. One instance per box. */
export class B2bua {
  #o: B2buaOptions;
  #calls = new Map<string, Call>();
  /** The registry the dialogs live in; usages map back to their call and side. */
  #registry: CallRegistry;
  #usages = new WeakMap<DialogUsage, { call: Call; side: Side }>();
  /** Calls by the A side's INVITE server transaction, for CANCEL. */
  #byInviteTx = new Map<ServerTransaction, Call>();
  /** INVITEs a CANCEL reached before their call was set up (media legs were being allocated). */
  #cancelledEarly = new WeakSet<ServerTransaction>();
  #noAnswerMs: number;
  #offMedia: (() => void) | undefined;
  #t1: number;
  #t2: number;

  constructor(options: B2buaOptions) {
    this.#o = options;
    this.#registry = options.registry ?? new CallRegistry({ clock: options.clock });
    // Digits the media plane heard (RFC 4733 or in-band) are logged per call; features hook in here.
    this.#offMedia = options.media.on?.((ev) => {
      if (ev.event !== "dtmf" || !("digit" in ev)) return;
      for (const c of this.#calls.values()) {
        const side = c.aLeg.legId === ev.legId ? "a" : c.bLeg.legId === ev.legId ? "b" : undefined;
        if (side === undefined || c.state === "ended") continue;
        options.log.info("dtmf", { call: c.id, side, digit: ev.digit, source: ev.source ?? "rfc4733" });
      }
    });
    this.#noAnswerMs = options.noAnswerMs ?? 30_000;
    this.#t1 = options.t1Ms ?? 500;
    this.#t2 = options.t2Ms ?? 4000;
  }

  /** Calls in progress, for the API. */
  calls(): LiveCall[] {
    return [...this.#calls.values()].filter((c) => c.state !== "ended").map((c) => this.#live(c));
  }

  /** Extensions currently in a call (ringing or answered), for busy checks. */
  busyExtensions(): Set<string> {
    const s = new Set<string>();
    for (const c of this.#calls.values()) {
      if (c.state === "ended") continue;
      s.add(c.caller);
      s.add(c.callee);
    }
    return s;
  }

  #live(c: Call): LiveCall {
    const l: LiveCall = {
      id: c.id,
      caller: c.caller,
      callee: c.callee,
      state: c.state === "trying" ? "dialing" : c.state === "ended" ? "answered" : c.state,
      startedAt: c.startedAt,
    };
    if (c.answeredAt !== undefined) l.answeredAt = c.answeredAt;
    return l;
  }

  #changed(c: Call): void {
    this.#o.onChange?.(this.#live(c), c.state === "ended");
  }

  #contact(transport: Peer["transport"]): string {
    return contactFor(this.#o, transport);
  }

  #via(transport: Peer["transport"]): ViaAddress {
    return viaFor(this.#o, transport);
  }

  #allow(): string {
    return this.#o.allow?.() ?? ALLOW;
  }

  /** A response on A's INVITE transaction; undefined once the call is confirmed (nothing left to answer). */
  #respondA(
    call: Call,
    status: number,
    options: { body?: string; reason?: string } = {},
  ): SipResponse | undefined {
    if (call.aTx === undefined || call.aInvite === undefined) return undefined;
    const opts: Parameters<typeof createResponse>[2] = { toTag: call.aTag };
    if (options.reason !== undefined) opts.reason = options.reason;
    const res = createResponse(call.aInvite, status, opts);
    if (status > 100 && status < 300) addHeader(res, "Contact", this.#contact(call.aPeer.transport));
    if (status >= 200 && status < 300) addHeader(res, "Allow", this.#allow());
    if (options.body !== undefined) {
      res.body = TEXT.encode(options.body);
      setHeader(res, "Content-Type", "application/sdp");
    }
    call.aTx.respond(res);
    return res;
  }

  /**
   * Start a call from an authenticated caller to an extension that has at least one binding.
   * `bindings` are the callee's contacts; the caller's INVITE carries the SDP offer.
   */
  async startCall(
    invite: SipRequest,
    tx: ServerTransaction,
    options: {
      caller: string;
      callee: string;
      source: Peer;
      /** Contacts to fork to (a group's members); default the callee's bindings. */
      bindings?: Binding[];
      /** Ring time before the outcome is no answer; default `noAnswerMs`. */
      ringMs?: number;
      /**
       * Given: busy, no answer, unavailable and failed are not answered to the caller but reported
       * here (after the step's legs are released), so the dialplan can go on on the same INVITE.
       */
      onFailure?: (failure: StepFailure) => void;
      /** A later step of a route: the caller has had its 100 already. */
      continued?: boolean;
      /** Memory hunt: more contacts to ring, asked at each ring timeout (see `Call.more`). */
      more?: () => { bindings: Binding[]; ringMs?: number | undefined } | undefined;
    },
  ): Promise<void> {
    const { caller, callee, source } = options;
    const o = this.#o;
    const bindings = options.bindings ?? o.bindings(callee);
    const now = o.clock.wallNow();
    let offer: SdpInfo | undefined;
    if (invite.body.length > 0) {
      try {
        offer = describeSdp(DECODE.decode(invite.body));
      } catch (e) {
        tx.respond(createResponse(invite, 400, { reason: `Bad SDP: ${(e as Error).message}`.slice(0, 120) }));
        return;
      }
    }
    const aSdp = this.#sdpFor(caller, source.transport);
    const srtp = offer !== undefined && offer.audioIndex >= 0 ? aSdp.takeOffer(offer) : undefined;
    if (srtp !== undefined) {
      o.log.info("call refused: SRTP policy", { caller, callee, reason: srtp });
      const res = createResponse(invite, 488, { reason: "Not Acceptable Here (SRTP)" });
      addHeader(res, "Warning", `302 ${o.publicAddress} "${srtp.replaceAll('"', "'")}"`);
      tx.respond(res);
      return;
    }
    if (offer !== undefined && offer.audioIndex < 0) {
      tx.respond(createResponse(invite, 488, { reason: "Not Acceptable Here (no audio stream)" }));
      return;
    }
    let aLeg: MediaLeg, bLeg: MediaLeg;
    try {
      aLeg = await o.media.allocateLeg();
    } catch (e) {
      o.log.error("no media port for call", { error: e as Error });
      tx.respond(createResponse(invite, 503, { reason: "Service Unavailable (no media ports)" }));
      return;
    }
    try {
      bLeg = await o.media.allocateLeg();
    } catch (e) {
      await o.media.releaseLeg(aLeg.legId);
      o.log.error("no media port for call", { error: e as Error });
      tx.respond(createResponse(invite, 503, { reason: "Service Unavailable (no media ports)" }));
      return;
    }
    if (this.#cancelledEarly.has(tx)) {
      // CANCEL arrived while the legs were being allocated: the call never starts (RFC 3261 9.2).
      this.#cancelledEarly.delete(tx);
      for (const leg of [aLeg, bLeg]) await o.media.releaseLeg(leg.legId).catch(() => {});
      tx.respond(createResponse(invite, 487));
      return;
    }
    const fromHeader = getHeader(invite, "From") ?? "";
    let callerName: string | undefined;
    try {
      callerName = parseNameAddr(fromHeader).displayName ?? o.displayName(caller);
    } catch {
      callerName = o.displayName(caller);
    }
    const call: Call = {
      // Copies: these live as long as the call and must not pin the INVITE's text (detachString).
      id: detachString(getHeader(invite, "Call-ID") ?? newCallId()),
      caller: detachString(caller),
      callee: detachString(callee),
      state: "trying",
      startedAt: now,
      aTx: tx,
      aInvite: invite,
      aPeer: source,
      aTag: newTag(),
      aSdp,
      aLeg,
      bCallId: newCallId(o.publicAddress),
      bFromTag: newTag(),
      forks: [],
      bSdp: this.#sdpFor(callee, bTransport(bindings)),
      bLeg,
      earlyMedia: false,
      delayedOffer: offer === undefined,
      keys: { a: ["", ""], b: ["", ""] },
    };
    call.keys = { a: [call.id, call.aTag], b: [call.bCallId, call.bFromTag] };
    this.#bindKeys(call, call.aSdp, aLeg.legId);
    this.#bindKeys(call, call.bSdp, bLeg.legId);
    if (callerName !== undefined) call.callerName = detachString(callerName);
    if (options.ringMs !== undefined) call.ringMs = options.ringMs;
    if (options.onFailure !== undefined) call.onFailure = options.onFailure;
    if (options.more !== undefined) call.more = options.more;
    this.#calls.set(call.id + "|" + call.aTag, call);
    this.#byInviteTx.set(tx, call);
    this.#register(call, "a", call.id, call.aTag);
    this.#register(call, "b", call.bCallId, call.bFromTag);
    if (options.continued !== true) this.#respondA(call, 100);
    this.#changed(call);
    try {
      await this.#setUp(call, offer, bindings);
    } catch (e) {
      // A set-up step failed half-way (media configuration, sending): the call must not stay behind.
      o.log.error("call set-up failed", { call: call.id, error: e as Error });
      if (call.state === "ended") return;
      for (const f of call.forks) {
        if (f.state === "calling" || f.state === "proceeding") {
          f.state = "cancelled";
          f.branchTx?.cancel();
        }
      }
      call.disposition = "failed";
      call.hangupBy = "system";
      call.finalCode = 500;
      this.#respondA(call, 500, { reason: "Server Internal Error (call set-up failed)" });
      await this.#end(call);
    }
  }

  /** A side's SDP session under its extension's SRTP policy and signalling transport. */
  #sdpFor(extension: string, transport: Peer["transport"]): SdpSession {
    const policy = this.#o.srtpPolicy?.(extension) ?? "off";
    return new SdpSession(this.#o.publicAddress, {
      policy,
      secure: transport === "tls" || transport === "wss",
      dtlsFingerprint: () => this.#o.media.dtlsFingerprint?.() ?? null,
      webrtc: transport === "wss" || transport === "ws",
    });
  }

  /** Negotiated SRTP keys of a side go to its media leg (queued before any later configure/bridge). */
  #bindKeys(call: Call, sdp: SdpSession, legId: string): void {
    sdp.bindDtls((dtls) => {
      this.#o.media.configureLeg(legId, { dtls }).catch((e) => {
        if (call.state !== "ended") {
          this.#o.log.error("DTLS-SRTP set-up failed", { call: call.id, error: e as Error });
        }
      });
    });
    sdp.bindKeys((srtp) => {
      if (srtp !== null) this.#o.log.info("SRTP on", { call: call.id, leg: legId, suite: srtp.suite });
      this.#o.media.configureLeg(legId, { srtp }).catch((e) => {
        if (call.state !== "ended") {
          this.#o.log.error("SRTP set-up failed", { call: call.id, error: e as Error });
        }
      });
    });
  }

  #register(call: Call, side: Side, callId: string, tag: string): void {
    const usage: DialogUsage = {
      kind: "invite",
      handle: (req, tx, source) => this.#inDialog(call, side, req, tx, source),
    };
    this.#usages.set(usage, { call, side });
    this.#registry.register(callId, tag, usage);
  }

  async #setUp(call: Call, offer: SdpInfo | undefined, bindings: Binding[]): Promise<void> {
    const o = this.#o;
    const { caller, callee, callerName, aLeg, bLeg } = call;

    const box = o.media.codecs?.() ?? [];
    const srtpError = call.bSdp.offerError();
    if (srtpError !== undefined) {
      o.log.info("call refused: SRTP policy", { call: call.id, callee, reason: srtpError });
      call.disposition = "failed";
      call.hangupBy = "system";
      call.finalCode = 488;
      this.#respondA(call, 488, { reason: "Not Acceptable Here (callee requires SRTP over TLS)" });
      await this.#end(call);
      return;
    }
    let bOffer: string;
    if (offer !== undefined) {
      await o.media.configureLeg(aLeg.legId, { remote: offer.remote });
      // A CANCEL while the leg was being configured ended the call: no fork may ring after it.
      if (call.state === "ended") return;
      call.aOffer = offer;
      // B is offered A's codecs plus whatever else the box can transcode (see _codec_plan.ts).
      bOffer = call.bSdp.offerFrom(
        offer,
        bLeg.rtpPort,
        box.length > 0 ? { codecs: planOffer(audioCodecs(offer), box) } : {},
      );
    } else {
      // Delayed offer: A's leg waits for A's answer in its ACK; B gets the box's own offer.
      bOffer = call.bSdp.offerFrom(localOfferInfo(o.publicAddress, boxOfferCodecs(box)), bLeg.rtpPort);
    }
    const from = `${
      callerName ? `"${callerName.replace(/["\\]/g, "")}" ` : ""
    }<sip:${caller}@${o.publicAddress}>`;
    const dialog = {
      from,
      fromTag: call.bFromTag,
      to: `<sip:${callee}@${o.publicAddress}>`,
      callId: call.bCallId,
    };
    for (const b of bindings) this.#addFork(call, b, dialog, bOffer);
    if (call.more !== undefined) call.ringing = { dialog, sdp: bOffer };
    call.noAnswerTimer = o.clock.setTimeout(() => this.#onNoAnswer(call), call.ringMs ?? this.#noAnswerMs);
    o.log.info("call started", {
      call: call.id,
      caller,
      callee,
      forks: bindings.length,
      ...(call.delayedOffer ? { offer: "delayed" } : {}),
    });
  }

  /**
   * One INVITE toward one registered contact (a callee's fork, or a transfer target's). RFC 3327:
   * a contact registered through proxies gets its Path as Route. A send that throws propagates,
   * unless `onSendError` is given: then the fork is marked failed (503) and returned.
   */
  #sendFork(
    b: Binding,
    dialog: ForkDialog,
    sdp: string,
    handlers: (fork: Fork) => ClientTransactionHandlers,
    onSendError?: (e: Error) => void,
  ): Fork {
    const peer = peerOfBinding(b);
    const req = buildRequest({
      method: "INVITE",
      uri: b.contactUri,
      via: this.#via(peer.transport),
      route: b.path ?? [],
      ...dialog,
      contact: this.#contact(peer.transport),
      headers: [{ name: "Allow", value: this.#allow() }, { name: "User-Agent", value: "pbx-appliance" }],
      body: sdp,
      contentType: "application/sdp",
    });
    const fork: Fork = {
      request: req,
      peer,
      contactUri: b.contactUri,
      state: "calling",
      branchTx: undefined,
    };
    try {
      fork.branchTx = this.#o.transactions.sendRequest(req, peer, handlers(fork));
    } catch (e) {
      if (onSendError === undefined) throw e;
      onSendError(e as Error);
      fork.state = "failed";
      fork.finalStatus = 503;
    }
    return fork;
  }

  #onForkResponse(call: Call, fork: Fork, res: SipResponse): void {
    if (res.status < 200) {
      if (res.status === 100 || call.state === "ended") return;
      fork.state = "proceeding";
      if (call.state === "answered") return;
      let body: string | undefined;
      // A delayed-offer caller has had no offer yet: SDP in an unreliable 18x cannot reach it.
      if (res.body.length > 0 && !call.earlyMedia && !call.delayedOffer) {
        try {
          const answer = describeSdp(DECODE.decode(res.body));
          const bad = call.bSdp.takeAnswer(answer);
          if (bad !== undefined) throw new RangeError(bad);
          body = this.#answerForA(call, answer);
          if (body !== undefined) {
            call.earlyMedia = true;
            void this.#connectMedia(call, answer);
          }
        } catch (e) {
          this.#o.log.warn("ignoring bad early-media SDP", { call: call.id, error: e as Error });
        }
      }
      call.state = "ringing";
      const status = body !== undefined ? 183 : (res.status === 183 ? 180 : res.status);
      this.#respondA(call, status, body !== undefined ? { body } : {});
      this.#changed(call);
      return;
    }
    if (res.status < 300) {
      this.#onForkAnswered(call, fork, res);
      return;
    }
    this.#onForkFailed(call, fork, res.status, res.reason);
  }

  /**
   * The SDP answer for A from B's answer, with the codec plan applied (pass-through or transcoding);
   * undefined when the two sides cannot be connected (488).
   */
  #answerForA(call: Call, answer: SdpInfo): string | undefined {
    const box = this.#o.media.codecs?.() ?? [];
    if (box.length === 0 || call.aOffer === undefined) {
      call.plan = undefined;
      return call.aSdp.answerFrom(answer, call.aLeg.rtpPort);
    }
    const plan = planAnswer(audioCodecs(call.aOffer), audioCodecs(answer), box);
    call.plan = plan;
    if (plan.kind === "reject") {
      this.#o.log.warn("no way to connect the codecs", { call: call.id, reason: plan.reason });
      return undefined;
    }
    if (plan.kind === "transcode") {
      this.#o.log.info("transcoding", {
        call: call.id,
        a: `${plan.aCodec.name}/${plan.aCodec.clockRate}`,
        b: `${plan.bCodec.name}/${plan.bCodec.clockRate}`,
      });
    }
    return call.aSdp.answerFrom(answer, call.aLeg.rtpPort, {
      codecs: plan.aAnswer,
      dropPtime: plan.kind === "transcode",
    });
  }

  /** The codecs a side's SDP lists under the plan (re-INVITEs keep them), undefined without a plan. */
  #planCodecs(call: Call, side: Side): Codec[] | undefined {
    const p = call.plan;
    if (p === undefined || p.kind !== "transcode") return undefined;
    if (side === "a") return p.aAnswer;
    return Object.entries(p.bMap).map(([pt, enc]) => {
      const [name = "", rate = "8000"] = enc.split("/");
      const channels = name.toLowerCase() === "opus" ? 2 : 1;
      const c: Codec = { payloadType: Number(pt), name, clockRate: Number(rate), channels };
      const fmtp = Number(pt) === p.bCodec.payloadType ? p.bCodec.fmtp : undefined;
      if (fmtp !== undefined) c.fmtp = fmtp;
      return c;
    });
  }

  async #connectMedia(call: Call, answer: SdpInfo): Promise<void> {
    try {
      const plan = call.plan;
      if (plan !== undefined && plan.kind !== "reject" && call.aOffer !== undefined) {
        const setup = mediaSetup(plan, call.aOffer, answer);
        await this.#o.media.configureLeg(call.aLeg.legId, setup.a);
        await this.#o.media.configureLeg(call.bLeg.legId, { remote: answer.remote, ...setup.b });
        await this.#o.media.bridge(call.aLeg.legId, call.bLeg.legId, setup.bridge);
        return;
      }
      await this.#o.media.configureLeg(call.bLeg.legId, { remote: answer.remote });
      await this.#o.media.bridge(call.aLeg.legId, call.bLeg.legId);
    } catch (e) {
      // A call that ended while its bridge was queued has released its legs: nothing went wrong.
      if (call.state === "ended") return;
      this.#o.log.error("media bridge failed", { call: call.id, error: e as Error });
      this.#failMedia(call);
    }
  }

  /**
   * An answered call whose legs could not be bridged carries no audio: end it (BYE both sides, a
   * failed record) rather than leave two parties in silence. Early media that failed leaves the
   * call ringing; its answer tries the bridge again.
   */
  #failMedia(call: Call): void {
    if (call.state !== "answered") return;
    call.disposition = "failed";
    call.finalCode = 500;
    void this.#hangup(call, "system");
  }

  #onForkAnswered(call: Call, fork: Fork, res: SipResponse): void {
    const o = this.#o;
    const dialog = Dialog.fromUacResponse(fork.request, res);
    const ack = dialog.createAck(1, { via: this.#via(fork.peer.transport) });
    o.sendRaw(ack, fork.peer);
    if (call.state === "answered" || call.state === "ended") {
      // Another contact answered first (or the caller gave up): this one gets ACK then BYE.
      const bye = dialog.createRequest("BYE", { via: this.#via(fork.peer.transport) });
      o.transactions.sendRequest(bye, fork.peer, { onResponse: () => {} });
      return;
    }
    fork.state = "answered";
    let answer: SdpInfo | undefined;
    try {
      answer = describeSdp(DECODE.decode(res.body));
      const bad = call.bSdp.takeAnswer(answer);
      if (bad !== undefined) throw new RangeError(bad);
    } catch (e) {
      answer = undefined;
      o.log.warn("callee answered with unusable SDP; ending the call", { call: call.id, error: e as Error });
    }
    call.bDialog = dialog;
    call.bPeer = fork.peer;
    this.#clearNoAnswer(call);
    for (const f of call.forks) {
      if (f !== fork && (f.state === "calling" || f.state === "proceeding")) {
        f.state = "cancelled";
        f.branchTx?.cancel(undefined, CANCEL_REASON_ELSEWHERE);
      }
    }
    if (call.delayedOffer && answer !== undefined && answer.audioIndex >= 0) {
      this.#offerToA(call, fork, answer);
      return;
    }
    const body = answer !== undefined && answer.audioIndex >= 0 ? this.#answerForA(call, answer) : undefined;
    if (answer === undefined || answer.audioIndex < 0 || body === undefined) {
      const bye = dialog.createRequest("BYE", { via: this.#via(fork.peer.transport) });
      o.transactions.sendRequest(bye, fork.peer, { onResponse: () => {} });
      call.disposition = "failed";
      call.hangupBy = "system";
      call.finalCode = 488;
      this.#respondA(call, 488, { reason: "Not Acceptable Here (callee SDP unusable)" });
      void this.#end(call);
      return;
    }
    call.state = "answered";
    call.answeredAt = o.clock.wallNow();
    call.disposition = "answered";
    call.finalCode = 200;
    void this.#connectMedia(call, answer);
    const aTx = call.aTx!;
    const ok = this.#respondA(call, 200, { body })!;
    call.aDialog = Dialog.fromUasRequest(call.aInvite!, call.aTag, this.#contact(call.aPeer.transport));
    this.#startOkRetransmit(call, aTx, ok);
    this.#changed(call);
    o.log.info("call answered", { call: call.id, contact: fork.contactUri });
  }

  /**
   * Delayed offer, B answered (and got its ACK): A gets a 200 carrying an offer led by B's codecs, so
   * A picking the first needs no transcoding. Media is bridged once A's ACK brings the answer.
   */
  #offerToA(call: Call, fork: Fork, bAnswer: SdpInfo): void {
    const o = this.#o;
    const box = o.media.codecs?.() ?? [];
    const body = call.aSdp.offerFrom(bAnswer, call.aLeg.rtpPort, {
      codecs: delayedOfferForA(audioCodecs(bAnswer), box),
    });
    call.awaitingAckAnswer = bAnswer;
    call.state = "answered";
    call.answeredAt = o.clock.wallNow();
    call.disposition = "answered";
    call.finalCode = 200;
    void o.media.configureLeg(call.bLeg.legId, { remote: bAnswer.remote }).catch((e) => {
      if (call.state !== "ended") {
        o.log.error("configuring media failed", { call: call.id, error: e as Error });
      }
    });
    const aTx = call.aTx!;
    const ok = this.#respondA(call, 200, { body })!;
    call.aDialog = Dialog.fromUasRequest(call.aInvite!, call.aTag, this.#contact(call.aPeer.transport));
    this.#startOkRetransmit(call, aTx, ok);
    this.#changed(call);
    o.log.info("call answered; offer sent to the caller (delayed offer)", {
      call: call.id,
      contact: fork.contactUri,
    });
  }

  /** Delayed offer: A's ACK carries the answer to the box's offer; plan the codecs and bridge. */
  #onAckAnswer(call: Call, body: Uint8Array): void {
    const bAnswer = call.awaitingAckAnswer;
    call.awaitingAckAnswer = undefined;
    if (bAnswer === undefined || call.state !== "answered") return;
    if (body.length === 0) {
      this.#failDelayedOffer(call, "the caller's ACK carried no SDP answer");
      return;
    }
    let answer: SdpInfo;
    try {
      answer = describeSdp(DECODE.decode(body));
    } catch (e) {
      this.#failDelayedOffer(call, `the caller's ACK carried bad SDP: ${(e as Error).message}`);
      return;
    }
    if (answer.audioIndex < 0) {
      this.#failDelayedOffer(call, "the caller's answer accepts no audio stream");
      return;
    }
    const badSrtp = call.aSdp.takeAnswer(answer);
    if (badSrtp !== undefined) {
      this.#failDelayedOffer(call, badSrtp);
      return;
    }
    const plan = planDelayedAnswer(audioCodecs(answer), audioCodecs(bAnswer), this.#o.media.codecs?.() ?? []);
    if (plan.kind === "reject") {
      this.#failDelayedOffer(call, plan.reason);
      return;
    }
    call.plan = plan;
    if (plan.kind === "transcode") {
      this.#o.log.info("transcoding", {
        call: call.id,
        a: `${plan.aCodec.name}/${plan.aCodec.clockRate}`,
        b: `${plan.bCodec.name}/${plan.bCodec.clockRate}`,
      });
    }
    void this.#connectDelayed(call, plan, answer, bAnswer);
  }

  async #connectDelayed(
    call: Call,
    plan: Exclude<AnswerPlan, { kind: "reject" }>,
    aAnswer: SdpInfo,
    bAnswer: SdpInfo,
  ): Promise<void> {
    try {
      const setup = mediaSetup(plan, aAnswer, bAnswer);
      await this.#o.media.configureLeg(call.aLeg.legId, { remote: aAnswer.remote, ...setup.a });
      await this.#o.media.configureLeg(call.bLeg.legId, { remote: bAnswer.remote, ...setup.b });
      await this.#o.media.bridge(call.aLeg.legId, call.bLeg.legId, setup.bridge);
    } catch (e) {
      if (call.state === "ended") return;
      this.#o.log.error("media bridge failed", { call: call.id, error: e as Error });
      this.#failMedia(call);
    }
  }

  /**
   * Delayed offer without a usable answer from A: the UAS must end the session (RFC 3264 section 5,
   * RFC 3261 13.3.1.4). BYE both sides; the record is a failed call (488) with no talk time.
   */
  #failDelayedOffer(call: Call, reason: string): void {
    this.#o.log.warn("delayed offer: no usable answer from the caller; ending the call", {
      call: call.id,
      reason,
    });
    call.awaitingAckAnswer = undefined;
    call.disposition = "failed";
    call.finalCode = 488;
    delete call.answeredAt;
    void this.#hangup(call, "system");
  }

  #onForkFailed(call: Call, fork: Fork, status: number, reason?: string): void {
    if (fork.state === "answered" || fork.state === "failed") return;
    fork.state = fork.state === "cancelled" ? "cancelled" : "failed";
    fork.finalStatus = status;
    if (call.state === "answered" || call.state === "ended") return;
    if (call.forks.some((f) => f.state === "calling" || f.state === "proceeding")) return;
    if (call.disposition === "cancelled" || call.disposition === "no-answer") return;
    // RFC 3261 16.7: prefer a 6xx, then busy, then the lowest class seen.
    const codes = call.forks.map((f) => f.finalStatus ?? 500);
    const best = codes.find((c) => c >= 600) ?? codes.find((c) => c === 486) ??
      [...codes].sort((x, y) => x - y)[0] ?? 500;
    const toCaller = best === 503 || best === 408 ? 480 : best;
    call.disposition = dispositionFor(best === 503 ? 480 : best);
    call.hangupBy = "callee";
    call.finalCode = toCaller;
    const why = reason !== undefined && best === status ? reason : undefined;
    if (this.#continueRoute(call, failureOf(best, why))) return;
    this.#respondA(call, toCaller, reason !== undefined && toCaller === status ? { reason } : {});
    void this.#end(call);
  }

  /**
   * The dialplan goes on after this failure: end the step without answering A (its transaction is
   * handed back with the failure once the legs are released). False when nobody continues.
   */
  #continueRoute(call: Call, failure: StepFailure): boolean {
    const go = call.onFailure;
    if (go === undefined || call.aTx === undefined) return false;
    call.onFailure = undefined;
    this.#byInviteTx.delete(call.aTx);
    call.aTx = undefined; // nothing more goes to A from this step
    void this.#end(call).finally(() => go(failure));
    return true;
  }

  #addFork(call: Call, b: Binding, dialog: ForkDialog, sdp: string): void {
    call.forks.push(this.#sendFork(b, dialog, sdp, (fork) => ({
      onResponse: (res) => this.#onForkResponse(call, fork, res),
      onTimeout: () => this.#onForkFailed(call, fork, 408),
      onTransportError: () => this.#onForkFailed(call, fork, 503),
    })));
  }

  #onNoAnswer(call: Call): void {
    call.noAnswerTimer = undefined;
    if (call.state === "answered" || call.state === "ended") return;
    // Memory hunt: the contacts ringing keep ringing and the next member's are added.
    const more = call.ringing !== undefined ? call.more?.() : undefined;
    if (more !== undefined && more.bindings.length > 0 && call.ringing !== undefined) {
      const { dialog, sdp } = call.ringing;
      try {
        for (const b of more.bindings) this.#addFork(call, b, dialog, sdp);
      } catch (e) {
        this.#o.log.warn("adding a fork failed", { call: call.id, error: e as Error });
      }
      call.noAnswerTimer = this.#o.clock.setTimeout(
        () => this.#onNoAnswer(call),
        more.ringMs ?? this.#noAnswerMs,
      );
      this.#o.log.info("ringing more contacts", { call: call.id, forks: call.forks.length });
      return;
    }
    call.ringing = undefined;
    call.disposition = "no-answer";
    call.hangupBy = "system";
    call.finalCode = 480;
    for (const f of call.forks) {
      if (f.state === "calling" || f.state === "proceeding") {
        f.state = "cancelled";
        f.branchTx?.cancel();
      }
    }
    if (this.#continueRoute(call, { kind: "noAnswer", status: 480, reason: "No Answer" })) return;
    this.#respondA(call, 480, { reason: "No Answer" });
    void this.#end(call);
  }

  #clearNoAnswer(call: Call): void {
    call.ringing = undefined; // answered or over: no more forks
    call.more = undefined;
    if (call.noAnswerTimer !== undefined) {
      this.#o.clock.clearTimeout(call.noAnswerTimer);
      call.noAnswerTimer = undefined;
    }
  }

  /** Resend `response` (a 2xx to an INVITE from A) on its own transaction `tx` until A's ACK. */
  #startOkRetransmit(call: Call, tx: ServerTransaction, response: SipResponse): void {
    call.okRetransmit?.stop();
    call.okRetransmit = retransmitOk(() => tx.respond(response), {
      clock: this.#o.clock,
      t1Ms: this.#t1,
      t2Ms: this.#t2,
      onGiveUp: () => {
        call.okRetransmit = undefined;
        if (call.state === "ended") return;
        if (call.awaitingAckAnswer !== undefined) {
          this.#failDelayedOffer(call, "no ACK for the 200 carrying our offer");
          return;
        }
        // RFC 3261 13.3.1.4: no ACK within 64*T1 -> the dialog is confirmed then torn down.
        this.#o.log.warn("no ACK for 200 OK; ending call", { call: call.id });
        void this.#hangup(call, "system");
      },
    });
  }

  #stopOkRetransmit(call: Call): void {
    call.okRetransmit?.stop();
    call.okRetransmit = undefined;
  }

  /**
   * A's ACK confirmed the call: drop what only set-up needed, so a held call keeps its dialogs, SDP
   * sessions, legs and codec plan but not the parsed INVITE, A's offer or any transaction (those
   * live on in the transaction layer for their RFC 6026 timers, then go). A fork keeps a cut-down
   * request, enough to build the dialog of a 2xx that arrives after its transaction (13.2.2.4).
   */
  #release(call: Call): void {
    if (call.aTx === undefined) return;
    this.#byInviteTx.delete(call.aTx);
    call.aTx = undefined;
    call.aInvite = undefined;
    call.aOffer = undefined;
    for (const f of call.forks) {
      f.branchTx = undefined;
      f.request = dialogRequest(f.request);
    }
  }

  /** CANCEL for a pending INVITE (RFC 3261 9.2). Returns false when no call matches. */
  cancel(inviteTx: ServerTransaction): boolean {
    const call = this.#byInviteTx.get(inviteTx);
    if (!call) this.#cancelledEarly.add(inviteTx); // a call still allocating its legs sees it
    if (!call || call.state === "answered" || call.state === "ended") return false;
    call.disposition = "cancelled";
    call.hangupBy = "caller";
    call.finalCode = 487;
    for (const f of call.forks) {
      if (f.state === "calling" || f.state === "proceeding") {
        f.state = "cancelled";
        f.branchTx?.cancel();
      }
    }
    this.#respondA(call, 487);
    void this.#end(call);
    return true;
  }

  /**
   * Route an in-dialog request (To tag present). Returns false when no dialog matches, so the
   * caller can answer 481.
   */
  handleInDialog(req: SipRequest, tx: ServerTransaction | undefined, source: Peer): boolean {
    return this.#registry.route(req, tx, source);
  }

  #inDialog(
    call: Call,
    side: Side,
    req: SipRequest,
    tx: ServerTransaction | undefined,
    source: Peer,
  ): boolean {
    const dialog = side === "a" ? call.aDialog : call.bDialog;
    if (req.method === "ACK") {
      if (side === "a") {
        this.#stopOkRetransmit(call);
        if (call.awaitingAckAnswer !== undefined) {
          // Delayed offer: this ACK carries (or fails to carry) the answer to our 200's offer.
          this.#onAckAnswer(call, req.body);
        } else if (call.pending === undefined && req.body.length > 0 && call.aDialog) {
          // ACK carrying the answer to an offer we made in a 200 (re-INVITE without SDP).
          this.#applyRemoteSdp(call, "a", req.body);
        }
        if (call.state === "answered") this.#release(call);
      }
      return true;
    }
    if (!tx) return true;
    if (!dialog) {
      // Early dialog: only BYE/CANCEL make sense; a BYE before answer ends the call.
      if (req.method === "BYE" && side === "a") {
        tx.respond(createResponse(req, 200));
        if (call.aTx !== undefined) this.cancel(call.aTx);
        return true;
      }
      tx.respond(createResponse(req, 481));
      return true;
    }
    if (!dialog.acceptsRequest(req)) {
      tx.respond(createResponse(req, 500, { reason: "Server Internal Error (CSeq out of order)" }));
      return true;
    }
    if (side === "a") call.aPeer = source;
    switch (req.method) {
      case "BYE":
        tx.respond(createResponse(req, 200));
        if (call.transfer?.from === side && !call.transfer.transferorGone) {
          // Blind transfer: the transferor leaves; the transferee stays for the target (or the recall).
          this.#transferorLeaves(call, side);
          return true;
        }
        void this.#hangup(call, side === "a" ? "caller" : "callee", side);
        return true;
      case "REFER":
        this.#refer(call, side, req, tx);
        return true;
      case "INVITE":
        this.#reinvite(call, side, req, tx);
        return true;
      case "INFO":
        if (this.#infoDtmf(call, side, req, tx)) return true;
        this.#forward(call, side, req, tx);
        return true;
      case "UPDATE":
        this.#forward(call, side, req, tx);
        return true;
      case "OPTIONS":
        tx.respond(this.#optionsResponse(req));
        return true;
      default:
        tx.respond(this.#notAllowed(req));
        return true;
    }
  }

  #optionsResponse(req: SipRequest): SipResponse {
    const res = createResponse(req, 200);
    addHeader(res, "Allow", this.#allow());
    addHeader(res, "Accept", "application/sdp");
    return res;
  }

  #notAllowed(req: SipRequest): SipResponse {
    const res = createResponse(req, 405);
    addHeader(res, "Allow", this.#allow());
    return res;
  }

  #otherSide(call: Call, side: Side): { dialog: Dialog | undefined; peer: Peer | undefined } {
    return side === "a"
      ? { dialog: call.bDialog, peer: call.bPeer }
      : { dialog: call.aDialog, peer: call.aPeer };
  }

  #applyRemoteSdp(call: Call, side: Side, body: Uint8Array): SdpInfo | undefined {
    try {
      const info = describeSdp(DECODE.decode(body));
      const leg = side === "a" ? call.aLeg : call.bLeg;
      void this.#o.media.configureLeg(leg.legId, { remote: info.remote });
      return info;
    } catch (e) {
      this.#o.log.warn("ignoring bad SDP", { call: call.id, side, error: e as Error });
      return undefined;
    }
  }

  /** re-INVITE from one side (hold/resume, codec change), passed across to the other. */
  #reinvite(call: Call, side: Side, req: SipRequest, tx: ServerTransaction): void {
    if (call.pending) {
      tx.respond(createResponse(req, 491));
      return;
    }
    const mine = side === "a" ? call.aSdp : call.bSdp;
    const myLeg = side === "a" ? call.aLeg : call.bLeg;
    if (req.body.length === 0) {
      // No offer: we make one locally from what this side last heard from us (RFC 3261 14.2).
      const res = createResponse(req, 200, { toTag: tagOf(getHeader(req, "To")) ?? "" });
      addHeader(res, "Contact", this.#contact(side === "a" ? call.aPeer.transport : call.bPeer!.transport));
      res.body = TEXT.encode(mine.repeatLast(myLeg.rtpPort));
      setHeader(res, "Content-Type", "application/sdp");
      tx.respond(res);
      return;
    }
    let offer: SdpInfo;
    try {
      offer = describeSdp(DECODE.decode(req.body));
    } catch (e) {
      tx.respond(
        createResponse(req, 488, { reason: `Not Acceptable Here (${(e as Error).message})`.slice(0, 100) }),
      );
      return;
    }
    const badSrtp = offer.audioIndex >= 0 ? mine.takeOffer(offer) : undefined;
    if (badSrtp !== undefined) {
      tx.respond(createResponse(req, 488, { reason: `Not Acceptable Here (${badSrtp})`.slice(0, 100) }));
      return;
    }
    void this.#o.media.configureLeg(myLeg.legId, { remote: offer.remote });
    const other = this.#otherSide(call, side);
    if (!other.dialog || !other.peer) {
      tx.respond(createResponse(req, 500));
      return;
    }
    const theirs = side === "a" ? call.bSdp : call.aSdp;
    const theirLeg = side === "a" ? call.bLeg : call.aLeg;
    const out = other.dialog.createRequest("INVITE", {
      via: this.#via(other.peer.transport),
      body: TEXT.encode(
        theirs.offerFrom(offer, theirLeg.rtpPort, this.#rewriteFor(call, side === "a" ? "b" : "a")),
      ),
      // The dialog adds its own Contact to a target refresh (RFC 3261 12.2.1.1): no second one here.
      contentType: "application/sdp",
    });
    call.pending = { from: side, tx };
    const otherDialog = other.dialog;
    const otherPeer = other.peer;
    this.#o.transactions.sendRequest(out, otherPeer, {
      onResponse: (res) => {
        if (res.status < 200) return;
        call.pending = undefined;
        const to = tagOf(getHeader(req, "To")) ?? "";
        if (res.status >= 300) {
          tx.respond(createResponse(req, res.status, { reason: res.reason, toTag: to }));
          return;
        }
        const cseq = parseCSeq(getHeader(out, "CSeq") ?? "1 INVITE").seq;
        this.#o.sendRaw(otherDialog.createAck(cseq, { via: this.#via(otherPeer.transport) }), otherPeer);
        const answer = this.#applyRemoteSdp(call, side === "a" ? "b" : "a", res.body);
        const badAnswer = answer === undefined ? undefined : theirs.takeAnswer(answer);
        if (badAnswer !== undefined) {
          this.#o.log.warn("re-INVITE answer: SRTP", { call: call.id, reason: badAnswer });
        }
        const ok = createResponse(req, 200, { toTag: to });
        addHeader(ok, "Contact", this.#contact(side === "a" ? call.aPeer.transport : call.bPeer!.transport));
        if (answer) {
          ok.body = TEXT.encode(mine.answerFrom(answer, myLeg.rtpPort, this.#rewriteFor(call, side)));
          setHeader(ok, "Content-Type", "application/sdp");
        }
        tx.respond(ok);
        if (side === "a") this.#startOkRetransmit(call, tx, ok);
        this.#holdChanged(call, side, offer);
      },
      onTimeout: () => {
        call.pending = undefined;
        tx.respond(createResponse(req, 408));
      },
      onTransportError: () => {
        call.pending = undefined;
        tx.respond(createResponse(req, 503));
      },
    });
  }

  /**
   * A re-INVITE from `side` went through: if it holds (sendonly, inactive or c=0.0.0.0) the other
   * side is the held party and the hold handler (music on hold) plays to its leg; a resume stops it.
   */
  #holdChanged(call: Call, side: Side, offer: SdpInfo): void {
    const hold = this.#o.hold;
    if (hold === undefined || call.state !== "answered") return;
    const m = offer.sd.media[offer.audioIndex];
    const holding = m === undefined || (offer.remote === undefined && !offer.ice) ||
      (offer.ice ? holdsCall(offer) : isHold(m, offer.sd));
    const heldLeg = side === "a" ? call.bLeg : call.aLeg;
    const info = {
      callId: call.id,
      legId: heldLeg.legId,
      codec: this.#legCodec(call, side === "a" ? "b" : "a"),
    };
    if (holding && call.heldBy === undefined) {
      call.heldBy = side;
      this.#o.log.info("call on hold", { call: call.id, by: side });
      this.#safe(() => hold.held(info));
    } else if (!holding && call.heldBy === side) {
      call.heldBy = undefined;
      this.#o.log.info("call resumed", { call: call.id, by: side });
      this.#safe(() => hold.resumed(info));
    }
  }

  /** The codec ("name/rate") a side's leg speaks, when known (the plan's payload map). */
  #legCodec(call: Call, side: Side): string | undefined {
    const p = call.plan;
    if (p === undefined || p.kind === "reject") return undefined;
    const map = side === "a" ? p.aMap : p.bMap;
    return Object.values(map).find((c) => !/^telephone-event\//i.test(c) && !/^CN\//i.test(c));
  }

  #safe(fn: () => void | Promise<void>): void {
    try {
      const r = fn();
      if (r instanceof Promise) {
        r.catch((e) => this.#o.log.warn("hold handler failed", { error: e as Error }));
      }
    } catch (e) {
      this.#o.log.warn("hold handler failed", { error: e as Error });
    }
  }

  // ------------------------------------------------------------------ blind transfer (RFC 3515)

  /** REFER from `side`: 202, NOTIFY progress, ring the target, bridge the other side to it. */
  #refer(call: Call, side: Side, req: SipRequest, tx: ServerTransaction): void {
    const to = tagOf(getHeader(req, "To")) ?? "";
    const refuse = (status: number, reason: string) =>
      tx.respond(createResponse(req, status, { reason, toTag: to }));
    if (call.state !== "answered" || call.pending !== undefined) return refuse(491, "Request Pending");
    if (call.transfer !== undefined) return refuse(491, "Request Pending (a transfer is in progress)");
    const referTo = getHeader(req, "Refer-To");
    let number: string | undefined;
    try {
      number = referTo === undefined ? undefined : parseUri(parseNameAddr(referTo).uri).user;
    } catch {
      number = undefined;
    }
    if (number === undefined || number === "") return refuse(400, "Bad Request (Refer-To names no number)");
    if (this.#o.exists !== undefined && !this.#o.exists(number)) {
      this.#o.log.info("transfer to an unknown number refused", { call: call.id, target: number });
      return refuse(404, "Not Found (no such number)");
    }
    const bindings = this.#o.bindings(number);
    if (bindings.length === 0) return refuse(480, "Temporarily Unavailable (target not registered)");
    tx.respond(createResponse(req, 202, { reason: "Accepted", toTag: to }));
    const transfer: Transfer = {
      from: side,
      target: number,
      transferor: side === "a" ? call.caller : call.callee,
      transferorGone: false,
      recalling: false,
    };
    call.transfer = transfer;
    this.#o.log.info("blind transfer", { call: call.id, by: transfer.transferor, target: number });
    this.#notifyRefer(call, "SIP/2.0 100 Trying", false);
    void this.#ring(call, number, bindings);
  }

  /** NOTIFY the transferor of the transfer's progress (implied subscription, RFC 3515 section 2.4.4). */
  #notifyRefer(call: Call, sipfrag: string, final: boolean): void {
    const t = call.transfer;
    if (t === undefined || t.transferorGone) return;
    const dialog = t.from === "a" ? call.aDialog : call.bDialog;
    const peer = t.from === "a" ? call.aPeer : call.bPeer;
    if (dialog === undefined || peer === undefined) return;
    const notify = dialog.createRequest("NOTIFY", {
      via: this.#via(peer.transport),
      headers: [
        { name: "Event", value: "refer" },
        { name: "Subscription-State", value: final ? "terminated;reason=noresource" : "active;expires=60" },
      ],
      body: `${sipfrag}\r\n`,
      contentType: "message/sipfrag;version=2.0",
    });
    this.#o.transactions.sendRequest(notify, peer, { onResponse: () => {} });
  }

  /** The transferor hung up during the transfer: its dialog and leg go, the call goes on. */
  #transferorLeaves(call: Call, side: Side): void {
    const t = call.transfer!;
    t.transferorGone = true;
    // Its dialog keeps answering retransmissions for the linger time, but no longer reaches the call.
    this.#registry.register(...call.keys[side], {
      kind: "invite",
      handle: (req, tx) => tx?.respond(createResponse(req, req.method === "BYE" ? 200 : 481)),
    });
    this.#registry.linger(...call.keys[side]);
    const leg = side === "a" ? call.aLeg : call.bLeg;
    if (side === "a") delete call.aDialog;
    else delete call.bDialog;
    (call.released ??= new Set()).add(leg.legId);
    void this.#o.media.releaseLeg(leg.legId).catch(() => {});
    this.#o.log.info("transferor left", { call: call.id, transferor: t.transferor });
  }

  /** The transferee's codecs as the call negotiated them (offered to the target, so it can relay). */
  #transfereeCodecs(call: Call, transferee: Side): Codec[] {
    const p = call.plan;
    if (p !== undefined && p.kind !== "reject") {
      const map = transferee === "a" ? p.aMap : p.bMap;
      return Object.entries(map).map(([pt, enc]) => {
        const [name = "", rate = "8000"] = enc.split("/");
        return {
          payloadType: Number(pt),
          name,
          clockRate: Number(rate),
          channels: name.toLowerCase() === "opus" ? 2 : 1,
        };
      });
    }
    return [
      { payloadType: 0, name: "PCMU", clockRate: 8000, channels: 1 },
      { payloadType: 101, name: "telephone-event", clockRate: 8000, channels: 1 },
    ];
  }

  /**
   * Originate: ring every contact of `number` for the transferee (the side that stays). On answer
   * the new dialog and leg replace the transferor's side of the call; on failure the transferor is
   * recalled (once), and if that fails too the transferee is hung up.
   */
  async #ring(call: Call, number: string, bindings: Binding[]): Promise<void> {
    const o = this.#o;
    const t = call.transfer!;
    const stays: Side = t.from === "a" ? "b" : "a";
    const stayLeg = stays === "a" ? call.aLeg : call.bLeg;
    let leg: MediaLeg;
    try {
      leg = await o.media.allocateLeg();
    } catch (e) {
      o.log.error("no media port for the transfer", { call: call.id, error: e as Error });
      this.#transferFailed(call, 503);
      return;
    }
    if (call.state === "ended" || call.transfer !== t) {
      await o.media.releaseLeg(leg.legId).catch(() => {});
      return;
    }
    // While the target rings, the transferee hears music on hold.
    if (!t.recalling && o.hold !== undefined && call.heldBy === undefined) {
      const hold = o.hold;
      this.#safe(() => hold.held({ callId: call.id, legId: stayLeg.legId }));
    }
    const out: Originated = {
      number,
      startedAt: o.clock.wallNow(),
      callId: newCallId(o.publicAddress),
      fromTag: newTag(),
      leg,
      sdp: new SdpSession(o.publicAddress),
      forks: [],
      done: false,
    };
    t.out = out;
    const who = stays === "a" ? call.caller : call.callee;
    const offer = out.sdp.offerFrom(
      localOfferInfo(o.publicAddress, this.#transfereeCodecs(call, stays)),
      leg.rtpPort,
    );
    const dialog = {
      from: `<sip:${who}@${o.publicAddress}>`,
      fromTag: out.fromTag,
      to: `<sip:${number}@${o.publicAddress}>`,
      callId: out.callId,
    };
    for (const b of bindings) {
      out.forks.push(this.#sendFork(b, dialog, offer, (fork) => ({
        onResponse: (res) => this.#onOutResponse(call, out, fork, res),
        onTimeout: () => this.#onOutFailed(call, out, fork, 408),
        onTransportError: () => this.#onOutFailed(call, out, fork, 503),
      }), (e) => o.log.warn("sending the transfer INVITE failed", { call: call.id, error: e })));
    }
    out.timer = o.clock.setTimeout(() => {
      out.timer = undefined;
      if (out.done) return;
      for (const f of out.forks) {
        if (f.state === "calling" || f.state === "proceeding") {
          f.state = "cancelled";
          f.branchTx?.cancel();
        }
      }
      this.#outFailed(call, out, 480);
    }, this.#noAnswerMs);
    if (out.forks.every((f) => f.state === "failed")) this.#outFailed(call, out, 503);
  }

  #onOutResponse(call: Call, out: Originated, fork: Fork, res: SipResponse): void {
    if (res.status < 200) {
      // Ringing is not reported to the transferor: 100 Trying, then the final status (RFC 3515 allows it).
      if (res.status > 100 && fork.state === "calling") fork.state = "proceeding";
      return;
    }
    if (res.status >= 300) return this.#onOutFailed(call, out, fork, res.status);
    const o = this.#o;
    const dialog = Dialog.fromUacResponse(fork.request, res);
    o.sendRaw(dialog.createAck(1, { via: this.#via(fork.peer.transport) }), fork.peer);
    if (out.done || call.state === "ended" || call.transfer?.out !== out) {
      o.transactions.sendRequest(
        dialog.createRequest("BYE", { via: this.#via(fork.peer.transport) }),
        fork.peer,
        {
          onResponse: () => {},
        },
      );
      return;
    }
    out.done = true;
    fork.state = "answered";
    if (out.timer !== undefined) o.clock.clearTimeout(out.timer);
    for (const f of out.forks) {
      if (f !== fork && (f.state === "calling" || f.state === "proceeding")) {
        f.state = "cancelled";
        f.branchTx?.cancel(undefined, CANCEL_REASON_ELSEWHERE);
      }
    }
    let answer: SdpInfo | undefined;
    try {
      answer = describeSdp(DECODE.decode(res.body));
    } catch {
      answer = undefined;
    }
    this.#replaceSide(call, out, dialog, fork.peer, answer);
  }

  #onOutFailed(call: Call, out: Originated, fork: Fork, status: number): void {
    if (fork.state === "answered" || fork.state === "failed") return;
    fork.state = fork.state === "cancelled" ? "cancelled" : "failed";
    fork.finalStatus = status;
    if (out.done || out.forks.some((f) => f.state === "calling" || f.state === "proceeding")) return;
    const codes = out.forks.map((f) => f.finalStatus ?? 500);
    this.#outFailed(call, out, codes.find((c) => c === 486) ?? Math.min(...codes));
  }

  #outFailed(call: Call, out: Originated, status: number): void {
    if (out.done) return;
    out.done = true;
    if (out.timer !== undefined) this.#o.clock.clearTimeout(out.timer);
    // The attempt is part of the call's chain: its own record, linked to the call.
    const t = call.transfer;
    if (t !== undefined) {
      const now = this.#o.clock.wallNow();
      this.#record({
        callId: out.callId,
        linkedId: call.id,
        caller: t.from === "a" ? call.callee : call.caller,
        callee: out.number,
        startedAt: out.startedAt,
        endedAt: now,
        durationMs: now - out.startedAt,
        billsecMs: 0,
        disposition: dispositionFor(status === 503 ? 480 : status),
        hangupBy: status === 480 || status === 408 ? "system" : "callee",
        sipCode: status,
        reason: t.recalling ? "recall of the transferor" : "transfer target",
      });
    }
    void this.#o.media.releaseLeg(out.leg.legId).catch(() => {});
    this.#transferFailed(call, status);
  }

  /** The target did not answer: tell the transferor, then recall it (or restore it if it stayed). */
  #transferFailed(call: Call, status: number): void {
    const t = call.transfer;
    if (t === undefined || call.state === "ended") return;
    t.out = undefined;
    const o = this.#o;
    const stays: Side = t.from === "a" ? "b" : "a";
    const stayLeg = stays === "a" ? call.aLeg : call.bLeg;
    o.log.info("transfer target did not answer", {
      call: call.id,
      target: t.target,
      status,
      recall: !t.transferorGone,
    });
    if (!t.recalling) {
      this.#notifyRefer(call, `SIP/2.0 ${status} ${status === 486 ? "Busy Here" : "Failed"}`, true);
    }
    if (!t.transferorGone) {
      // The transferor is still in the call: the two talk again once the music stops.
      call.transfer = undefined;
      this.#stopTransferMusic(call, stayLeg.legId);
      // (Its leg was never unbridged: the music only held the bridged audio back.)
      return;
    }
    if (!t.recalling) {
      const bindings = o.bindings(t.transferor);
      if (bindings.length > 0) {
        t.recalling = true;
        o.log.info("recalling the transferor", { call: call.id, transferor: t.transferor });
        void this.#ring(call, t.transferor, bindings);
        return;
      }
    }
    // Nobody to talk to: end the call for the transferee.
    this.#stopTransferMusic(call, stayLeg.legId);
    call.transfer = undefined;
    void this.#hangup(call, "system", t.from);
  }

  #stopTransferMusic(call: Call, legId: string): void {
    const hold = this.#o.hold;
    if (hold !== undefined && call.heldBy === undefined) {
      this.#safe(() => hold.resumed({ callId: call.id, legId }));
    }
  }

  /** The target (or the recalled transferor) answered: it becomes the transferor's side of the call. */
  #replaceSide(call: Call, out: Originated, dialog: Dialog, peer: Peer, answer: SdpInfo | undefined): void {
    const o = this.#o;
    const t = call.transfer!;
    const side = t.from;
    const stays: Side = side === "a" ? "b" : "a";
    const stayLeg = stays === "a" ? call.aLeg : call.bLeg;
    this.#stopTransferMusic(call, stayLeg.legId);
    if (!t.transferorGone) {
      // Success: the transferor is told, then let go.
      this.#notifyRefer(call, "SIP/2.0 200 OK", true);
      const oldDialog = side === "a" ? call.aDialog : call.bDialog;
      const oldPeer = side === "a" ? call.aPeer : call.bPeer;
      if (oldDialog !== undefined && oldPeer !== undefined) {
        o.transactions.sendRequest(
          oldDialog.createRequest("BYE", { via: this.#via(oldPeer.transport) }),
          oldPeer,
          {
            onResponse: () => {},
          },
        );
      }
      this.#transferorLeaves(call, side);
    }
    t.transferorGone = true;
    // The part of the call before the transfer gets its own record, linked to the call.
    const now = o.clock.wallNow();
    const from = call.segment?.startedAt ?? call.startedAt;
    const answeredAt = call.answeredAt === undefined ? undefined : Math.max(call.answeredAt, from);
    this.#record({
      callId: call.segment?.callId ?? call.id,
      linkedId: call.id,
      caller: call.caller,
      callee: call.callee,
      ...(call.callerName !== undefined ? { callerName: call.callerName } : {}),
      startedAt: from,
      ...(answeredAt !== undefined ? { answeredAt } : {}),
      endedAt: now,
      durationMs: now - from,
      billsecMs: answeredAt !== undefined ? now - answeredAt : 0,
      disposition: "answered",
      hangupBy: side === "a" ? "caller" : "callee",
      sipCode: 200,
      reason: `transferred to ${out.number}${t.recalling ? " (recall)" : ""}`,
    });
    call.segment = { startedAt: now, callId: out.callId };
    this.#register(call, side, out.callId, out.fromTag);
    call.keys[side] = [out.callId, out.fromTag];
    if (side === "a") {
      call.aDialog = dialog;
      call.aPeer = peer;
      call.aSdp = out.sdp;
      call.aLeg = out.leg;
      call.caller = out.number;
      delete call.callerName; // the name was the transferor's
    } else {
      call.bDialog = dialog;
      call.bPeer = peer;
      call.bSdp = out.sdp;
      call.bLeg = out.leg;
      call.callee = out.number;
    }
    call.transfer = undefined;
    o.log.info("transfer completed", { call: call.id, to: out.number, recall: t.recalling });
    this.#changed(call);
    const payloadMap: Record<number, string> = {};
    if (answer !== undefined) {
      for (const c of audioCodecs(answer)) payloadMap[c.payloadType] = `${c.name}/${c.clockRate}`;
    }
    void (async () => {
      try {
        await o.media.configureLeg(out.leg.legId, {
          ...(answer?.remote !== undefined ? { remote: answer.remote } : {}),
          ...(Object.keys(payloadMap).length > 0 ? { payloadMap } : {}),
        });
        await o.media.bridge(call.aLeg.legId, call.bLeg.legId);
      } catch (e) {
        if (call.state !== "ended") {
          o.log.error("bridging the transfer failed", { call: call.id, error: e as Error });
        }
      }
    })();
  }

  /**
   * SIP INFO DTMF (application/dtmf-relay, application/dtmf): answered here with 200 and sent to
   * the other side as RFC 4733 events or in-band tones. False when the INFO is not DTMF.
   */
  #infoDtmf(call: Call, side: Side, req: SipRequest, tx: ServerTransaction): boolean {
    let dtmf;
    try {
      dtmf = parseInfoDtmf(getHeader(req, "Content-Type"), DECODE.decode(req.body));
    } catch (e) {
      tx.respond(createResponse(req, 400, { reason: `Bad Request (${(e as Error).message})`.slice(0, 100) }));
      return true;
    }
    if (dtmf === null || this.#o.media.sendDtmf === undefined) return false;
    tx.respond(createResponse(req, 200));
    const toLeg = side === "a" ? call.bLeg : call.aLeg;
    this.#o.media.sendDtmf(toLeg.legId, dtmf.digit, dtmf.durationMs).then(
      (how) =>
        this.#o.log.info("dtmf", { call: call.id, side, digit: dtmf.digit, source: "info", sent: how }),
      (e) => this.#o.log.warn("INFO DTMF not delivered", { call: call.id, error: e as Error }),
    );
    return true;
  }

  /** While transcoding, each side keeps seeing its own negotiated codecs (hold/resume re-INVITEs). */
  #rewriteFor(call: Call, side: Side): { codecs?: Codec[]; dropPtime?: boolean } {
    const codecs = this.#planCodecs(call, side);
    return codecs === undefined ? {} : { codecs, dropPtime: true };
  }

  /** Pass an in-dialog request (INFO, UPDATE) to the other side and its final answer back. */
  #forward(call: Call, side: Side, req: SipRequest, tx: ServerTransaction): void {
    const other = this.#otherSide(call, side);
    if (!other.dialog || !other.peer) {
      tx.respond(createResponse(req, 481));
      return;
    }
    const headers = [];
    const ct = getHeader(req, "Content-Type");
    if (ct !== undefined) headers.push({ name: "Content-Type", value: ct });
    const out = other.dialog.createRequest(req.method, {
      via: this.#via(other.peer.transport),
      body: req.body,
      headers,
    });
    const to = tagOf(getHeader(req, "To")) ?? "";
    this.#o.transactions.sendRequest(out, other.peer, {
      onResponse: (res) => {
        if (res.status >= 200) tx.respond(createResponse(req, res.status, { reason: res.reason, toTag: to }));
      },
      onTimeout: () => tx.respond(createResponse(req, 408)),
      onTransportError: () => tx.respond(createResponse(req, 503)),
    });
  }

  /** A stray 2xx (our ACK was lost): ACK it again (RFC 3261 13.2.2.4). */
  handleStrayResponse(res: SipResponse): void {
    if (res.status < 200 || res.status >= 300) return;
    const cseq = getHeader(res, "CSeq");
    if (cseq === undefined || parseCSeq(cseq).method !== "INVITE") return;
    const callId = getHeader(res, "Call-ID") ?? "";
    const fromTag = tagOf(getHeader(res, "From"));
    const usage = fromTag !== undefined ? this.#registry.lookup(callId, fromTag) : undefined;
    const entry = usage !== undefined ? this.#usages.get(usage) : undefined;
    if (!entry || entry.side !== "b") return;
    const { call } = entry;
    const toTag = tagOf(getHeader(res, "To"));
    const fork = call.forks.find((f) => f.state === "answered");
    if (call.bDialog && call.bPeer && call.bDialog.remoteTag === toTag) {
      this.#o.sendRaw(
        call.bDialog.createAck(parseCSeq(cseq).seq, { via: this.#via(call.bPeer.transport) }),
        call.bPeer,
      );
    } else if (fork === undefined || call.bDialog?.remoteTag !== toTag) {
      // A second contact answered after the first: ACK and BYE that one too.
      const f = call.forks[0];
      if (!f) return;
      const d = Dialog.fromUacResponse(f.request, res);
      this.#o.sendRaw(d.createAck(parseCSeq(cseq).seq, { via: this.#via(f.peer.transport) }), f.peer);
      this.#o.transactions.sendRequest(d.createRequest("BYE", { via: this.#via(f.peer.transport) }), f.peer, {
        onResponse: () => {},
      });
    }
  }

  /** Hang up an answered call: BYE the side(s) that did not hang up, then end. */
  async #hangup(call: Call, by: CallRecord["hangupBy"], fromSide?: Side): Promise<void> {
    if (call.state === "ended") return;
    call.hangupBy = by;
    this.#stopOkRetransmit(call);
    const sides: Side[] = fromSide === "a" ? ["b"] : fromSide === "b" ? ["a"] : ["a", "b"];
    for (const s of sides) {
      const dialog = s === "a" ? call.aDialog : call.bDialog;
      const peer = s === "a" ? call.aPeer : call.bPeer;
      if (!dialog || !peer) continue;
      const bye = dialog.createRequest("BYE", { via: this.#via(peer.transport) });
      this.#o.transactions.sendRequest(bye, peer, { onResponse: () => {} });
    }
    await this.#end(call);
  }

  async #end(call: Call): Promise<void> {
    if (call.state === "ended") return;
    const wasState = call.state;
    call.state = "ended";
    if (call.heldBy !== undefined && this.#o.hold !== undefined) {
      const hold = this.#o.hold;
      const legId = call.heldBy === "a" ? call.bLeg.legId : call.aLeg.legId;
      call.heldBy = undefined;
      this.#safe(() => hold.resumed({ callId: call.id, legId }));
    }
    this.#clearNoAnswer(call);
    this.#stopOkRetransmit(call);
    if (call.aTx !== undefined) this.#byInviteTx.delete(call.aTx);
    const o = this.#o;
    const endedAt = o.clock.wallNow();
    // After a transfer the record is the part since then, on the new leg's Call-ID, linked to the call.
    const startedAt = call.segment?.startedAt ?? call.startedAt;
    const answeredAt = call.answeredAt === undefined ? undefined : Math.max(call.answeredAt, startedAt);
    const record: CallRecord = {
      callId: call.segment?.callId ?? call.id,
      linkedId: call.id,
      caller: call.caller,
      callee: call.callee,
      startedAt,
      endedAt,
      durationMs: endedAt - startedAt,
      billsecMs: answeredAt !== undefined ? endedAt - answeredAt : 0,
      disposition: call.disposition ?? (wasState === "answered" ? "answered" : "failed"),
      hangupBy: call.hangupBy ?? "system",
      sipCode: call.finalCode ?? 500,
    };
    if (call.callerName !== undefined) record.callerName = call.callerName;
    if (answeredAt !== undefined) record.answeredAt = answeredAt;
    this.#record(record);
    this.#changed(call);
    o.log.info("call ended", {
      call: call.id,
      disposition: record.disposition,
      by: record.hangupBy,
      billsec: Math.round(record.billsecMs / 1000),
    });
    // Keep dialogs a little longer so late retransmissions (BYE, ACK) still match (RFC 3261 Timer J).
    this.#registry.linger(...call.keys.a);
    this.#registry.linger(...call.keys.b);
    const out = call.transfer?.out;
    if (out !== undefined && !out.done) {
      out.done = true;
      if (out.timer !== undefined) o.clock.clearTimeout(out.timer);
      for (const f of out.forks) if (f.state === "calling" || f.state === "proceeding") f.branchTx?.cancel();
      await o.media.releaseLeg(out.leg.legId).catch(() => {});
    }
    call.transfer = undefined;
    o.clock.setTimeout(() => this.#calls.delete(call.id + "|" + call.aTag), DIALOG_LINGER_MS);
    // Each leg on its own: a failure releasing one must not keep the other's ports.
    for (const leg of [call.aLeg, call.bLeg]) {
      if (call.released?.has(leg.legId)) continue;
      try {
        await o.media.releaseLeg(leg.legId);
      } catch (e) {
        o.log.error("releasing a media leg failed", { call: call.id, leg: leg.legId, error: e as Error });
      }
    }
  }

  #record(record: CallRecord): void {
    try {
      this.#o.cdr.insert(record);
    } catch (e) {
      this.#o.log.error("writing call record failed", { call: record.callId, error: e as Error });
    }
  }

  /** End every call (service shutdown). */
  async close(): Promise<void> {
    this.#offMedia?.();
    for (const call of [...this.#calls.values()]) {
      if (call.state === "answered") await this.#hangup(call, "system");
      else if (call.state !== "ended") {
        call.disposition = "failed";
        call.hangupBy = "system";
        call.finalCode = 503;
        for (const f of call.forks) {
          if (f.state === "calling" || f.state === "proceeding") f.branchTx?.cancel();
        }
        this.#respondA(call, 503);
        await this.#end(call);
      }
    }
  }

  /** Number of calls not yet forgotten (for leak tests). */
  get size(): number {
    return this.#calls.size;
  }
}

export { userOf };
