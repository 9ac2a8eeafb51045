import type { Clock } from "../../clock/mod.ts";
import { createResponse, getHeader, getHeaderValues } from "../message/mod.ts";
import type { Peer, SipHeader, SipRequest, SipResponse } from "../message/types.ts";
import { TimerSet } from "./_timers.ts";
import { cseqOf } from "./_util.ts";
import type { TransactionTimers } from "./timers.ts";

/** States of a client transaction (RFC 3261 figures 5 and 6, plus "accepted" from RFC 6026). */
export type ClientTransactionState =
  | "calling"
  | "trying"
  | "proceeding"
  | "accepted"
  | "completed"
  | "terminated";

/** What the TU learns from a client transaction. */
export interface ClientTransactionHandlers {
  /** Every response the TU must see (provisional, final, and 2xx retransmits for INVITE). */
  onResponse(res: SipResponse): void;
  /** Timer B or F fired (section 17.1.1.2 / 17.1.2.2). Without it the TU gets a local 408 instead. */
  onTimeout?(): void;
  /** The transport could not send (section 17.1.4). Without it the TU gets a local 503 instead. */
  onTransportError?(): void;
}

/** What the transaction layer hands a client transaction when creating it. */
export interface ClientTransactionContext {
  clock: Clock;
  timers: TransactionTimers;
  sendRequest(req: SipRequest, target: Peer): void | Promise<void>;
  /** Starts another client transaction (used for CANCEL). */
  startTransaction(req: SipRequest, target: Peer, handlers: ClientTransactionHandlers): ClientTransaction;
  /** Called once when the transaction terminates, so the layer can forget it. */
  release(tx: ClientTransaction): void;
}

type Event =
  | { kind: "response"; response: SipResponse }
  | { kind: "timer"; name: "A" | "B" | "D" | "E" | "F" | "K" | "M" };

/**
 * Build a CANCEL for an INVITE (RFC 3261 section 9.1): same Request-URI, Call-ID, From, To, CSeq
 * number and a single Via identical to the INVITE's top Via, so it matches the same transaction at
 * the next hop; Route headers are copied too.
 */
export function createCancel(invite: SipRequest): SipRequest {
  return derivedRequest(invite, "CANCEL", getHeader(invite, "To") ?? "");
}

/**
 * Build the ACK for a non-2xx final response to an INVITE (RFC 3261 section 17.1.1.3): the To header
 * comes from the response (carrying its tag), everything else from the INVITE.
 */
export function createNon2xxAck(invite: SipRequest, response: SipResponse): SipRequest {
  return derivedRequest(invite, "ACK", getHeader(response, "To") ?? getHeader(invite, "To") ?? "");
}

function derivedRequest(invite: SipRequest, method: string, to: string): SipRequest {
  const headers: SipHeader[] = [];
  const via = getHeaderValues(invite, "Via")[0];
  if (via !== undefined) headers.push({ name: "Via", value: via });
  headers.push({ name: "Max-Forwards", value: "70" });
  const from = getHeader(invite, "From");
  if (from !== undefined) headers.push({ name: "From", value: from });
  headers.push({ name: "To", value: to });
  const callId = getHeader(invite, "Call-ID");
  if (callId !== undefined) headers.push({ name: "Call-ID", value: callId });
  headers.push({ name: "CSeq", value: `${cseqOf(invite)?.seq ?? 0} ${method}` });
  for (const h of invite.headers) if (h.name === "Route") headers.push({ name: "Route", value: h.value });
  headers.push({ name: "Content-Length", value: "0" });
  return { type: "request", method, uri: invite.uri, headers, body: new Uint8Array(0) };
}

/**
 * A client transaction (RFC 3261 section 17.1). Created by `TransactionLayer.sendRequest()`; sends
 * and retransmits the request, matches responses and hands the TU what it needs. Each state is one
 * method handling every event in that state.
 */
export class ClientTransaction {
  /** The request being sent. */
  readonly request: SipRequest;
  /** Where it goes. */
  readonly target: Peer;
  /** The matching key (section 17.1.3). */
  readonly key: string;
  /** True for INVITE transactions (section 17.1.1), false for the rest (17.1.2). */
  readonly isInvite: boolean;
  /** Called once when the transaction reaches "terminated". */
  onTerminated: (() => void) | undefined;

  #ctx: ClientTransactionContext;
  #handlers: ClientTransactionHandlers;
  #timers: TimerSet;
  #state: ClientTransactionState;
  /** The current state's handler: a private method (shared by all transactions, nothing per instance). */
  #handle: (this: ClientTransaction, ev: Event) => void;
  #reliable: boolean;
  #interval = 0;
  #ack: SipRequest | undefined;
  #cancel: { handlers: ClientTransactionHandlers | undefined; reason: string | undefined } | undefined;
  #cancelSent = false;

  constructor(
    request: SipRequest,
    options: {
      target: Peer;
      key: string;
      handlers: ClientTransactionHandlers;
      context: ClientTransactionContext;
    },
  ) {
    this.request = request;
    this.target = options.target;
    this.key = options.key;
    this.#ctx = options.context;
    this.#handlers = options.handlers;
    this.#timers = new TimerSet(this.#ctx.clock);
    this.#reliable = options.target.transport !== "udp";
    this.isInvite = request.method === "INVITE";
    this.onTerminated = undefined;
    this.#state = this.isInvite ? "calling" : "trying";
    this.#handle = this.isInvite ? this.#inviteCalling : this.#nonInviteTrying;
  }

  /** Current state. */
  get state(): ClientTransactionState {
    return this.#state;
  }

  /** Send the request and start timers A/B (INVITE) or E/F (non-INVITE). Called by the layer. */
  start(): void {
    const t1 = this.#ctx.timers.t1;
    this.#interval = t1;
    if (this.isInvite) {
      // 17.1.1.2: Timer A only on unreliable transports, Timer B always.
      if (!this.#reliable) {
        this.#timers.set("A", t1, () => this.#handle.call(this, { kind: "timer", name: "A" }));
      }
      this.#timers.set("B", 64 * t1, () => this.#handle.call(this, { kind: "timer", name: "B" }));
    } else {
      // 17.1.2.2: Timer E only on unreliable transports, Timer F always.
      if (!this.#reliable) {
        this.#timers.set("E", t1, () => this.#handle.call(this, { kind: "timer", name: "E" }));
      }
      this.#timers.set("F", 64 * t1, () => this.#handle.call(this, { kind: "timer", name: "F" }));
    }
    this.#send(this.request);
  }

  /** Feed a response that matched this transaction. Called by the layer. */
  receive(res: SipResponse): void {
    this.#handle.call(this, { kind: "response", response: res });
  }

  /**
   * Cancel a pending INVITE (RFC 3261 section 9.1). The CANCEL goes out once a provisional response
   * has arrived (at once if one has); nothing is sent if a final response arrives first. No-op for
   * non-INVITE transactions and repeated calls. `reason` becomes the CANCEL's Reason header
   * (RFC 3326), e.g. `SIP;cause=200;text="Call completed elsewhere"`.
   */
  cancel(handlers?: ClientTransactionHandlers, reason?: string): void {
    if (!this.isInvite || this.#cancel !== undefined) return;
    if (this.#state !== "calling" && this.#state !== "proceeding") return;
    this.#cancel = { handlers, reason };
    if (this.#state === "proceeding") this.#sendCancel();
  }

  /** Stop all timers and terminate without notifying the TU (used when the layer shuts down). */
  dispose(): void {
    this.#timers.clearAll();
    this.#state = "terminated";
    this.#handle = this.#terminated;
  }

  // --- INVITE client transaction, section 17.1.1 -------------------------------------------------

  /** 17.1.1.2 "Calling": retransmit on Timer A (doubling), time out on Timer B. */
  #inviteCalling(ev: Event): void {
    if (ev.kind === "timer") {
      if (ev.name === "A") {
        this.#interval *= 2;
        this.#timers.set("A", this.#interval, () => this.#handle.call(this, { kind: "timer", name: "A" }));
        this.#send(this.request);
      } else if (ev.name === "B") {
        this.#timeout();
      }
      return;
    }
    this.#inviteResponse(ev.response);
  }

  /** 17.1.1.2 "Proceeding": no more retransmissions; provisional responses go to the TU. */
  #inviteProceeding(ev: Event): void {
    if (ev.kind === "response") this.#inviteResponse(ev.response);
  }

  #inviteResponse(res: SipResponse): void {
    if (res.status < 200) {
      if (this.#state === "calling") {
        this.#timers.clear("A");
        this.#timers.clear("B");
        this.#go("proceeding", this.#inviteProceeding);
        if (this.#cancel !== undefined) this.#sendCancel();
      }
      this.#handlers.onResponse(res);
    } else if (res.status < 300) {
      // RFC 6026 section 8.4: "Accepted" keeps the transaction so 2xx retransmits reach the TU.
      this.#timers.clearAll();
      this.#go("accepted", this.#inviteAccepted);
      this.#timers.set(
        "M",
        64 * this.#ctx.timers.t1,
        () => this.#handle.call(this, { kind: "timer", name: "M" }),
      );
      this.#handlers.onResponse(res);
    } else {
      // 17.1.1.3: ACK the non-2xx final response ourselves, then wait Timer D for retransmits.
      this.#timers.clearAll();
      this.#go("completed", this.#inviteCompleted);
      this.#ack = createNon2xxAck(this.request, res);
      this.#sendAck(this.#ack);
      if (this.#reliable) this.#terminate();
      else {this.#timers.set("D", this.#ctx.timers.timerD, () =>
          this.#handle.call(this, { kind: "timer", name: "D" }));}
      this.#handlers.onResponse(res);
    }
  }

  /** RFC 6026 section 7.2 "Accepted": further 2xx (retransmits, forks) go to the TU until Timer M. */
  #inviteAccepted(ev: Event): void {
    if (ev.kind === "response") {
      if (ev.response.status >= 200 && ev.response.status < 300) this.#handlers.onResponse(ev.response);
    } else if (ev.name === "M") {
      this.#terminate();
    }
  }

  /** 17.1.1.2 "Completed": answer retransmitted final responses with the same ACK until Timer D. */
  #inviteCompleted(ev: Event): void {
    if (ev.kind === "response") {
      if (ev.response.status >= 300 && this.#ack !== undefined) this.#sendAck(this.#ack);
    } else if (ev.name === "D") {
      this.#terminate();
    }
  }

  // --- non-INVITE client transaction, section 17.1.2 ---------------------------------------------

  /** 17.1.2.2 "Trying": retransmit on Timer E doubling up to T2, time out on Timer F. */
  #nonInviteTrying(ev: Event): void {
    if (ev.kind === "timer") {
      return this.#nonInviteTimer(ev.name, Math.min(2 * this.#interval, this.#ctx.timers.t2));
    }
    this.#nonInviteResponse(ev.response);
  }

  /** 17.1.2.2 "Proceeding": retransmit every T2 on Timer E, time out on Timer F. */
  #nonInviteProceeding(ev: Event): void {
    if (ev.kind === "timer") return this.#nonInviteTimer(ev.name, this.#ctx.timers.t2);
    this.#nonInviteResponse(ev.response);
  }

  /** 17.1.2.2 "Completed": absorb retransmitted responses until Timer K. */
  #nonInviteCompleted(ev: Event): void {
    if (ev.kind === "timer" && ev.name === "K") this.#terminate();
  }

  #nonInviteTimer(name: string, next: number): void {
    if (name === "E") {
      this.#interval = next;
      this.#timers.set("E", next, () => this.#handle.call(this, { kind: "timer", name: "E" }));
      this.#send(this.request);
    } else if (name === "F") {
      this.#timeout();
    }
  }

  #nonInviteResponse(res: SipResponse): void {
    if (res.status < 200) {
      if (this.#state === "trying") this.#go("proceeding", this.#nonInviteProceeding);
    } else {
      this.#timers.clearAll();
      this.#go("completed", this.#nonInviteCompleted);
      if (this.#reliable) this.#terminate();
      else {this.#timers.set("K", this.#ctx.timers.t4, () =>
          this.#handle.call(this, { kind: "timer", name: "K" }));}
    }
    this.#handlers.onResponse(res);
  }

  /** "Terminated": everything is ignored. */
  #terminated(_ev: Event): void {}

  // --- helpers ------------------------------------------------------------------------------------

  #sendCancel(): void {
    if (this.#cancelSent || this.#cancel === undefined) return;
    this.#cancelSent = true;
    const handlers = this.#cancel.handlers ??
      { onResponse: () => {}, onTimeout: () => {}, onTransportError: () => {} };
    const cancel = createCancel(this.request);
    if (this.#cancel.reason !== undefined) {
      cancel.headers.splice(cancel.headers.length - 1, 0, { name: "Reason", value: this.#cancel.reason });
    }
    this.#ctx.startTransaction(cancel, this.target, handlers);
  }

  #go(state: ClientTransactionState, handler: (this: ClientTransaction, ev: Event) => void): void {
    this.#state = state;
    this.#handle = handler;
  }

  #send(req: SipRequest): void {
    try {
      const r = this.#ctx.sendRequest(req, this.target);
      if (r instanceof Promise) r.catch(() => this.#transportError());
    } catch {
      this.#transportError();
    }
  }

  /** An ACK that fails to go out is not the TU's problem: the next retransmitted response retries it. */
  #sendAck(ack: SipRequest): void {
    try {
      const r = this.#ctx.sendRequest(ack, this.target);
      if (r instanceof Promise) r.catch(() => {});
    } catch {
      // see above
    }
  }

  /** 8.1.3.1: a timeout is treated as a 408 when the TU has no timeout handler. */
  #timeout(): void {
    if (this.#state === "terminated") return;
    this.#terminate();
    if (this.#handlers.onTimeout !== undefined) this.#handlers.onTimeout();
    else {this.#handlers.onResponse(
        createResponse(this.request, 408, { reason: "Request Timeout", toTag: null }),
      );}
  }

  /** 8.1.3.1: a transport failure is treated as a 503 when the TU has no handler for it. */
  #transportError(): void {
    if (this.#state === "terminated") return;
    this.#terminate();
    if (this.#handlers.onTransportError !== undefined) this.#handlers.onTransportError();
    else {this.#handlers.onResponse(
        createResponse(this.request, 503, { reason: "Service Unavailable", toTag: null }),
      );}
  }

  #terminate(): void {
    if (this.#state === "terminated") return;
    this.#timers.clearAll();
    this.#go("terminated", this.#terminated);
    this.#ctx.release(this);
    this.onTerminated?.();
  }
}
