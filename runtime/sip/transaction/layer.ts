import type { Clock } from "../../clock/mod.ts";
import type { Peer, SipMessage, SipRequest, SipResponse } from "../message/types.ts";
import { clientKey, serverKey } from "./_util.ts";
import { ClientTransaction, type ClientTransactionHandlers } from "./client.ts";
import { ServerTransaction } from "./server.ts";
import { DEFAULT_TIMERS, type TransactionTimers } from "./timers.ts";

/** The part of the transport layer the transaction layer needs. */
export interface TransactionTransport {
  /** Send a response, routed by its top Via (RFC 3261 section 18.2.2). */
  sendResponse(res: SipResponse): void | Promise<void>;
  /** Send a request to a peer (section 18.1.1). */
  sendRequest(req: SipRequest, target: Peer): void | Promise<void>;
}

/** Options for `TransactionLayer`. */
export interface TransactionLayerOptions {
  transport: TransactionTransport;
  clock: Clock;
  /**
   * A request for the TU. `tx` is the new server transaction, or undefined for an ACK that matched
   * no transaction (the ACK of a 2xx, section 17.2.3 and RFC 6026).
   */
  onRequest(req: SipRequest, tx: ServerTransaction | undefined, source: Peer): void;
  /** A response no client transaction claims, e.g. a 2xx retransmit after the INVITE tx ended. */
  onStrayResponse?(res: SipResponse, source: Peer): void;
  /** Timer values; RFC 3261 defaults for what is left out. */
  timers?: Partial<TransactionTimers>;
}

/**
 * The transaction layer (RFC 3261 section 17): matches every inbound message to a server or client
 * transaction through Maps keyed by branch, so matching is O(1) per message.
 */
export class TransactionLayer {
  #transport: TransactionTransport;
  #clock: Clock;
  #timers: TransactionTimers;
  #onRequest: TransactionLayerOptions["onRequest"];
  #onStray: TransactionLayerOptions["onStrayResponse"];
  #servers = new Map<string, ServerTransaction>();
  #clients = new Map<string, ClientTransaction>();

  constructor(options: TransactionLayerOptions) {
    this.#transport = options.transport;
    this.#clock = options.clock;
    this.#timers = { ...DEFAULT_TIMERS, ...options.timers };
    this.#onRequest = options.onRequest;
    this.#onStray = options.onStrayResponse;
  }

  /** Number of live server transactions. */
  get serverCount(): number {
    return this.#servers.size;
  }

  /** Number of live client transactions. */
  get clientCount(): number {
    return this.#clients.size;
  }

  /** Feed every inbound message here. */
  receive(msg: SipMessage, source: Peer): void {
    if (msg.type === "request") this.#receiveRequest(msg, source);
    else this.#receiveResponse(msg, source);
  }

  /**
   * Start a client transaction for `req` (which must carry a top Via with a branch) towards
   * `target`. Use `sendAck()` for the ACK of a 2xx, which is not a transaction.
   */
  sendRequest(req: SipRequest, target: Peer, handlers: ClientTransactionHandlers): ClientTransaction {
    if (req.method === "ACK") throw new TypeError("ACK is not sent in a client transaction; use sendAck()");
    const key = clientKey(req);
    if (key === undefined) {
      throw new TypeError(`${req.method} request needs a top Via with a branch and a CSeq`);
    }
    if (this.#clients.has(key)) {
      throw new RangeError(`client transaction ${JSON.stringify(key)} already exists`);
    }
    const tx = new ClientTransaction(req, {
      target,
      key,
      handlers,
      context: {
        clock: this.#clock,
        timers: this.#timers,
        sendRequest: (r, t) => this.#transport.sendRequest(r, t),
        startTransaction: (r, t, h) => this.sendRequest(r, t, h),
        release: (t) => {
          if (this.#clients.get(t.key) === t) this.#clients.delete(t.key);
        },
      },
    });
    this.#clients.set(key, tx);
    tx.start();
    return tx;
  }

  /** Send an ACK for a 2xx straight to the transport (RFC 3261 section 13.2.2.4: the TU owns it). */
  sendAck(ack: SipRequest, target: Peer): void | Promise<void> {
    return this.#transport.sendRequest(ack, target);
  }

  /** The INVITE server transaction a CANCEL targets (RFC 3261 section 9.2), if still alive. */
  findInviteForCancel(cancel: SipRequest): ServerTransaction | undefined {
    const key = serverKey(cancel, "INVITE");
    if (key === undefined) return undefined;
    const tx = this.#servers.get(key);
    return tx !== undefined && tx.isInvite ? tx : undefined;
  }

  /** Stop every transaction and timer without notifying anyone. */
  close(): void {
    for (const tx of this.#servers.values()) tx.dispose();
    for (const tx of this.#clients.values()) tx.dispose();
    this.#servers.clear();
    this.#clients.clear();
  }

  /** 17.2.3: retransmits and ACKs go to their transaction; other requests create one. */
  #receiveRequest(req: SipRequest, source: Peer): void {
    const key = serverKey(req);
    if (key === undefined) {
      // Without a usable Via no response could be routed; a stateless TU may still want to see it.
      if (req.method === "ACK") this.#onRequest(req, undefined, source);
      return;
    }
    const existing = this.#servers.get(key);
    if (existing !== undefined) {
      if (!existing.receive(req)) this.#onRequest(req, undefined, source);
      return;
    }
    if (req.method === "ACK") {
      this.#onRequest(req, undefined, source);
      return;
    }
    const tx = new ServerTransaction(req, {
      source,
      key,
      context: {
        clock: this.#clock,
        timers: this.#timers,
        sendResponse: (r) => this.#transport.sendResponse(r),
        release: (t) => {
          if (this.#servers.get(t.key) === t) this.#servers.delete(t.key);
        },
      },
    });
    this.#servers.set(key, tx);
    this.#onRequest(req, tx, source);
  }

  /** 17.1.3: branch plus CSeq method find the client transaction. */
  #receiveResponse(res: SipResponse, source: Peer): void {
    const key = clientKey(res);
    const tx = key === undefined ? undefined : this.#clients.get(key);
    if (tx !== undefined) tx.receive(res);
    else this.#onStray?.(res, source);
  }
}
