/**
 * Calls the box answers itself (paging today; voicemail and IVR later). The call layer owns the
 * SIP side: SDP answer, the dialog, 2xx retransmission until ACK, BYE either way, the call record.
 * A feature only sees `LocalCallHandler`: it accepts or refuses the call, receives the caller's
 * decoded audio and DTMF, and may hang up. Features never touch SIP (ARCHITECTURE.md).
 */
import type { Peer, SipRequest, SipResponse } from "../sip/message/types.ts";
import { addHeader, createResponse, getHeader, setHeader } from "../sip/message/mod.ts";
import { Dialog, newTag } from "../sip/mod.ts";
import type { ServerTransaction, TransactionLayer } from "../sip/mod.ts";
import { type CodecPreference, createAnswer, negotiateAudio, parseSdp, serializeSdp } from "../sdp/mod.ts";
import type { Clock, TimerId } from "../clock/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { CallRecordSink, MediaLeg } from "./types.ts";

const TEXT = new TextEncoder();
const DECODE = new TextDecoder();

/** What a feature may do with a call it accepted. */
export interface LocalCallControl {
  /** End the call from the box's side (BYE to the caller). */
  hangup(reason?: string): void;
}

/** The feature's side of an accepted call. */
export interface LocalSession {
  /** Decoded audio from the caller (mono PCM at `sampleRate`). */
  onAudio?(pcm: Int16Array, sampleRate: number): void;
  /** A DTMF digit from the caller (RFC 4733 or in-band). */
  onDtmf?(digit: string): void;
  /** The call is up: media flows; `control` lets the feature hang up. */
  onStart?(control: LocalCallControl): void;
  /** The call ended (caller hung up, the feature hung up, or the box shut down). */
  onEnd?(by: "caller" | "system"): void;
}

/** A feature reachable by a number. */
export interface LocalCallHandler {
  /** Accept (return a session) or refuse (return a SIP status, e.g. 403 or 486). */
  accept(call: { caller: string; dialled: string }): LocalSession | { status: number; reason?: string };
}

/** The media the local path needs: a leg, decoded audio from it, its DTMF. */
export interface LocalMediaPort {
  allocateLeg(): Promise<MediaLeg>;
  configureLeg(legId: string, config: { remote?: { address: string; port: number; rtcpPort?: number } | undefined }): Promise<void>;
  releaseLeg(legId: string): Promise<void>;
  tap(legId: string, on: boolean): Promise<void>;
  on(
    listener: (
      ev:
        | { event: "audio"; legId: string; pcm: Int16Array; sampleRate: number }
        | { event: "dtmf"; legId: string; digit: string }
        | { event: string; legId: string },
    ) => void,
  ): () => void;
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
}

/** Codecs the local path decodes today (the media plane's tap gives G.711 as 8 kHz PCM). */
const LOCAL_CODECS: CodecPreference[] = [
  { name: "PCMU", clockRate: 8000 },
  { name: "PCMA", clockRate: 8000 },
  { name: "telephone-event", clockRate: 8000, payloadType: 101 },
];

interface LocalCall {
  id: string;
  caller: string;
  dialled: string;
  tag: string;
  invite: SipRequest;
  tx: ServerTransaction;
  peer: Peer;
  dialog: Dialog;
  leg: MediaLeg;
  session: LocalSession;
  answer: string;
  startedAt: number;
  answeredAt: number;
  ok?: { response: SipResponse; interval: number; started: number; timer: TimerId } | undefined;
  unsubscribe: () => void;
  ended: boolean;
}

/** Answers and runs calls to feature numbers. */
export class LocalCalls {
  #o: LocalCallsOptions;
  #calls = new Map<string, LocalCall>();

  constructor(options: LocalCallsOptions) {
    this.#o = options;
  }

  /** Number of local calls in progress. */
  get active(): number {
    return this.#calls.size;
  }

  #contact(peer: Peer): string {
    return `<sip:pbx@${this.#o.publicAddress}:${this.#o.sipPort}${peer.transport === "tcp" ? ";transport=tcp" : ""}>`;
  }

  /** Answer an authenticated INVITE to `dialled` with `handler`. */
  async answer(
    invite: SipRequest,
    tx: ServerTransaction,
    options: { caller: string; dialled: string; source: Peer; handler: LocalCallHandler },
  ): Promise<void> {
    const o = this.#o;
    const { caller, dialled, source, handler } = options;
    const startedAt = o.clock.wallNow();
    const callId = getHeader(invite, "Call-ID") ?? "";
    const refuse = (status: number, reason?: string) => {
      tx.respond(createResponse(invite, status, reason !== undefined ? { reason } : {}));
      o.cdr.insert({
        callId,
        caller,
        callee: dialled,
        startedAt,
        endedAt: o.clock.wallNow(),
        durationMs: o.clock.wallNow() - startedAt,
        billsecMs: 0,
        disposition: status === 486 ? "busy" : "rejected",
        hangupBy: "system",
        sipCode: status,
        ...(reason !== undefined ? { reason } : {}),
      });
    };
    let offer;
    try {
      offer = parseSdp(DECODE.decode(invite.body));
    } catch (e) {
      tx.respond(createResponse(invite, invite.body.length ? 400 : 488, {
        reason: invite.body.length ? `Bad SDP: ${(e as Error).message}`.slice(0, 100) : "Not Acceptable Here (no SDP)",
      }));
      return;
    }
    const chosen = negotiateAudio(offer, LOCAL_CODECS);
    if (chosen === null) {
      tx.respond(createResponse(invite, 488, { reason: "Not Acceptable Here (offer G.711 to reach this number)" }));
      return;
    }
    const verdict = handler.accept({ caller, dialled });
    if ("status" in verdict) {
      refuse(verdict.status, verdict.reason);
      return;
    }
    const session = verdict;
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
    if (address !== undefined && address !== "0.0.0.0") {
      await o.media.configureLeg(leg.legId, { remote: { address, port: m.port } });
    }
    const tag = newTag();
    const answerSdp = serializeSdp(createAnswer(offer, {
      address: o.publicAddress,
      port: leg.rtpPort,
      negotiated: chosen.negotiated,
      mediaIndex: chosen.mediaIndex,
      username: "pbx",
    }));
    const call: LocalCall = {
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
    };
    this.#calls.set(call.id, call);
    call.unsubscribe = o.media.on((ev) => {
      if (ev.legId !== leg.legId || call.ended) return;
      if (ev.event === "audio" && "pcm" in ev) session.onAudio?.(ev.pcm, ev.sampleRate);
      else if (ev.event === "dtmf" && "digit" in ev) session.onDtmf?.(ev.digit);
    });
    await o.media.tap(leg.legId, true);
    const ok = createResponse(invite, 200, { toTag: tag });
    addHeader(ok, "Contact", this.#contact(source));
    ok.body = TEXT.encode(answerSdp);
    setHeader(ok, "Content-Type", "application/sdp");
    tx.respond(ok);
    this.#retransmit(call, ok);
    o.log.info("feature call answered", { call: callId, caller, dialled });
    session.onStart?.({ hangup: () => void this.#end(call, "system", true) });
  }

  #retransmit(call: LocalCall, response: SipResponse): void {
    const t1 = this.#o.t1Ms ?? 500, t2 = this.#o.t2Ms ?? 4000;
    const tick = () => {
      const r = call.ok;
      if (!r || call.ended) return;
      if (this.#o.clock.now() - r.started >= 64 * t1) {
        call.ok = undefined;
        void this.#end(call, "system", true); // RFC 3261 13.3.1.4: no ACK, end the call
        return;
      }
      call.tx.respond(r.response);
      r.interval = Math.min(r.interval * 2, t2);
      r.timer = this.#o.clock.setTimeout(tick, r.interval);
    };
    call.ok = { response, interval: t1, started: this.#o.clock.now(), timer: this.#o.clock.setTimeout(tick, t1) };
  }

  /** In-dialog requests for local calls; false when the dialog is not ours. */
  handleInDialog(req: SipRequest, tx: ServerTransaction | undefined, source: Peer): boolean {
    const callId = getHeader(req, "Call-ID") ?? "";
    const to = getHeader(req, "To") ?? "";
    const tag = /;\s*tag=([^;>\s]+)/i.exec(to)?.[1];
    const call = tag !== undefined ? this.#calls.get(`${callId}|${tag}`) : undefined;
    if (!call) return false;
    if (req.method === "ACK") {
      if (call.ok) {
        this.#o.clock.clearTimeout(call.ok.timer);
        call.ok = undefined;
      }
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
      // A re-INVITE (e.g. a session refresh): keep the same media, answer with our SDP.
      const ok = createResponse(req, 200, { toTag: call.tag });
      addHeader(ok, "Contact", this.#contact(source));
      ok.body = TEXT.encode(call.answer);
      setHeader(ok, "Content-Type", "application/sdp");
      tx.respond(ok);
    } else if (req.method === "INFO" || req.method === "OPTIONS" || req.method === "UPDATE") {
      tx.respond(createResponse(req, 200));
    } else {
      tx.respond(createResponse(req, 405));
    }
    return true;
  }

  async #end(call: LocalCall, by: "caller" | "system", sendBye: boolean): Promise<void> {
    if (call.ended) return;
    call.ended = true;
    const o = this.#o;
    if (call.ok) {
      o.clock.clearTimeout(call.ok.timer);
      call.ok = undefined;
    }
    if (sendBye) {
      const bye = call.dialog.createRequest("BYE", {
        via: { transport: call.peer.transport, host: o.publicAddress, port: o.sipPort },
      });
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
        callId: getHeader(call.invite, "Call-ID") ?? "",
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
      });
    } catch (e) {
      o.log.error("writing call record failed", { error: e as Error });
    }
    o.log.info("feature call ended", { caller: call.caller, dialled: call.dialled, by });
    // Forget the dialog after Timer J so a retransmitted BYE still gets its 200.
    o.clock.setTimeout(() => this.#calls.delete(call.id), 32_000);
    try {
      await o.media.tap(call.leg.legId, false);
      await o.media.releaseLeg(call.leg.legId);
    } catch (e) {
      o.log.error("releasing a media leg failed", { error: e as Error });
    }
  }

  /** End every local call (shutdown). */
  async close(): Promise<void> {
    for (const c of [...this.#calls.values()]) await this.#end(c, "system", true);
  }
}
