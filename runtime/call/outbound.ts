/**
 * An outbound leg (the box as UAC) started without an inbound INVITE: `originate` rings every
 * given contact (an extension's, or a group's members') with one INVITE each, offering the codecs
 * it is given, with its own media leg at the box. The first 2xx wins (the other forks get CANCEL
 * with RFC 3326 Reason), later 2xx get ACK and BYE. Busy, no answer, unavailable and failed are
 * reported as a `StepFailure` (the dialplan's outcomes); an answer as `{ outcome: "answered" }`.
 *
 * Once answered the leg's dialog lives in the `CallRegistry`: BYE from the far end ends it, a
 * re-INVITE (hold, resume, refresh) is answered with the box's last SDP, INFO DTMF is reported,
 * OPTIONS and UPDATE get 200. `hangup()` sends BYE (or CANCEL while ringing). Every outbound leg
 * writes one call record, linked to the call it belongs to (`linkedId`), and releases its media
 * leg however it ends (set-up failures included).
 */
import type { Peer, SipRequest, SipResponse } from "../sip/message/types.ts";
import { createResponse, getHeader } from "../sip/message/mod.ts";
import { Dialog, newBranch, newCallId, newTag } from "../sip/mod.ts";
import type { ClientTransaction, ServerTransaction, TransactionLayer } from "../sip/mod.ts";
import type { Clock, TimerId } from "../clock/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Binding } from "../registrar/mod.ts";
import type { Codec } from "../sdp/mod.ts";
import type { CallRecordSink, MediaLeg, MediaPort } from "./types.ts";
import type { CallRegistry } from "./registry.ts";
import { buildRequest, contactFor, viaFor } from "./request.ts";
import { describeSdp, localOfferInfo, type SdpInfo, SdpSession } from "./_sdp.ts";
import { audioCodecs, parseInfoDtmf } from "./_call_media.ts";
import { bTransport, CANCEL_REASON_ELSEWHERE, failureOf, peerOfBinding, type StepFailure } from "./b2bua.ts";
import type { SrtpPolicy } from "../sdp/crypto.ts";
import { multipartBody, type OutboundLeg } from "./trunk.ts";
import { computeAuthorization } from "../sip/auth/mod.ts";

const TEXT = new TextEncoder();
const DECODE = new TextDecoder();

/** What outbound legs need from the box. */
export interface OutboundDeps {
  transactions: TransactionLayer;
  /** Sends a request outside any transaction (ACK for 2xx). */
  sendRaw(req: SipRequest, target: Peer): void;
  media: Pick<MediaPort, "allocateLeg" | "configureLeg" | "releaseLeg" | "dtlsFingerprint">;
  registry: CallRegistry;
  /**
   * The callee's SRTP policy (SDES keys only when every contact rung is TLS/WSS; DTLS-SRTP toward
   * browsers), as for B2BUA callees; default "off" (plain RTP, except DTLS-SRTP to browsers).
   */
  srtpPolicy?(extension: string): SrtpPolicy;
  /** How SRTP toward the callee is keyed (see B2buaOptions.srtpKeying); default "sdes". */
  srtpKeying?(extension: string): "sdes" | "dtls";
  cdr: CallRecordSink;
  clock: Clock;
  log: Logger;
  publicAddress: string;
  sipPort: number;
  /** Ring time when a request gives none (the box's no-answer time), default 30 s. */
  noAnswerMs?: number;
  /** The Allow header value for the INVITEs. */
  allow?(): string;
  /**
   * Told when a leg to a trunk starts (its trunk and caller); the function it returns when the leg
   * has ended. The box counts these with the B2BUA's trunk calls (channel limits, fraud guard).
   */
  trunkLegStarted?(trunk: string, caller: string): () => void;
}

/** What to ring. */
export interface OriginateRequest {
  /** The number rung (To user, and the record's callee). */
  to: string;
  /** Contacts to fork to (at least one). */
  bindings: readonly Binding[];
  /** The calling number the callee sees (From user) and the record's caller. */
  callerId: string;
  callerName?: string;
  /** Extra headers on every INVITE (e.g. Alert-Info, Call-Info answer-after). */
  headers?: readonly { name: string; value: string }[];
  /** Ring time before the outcome is noAnswer. */
  ringMs?: number;
  /** Codecs offered (payload types as the leg will use them); telephone-event included if wanted. */
  codecs: readonly Codec[];
  /** The call this leg belongs to: its records share this link id (default the leg's own Call-ID). */
  linkedId?: string;
  /** A reason on the call record (e.g. "transfer target", "dialled by ivr"). */
  reason?: string;
  /**
   * Out of a trunk instead (runtime/call/trunk.ts): one INVITE to its Request-URI and next hop, with
   * its From/To, caller-ID and E911 headers and body parts, the offer narrowed to its codecs, and one
   * 401/407 challenge answered with its credentials. `bindings` is then ignored.
   */
  trunk?: OutboundLeg;
}

/** How ringing ended. */
export type OriginateResult = { outcome: "answered" } | (StepFailure & { outcome: StepFailure["kind"] });

/** Events of an outbound leg after it answered. */
export type OutboundEvent =
  | { type: "dtmf"; digit: string }
  | { type: "hold" }
  | { type: "resume" }
  | { type: "hangup"; by: "callee" | "system" };

/** The codec the far end answered with, as the media leg speaks it. */
export interface AnsweredCodec {
  name: string;
  clockRate: number;
  payloadType: number;
  /** The telephone-event payload type, when negotiated. */
  telephoneEvent?: number;
}

/** One outbound leg; see the module doc. */
export interface OutboundCall {
  readonly callId: string;
  readonly leg: MediaLeg;
  readonly number: string;
  /** Settles when ringing ended: answered, or the failure. */
  readonly result: Promise<OriginateResult>;
  /** Settles when the leg has ended (after ringing failed, too). */
  readonly ended: Promise<"callee" | "system">;
  /** After answer: the codec the leg speaks, and its payload map for the media plane. */
  codec(): AnsweredCodec | undefined;
  /** Listen to the leg's events; returns an unsubscribe function. */
  on(listener: (ev: OutboundEvent) => void): () => void;
  /** CANCEL while ringing, BYE once answered. */
  hangup(reason?: string): void;
  readonly state: "ringing" | "answered" | "ended";
}

interface Fork {
  tx: ClientTransaction | undefined;
  request: SipRequest;
  peer: Peer;
  state: "calling" | "proceeding" | "answered" | "failed" | "cancelled";
  status?: number;
  /** A trunk fork answered its carrier's challenge already. */
  authed?: boolean;
}

/** The contact a trunk leg is sent to (its Request-URI and next hop). */
function trunkBinding(t: OutboundLeg): Binding {
  return {
    extension: t.trunk,
    contactUri: t.uri,
    expiresAt: Number.MAX_SAFE_INTEGER,
    callId: "",
    cseq: 0,
    sourceTransport: t.target.transport,
    sourceAddress: t.target.address,
    sourcePort: t.target.port,
  };
}

/** The offer for a trunk: narrowed to its codecs (TELEPHONE-EVENT in the list keeps RFC 4733). */
function trunkCodecs(codecs: readonly Codec[], t: OutboundLeg | undefined): readonly Codec[] {
  const only = t?.codecs;
  if (only === undefined || only.length === 0) return codecs;
  const narrowed = codecs.filter((c) => only.includes(c.name.toUpperCase()));
  return narrowed.some((c) => !/^(telephone-event|CN)$/i.test(c.name)) ? narrowed : codecs;
}

/**
 * Ring `request.bindings`. Resolves once the INVITEs are sent; rejects (having released what it
 * took) when no media port is free or no INVITE could be sent.
 */
export async function originate(deps: OutboundDeps, request: OriginateRequest): Promise<OutboundCall> {
  const trunk = request.trunk;
  const targets = trunk !== undefined ? [trunkBinding(trunk)] : request.bindings;
  if (targets.length === 0) throw new RangeError(`originate: ${request.to} has no contacts`);
  if (request.codecs.length === 0) throw new RangeError("originate: no codecs to offer");
  const o = deps;
  const transport = bTransport(targets);
  const sdp = new SdpSession(o.publicAddress, {
    // Toward a carrier: plain RTP (SRTP to trunks is not built; docs/trunks.md).
    policy: trunk !== undefined ? "off" : o.srtpPolicy?.(request.to) ?? "off",
    secure: transport === "tls" || transport === "wss",
    dtlsFingerprint: () => o.media.dtlsFingerprint?.() ?? null,
    webrtc: transport === "wss",
    dtlsOffer: o.srtpKeying?.(request.to) === "dtls",
  });
  const srtpError = sdp.offerError();
  if (srtpError !== undefined) throw new Error(`originate: ${request.to}: ${srtpError}`);
  const leg = await o.media.allocateLeg();
  const callId = newCallId(o.publicAddress);
  const fromTag = newTag();
  const linkedId = request.linkedId ?? callId;
  const startedAt = o.clock.wallNow();
  // Keys negotiated by the answer go to the leg before its remote and payload map (queued in order).
  sdp.bindKeys((srtp) => {
    if (srtp !== null) o.log.info("SRTP on", { call: callId, leg: leg.legId, suite: srtp.suite });
    o.media.configureLeg(leg.legId, { srtp }).catch((e) =>
      o.log.error("SRTP set-up failed", { call: callId, error: e as Error })
    );
  });
  sdp.bindDtls((dtls) => {
    o.media.configureLeg(leg.legId, { dtls }).catch((e) =>
      o.log.error("DTLS-SRTP set-up failed", { call: callId, error: e as Error })
    );
  });
  const offer = sdp.offerFrom(
    localOfferInfo(o.publicAddress, trunkCodecs(request.codecs, trunk)),
    leg.rtpPort,
  );
  const listeners = new Set<(ev: OutboundEvent) => void>();
  let state: OutboundCall["state"] = "ringing";
  let resolveResult: (r: OriginateResult) => void = () => {};
  const result = new Promise<OriginateResult>((r) => (resolveResult = r));
  let resolveEnded: (by: "callee" | "system") => void = () => {};
  const ended = new Promise<"callee" | "system">((r) => (resolveEnded = r));
  let dialog: Dialog | undefined;
  let peer: Peer | undefined;
  let answeredAt: number | undefined;
  let answered: AnsweredCodec | undefined;
  let timer: TimerId | undefined;
  let held = false;
  const forks: Fork[] = [];
  const trunkLegEnded = trunk !== undefined ? o.trunkLegStarted?.(trunk.trunk, request.callerId) : undefined;
  const emit = (ev: OutboundEvent) => {
    for (const l of [...listeners]) {
      try {
        l(ev);
      } catch (e) {
        o.log.warn("outbound leg listener failed", { call: callId, error: e as Error });
      }
    }
  };
  const via = (p: Peer) => viaFor(o, p.transport);
  const record = (fields: {
    disposition: "answered" | "busy" | "no-answer" | "failed" | "cancelled" | "not-found" | "rejected";
    hangupBy: "caller" | "callee" | "system";
    sipCode: number;
  }) => {
    const endedAt = o.clock.wallNow();
    try {
      o.cdr.insert({
        callId,
        linkedId,
        caller: request.callerId,
        ...(request.callerName !== undefined ? { callerName: request.callerName } : {}),
        callee: request.to,
        startedAt,
        ...(answeredAt !== undefined ? { answeredAt } : {}),
        endedAt,
        durationMs: endedAt - startedAt,
        billsecMs: answeredAt !== undefined ? endedAt - answeredAt : 0,
        ...fields,
        ...(request.reason !== undefined ? { reason: request.reason } : {}),
        ...(trunk !== undefined ? { trunk: trunk.trunk } : {}),
      });
    } catch (e) {
      o.log.error("writing call record failed", { call: callId, error: e as Error });
    }
  };
  /** The leg is over: record, registry linger, media port back; once. */
  const finish = (by: "callee" | "system", fields: Parameters<typeof record>[0]) => {
    if (state === "ended") return;
    const wasAnswered = state === "answered";
    state = "ended";
    if (timer !== undefined) o.clock.clearTimeout(timer);
    timer = undefined;
    record(fields);
    try {
      trunkLegEnded?.();
    } catch (e) {
      o.log.warn("trunk leg listener failed", { call: callId, error: e as Error });
    }
    o.registry.linger(callId, fromTag);
    void o.media.releaseLeg(leg.legId).catch((e) =>
      o.log.error("releasing a media leg failed", { call: callId, error: e as Error })
    );
    if (wasAnswered) emit({ type: "hangup", by });
    resolveEnded(by);
  };
  const fail = (status: number, reason?: string, noAnswer = false) => {
    const f = failureOf(status, reason);
    const failure: StepFailure = noAnswer ? { kind: "noAnswer", status: 480, reason: "No Answer" } : f;
    resolveResult({ ...failure, outcome: failure.kind });
    finish(status === 480 || status === 408 ? "system" : "callee", {
      disposition: status === 486 || status === 600
        ? "busy"
        : status === 487
        ? "cancelled"
        : status === 480 || status === 408
        ? "no-answer"
        : status === 603
        ? "rejected"
        : status === 404 || status === 604
        ? "not-found"
        : "failed",
      hangupBy: status === 480 || status === 408 || status === 487 ? "system" : "callee",
      sipCode: status,
    });
  };
  const cancelForks = (except?: Fork, reason?: string) => {
    for (const f of forks) {
      if (f !== except && (f.state === "calling" || f.state === "proceeding")) {
        f.state = "cancelled";
        f.tx?.cancel(undefined, reason);
      }
    }
  };
  const bye = (d: Dialog, p: Peer) =>
    o.transactions.sendRequest(d.createRequest("BYE", { via: via(p) }), p, { onResponse: () => {} });
  const onFailed = (fork: Fork, status: number, reason?: string) => {
    if (fork.state === "answered" || fork.state === "failed") return;
    fork.state = fork.state === "cancelled" ? "cancelled" : "failed";
    fork.status = status;
    if (state !== "ringing") return;
    if (forks.some((f) => f.state === "calling" || f.state === "proceeding")) return;
    const codes = forks.map((f) => f.status ?? 500);
    // RFC 3261 16.7: a 6xx, then busy, then the lowest seen.
    const best = codes.find((c) => c >= 600) ?? codes.find((c) => c === 486) ??
      [...codes].sort((x, y) => x - y)[0] ?? 500;
    fail(best, best === status ? reason : undefined);
  };
  const onAnswered = (fork: Fork, res: SipResponse) => {
    let d: Dialog;
    try {
      d = Dialog.fromUacResponse(fork.request, res);
    } catch (e) {
      // No usable Contact: no dialog can be built (nor ACKed); the callee's transaction times out.
      o.log.warn("outbound leg answered with an unusable 2xx", { call: callId, error: e as Error });
      fork.state = "failed";
      fork.status = 502;
      if (state === "ringing") {
        cancelForks();
        fail(502, "Bad Gateway (unusable 2xx)");
      }
      return;
    }
    // The INVITE's CSeq: 2 after a challenge was answered.
    const cseq = Number(/^\s*(\d+)/.exec(getHeader(fork.request, "CSeq") ?? "1")?.[1] ?? 1);
    o.sendRaw(d.createAck(cseq, { via: via(fork.peer) }), fork.peer);
    if (state !== "ringing") {
      bye(d, fork.peer); // another contact answered first, or the leg was hung up meanwhile
      return;
    }
    let info: SdpInfo | undefined;
    try {
      info = describeSdp(DECODE.decode(res.body));
    } catch {
      info = undefined;
    }
    const codecs = info !== undefined && info.audioIndex >= 0 ? audioCodecs(info) : [];
    const first = codecs.find((c) => !/^(telephone-event|CN)$/i.test(c.name));
    fork.state = "answered";
    cancelForks(fork, CANCEL_REASON_ELSEWHERE);
    if (info === undefined || first === undefined) {
      o.log.warn("outbound leg answered with unusable SDP", { call: callId, to: request.to });
      bye(d, fork.peer);
      fail(488, "Not Acceptable Here (unusable SDP)");
      return;
    }
    const srtpRefused = sdp.takeAnswer(info);
    if (srtpRefused !== undefined) {
      o.log.info("outbound leg refused: SRTP policy", { call: callId, to: request.to, reason: srtpRefused });
      bye(d, fork.peer);
      fail(488, "Not Acceptable Here (SRTP)");
      return;
    }
    dialog = d;
    peer = fork.peer;
    state = "answered";
    answeredAt = o.clock.wallNow();
    if (timer !== undefined) o.clock.clearTimeout(timer);
    timer = undefined;
    const te = codecs.find((c) => /^telephone-event$/i.test(c.name));
    answered = {
      name: first.name,
      clockRate: first.clockRate,
      payloadType: first.payloadType,
      ...(te !== undefined ? { telephoneEvent: te.payloadType } : {}),
    };
    const payloadMap: Record<number, string> = { [first.payloadType]: `${first.name}/${first.clockRate}` };
    if (te !== undefined) payloadMap[te.payloadType] = `${te.name}/${te.clockRate}`;
    o.media.configureLeg(leg.legId, {
      ...(info.remote !== undefined ? { remote: info.remote } : {}),
      payloadMap,
    }).then(
      () => resolveResult({ outcome: "answered" }),
      (e) => {
        o.log.error("configuring the outbound leg failed", { call: callId, error: e as Error });
        bye(d, fork.peer);
        fail(500, "Server Internal Error (media)");
      },
    );
    o.log.info("outbound leg answered", {
      call: callId,
      to: request.to,
      codec: payloadMap[first.payloadType],
    });
  };
  const inDialog = (req: SipRequest, tx: ServerTransaction | undefined, source: Peer) => {
    if (req.method === "ACK" || tx === undefined) return;
    if (dialog === undefined || state !== "answered") {
      tx.respond(createResponse(req, req.method === "BYE" ? 200 : 481));
      return;
    }
    if (!dialog.acceptsRequest(req)) {
      tx.respond(createResponse(req, 500, { reason: "Server Internal Error (CSeq out of order)" }));
      return;
    }
    peer = source;
    if (req.method === "BYE") {
      tx.respond(createResponse(req, 200));
      finish("callee", { disposition: "answered", hangupBy: "callee", sipCode: 200 });
    } else if (req.method === "INVITE") {
      const ok = createResponse(req, 200);
      ok.headers.push({ name: "Contact", value: contactFor(o, source.transport) });
      ok.body = TEXT.encode(sdp.repeatLast(leg.rtpPort));
      ok.headers.push({ name: "Content-Type", value: "application/sdp" });
      tx.respond(ok);
      let info: SdpInfo | undefined;
      try {
        info = req.body.length > 0 ? describeSdp(DECODE.decode(req.body)) : undefined;
      } catch {
        info = undefined;
      }
      if (info === undefined) return;
      const m = info.sd.media[info.audioIndex];
      const dir = m?.attributes.find((a) => /^(sendonly|inactive|recvonly|sendrecv)$/.test(a.name))?.name;
      const nowHeld = info.remote === undefined || dir === "sendonly" || dir === "inactive";
      if (info.remote !== undefined) {
        void o.media.configureLeg(leg.legId, { remote: info.remote }).catch(() => {});
      }
      if (nowHeld !== held) {
        held = nowHeld;
        emit({ type: held ? "hold" : "resume" });
      }
    } else if (req.method === "INFO") {
      let dtmf;
      try {
        dtmf = parseInfoDtmf(getHeader(req, "Content-Type"), DECODE.decode(req.body));
      } catch {
        tx.respond(createResponse(req, 400));
        return;
      }
      tx.respond(createResponse(req, 200));
      if (dtmf !== null) emit({ type: "dtmf", digit: dtmf.digit });
    } else if (req.method === "OPTIONS" || req.method === "UPDATE") {
      tx.respond(createResponse(req, 200));
    } else {
      tx.respond(createResponse(req, 405));
    }
  };
  o.registry.register(callId, fromTag, { kind: "invite", handle: inDialog });
  const from = trunk?.from ??
    `${
      request.callerName ? `"${request.callerName.replace(/["\\]/g, "")}" ` : ""
    }<sip:${request.callerId}@${o.publicAddress}>`;
  // A trunk leg's body: the SDP alone, or multipart/mixed with its parts (PIDF-LO, RFC 6442).
  const body = trunk?.parts !== undefined && trunk.parts.length > 0
    ? multipartBody(offer, trunk.parts)
    : { body: offer, contentType: "application/sdp" };
  const send = (fork: Fork) => {
    fork.tx = o.transactions.sendRequest(fork.request, fork.peer, {
      onResponse: (res) => {
        if (res.status < 200) {
          if (res.status > 100 && fork.state === "calling") fork.state = "proceeding";
          return;
        }
        if (res.status < 300) onAnswered(fork, res);
        else if ((res.status === 401 || res.status === 407) && answerChallenge(fork, res)) return;
        else onFailed(fork, res.status, res.reason);
      },
      onTimeout: () => onFailed(fork, 408),
      onTransportError: () => onFailed(fork, 503),
    });
  };
  /** RFC 3261 22.2: the same INVITE again (next CSeq, new branch) with the trunk's credentials; once. */
  const answerChallenge = (fork: Fork, res: SipResponse): boolean => {
    const auth = trunk?.auth;
    if (auth === undefined || fork.authed === true || state !== "ringing" || fork.state === "cancelled") {
      return false;
    }
    const challenge = getHeader(res, res.status === 407 ? "Proxy-Authenticate" : "WWW-Authenticate");
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
      o.log.warn("trunk challenge cannot be answered", { call: callId, error: (e as Error).message });
      return false;
    }
    const req: SipRequest = { ...fork.request, headers: fork.request.headers.map((h) => ({ ...h })) };
    const v = req.headers.find((h) => /^(via|v)$/i.test(h.name));
    if (v !== undefined) v.value = v.value.replace(/;branch=[^;,\s]+/i, `;branch=${newBranch()}`);
    const c = req.headers.find((h) => h.name.toLowerCase() === "cseq");
    if (c !== undefined) c.value = c.value.replace(/^\s*(\d+)/, (_m, n) => String(Number(n) + 1));
    req.headers.push({ name: res.status === 407 ? "Proxy-Authorization" : "Authorization", value });
    fork.authed = true;
    fork.request = req;
    fork.state = "calling";
    try {
      send(fork);
    } catch (e) {
      o.log.warn("resending a challenged trunk INVITE failed", { call: callId, error: (e as Error).message });
      return false;
    }
    o.log.info("outbound leg answered a trunk challenge", {
      call: callId,
      trunk: trunk!.trunk,
      status: res.status,
    });
    return true;
  };
  for (const b of targets) {
    const p = peerOfBinding(b);
    const req = buildRequest({
      method: "INVITE",
      uri: b.contactUri,
      via: via(p),
      route: b.path ?? [],
      from,
      fromTag,
      to: trunk?.to ?? `<sip:${request.to}@${o.publicAddress}>`,
      callId,
      contact: contactFor(o, p.transport),
      headers: [
        ...(o.allow !== undefined ? [{ name: "Allow", value: o.allow() }] : []),
        { name: "User-Agent", value: "pbx-appliance" },
        ...(trunk?.headers ?? []),
        ...(request.headers ?? []),
      ],
      body: body.body,
      contentType: body.contentType,
    });
    const fork: Fork = { tx: undefined, request: req, peer: p, state: "calling" };
    forks.push(fork);
    try {
      send(fork);
    } catch (e) {
      o.log.warn("sending an outbound INVITE failed", { call: callId, error: e as Error });
      fork.state = "failed";
      fork.status = 503;
    }
  }
  if (forks.every((f) => f.state === "failed")) {
    fail(503, "Service Unavailable (no INVITE could be sent)");
  } else {
    timer = o.clock.setTimeout(() => {
      timer = undefined;
      if (state !== "ringing") return;
      cancelForks();
      fail(480, "No Answer", true);
    }, request.ringMs ?? o.noAnswerMs ?? 30_000);
  }
  o.log.info("outbound leg ringing", { call: callId, to: request.to, forks: forks.length, linked: linkedId });
  return {
    callId,
    leg,
    number: request.to,
    result,
    ended,
    get state() {
      return state;
    },
    codec: () => answered,
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    hangup(reason) {
      if (state === "ringing") {
        cancelForks();
        fail(487, reason ?? "Request Terminated");
      } else if (state === "answered") {
        if (dialog !== undefined && peer !== undefined) bye(dialog, peer);
        finish("system", { disposition: "answered", hangupBy: "system", sipCode: 200 });
      }
    },
  };
}
