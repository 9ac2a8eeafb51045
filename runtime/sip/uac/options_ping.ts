/**
 * OPTIONS keepalive toward a trunk (RFC 3261 11): any final response means the peer is up (a 404
 * or 405 still proves a SIP stack answered); a timeout or a transport failure means down. One
 * request at a time, every `intervalMs`.
 * @module
 */
import type { Clock, TimerId } from "../../clock/mod.ts";
import type { Peer } from "../message/types.ts";
import { formatVia } from "../message/mod.ts";
import { newBranch, newCallId, newTag } from "../transaction/mod.ts";
import type { ViaAddress } from "../dialog/mod.ts";
import type { RegistrationTransport } from "./registration.ts";

/** A peer's reachability as the keepalive sees it. */
export interface PingState {
  status: "unknown" | "up" | "down";
  /** The last final status (408 timeout, 503 transport failure). */
  lastStatus?: number;
  /** Wall-clock ms of the last answer or failure. */
  at?: number;
}

/** Options of {@link OptionsPinger}. */
export interface OptionsPingerOptions {
  transactions: RegistrationTransport;
  clock: Clock;
  peer: Peer;
  /** Request-URI: `sip:carrier.example`. */
  uri: string;
  via: ViaAddress;
  /** From URI (the box as the trunk knows it). */
  from: string;
  intervalMs: number;
  onState?: (state: PingState) => void;
}

/** Sends OPTIONS every interval and reports up/down changes. */
export class OptionsPinger {
  #o: OptionsPingerOptions;
  #timer: TimerId | undefined;
  #stopped = true;
  #state: PingState = { status: "unknown" };
  #cseq = 0;
  #callId = newCallId();

  constructor(options: OptionsPingerOptions) {
    if (!(options.intervalMs >= 1000)) {
      throw new RangeError(`keepalive interval must be >= 1 s, got ${options.intervalMs} ms`);
    }
    this.#o = options;
  }

  get state(): PingState {
    return { ...this.#state };
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#ping();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #report(status: "up" | "down", lastStatus: number): void {
    if (this.#stopped) return;
    const changed = this.#state.status !== status || this.#state.lastStatus !== lastStatus;
    this.#state = { status, lastStatus, at: this.#o.clock.wallNow() };
    if (changed) this.#o.onState?.({ ...this.#state });
    this.#timer = this.#o.clock.setTimeout(() => this.#ping(), this.#o.intervalMs);
  }

  #ping(): void {
    if (this.#stopped) return;
    const o = this.#o;
    const req = {
      type: "request" as const,
      method: "OPTIONS",
      uri: o.uri,
      headers: [
        {
          name: "Via",
          value: formatVia({
            protocol: "SIP/2.0",
            transport: o.via.transport.toUpperCase(),
            host: o.via.host,
            port: o.via.port,
            params: new Map<string, string | null>([["branch", newBranch()], ["rport", null]]),
          }),
        },
        { name: "Max-Forwards", value: "70" },
        { name: "From", value: `<${o.from}>;tag=${newTag()}` },
        { name: "To", value: `<${o.uri}>` },
        { name: "Call-ID", value: this.#callId },
        { name: "CSeq", value: `${++this.#cseq} OPTIONS` },
        { name: "Accept", value: "application/sdp" },
      ],
      body: new Uint8Array(0),
    };
    try {
      o.transactions.sendRequest(req, o.peer, {
        onResponse: (res) => {
          if (res.status >= 200) this.#report("up", res.status);
        },
        onTimeout: () => this.#report("down", 408),
        onTransportError: () => this.#report("down", 503),
      });
    } catch {
      this.#report("down", 503);
    }
  }
}
