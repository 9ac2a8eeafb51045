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
import { Dialog, newBranch, newCallId, newTag } from "../sip/mod.ts";
import { computeAuthorization } from "../sip/auth/mod.ts";
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
import { multipartBody, type OutboundLeg } from "./trunk.ts";
import {
  allows,
  decideUac,
  decideUas,
  hasOptionTag,
  type RefreshOutcome,
  sessionExpiresOf,
  SessionTimer,
  type SessionTimerConfig,
  uacOfferHeaders,
  type UasDecision,
  uasHeaders,
} from "./_session_timer.ts";
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

/** How long a transferor has to send BYE after an attended transfer before the box sends one. */
export const TRANSFEROR_BYE_MS = 10_000;

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
  /** SIP session timers (RFC 4028) offered and honoured on both sides; default off. */
  sessionTimers?: SessionTimerConfig;
  /**
   * A number the box answers itself (park, IVR, voicemail): how to hand a party over to it (a blind
   * transfer to that number). Undefined for numbers that ring phones. `LocalCalls.adopt` fits.
   */
  applicationFor?(
    number: string,
  ):
    | ((party: AdoptedParty) => Promise<boolean | { status: number; reason?: string | undefined }>)
    | undefined;
  /**
   * Told when a call's two media legs are bridged (answer): call recording starts here. The legs
   * are released when the call ends, which ends any recording of them.
   */
  onBridged?(call: BridgedCall): void;
  /**
   * An extension's SRTP policy (SDES keys, only over TLS/WSS signalling; see runtime/sdp/crypto.ts);
   * default "off": SRTP offers get 488, offers with optional a=crypto are answered plain.
   */
  srtpPolicy?(extension: string): SrtpPolicy;
  /**
   * How SRTP toward an extension's phones is keyed when the box offers: "sdes" (a=crypto, the
   * default) or "dtls" (DTLS-SRTP, for phones such as baresip `dtls_srtp`); over TLS only.
   */
  srtpKeying?(extension: string): "sdes" | "dtls";
}

/** A party the B2BUA hands to an application (see `B2buaOptions.applicationFor`). */
export interface AdoptedParty {
  dialog: Dialog;
  peer: Peer;
  leg: MediaLeg;
  sdp: string;
  codec: { name: string; clockRate: number; payloadType: number; telephoneEvent?: number };
  caller: string;
  dialled: string;
  linkedId: string;
  /** Who transferred the party there (a park recall rings it). */
  referredBy?: string;
  /** The party's SDP session (its SRTP keys): the application judges its re-offers with it. */
  session?: SdpSession;
}

/** A call whose media legs were just bridged (B2buaOptions.onBridged). */
export interface BridgedCall {
  callId: string;
  caller: string;
  callee: string;
  /** The caller's leg at the box (it receives what the caller says). */
  aLegId: string;
  /** The callee's leg at the box. */
  bLegId: string;
  /** The trunk the call came in from or goes out of. */
  trunk?: string | undefined;
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
  /** A trunk leg's INVITE was sent again with credentials (one challenge is answered, not a loop). */
  authed?: boolean;
  /** The phone's To tag from its provisional response (the early dialog BLF watchers see). */
  earlyTag?: string | undefined;
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
  /** Extra headers on every fork's INVITE (intercom: the callee's auto-answer header). */
  forkHeaders?: readonly { name: string; value: string }[];
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
  /** A call out of a trunk: the leg's Request-URI, next hop, From/To and headers (runtime/call/trunk.ts). */
  outbound?: OutboundLeg | undefined;
  /** The trunk the call came in from or goes out of (live calls and channel counts). */
  trunk?: string | undefined;
  /** The side that is a SIP INFO DTMF trunk: the other side's digits go to it as INFO. */
  infoSide?: Side;
  /** URI parameters for the caller's From toward the callee (`verstat=TN-Validation-Passed`). */
  callerParams?: string | undefined;
  /** Why the box ended the call, for its record ("rtp-timeout", "session-timer", "connection-lost"). */
  endReason?: string | undefined;
  /** Session timers (RFC 4028): the caller's accepted plan, and each side's running timer. */
  timers?: {
    plan?: Extract<UasDecision, { kind: "timer" }>;
    aAllowsUpdate?: boolean;
    bAllowsUpdate?: boolean;
    a?: SessionTimer;
    b?: SessionTimer;
  };
  /** Semi-attended transfer: when this (consultation) call is answered it joins that call's side. */
  joinInto?: { call: Call; side: Side } | undefined;
}

/** A synthetic binding for a trunk leg: its next hop as the flow, so `peerOfBinding` sends there. */
function bindingOfLeg(leg: OutboundLeg): Binding {
  return {
    extension: leg.trunk,
    contactUri: leg.uri,
    expiresAt: Number.MAX_SAFE_INTEGER,
    callId: "",
    cseq: 0,
    sourceTransport: leg.target.transport,
    sourceAddress: leg.target.address,
    sourcePort: leg.target.port,
  };
}

/** A Replaces header value (RFC 3891 section 6.1), from a Refer-To URI or an INVITE. */
export interface Replaces {
  callId: string;
  toTag: string;
  fromTag: string;
  earlyOnly: boolean;
}

/** Parse a Replaces value: call-id;to-tag=..;from-tag=..[;early-only]. SyntaxError when malformed. */
export function parseReplaces(value: string): Replaces {
  const [callId = "", ...params] = value.split(";").map((p) => p.trim());
  const get = (k: string) => params.find((p) => p.toLowerCase().startsWith(`${k}=`))?.slice(k.length + 1);
  const toTag = get("to-tag");
  const fromTag = get("from-tag");
  if (callId === "" || !toTag || !fromTag) {
    throw new SyntaxError(`Replaces needs call-id;to-tag=..;from-tag=.., got ${JSON.stringify(value)}`);
  }
  return { callId, toTag, fromTag, earlyOnly: params.some((p) => p.toLowerCase() === "early-only") };
}

/**
 * The Replaces a Refer-To carries (as the URI header `?Replaces=`), undefined without one,
 * "malformed" when the Refer-To or the Replaces does not parse.
 */
function replacesOf(referTo: string | undefined): Replaces | "malformed" | undefined {
  if (referTo === undefined) return undefined;
  let headers: Map<string, string>;
  try {
    headers = parseUri(parseNameAddr(referTo).uri).headers;
  } catch {
    return "malformed";
  }
  const raw = [...headers].find(([k]) => k.toLowerCase() === "replaces")?.[1];
  if (raw === undefined) return undefined;
  try {
    return parseReplaces(raw);
  } catch {
    return "malformed";
  }
}

/** Bridge options for two legs' codecs: relay when they match, else transcode both ways. */
function bridgeOptionsFor(
  a: { name: string; clockRate: number; payloadType: number } | undefined,
  b: { name: string; clockRate: number; payloadType: number } | undefined,
): {
  transcode?: {
    aToB: { from: { codec: string; pt: number }; to: { codec: string; pt: number } };
    bToA: { from: { codec: string; pt: number }; to: { codec: string; pt: number } };
  };
} {
  if (a === undefined || b === undefined) return {};
  if (a.name.toLowerCase() === b.name.toLowerCase() && a.clockRate === b.clockRate) return {};
  const ra = { codec: `${a.name}/${a.clockRate}`, pt: a.payloadType };
  const rb = { codec: `${b.name}/${b.clockRate}`, pt: b.payloadType };
  return { transcode: { aToB: { from: ra, to: rb }, bToA: { from: rb, to: ra } } };
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
export function bTransport(bindings: readonly Binding[]): Peer["transport"] {
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
      if (ev.event === "inactive") return this.#onInactive(ev.legId);
      if (ev.event !== "dtmf" || !("digit" in ev)) return;
      for (const c of this.#calls.values()) {
        const side = c.aLeg.legId === ev.legId ? "a" : c.bLeg.legId === ev.legId ? "b" : undefined;
        if (side === undefined || c.state === "ended") continue;
        options.log.info("dtmf", { call: c.id, side, digit: ev.digit, source: ev.source ?? "rfc4733" });
        // Toward a SIP INFO trunk: the phone's RFC 4733 digits go as INFO (tones in audio pass as they are).
        if (c.infoSide !== undefined && side !== c.infoSide && (ev.source ?? "rfc4733") === "rfc4733") {
          this.#sendInfoDtmf(c, ev.digit, ev.durationMs);
        }
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
    if (c.trunk !== undefined) l.trunk = c.trunk;
    // The dialogs (Call-ID and tags) for RFC 4235 watchers: a BLF key builds its Replaces from them.
    const side = (key: [string, string], phoneTag: string | undefined) =>
      key[0] === "" ? undefined : { callId: key[0], boxTag: key[1], ...(phoneTag ? { phoneTag } : {}) };
    const callerDialog = side(
      c.keys.a,
      c.aDialog?.remoteTag ?? (c.aInvite !== undefined ? tagOf(getHeader(c.aInvite, "From")) : undefined),
    );
    const calleeDialog = side(c.keys.b, c.bDialog?.remoteTag ?? c.forks.find((f) => f.earlyTag)?.earlyTag);
    if (callerDialog !== undefined) l.callerDialog = callerDialog;
    if (calleeDialog !== undefined) l.calleeDialog = calleeDialog;
    return l;
  }

  /** Tell onBridged (a listener's failure never touches the call). */
  #bridged(c: Call): void {
    if (this.#o.onBridged === undefined || c.state === "ended") return;
    try {
      this.#o.onBridged({
        callId: c.id,
        caller: c.caller,
        callee: c.callee,
        aLegId: c.aLeg.legId,
        bLegId: c.bLeg.legId,
        trunk: c.trunk,
      });
    } catch (e) {
      this.#o.log.warn("onBridged listener failed", { call: c.id, error: e as Error });
    }
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
    if (status >= 200 && status < 300 && call.timers?.plan !== undefined) this.#acceptTimerA(call, res);
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
      /** Extra headers on the callee's INVITEs (intercom: Call-Info answer-after, Alert-Info). */
      headers?: readonly { name: string; value: string }[];
      /** Send the call out of a trunk (instead of to registered contacts). */
      outbound?: OutboundLeg;
      /** The trunk an inbound call came from (live calls and channel counts). */
      trunk?: string;
      /** The DTMF mode of the trunk an inbound call came from. */
      trunkDtmf?: "rfc4733" | "info" | "inband";
      /** URI parameters for the caller's From toward the callee (RFC 8588 verstat). */
      callerParams?: string;
    },
  ): Promise<void> {
    const { caller, callee, source } = options;
    const o = this.#o;
    const bindings = options.outbound !== undefined
      ? [bindingOfLeg(options.outbound)]
      : options.bindings ?? o.bindings(callee);
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
    const timerPlan = o.sessionTimers !== undefined ? decideUas(invite, o.sessionTimers) : undefined;
    if (timerPlan?.kind === "reject") {
      // RFC 4028 section 9: an interval below the box's Min-SE.
      const res = createResponse(invite, 422, { reason: "Session Interval Too Small" });
      addHeader(res, "Min-SE", String(timerPlan.minSeSec));
      tx.respond(res);
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
    if (options.headers !== undefined && options.headers.length > 0) call.forkHeaders = options.headers;
    if (options.outbound !== undefined) call.outbound = options.outbound;
    const trunk = options.outbound?.trunk ?? options.trunk;
    if (trunk !== undefined) call.trunk = trunk;
    // A SIP INFO trunk gets the other side's digits as INFO, not as tones in its audio.
    const infoSide: Side | undefined = options.outbound?.dtmf === "info"
      ? "b"
      : options.outbound === undefined && options.trunkDtmf === "info"
      ? "a"
      : undefined;
    if (infoSide !== undefined) {
      call.infoSide = infoSide;
      void o.media.configureLeg((infoSide === "a" ? aLeg : bLeg).legId, { injectDtmf: false }).catch(
        () => {},
      );
    }
    if (options.callerParams !== undefined) call.callerParams = options.callerParams;
    if (o.sessionTimers !== undefined) {
      call.timers = { aAllowsUpdate: allows(invite, "UPDATE") };
      if (timerPlan?.kind === "timer") call.timers.plan = timerPlan;
    }
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
      dtlsOffer: this.#o.srtpKeying?.(extension) === "dtls",
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
      const only = call.outbound?.codecs;
      const codecs = box.length > 0 ? planOffer(audioCodecs(offer), box) : undefined;
      // A trunk's codec list narrows the offer (TELEPHONE-EVENT in it keeps RFC 4733 DTMF).
      const narrowed = only === undefined || only.length === 0
        ? codecs
        : (codecs ?? audioCodecs(offer)).filter((c) => only.includes(c.name.toUpperCase()));
      bOffer = call.bSdp.offerFrom(
        offer,
        bLeg.rtpPort,
        narrowed !== undefined && narrowed.length > 0 ? { codecs: narrowed } : {},
      );
    } else {
      // Delayed offer: A's leg waits for A's answer in its ACK; B gets the box's own offer.
      bOffer = call.bSdp.offerFrom(localOfferInfo(o.publicAddress, boxOfferCodecs(box)), bLeg.rtpPort);
    }
    const from = `${
      callerName ? `"${callerName.replace(/["\\]/g, "")}" ` : ""
    }<sip:${caller}@${o.publicAddress}>`;
    const params = call.callerParams !== undefined ? `;${call.callerParams}` : "";
    const dialog = {
      from: call.outbound?.from ?? (params === "" ? from : from.replace(/>$/, `${params}>`)),
      fromTag: call.bFromTag,
      to: call.outbound?.to ?? `<sip:${callee}@${o.publicAddress}>`,
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
    leg?: OutboundLeg,
    extraHeaders: readonly { name: string; value: string }[] = [],
  ): Fork {
    const peer = peerOfBinding(b);
    // A trunk leg's body: the SDP alone, or multipart/mixed with its parts (PIDF-LO, RFC 6442).
    const body = leg?.parts !== undefined && leg.parts.length > 0
      ? multipartBody(sdp, leg.parts)
      : { body: sdp, contentType: "application/sdp" };
    const req = buildRequest({
      method: "INVITE",
      uri: b.contactUri,
      via: this.#via(peer.transport),
      route: b.path ?? [],
      ...dialog,
      contact: this.#contact(peer.transport),
      headers: [
        { name: "Allow", value: this.#allow() },
        { name: "User-Agent", value: "pbx-appliance" },
        ...(leg?.headers ?? []),
        ...extraHeaders,
      ],
      body: body.body,
      contentType: body.contentType,
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
      fork.earlyTag ??= tagOf(getHeader(res, "To"));
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
    if ((res.status === 401 || res.status === 407) && this.#answerChallenge(call, fork, res)) return;
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
        this.#bridged(call);
        return;
      }
      await this.#o.media.configureLeg(call.bLeg.legId, { remote: answer.remote });
      await this.#o.media.bridge(call.aLeg.legId, call.bLeg.legId);
      this.#bridged(call);
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
    // The INVITE's own CSeq: 2 when a trunk's challenge was answered (RFC 3261 13.2.2.4).
    const inviteSeq = parseCSeq(getHeader(fork.request, "CSeq") ?? "1 INVITE").seq;
    const ack = dialog.createAck(inviteSeq, { via: this.#via(fork.peer.transport) });
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
    if (call.timers !== undefined) this.#startTimerB(call, res);
    this.#clearNoAnswer(call);
    for (const f of call.forks) {
      if (f !== fork && (f.state === "calling" || f.state === "proceeding")) {
        f.state = "cancelled";
        f.branchTx?.cancel(undefined, CANCEL_REASON_ELSEWHERE);
      }
    }
    if (call.joinInto !== undefined && answer !== undefined && answer.audioIndex >= 0 && !call.delayedOffer) {
      // Semi-attended transfer: the target answered after the transferor let go of it.
      const { call: x, side: xs } = call.joinInto;
      call.joinInto = undefined;
      if (x.state === "answered") {
        call.state = "answered";
        call.answeredAt = o.clock.wallNow();
        call.disposition = "answered";
        call.finalCode = 200;
        void o.media.configureLeg(call.bLeg.legId, { remote: answer.remote }).catch(() => {});
        const codecs = audioCodecs(answer);
        const first = codecs.find((c) => !/^(telephone-event|CN)$/i.test(c.name));
        if (first !== undefined) {
          const bMap: Record<number, string> = {};
          for (const c of codecs) bMap[c.payloadType] = `${c.name}/${c.clockRate}`;
          call.plan = { kind: "passthrough", aMap: bMap, bMap } as unknown as AnswerPlan;
        }
        this.#join(x, xs, call, "a");
        return;
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
      this.#bridged(call);
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

  /**
   * A carrier challenged a trunk leg's INVITE (RFC 3261 22.2): send it again in the same dialog
   * (Call-ID, From tag) with the next CSeq, a new branch and the credentials. False when there are
   * none, the fork already answered one, or the challenge cannot be answered.
   */
  #answerChallenge(call: Call, fork: Fork, res: SipResponse): boolean {
    const auth = call.outbound?.auth;
    if (auth === undefined || fork.authed === true || call.state === "ended" || fork.state === "cancelled") {
      return false;
    }
    const header = res.status === 407 ? "Proxy-Authenticate" : "WWW-Authenticate";
    const challenge = getHeader(res, header);
    if (challenge === undefined) return false;
    let value: string;
    try {
      value = computeAuthorization({
        method: "INVITE",
        uri: fork.request.uri,
        username: auth.username,
        password: auth.password,
        challenge,
      });
    } catch (e) {
      this.#o.log.warn("trunk challenge cannot be answered", { call: call.id, error: (e as Error).message });
      return false;
    }
    const req: SipRequest = { ...fork.request, headers: fork.request.headers.map((h) => ({ ...h })) };
    for (const h of req.headers) {
      const name = h.name.toLowerCase();
      if (name === "via" || name === "v") {
        h.value = h.value.replace(/;branch=[^;,\s]+/i, `;branch=${newBranch()}`);
        break;
      }
    }
    for (const h of req.headers) {
      if (h.name.toLowerCase() === "cseq") {
        h.value = h.value.replace(/^\s*(\d+)/, (_m, n) => String(Number(n) + 1));
      }
    }
    req.headers.push({ name: res.status === 407 ? "Proxy-Authorization" : "Authorization", value });
    fork.authed = true;
    fork.request = req;
    fork.state = "calling";
    try {
      fork.branchTx = this.#o.transactions.sendRequest(req, fork.peer, {
        onResponse: (r) => this.#onForkResponse(call, fork, r),
        onTimeout: () => this.#onForkFailed(call, fork, 408),
        onTransportError: () => this.#onForkFailed(call, fork, 503),
      });
    } catch (e) {
      this.#o.log.warn("resending a challenged trunk INVITE failed", {
        call: call.id,
        error: (e as Error).message,
      });
      return false;
    }
    return true;
  }

  #addFork(call: Call, b: Binding, dialog: ForkDialog, sdp: string): void {
    call.forks.push(this.#sendFork(
      b,
      dialog,
      sdp,
      (fork) => ({
        onResponse: (res) => this.#onForkResponse(call, fork, res),
        onTimeout: () => this.#onForkFailed(call, fork, 408),
        onTransportError: () => this.#onForkFailed(call, fork, 503),
      }),
      undefined,
      call.outbound,
      [
        ...(this.#o.sessionTimers !== undefined ? uacOfferHeaders(this.#o.sessionTimers) : []),
        ...(call.forkHeaders ?? []),
      ],
    ));
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
    if ((req.method === "INVITE" || req.method === "UPDATE") && this.#sessionRefreshed(call, side, req, tx)) {
      return true;
    }
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
        this.#refreshAnswerHeaders(call, side, req, ok);
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
    const replaces = replacesOf(referTo);
    if (replaces === "malformed") {
      this.#o.log.info("REFER with a malformed Refer-To refused", { call: call.id, referTo });
      return refuse(400, "Bad Request (malformed Refer-To or Replaces)");
    }
    if (replaces !== undefined) {
      // Attended transfer (RFC 5589 section 7): the Replaces names the transferor's other call.
      const found = this.#dialogOf(replaces);
      if (found === undefined || found.call === call || found.call.state === "ended") {
        this.#o.log.info("REFER with Replaces naming no dialog", {
          call: call.id,
          replaces: replaces.callId,
        });
        return refuse(481, "Call/Transaction Does Not Exist (Replaces names no dialog)");
      }
      if (found.call.pending !== undefined || found.call.transfer !== undefined) {
        return refuse(491, "Request Pending");
      }
      tx.respond(createResponse(req, 202, { reason: "Accepted", toTag: to }));
      this.#attended(call, side, found.call, found.side, req);
      return;
    }
    let number: string | undefined;
    try {
      number = referTo === undefined ? undefined : parseUri(parseNameAddr(referTo).uri).user;
    } catch {
      number = undefined;
    }
    if (number === undefined || number === "") return refuse(400, "Bad Request (Refer-To names no number)");
    const application = this.#o.applicationFor?.(number);
    if (application !== undefined) {
      tx.respond(createResponse(req, 202, { reason: "Accepted", toTag: to }));
      this.#toApplication(call, side, number, application);
      return;
    }
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

  /** The call and side whose dialog a Replaces names (the box's tag is one of the two tags). */
  #dialogOf(r: Replaces): { call: Call; side: Side } | undefined {
    for (const tag of [r.toTag, r.fromTag]) {
      const usage = this.#registry.lookup(r.callId, tag);
      const entry = usage !== undefined ? this.#usages.get(usage) : undefined;
      if (entry === undefined) continue;
      const { call, side } = entry;
      // The current dialog of that side (not a transferor's lingering one), with the other tag.
      if (call.keys[side][0] !== r.callId || call.keys[side][1] !== tag) continue;
      const dialog = side === "a" ? call.aDialog : call.bDialog;
      const remote = tag === r.toTag ? r.fromTag : r.toTag;
      if (dialog !== undefined && dialog.remoteTag !== remote) continue;
      if (dialog === undefined && call.state === "answered") continue; // a side already gone
      return entry;
    }
    return undefined;
  }

  /**
   * Attended transfer: the transferor (side `xs` of call `x`) REFERs with Replaces naming its own
   * dialog (side `ys`) in call `y`. The two parties it talked to (the other sides) are joined: `y`'s
   * remaining side becomes `x`'s side `xs` (its dialog, leg and SDP session move over, no new
   * INVITE), their media legs are bridged, held parties are resumed with a re-INVITE, and the
   * transferor gets NOTIFY 200 and BYE on both its dialogs. When `y` is still ringing
   * (semi-attended), its caller's INVITE gets 487 and whoever answers `y` is joined the same way.
   */
  #attended(x: Call, xs: Side, y: Call, ys: Side, _req: SipRequest): void {
    const o = this.#o;
    const transferor = xs === "a" ? x.caller : x.callee;
    o.log.info("attended transfer", {
      call: x.id,
      with: y.id,
      by: transferor,
      consultation: y.state === "answered" ? "answered" : "ringing",
    });
    x.transfer = {
      from: xs,
      target: ys === "a" ? y.callee : y.caller,
      transferor,
      transferorGone: false,
      recalling: false,
    };
    this.#notifyRefer(x, "SIP/2.0 100 Trying", false);
    if (y.state !== "answered") {
      // Semi-attended: the target still rings; the transferor's INVITE for it ends (487), the
      // target's answer joins it to this call's other party.
      y.joinInto = { call: x, side: xs };
      if (y.aTx !== undefined && y.aInvite !== undefined) {
        this.#respondA(y, 487, { reason: "Request Terminated (transferred)" });
        this.#byInviteTx.delete(y.aTx);
        y.aTx = undefined;
      }
      y.onFailure = undefined;
      return;
    }
    this.#join(x, xs, y, ys);
  }

  /**
   * Join: call `y`'s side other than `ys` takes the place of side `xs` of call `x`; the parties of
   * `xs` and `ys` (the transferor's dialogs) get BYE and their legs are released; `y` is over.
   */
  #join(x: Call, xs: Side, y: Call, ys: Side): void {
    const o = this.#o;
    const yo: Side = ys === "a" ? "b" : "a";
    const xo: Side = xs === "a" ? "b" : "a";
    // Music on hold stops on both calls: the two that remain talk to each other.
    for (const c of [x, y]) {
      if (c.heldBy !== undefined && o.hold !== undefined) {
        const hold = o.hold;
        const legId = c.heldBy === "a" ? c.bLeg.legId : c.aLeg.legId;
        c.heldBy = undefined;
        this.#safe(() => hold.resumed({ callId: c.id, legId }));
      }
    }
    const transferor = xs === "a" ? x.caller : x.callee;
    this.#notifyRefer(x, "SIP/2.0 200 OK", true);
    // The transferor's dialogs (RFC 5589 section 7.1): the replaced one (y) gets BYE from the box
    // as the target would send it; on the referring one (x) the transferor sends BYE itself after
    // NOTIFY 200, else the box does after TRANSFEROR_BYE_MS. Both then answer retransmissions only.
    for (const [c, side] of [[x, xs], [y, ys]] as const) {
      const dialog = side === "a" ? c.aDialog : c.bDialog;
      const peer = side === "a" ? c.aPeer : c.bPeer;
      const key = c.keys[side];
      let byeSeen = false;
      const bye = () => {
        if (byeSeen || dialog === undefined || peer === undefined) return;
        byeSeen = true;
        o.transactions.sendRequest(dialog.createRequest("BYE", { via: this.#via(peer.transport) }), peer, {
          onResponse: () => {},
        });
      };
      if (c === y) bye();
      else {
        o.clock.setTimeout(() => {
          if (!byeSeen) o.log.info("the transferor did not hang up; ending its dialog", { call: x.id });
          bye();
        }, TRANSFEROR_BYE_MS);
      }
      this.#registry.register(...key, {
        kind: "invite",
        handle: (req, tx) => {
          if (req.method === "BYE") byeSeen = true;
          tx?.respond(createResponse(req, req.method === "BYE" ? 200 : 481));
        },
      });
      o.clock.setTimeout(() => this.#registry.linger(...key), TRANSFEROR_BYE_MS);
      const leg = side === "a" ? c.aLeg : c.bLeg;
      (c.released ??= new Set()).add(leg.legId);
      void o.media.releaseLeg(leg.legId).catch(() => {});
    }
    // Records: x up to now, and the consultation call y, both linked to x.
    const now = o.clock.wallNow();
    const part = (c: Call, reason: string) => {
      const from = c.segment?.startedAt ?? c.startedAt;
      const answeredAt = c.answeredAt === undefined ? undefined : Math.max(c.answeredAt, from);
      this.#record({
        callId: c.segment?.callId ?? c.id,
        linkedId: x.id,
        caller: c.caller,
        callee: c.callee,
        ...(c.callerName !== undefined ? { callerName: c.callerName } : {}),
        startedAt: from,
        ...(answeredAt !== undefined ? { answeredAt } : {}),
        endedAt: now,
        durationMs: now - from,
        billsecMs: answeredAt !== undefined ? now - answeredAt : 0,
        disposition: "answered",
        hangupBy: "caller",
        sipCode: 200,
        reason,
      });
    };
    const target = yo === "a" ? y.caller : y.callee;
    part(x, `attended transfer to ${target}`);
    part(y, `consultation, joined to ${xo === "a" ? x.caller : x.callee}`);
    // y's remaining side moves into x.
    const moved = {
      dialog: yo === "a" ? y.aDialog : y.bDialog,
      peer: yo === "a" ? y.aPeer : y.bPeer,
      sdp: yo === "a" ? y.aSdp : y.bSdp,
      leg: yo === "a" ? y.aLeg : y.bLeg,
      key: y.keys[yo],
      codec: this.#sideCodec(y, yo),
    };
    const stayCodec = this.#sideCodec(x, xo);
    if (xs === "a") {
      if (moved.dialog !== undefined) x.aDialog = moved.dialog;
      if (moved.peer !== undefined) x.aPeer = moved.peer;
      x.aSdp = moved.sdp;
      x.aLeg = moved.leg;
      x.caller = target;
      delete x.callerName;
    } else {
      if (moved.dialog !== undefined) x.bDialog = moved.dialog;
      if (moved.peer !== undefined) x.bPeer = moved.peer;
      x.bSdp = moved.sdp;
      x.bLeg = moved.leg;
      x.callee = target;
    }
    x.keys[xs] = moved.key;
    this.#register(x, xs, moved.key[0], moved.key[1]);
    x.segment = { startedAt: now, callId: moved.key[0] };
    x.transfer = undefined;
    x.plan = undefined; // re-INVITEs pass each side's SDP across as they come from now on
    // y is over without touching the moved party: its keys and legs are no longer its own.
    (y.released ??= new Set()).add(moved.leg.legId);
    y.keys[yo] = ["", ""];
    y.state = "ended";
    this.#clearNoAnswer(y);
    this.#stopOkRetransmit(y);
    if (y.aTx !== undefined) this.#byInviteTx.delete(y.aTx);
    this.#changed(y);
    o.clock.setTimeout(() => this.#calls.delete(y.id + "|" + y.aTag), DIALOG_LINGER_MS);
    o.log.info("attended transfer completed", { call: x.id, joined: target, transferor });
    this.#changed(x);
    void (async () => {
      try {
        await o.media.bridge(
          x.aLeg.legId,
          x.bLeg.legId,
          bridgeOptionsFor(
            xs === "a" ? moved.codec : stayCodec,
            xs === "a" ? stayCodec : moved.codec,
          ),
        );
      } catch (e) {
        if (x.state !== "ended") {
          o.log.error("bridging the attended transfer failed", { call: x.id, error: e as Error });
        }
      }
      // A party the transferor held (sendonly/inactive toward it) is taken off hold.
      for (const side of ["a", "b"] as const) this.#unhold(x, side);
    })();
  }

  /**
   * An INVITE with Replaces (RFC 3891): the sender takes the place of the party in the dialog it
   * names. A confirmed dialog: that party gets BYE and the new one is bridged to the other side
   * (an attended transfer completed by the target phone, or a call taken over). An early dialog of
   * a ringing call's callee (BLF pickup): the forks are cancelled and the caller is answered with
   * the new party. 481 when no dialog matches, 486 for `early-only` on a confirmed one, 400 for a
   * malformed header, 488 without a usable offer. False when the INVITE has no Replaces.
   */
  async acceptReplaces(
    invite: SipRequest,
    tx: ServerTransaction,
    options: { caller: string; source: Peer },
  ): Promise<boolean> {
    const header = getHeader(invite, "Replaces");
    if (header === undefined) return false;
    const o = this.#o;
    const refuse = (status: number, reason: string) => {
      o.log.info("INVITE with Replaces refused", { caller: options.caller, status, reason });
      tx.respond(createResponse(invite, status, { reason }));
      return true;
    };
    let r: Replaces;
    try {
      r = parseReplaces(header);
    } catch {
      return refuse(400, "Bad Request (malformed Replaces)");
    }
    const found = this.#dialogOf(r);
    if (found === undefined || found.call.state === "ended") {
      return refuse(481, "Call/Transaction Does Not Exist (Replaces names no dialog)");
    }
    const { call: z, side: zs } = found;
    if (r.earlyOnly && z.state === "answered") return refuse(486, "Busy Here (early-only, dialog confirmed)");
    if (z.pending !== undefined || z.transfer !== undefined || z.joinInto !== undefined) {
      return refuse(491, "Request Pending");
    }
    if (z.state !== "answered" && (zs !== "b" || z.delayedOffer || z.aOffer === undefined)) {
      return refuse(481, "Call/Transaction Does Not Exist (only a ringing callee can be replaced)");
    }
    return await this.#takeOver(invite, tx, z, zs, options, refuse);
  }

  /**
   * Call pickup by feature code (*8 any ringing extension, **NNN the call ringing at NNN): the
   * oldest call ringing there (not the picker's own) is answered by the picker, as with an INVITE
   * with Replaces naming its early dialog. False when no call rings there (nothing was answered).
   */
  async pickup(
    invite: SipRequest,
    tx: ServerTransaction,
    options: {
      caller: string;
      source: Peer;
      extension?: string | undefined;
      /** Group pickup: only calls ringing at a callee this allows (the picker's pickup groups). */
      allowed?: ((callee: string) => boolean) | undefined;
    },
  ): Promise<boolean> {
    const ringing = [...this.#calls.values()]
      .filter((c) =>
        (c.state === "ringing" || c.state === "trying") && c.aTx !== undefined && !c.delayedOffer &&
        c.aOffer !== undefined && c.joinInto === undefined && c.caller !== options.caller &&
        c.callee !== options.caller && (options.extension === undefined || c.callee === options.extension) &&
        (options.allowed === undefined || options.allowed(c.callee))
      )
      .sort((x, y) => x.startedAt - y.startedAt);
    const z = ringing[0];
    if (z === undefined) return false;
    this.#o.log.info("pickup", { call: z.id, ringing: z.callee, by: options.caller });
    return await this.#takeOver(invite, tx, z, "b", options, (status, reason) => {
      this.#o.log.info("pickup refused", { caller: options.caller, status, reason });
      tx.respond(createResponse(invite, status, { reason }));
      return true;
    });
  }

  /** The sender of `invite` takes side `zs` of call `z` (see acceptReplaces). */
  async #takeOver(
    invite: SipRequest,
    tx: ServerTransaction,
    z: Call,
    zs: Side,
    options: { caller: string; source: Peer },
    refuse: (status: number, reason: string) => boolean,
  ): Promise<boolean> {
    const o = this.#o;
    let offer: SdpInfo;
    try {
      offer = describeSdp(DECODE.decode(invite.body));
    } catch {
      return refuse(488, "Not Acceptable Here (an offer is needed)");
    }
    const offered = offer.audioIndex >= 0 ? audioCodecs(offer) : [];
    const audio = offered.filter((c) => !/^(telephone-event|CN)$/i.test(c.name));
    if (audio.length === 0 || (offer.remote === undefined && !offer.ice)) {
      return refuse(488, "Not Acceptable Here (no audio)");
    }
    // The new party's SRTP under its own policy, as for any caller (SDES over TLS/WSS, DTLS-SRTP).
    const sdp = this.#sdpFor(options.caller, options.source.transport);
    const srtpRefused = sdp.takeOffer(offer);
    if (srtpRefused !== undefined) {
      o.log.info("call refused: SRTP policy", { caller: options.caller, reason: srtpRefused });
      return refuse(488, `Not Acceptable Here (${srtpRefused})`);
    }
    let leg: MediaLeg;
    try {
      leg = await o.media.allocateLeg();
    } catch {
      return refuse(503, "Service Unavailable (no media ports)");
    }
    if (z.state === "ended" || (z.state !== "answered" && zs !== "b")) {
      await o.media.releaseLeg(leg.legId).catch(() => {});
      return refuse(481, "Call/Transaction Does Not Exist (the call ended)");
    }
    const zo: Side = zs === "a" ? "b" : "a";
    // The codec the new party gets: the other side's when it offers it (relay), else its first.
    const keep = this.#sideCodec(z, zo);
    const chosen =
      (keep !== undefined
        ? audio.find((c) =>
          c.name.toLowerCase() === keep.name.toLowerCase() && c.clockRate === keep.clockRate
        )
        : undefined) ?? audio[0]!;
    const te = offered.find((c) => /^telephone-event$/i.test(c.name) && c.clockRate === chosen.clockRate);
    const answerCodecs = te !== undefined ? [chosen, te] : [chosen];
    this.#bindKeys(z, sdp, leg.legId);
    const tag = newTag();
    const callId = detachString(getHeader(invite, "Call-ID") ?? newCallId());
    const contact = this.#contact(options.source.transport);
    const dialog = Dialog.fromUasRequest(invite, tag, contact);
    const payloadMap: Record<number, string> = {};
    for (const c of answerCodecs) payloadMap[c.payloadType] = `${c.name}/${c.clockRate}`;
    try {
      await o.media.configureLeg(leg.legId, {
        ...(offer.remote !== undefined ? { remote: offer.remote } : {}),
        payloadMap,
      });
    } catch (e) {
      await o.media.releaseLeg(leg.legId).catch(() => {});
      o.log.error("configuring the replacing leg failed", { error: e as Error });
      return refuse(500, "Server Internal Error (media)");
    }
    if ((z.state as Call["state"]) === "ended") {
      await o.media.releaseLeg(leg.legId).catch(() => {});
      return refuse(481, "Call/Transaction Does Not Exist (the call ended)");
    }
    const now = o.clock.wallNow();
    const ok = createResponse(invite, 200, { toTag: tag });
    addHeader(ok, "Contact", contact);
    addHeader(ok, "Allow", this.#allow());
    ok.body = TEXT.encode(sdp.answerFrom(offer, leg.rtpPort, { codecs: answerCodecs }));
    setHeader(ok, "Content-Type", "application/sdp");
    // The new party's ACK stops the 2xx retransmission (its own, next to A's).
    const retransmit = retransmitOk(() => tx.respond(ok), {
      clock: o.clock,
      t1Ms: this.#t1,
      t2Ms: this.#t2,
      onGiveUp: () => void this.#hangup(z, "system"),
    });
    const usage: DialogUsage = {
      kind: "invite",
      handle: (req, t, source) => {
        if (req.method === "ACK") retransmit.stop();
        this.#inDialog(z, zs, req, t, source);
      },
    };
    const previous = zs === "a" ? z.caller : z.callee;
    if (z.state === "answered") {
      // The replaced party: BYE, its leg released, its dialog answers retransmissions only.
      const oldDialog = zs === "a" ? z.aDialog : z.bDialog;
      const oldPeer = zs === "a" ? z.aPeer : z.bPeer;
      if (oldDialog !== undefined && oldPeer !== undefined) {
        o.transactions.sendRequest(
          oldDialog.createRequest("BYE", { via: this.#via(oldPeer.transport) }),
          oldPeer,
          {
            onResponse: () => {},
          },
        );
      }
      this.#registry.register(...z.keys[zs], {
        kind: "invite",
        handle: (req, t) => t?.respond(createResponse(req, req.method === "BYE" ? 200 : 481)),
      });
      this.#registry.linger(...z.keys[zs]);
      const oldLeg = zs === "a" ? z.aLeg : z.bLeg;
      (z.released ??= new Set()).add(oldLeg.legId);
      void o.media.releaseLeg(oldLeg.legId).catch(() => {});
      const from = z.segment?.startedAt ?? z.startedAt;
      const answeredAt = z.answeredAt === undefined ? undefined : Math.max(z.answeredAt, from);
      this.#record({
        callId: z.segment?.callId ?? z.id,
        linkedId: z.id,
        caller: z.caller,
        callee: z.callee,
        startedAt: from,
        ...(answeredAt !== undefined ? { answeredAt } : {}),
        endedAt: now,
        durationMs: now - from,
        billsecMs: answeredAt !== undefined ? now - answeredAt : 0,
        disposition: "answered",
        hangupBy: "system",
        sipCode: 200,
        reason: `replaced by ${options.caller}`,
      });
      z.segment = { startedAt: now, callId };
      if (z.heldBy !== undefined && o.hold !== undefined) {
        const hold = o.hold;
        const legId = z.heldBy === "a" ? z.bLeg.legId : z.aLeg.legId;
        z.heldBy = undefined;
        this.#safe(() => hold.resumed({ callId: z.id, legId }));
      }
    } else {
      // Pickup of a ringing call: the forks stop, the caller is answered with the new party.
      this.#clearNoAnswer(z);
      for (const f of z.forks) {
        if (f.state === "calling" || f.state === "proceeding") {
          f.state = "cancelled";
          f.branchTx?.cancel(undefined, CANCEL_REASON_ELSEWHERE);
        }
      }
      (z.released ??= new Set()).add(z.bLeg.legId);
      void o.media.releaseLeg(z.bLeg.legId).catch(() => {});
      this.#registry.linger(...z.keys.b);
    }
    if (zs === "a") {
      z.aDialog = dialog;
      z.aPeer = options.source;
      z.aSdp = sdp;
      z.aLeg = leg;
      z.caller = options.caller;
      delete z.callerName;
    } else {
      z.bDialog = dialog;
      z.bPeer = options.source;
      z.bSdp = sdp;
      z.bLeg = leg;
      z.callee = options.caller;
    }
    z.keys[zs] = [callId, tag];
    this.#usages.set(usage, { call: z, side: zs });
    this.#registry.register(callId, tag, usage);
    tx.respond(ok);
    o.log.info(z.state === "answered" ? "dialog replaced" : "ringing call picked up", {
      call: z.id,
      replaced: previous,
      by: options.caller,
    });
    if (z.state === "answered") {
      z.plan = undefined;
      this.#changed(z);
      const mine = { name: chosen.name, clockRate: chosen.clockRate, payloadType: chosen.payloadType };
      void o.media.bridge(
        z.aLeg.legId,
        z.bLeg.legId,
        zs === "a" ? bridgeOptionsFor(mine, keep) : bridgeOptionsFor(keep, mine),
      )
        .catch((e) => {
          if (z.state !== "ended") {
            o.log.error("bridging the replacing leg failed", { call: z.id, error: e as Error });
          }
        });
      return true;
    }
    // Answer the ringing caller: its codecs planned against the new party's offer (as B's answer,
    // whose first codec is the one the new party was answered with).
    const body = this.#answerForA(z, offer);
    if (body === undefined) {
      z.disposition = "failed";
      z.finalCode = 488;
      this.#respondA(z, 488, { reason: "Not Acceptable Here (no codec for the pickup)" });
      void this.#hangup(z, "system");
      return true;
    }
    z.state = "answered";
    z.answeredAt = o.clock.wallNow();
    z.disposition = "answered";
    z.finalCode = 200;
    const aTx = z.aTx!;
    const okA = this.#respondA(z, 200, { body })!;
    z.aDialog = Dialog.fromUasRequest(z.aInvite!, z.aTag, this.#contact(z.aPeer.transport));
    this.#startOkRetransmit(z, aTx, okA);
    this.#changed(z);
    void this.#connectMedia(z, offer);
    return true;
  }

  /** The codec a side's leg speaks under the call's plan (name, rate, payload type). */
  #sideCodec(call: Call, side: Side): { name: string; clockRate: number; payloadType: number } | undefined {
    const p = call.plan;
    if (p === undefined || p.kind === "reject") return undefined;
    const map = side === "a" ? p.aMap : p.bMap;
    for (const [pt, enc] of Object.entries(map)) {
      const [name = "", rate = "8000"] = enc.split("/");
      if (/^(telephone-event|CN)$/i.test(name)) continue;
      return { name, clockRate: Number(rate), payloadType: Number(pt) };
    }
    return undefined;
  }

  /** Re-INVITE a side whose last SDP from the box holds it (sendonly, recvonly, inactive) with sendrecv. */
  #unhold(call: Call, side: Side): void {
    const dialog = side === "a" ? call.aDialog : call.bDialog;
    const peer = side === "a" ? call.aPeer : call.bPeer;
    const sdp = side === "a" ? call.aSdp : call.bSdp;
    const leg = side === "a" ? call.aLeg : call.bLeg;
    if (dialog === undefined || peer === undefined || call.state !== "answered") return;
    const last = sdp.repeatLast(leg.rtpPort);
    if (!/a=(sendonly|recvonly|inactive)/.test(last)) return;
    let offer: string;
    try {
      offer = sdp.offerFrom(
        describeSdp(last.replace(/a=(sendonly|recvonly|inactive)/g, "a=sendrecv")),
        leg.rtpPort,
      );
    } catch {
      return;
    }
    const out = dialog.createRequest("INVITE", {
      via: this.#via(peer.transport),
      body: TEXT.encode(offer),
      contentType: "application/sdp",
    });
    const cseq = parseCSeq(getHeader(out, "CSeq") ?? "1 INVITE").seq;
    this.#o.transactions.sendRequest(out, peer, {
      onResponse: (res) => {
        if (res.status < 200) return;
        if (res.status < 300) {
          this.#o.sendRaw(dialog.createAck(cseq, { via: this.#via(peer.transport) }), peer);
          if (res.body.length > 0) this.#applyRemoteSdp(call, side, res.body);
        }
      },
      onTimeout: () => {},
      onTransportError: () => {},
    });
    this.#o.log.info("resumed a held party after the transfer", { call: call.id, side });
  }

  /**
   * Blind transfer of the other party to a number the box answers itself (park, IVR, voicemail):
   * that party's dialog, leg and SDP go to the application (`applicationFor`), the transferor gets
   * NOTIFY 100 then 200 and BYE, this call ends with a record "transferred to N". A held party is
   * resumed first (re-INVITE to sendrecv) so it hears the application and its digits arrive.
   */
  #toApplication(
    call: Call,
    side: Side,
    number: string,
    adopt: (p: AdoptedParty) => Promise<boolean | { status: number; reason?: string | undefined }>,
  ): void {
    const o = this.#o;
    const stays: Side = side === "a" ? "b" : "a";
    call.transfer = {
      from: side,
      target: number,
      transferor: side === "a" ? call.caller : call.callee,
      transferorGone: false,
      recalling: false,
    };
    this.#notifyRefer(call, "SIP/2.0 100 Trying", false);
    if (call.heldBy !== undefined && o.hold !== undefined) {
      const hold = o.hold;
      const legId = call.heldBy === "a" ? call.bLeg.legId : call.aLeg.legId;
      call.heldBy = undefined;
      this.#safe(() => hold.resumed({ callId: call.id, legId }));
    }
    this.#unhold(call, stays);
    const dialog = stays === "a" ? call.aDialog : call.bDialog;
    const peer = stays === "a" ? call.aPeer : call.bPeer;
    const leg = stays === "a" ? call.aLeg : call.bLeg;
    const sdp = stays === "a" ? call.aSdp : call.bSdp;
    if (dialog === undefined || peer === undefined) {
      this.#notifyRefer(call, "SIP/2.0 500 Server Internal Error", true);
      call.transfer = undefined;
      return;
    }
    const codec = this.#sideCodec(call, stays) ?? { name: "PCMU", clockRate: 8000, payloadType: 0 };
    const p = call.plan;
    const map = p !== undefined && p.kind !== "reject" ? (stays === "a" ? p.aMap : p.bMap) : {};
    const te = Object.entries(map).find(([, enc]) => /^telephone-event\//i.test(enc))?.[0];
    const party: AdoptedParty = {
      dialog,
      peer,
      leg,
      sdp: sdp.repeatLast(leg.rtpPort),
      session: sdp,
      codec: { ...codec, ...(te !== undefined ? { telephoneEvent: Number(te) } : {}) },
      caller: stays === "a" ? call.caller : call.callee,
      dialled: number,
      linkedId: call.id,
      referredBy: side === "a" ? call.caller : call.callee,
    };
    o.log.info("blind transfer to an application", { call: call.id, target: number });
    // The transferor's side leaves now; the other side is the application's once it accepts.
    const t = call.transfer;
    void (async () => {
      const taken = await adopt(party).catch((e) => {
        o.log.error("handing the call to the application failed", { call: call.id, error: e as Error });
        return false;
      });
      if (call.state === "ended") return;
      if (taken !== true) {
        // The application's own refusal (park: "486 Busy Here (park slot 702 is taken)"), else 480.
        const frag = taken === false
          ? "SIP/2.0 480 Temporarily Unavailable"
          : `SIP/2.0 ${taken.status} ${(taken.reason ?? "Refused").replace(/[\r\n]/g, " ")}`;
        this.#notifyRefer(call, frag, true);
        call.transfer = undefined;
        if (t.transferorGone) void this.#hangup(call, "system", side);
        return;
      }
      this.#notifyRefer(call, "SIP/2.0 200 OK", true);
      const oldDialog = side === "a" ? call.aDialog : call.bDialog;
      const oldPeer = side === "a" ? call.aPeer : call.bPeer;
      if (!t.transferorGone && oldDialog !== undefined && oldPeer !== undefined) {
        o.transactions.sendRequest(
          oldDialog.createRequest("BYE", { via: this.#via(oldPeer.transport) }),
          oldPeer,
          {
            onResponse: () => {},
          },
        );
      }
      if (!t.transferorGone) this.#transferorLeaves(call, side);
      // The staying party's dialog and leg belong to the application now: this call lets go of them.
      (call.released ??= new Set()).add(leg.legId);
      call.keys[stays] = ["", ""];
      call.transfer = undefined;
      call.disposition = "answered";
      call.hangupBy = side === "a" ? "caller" : "callee";
      call.finalCode = 200;
      await this.#end(call, `transferred to ${number}`);
    })();
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
      // The target's SRTP under its own policy and transport, as any callee's (issue 16).
      sdp: this.#sdpFor(number, bTransport(bindings)),
      forks: [],
      done: false,
    };
    t.out = out;
    const srtpError = out.sdp.offerError();
    if (srtpError !== undefined) {
      o.log.info("transfer refused: SRTP policy", { call: call.id, target: number, reason: srtpError });
      this.#outFailed(call, out, 488);
      return;
    }
    this.#bindKeys(call, out.sdp, leg.legId);
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
    const srtpError = answer === undefined ? undefined : out.sdp.takeAnswer(answer);
    if (srtpError !== undefined) {
      // The target answered without the SRTP its policy requires (or with keys we did not offer).
      o.log.info("transfer target refused: SRTP policy", { call: call.id, reason: srtpError });
      o.transactions.sendRequest(
        dialog.createRequest("BYE", { via: this.#via(fork.peer.transport) }),
        fork.peer,
        { onResponse: () => {} },
      );
      out.done = false;
      this.#outFailed(call, out, 488);
      return;
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
    // The new party's dialog has no session timer negotiated: the replaced side's stops.
    call.timers?.[side]?.stop();
    if (call.timers !== undefined) delete call.timers[side];
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
    if (dtmf === null) return false;
    if (call.infoSide !== undefined && side !== call.infoSide) {
      tx.respond(createResponse(req, 200));
      this.#o.log.info("dtmf", { call: call.id, side, digit: dtmf.digit, source: "info" });
      this.#sendInfoDtmf(call, dtmf.digit, dtmf.durationMs);
      return true;
    }
    if (this.#o.media.sendDtmf === undefined) return false;
    tx.respond(createResponse(req, 200));
    const toLeg = side === "a" ? call.bLeg : call.aLeg;
    this.#o.media.sendDtmf(toLeg.legId, dtmf.digit, dtmf.durationMs).then(
      (how) =>
        this.#o.log.info("dtmf", { call: call.id, side, digit: dtmf.digit, source: "info", sent: how }),
      (e) => this.#o.log.warn("INFO DTMF not delivered", { call: call.id, error: e as Error }),
    );
    return true;
  }

  /** A digit to the SIP INFO trunk side (application/dtmf-relay), on an answered call. */
  #sendInfoDtmf(call: Call, digit: string, durationMs: number | undefined): void {
    const side = call.infoSide;
    if (side === undefined || call.state !== "answered") return;
    const dialog = side === "a" ? call.aDialog : call.bDialog;
    const peer = side === "a" ? call.aPeer : call.bPeer;
    if (dialog === undefined || peer === undefined) return;
    const duration = Math.max(40, Math.min(durationMs ?? 160, 5000));
    try {
      const info = dialog.createRequest("INFO", {
        via: this.#via(peer.transport),
        body: TEXT.encode(`Signal=${digit}\r\nDuration=${duration}\r\n`),
        headers: [{ name: "Content-Type", value: "application/dtmf-relay" }],
      });
      this.#o.transactions.sendRequest(info, peer, {
        onResponse: (res) => {
          if (res.status >= 300) {
            this.#o.log.warn("INFO DTMF refused by the trunk", { call: call.id, status: res.status });
          }
        },
        onTimeout: () => this.#o.log.warn("INFO DTMF unanswered by the trunk", { call: call.id }),
      });
      this.#o.log.info("dtmf sent as INFO", { call: call.id, to: side, digit, durationMs: duration });
    } catch (e) {
      this.#o.log.warn("INFO DTMF not sent", { call: call.id, error: (e as Error).message });
    }
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

  async #end(call: Call, reason?: string): Promise<void> {
    if (call.state === "ended") return;
    const wasState = call.state;
    call.state = "ended";
    call.timers?.a?.stop();
    call.timers?.b?.stop();
    if (call.joinInto !== undefined) {
      // A semi-attended transfer's target never answered: the transferor is told; a transferee
      // whose transferor already left is hung up (nobody is left to talk to).
      const { call: x } = call.joinInto;
      call.joinInto = undefined;
      const code = call.finalCode ?? 480;
      this.#notifyRefer(x, `SIP/2.0 ${code} ${code === 486 ? "Busy Here" : "Failed"}`, true);
      const gone = x.transfer?.transferorGone === true;
      x.transfer = undefined;
      if (gone) void this.#hangup(x, "system");
    }
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
    if (reason !== undefined) record.reason = reason;
    if (call.trunk !== undefined) record.trunk = call.trunk;
    const verstat = call.callerParams !== undefined
      ? /verstat=([^;>]+)/.exec(call.callerParams)?.[1]
      : undefined;
    if (verstat !== undefined) record.verstat = verstat;
    if (call.endReason !== undefined && record.reason === undefined) record.reason = call.endReason;
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

  /**
   * The media plane heard nothing (no RTP, no RTCP) on a leg for the RTP timeout: the far end has
   * died. An answered call that is not on hold is ended with BYE both ways; its record says why.
   */
  #onInactive(legId: string): void {
    for (const c of this.#calls.values()) {
      const side = c.aLeg.legId === legId ? "a" : c.bLeg.legId === legId ? "b" : undefined;
      if (side === undefined || c.state !== "answered" || c.heldBy !== undefined) continue;
      this.endCall(c.id, "rtp-timeout", side);
    }
  }

  /**
   * A TCP, TLS or WebSocket connection ended from the phone's side (killed, rebooted, unplugged): every
   * answered call with a party on that flow ends (BYE to the other party), record reason
   * "connection-lost". Returns how many calls ended.
   */
  connectionLost(peer: Peer): number {
    const same = (p: Peer | undefined) =>
      p !== undefined && p.transport === peer.transport && p.address === peer.address && p.port === peer.port;
    let n = 0;
    for (const c of [...this.#calls.values()]) {
      if (c.state !== "answered") continue;
      const side = same(c.aPeer) ? "a" : same(c.bPeer) ? "b" : undefined;
      if (side !== undefined && this.endCall(c.id, "connection-lost", side)) n++;
    }
    return n;
  }

  /**
   * End an answered call from the box's side (BYE to both parties) with `reason` in its record:
   * the far end of `side` is gone (RTP timeout, failed session refresh, lost connection). Returns
   * false when no such call is up.
   */
  endCall(callId: string, reason: string, side?: "a" | "b"): boolean {
    for (const c of this.#calls.values()) {
      if (c.id !== callId || c.state !== "answered") continue;
      c.endReason = reason;
      this.#o.log.warn("ending call: far end gone", {
        call: c.id,
        reason,
        ...(side !== undefined ? { party: side === "a" ? c.caller : c.callee } : {}),
      });
      this.#hangup(c, "system").catch((e) =>
        this.#o.log.error("ending a call failed", { call: c.id, reason, error: e as Error })
      );
      return true;
    }
    return false;
  }

  /**
   * Hand both parties of an answered call to the box as legs (calls.ts `legsOf`): each side's
   * dialog, media leg and last SDP go to `adopt` (LocalCalls.adopt running an application, as a
   * blind transfer to park or voicemail hands over one party), the media worker's bridge between
   * the two legs is left as it is (they go on talking, relayed), and this call writes its record
   * (reason "handed over as legs"); each leg then writes its own, linked to this call's id. A held
   * call is resumed first. Refused with a RangeError unless the call is answered and confirmed
   * (ACK in) with nothing in progress (re-INVITE, transfer). A side `adopt` does not take gets BYE.
   */
  async handOver(
    callId: string,
    adopt: (party: AdoptedParty, side: "a" | "b") => Promise<boolean>,
  ): Promise<{ a: boolean; b: boolean }> {
    const o = this.#o;
    const call = [...this.#calls.values()].find((c) => c.id === callId && c.state === "answered");
    if (call === undefined) throw new RangeError(`no answered call ${callId}`);
    if (
      call.aDialog === undefined || call.bDialog === undefined || call.bPeer === undefined ||
      call.okRetransmit !== undefined || call.awaitingAckAnswer !== undefined
    ) {
      throw new RangeError(`call ${callId} is not confirmed yet`);
    }
    if (call.pending !== undefined || call.transfer !== undefined || call.joinInto !== undefined) {
      throw new RangeError(`call ${callId} is busy (re-INVITE or transfer in progress)`);
    }
    if (call.heldBy !== undefined && o.hold !== undefined) {
      const hold = o.hold;
      const held: Side = call.heldBy === "a" ? "b" : "a";
      call.heldBy = undefined;
      this.#safe(() =>
        hold.resumed({ callId: call.id, legId: held === "a" ? call.aLeg.legId : call.bLeg.legId })
      );
      this.#unhold(call, held);
    }
    const partyOf = (side: Side): AdoptedParty => {
      const leg = side === "a" ? call.aLeg : call.bLeg;
      const sdp = side === "a" ? call.aSdp : call.bSdp;
      const codec = this.#sideCodec(call, side) ?? { name: "PCMU", clockRate: 8000, payloadType: 0 };
      const p = call.plan;
      const map = p !== undefined && p.kind !== "reject" ? (side === "a" ? p.aMap : p.bMap) : {};
      const te = Object.entries(map).find(([, enc]) => /^telephone-event\//i.test(enc))?.[0];
      return {
        dialog: side === "a" ? call.aDialog! : call.bDialog!,
        peer: side === "a" ? call.aPeer : call.bPeer!,
        leg,
        sdp: sdp.repeatLast(leg.rtpPort),
        codec: { ...codec, ...(te !== undefined ? { telephoneEvent: Number(te) } : {}) },
        caller: side === "a" ? call.caller : call.callee,
        dialled: side === "a" ? call.callee : call.caller,
        linkedId: call.id,
      };
    };
    const parties = { a: partyOf("a"), b: partyOf("b") };
    o.log.info("call handed over as legs", { call: call.id, caller: call.caller, callee: call.callee });
    const take = (side: Side) =>
      adopt(parties[side], side).catch((e) => {
        o.log.error("handing a party over as a leg failed", { call: call.id, side, error: e as Error });
        return false;
      });
    const [a, b] = await Promise.all([take("a"), take("b")]);
    // What was taken belongs to its leg now: this call lets go of the dialog and the media leg.
    for (const [side, taken] of [["a", a], ["b", b]] as const) {
      if (!taken) continue;
      (call.released ??= new Set()).add(parties[side].leg.legId);
      call.keys[side] = ["", ""];
      if (side === "a") delete call.aDialog;
      else delete call.bDialog;
    }
    if (call.state === "ended") return { a, b };
    call.disposition = "answered";
    call.finalCode = 200;
    if (!a || !b) await this.#hangup(call, "system");
    else await this.#end(call, "handed over as legs");
    return { a, b };
  }

  // ------------------------------------------------------------------ session timers (RFC 4028)

  /** The caller's 2xx accepts its session timer (Session-Expires, Require) and starts the A timer. */
  #acceptTimerA(call: Call, res: SipResponse): void {
    const plan = call.timers?.plan;
    if (plan === undefined || call.timers === undefined) return;
    for (const h of uasHeaders(plan)) addHeader(res, h.name, h.value);
    if (call.timers.a !== undefined) return;
    call.timers.a = this.#newTimer(call, "a", plan.seconds, plan.refresher === "uas");
  }

  /** The callee's 2xx: a Session-Expires there starts the B timer (refresher=uac is the box). */
  #startTimerB(call: Call, res: SipResponse): void {
    if (call.timers === undefined) return;
    call.timers.bAllowsUpdate = allows(res, "UPDATE");
    const d = decideUac(res);
    if (d === undefined) return;
    call.timers.b?.stop();
    call.timers.b = this.#newTimer(call, "b", d.seconds, d.weRefresh);
  }

  #newTimer(call: Call, side: Side, seconds: number, weRefresh: boolean): SessionTimer {
    this.#o.log.debug("session timer", {
      call: call.id,
      side,
      seconds,
      refresher: weRefresh ? "box" : "peer",
    });
    return new SessionTimer({
      clock: this.#o.clock,
      seconds,
      weRefresh,
      refresh: () => this.#sendRefresh(call, side),
      expired: (why) => {
        this.#o.log.warn("session expired", { call: call.id, side, why });
        this.endCall(call.id, "session-timer", side);
      },
    });
  }

  /**
   * A re-INVITE or UPDATE from `side` refreshes its session timer. An UPDATE without a body is a
   * pure refresh: the box answers it itself (200 with Session-Expires) instead of passing it across.
   * Returns true when the request was answered here.
   */
  #sessionRefreshed(call: Call, side: Side, req: SipRequest, tx: ServerTransaction): boolean {
    const timer = call.timers?.[side];
    if (timer === undefined) return false;
    timer.refreshed(sessionExpiresOf(req)?.seconds);
    if (req.method !== "UPDATE" || req.body.length > 0) return false;
    const ok = createResponse(req, 200, { toTag: tagOf(getHeader(req, "To")) ?? "" });
    addHeader(ok, "Contact", this.#contact(side === "a" ? call.aPeer.transport : call.bPeer!.transport));
    this.#refreshAnswerHeaders(call, side, req, ok);
    tx.respond(ok);
    return true;
  }

  /** Session-Expires (and Require: timer) on the 2xx to a refresh from `side`. */
  #refreshAnswerHeaders(call: Call, side: Side, req: SipRequest, ok: SipResponse): void {
    const timer = call.timers?.[side];
    if (timer === undefined) return;
    // In a refresh transaction "uac" is the sender of the request (RFC 4028 section 9).
    setHeader(ok, "Session-Expires", `${timer.seconds};refresher=${timer.weRefresh ? "uas" : "uac"}`);
    if (hasOptionTag(req, "Supported", "timer")) setHeader(ok, "Require", "timer");
  }

  /**
   * The box refreshes `side`'s session: UPDATE without a body when the peer allows UPDATE, else a
   * re-INVITE repeating the box's last SDP (RFC 4028 section 7.4). 408, 481, a timeout or a
   * transport error end the call (section 10); 491 retries shortly.
   */
  #sendRefresh(call: Call, side: Side): Promise<RefreshOutcome> {
    if (call.state !== "answered") return Promise.resolve("ok");
    if (call.pending !== undefined) return Promise.resolve("retry");
    const dialog = side === "a" ? call.aDialog : call.bDialog;
    const peer = side === "a" ? call.aPeer : call.bPeer;
    const timer = call.timers?.[side];
    if (dialog === undefined || peer === undefined || timer === undefined) return Promise.resolve("ok");
    const useUpdate = side === "a"
      ? call.timers?.aAllowsUpdate === true
      : call.timers?.bAllowsUpdate === true;
    const headers = [
      { name: "Session-Expires", value: `${timer.seconds};refresher=uac` },
      { name: "Supported", value: "timer" },
    ];
    const mine = side === "a" ? call.aSdp : call.bSdp;
    const leg = side === "a" ? call.aLeg : call.bLeg;
    const req = useUpdate
      ? dialog.createRequest("UPDATE", { via: this.#via(peer.transport), headers })
      : dialog.createRequest("INVITE", {
        via: this.#via(peer.transport),
        headers,
        body: TEXT.encode(mine.repeatLast(leg.rtpPort)),
        contentType: "application/sdp",
      });
    return new Promise((resolve) => {
      try {
        this.#o.transactions.sendRequest(req, peer, {
          onResponse: (res) => {
            if (res.status < 200) return;
            if (req.method === "INVITE" && res.status < 300) {
              const cseq = parseCSeq(getHeader(req, "CSeq") ?? "1 INVITE").seq;
              this.#o.sendRaw(dialog.createAck(cseq, { via: this.#via(peer.transport) }), peer);
            }
            if (res.status === 491) resolve("retry");
            else if (res.status === 408 || res.status === 481) resolve("failed");
            else resolve("ok");
          },
          onTimeout: () => resolve("failed"),
          onTransportError: () => resolve("failed"),
        });
      } catch {
        resolve("failed");
      }
    });
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
