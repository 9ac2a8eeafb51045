import type { Clock } from "../../clock/mod.ts";
import { createResponse } from "../message/mod.ts";
import type { Peer, SipRequest, SipResponse } from "../message/types.ts";
import { TimerSet } from "./_timers.ts";
import type { TransactionTimers } from "./timers.ts";

/** States of a server transaction (RFC 3261 figures 7 and 8, plus "accepted" from RFC 6026). */
export type ServerTransactionState =
  | "trying"
  | "proceeding"
  | "accepted"
  | "completed"
  | "confirmed"
  | "terminated";

/** What the transaction layer hands a server transaction when creating it. */
export interface ServerTransactionContext {
  clock: Clock;
  timers: TransactionTimers;
  sendResponse(res: SipResponse): void | Promise<void>;
  /** Called once when the transaction terminates, so the layer can forget it. */
  release(tx: ServerTransaction): void;
}

type Event =
  | { kind: "request"; request: SipRequest }
  | { kind: "respond"; response: SipResponse }
  | { kind: "timer"; name: "trying" | "G" | "H" | "I" | "J" | "L" };

/**
 * A server transaction (RFC 3261 section 17.2). Created by the `TransactionLayer` for each new
 * request other than ACK; the TU answers with `respond()`. Retransmitted requests are absorbed here
 * and the last response is resent. Each state is one method handling every event in that state.
 */
export class ServerTransaction {
  /** The request that created the transaction. */
  readonly request: SipRequest;
  /** Where the request came from. */
  readonly source: Peer;
  /** The matching key (section 17.2.3). */
  readonly key: string;
  /** True for INVITE transactions (section 17.2.1), false for the rest (17.2.2). */
  readonly isInvite: boolean;
  /** Called once when the transaction reaches "terminated". */
  onTerminated: (() => void) | undefined;
  /**
   * Called when the transaction gives up: Timer H fired without an ACK for a final INVITE response,
   * or the transport failed to send (section 17.2.4). The transaction is terminated afterwards.
   */
  onTransportError: ((reason: "timeout" | "transport") => void) | undefined;

  #ctx: ServerTransactionContext;
  #timers: TimerSet;
  #state: ServerTransactionState;
  /** The current state's handler: a private method (shared by all transactions, nothing per instance). */
  #handle: (this: ServerTransaction, ev: Event) => void;
  #last: SipResponse | undefined;
  #reliable: boolean;
  #intervalG = 0;

  constructor(
    request: SipRequest,
    options: { source: Peer; key: string; context: ServerTransactionContext },
  ) {
    this.request = request;
    this.source = options.source;
    this.key = options.key;
    this.#ctx = options.context;
    this.#timers = new TimerSet(this.#ctx.clock);
    this.#reliable = options.source.transport !== "udp";
    this.isInvite = request.method === "INVITE";
    this.onTerminated = undefined;
    this.onTransportError = undefined;
    if (this.isInvite) {
      this.#state = "proceeding";
      this.#handle = this.#inviteProceeding;
      // 17.2.1: send 100 Trying ourselves if the TU stays silent for 200 ms.
      this.#timers.set(
        "trying",
        this.#ctx.timers.trying,
        () => this.#handle.call(this, { kind: "timer", name: "trying" }),
      );
    } else {
      this.#state = "trying";
      this.#handle = this.#nonInviteTrying;
    }
  }

  /** Current state. */
  get state(): ServerTransactionState {
    return this.#state;
  }

  /** The last response kept for retransmission, if any (none once accepted or terminated). */
  get lastResponse(): SipResponse | undefined {
    return this.#last;
  }

  /** Send a response from the TU. Responses after a final response (other than 2xx to INVITE) are ignored. */
  respond(res: SipResponse): void {
    this.#handle.call(this, { kind: "respond", response: res });
  }

  /**
   * Feed a request that matched this transaction (a retransmission, or the ACK of an INVITE).
   * Returns false when the request must go on to the TU: an ACK matching an INVITE transaction
   * that sent a 2xx (RFC 6026 section 7.1).
   */
  receive(request: SipRequest): boolean {
    if (this.#state === "accepted" && request.method === "ACK") return false;
    this.#handle.call(this, { kind: "request", request });
    return true;
  }

  /** Stop all timers and terminate without notifying the TU (used when the layer shuts down). */
  dispose(): void {
    this.#timers.clearAll();
    this.#state = "terminated";
    this.#handle = this.#terminated;
  }

  // --- INVITE server transaction, section 17.2.1 -------------------------------------------------

  /** 17.2.1 "Proceeding": retransmissions get the last provisional; the TU's responses go out. */
  #inviteProceeding(ev: Event): void {
    if (ev.kind === "request") {
      if (ev.request.method === "INVITE" && this.#last !== undefined) this.#send(this.#last);
    } else if (ev.kind === "timer") {
      if (ev.name === "trying" && this.#last === undefined) {
        this.#last = createResponse(this.request, 100);
        this.#send(this.#last);
      }
    } else {
      const status = ev.response.status;
      this.#timers.clear("trying");
      this.#last = ev.response;
      if (status < 200) {
        this.#send(ev.response);
      } else if (status < 300) {
        // RFC 6026 section 8.5: go to "accepted" instead of terminating, absorbing INVITE retransmits.
        // Nothing is resent from this state, so the 2xx (and its SDP) is not kept for 32 s.
        this.#last = undefined;
        this.#go("accepted", this.#inviteAccepted);
        this.#timers.set(
          "L",
          64 * this.#ctx.timers.t1,
          () => this.#handle.call(this, { kind: "timer", name: "L" }),
        );
        this.#send(ev.response);
      } else {
        this.#go("completed", this.#inviteCompleted);
        if (!this.#reliable) {
          this.#intervalG = this.#ctx.timers.t1;
          this.#timers.set("G", this.#intervalG, () => this.#handle.call(this, { kind: "timer", name: "G" }));
        }
        this.#timers.set(
          "H",
          64 * this.#ctx.timers.t1,
          () => this.#handle.call(this, { kind: "timer", name: "H" }),
        );
        this.#send(ev.response);
      }
    }
  }

  /** RFC 6026 section 7.1 "Accepted": INVITE retransmits absorbed, the TU's 2xx retransmits pass. */
  #inviteAccepted(ev: Event): void {
    if (ev.kind === "respond") {
      if (ev.response.status >= 200 && ev.response.status < 300) {
        this.#send(ev.response);
      }
    } else if (ev.kind === "timer" && ev.name === "L") {
      this.#terminate();
    }
  }

  /** 17.2.1 "Completed": resend the final response on retransmits and Timer G; ACK confirms. */
  #inviteCompleted(ev: Event): void {
    if (ev.kind === "request") {
      if (ev.request.method === "ACK") {
        this.#timers.clear("G");
        this.#timers.clear("H");
        if (this.#reliable) return this.#terminate();
        this.#go("confirmed", this.#inviteConfirmed);
        this.#timers.set(
          "I",
          this.#ctx.timers.t4,
          () => this.#handle.call(this, { kind: "timer", name: "I" }),
        );
      } else if (this.#last !== undefined) {
        this.#send(this.#last);
      }
    } else if (ev.kind === "timer") {
      if (ev.name === "G" && this.#last !== undefined) {
        this.#intervalG = Math.min(2 * this.#intervalG, this.#ctx.timers.t2);
        this.#timers.set("G", this.#intervalG, () => this.#handle.call(this, { kind: "timer", name: "G" }));
        this.#send(this.#last);
      } else if (ev.name === "H") {
        this.#fail("timeout");
      }
    }
  }

  /** 17.2.1 "Confirmed": absorb further ACKs until Timer I. */
  #inviteConfirmed(ev: Event): void {
    if (ev.kind === "timer" && ev.name === "I") this.#terminate();
  }

  // --- non-INVITE server transaction, section 17.2.2 ---------------------------------------------

  /** 17.2.2 "Trying": retransmits are absorbed silently until the TU answers. */
  #nonInviteTrying(ev: Event): void {
    if (ev.kind === "respond") this.#nonInviteRespond(ev.response);
  }

  /** 17.2.2 "Proceeding": retransmits get the last provisional response. */
  #nonInviteProceeding(ev: Event): void {
    if (ev.kind === "request") {
      if (this.#last !== undefined) this.#send(this.#last);
    } else if (ev.kind === "respond") {
      this.#nonInviteRespond(ev.response);
    }
  }

  /** 17.2.2 "Completed": retransmits get the final response until Timer J. */
  #nonInviteCompleted(ev: Event): void {
    if (ev.kind === "request") {
      if (this.#last !== undefined) this.#send(this.#last);
    } else if (ev.kind === "timer" && ev.name === "J") {
      this.#terminate();
    }
  }

  #nonInviteRespond(res: SipResponse): void {
    this.#last = res;
    if (res.status < 200) {
      if (this.#state === "trying") this.#go("proceeding", this.#nonInviteProceeding);
      this.#send(res);
      return;
    }
    this.#go("completed", this.#nonInviteCompleted);
    const j = this.#reliable ? 0 : 64 * this.#ctx.timers.t1;
    this.#send(res);
    if (this.#state !== "completed") return; // the send failed synchronously
    if (j === 0) this.#terminate();
    else this.#timers.set("J", j, () => this.#handle.call(this, { kind: "timer", name: "J" }));
  }

  /** "Terminated": everything is ignored. */
  #terminated(_ev: Event): void {}

  // --- helpers ------------------------------------------------------------------------------------

  #go(state: ServerTransactionState, handler: (this: ServerTransaction, ev: Event) => void): void {
    this.#state = state;
    this.#handle = handler;
  }

  #send(res: SipResponse): void {
    try {
      const r = this.#ctx.sendResponse(res);
      if (r instanceof Promise) r.catch(() => this.#fail("transport"));
    } catch {
      this.#fail("transport");
    }
  }

  #fail(reason: "timeout" | "transport"): void {
    if (this.#state === "terminated") return;
    this.#terminate();
    this.onTransportError?.(reason);
  }

  #terminate(): void {
    if (this.#state === "terminated") return;
    this.#timers.clearAll();
    this.#last = undefined;
    this.#go("terminated", this.#terminated);
    this.#ctx.release(this);
    this.onTerminated?.();
  }
}
