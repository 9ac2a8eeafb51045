/**
 * Symmetric RTP source latching (comedia), with hijack protection. Pure logic over an explicit
 * `nowMs` so it is testable without sockets or timers.
 */

/** Latching tunables. */
export interface LatchOptions {
  /** A new source may take over only after the latched one was silent this long (ms). Default 500. */
  silenceMs?: number;
  /**
   * ...or after it sent this many consecutive packets with an SSRC different from the latched
   * one, with no packet from the latched source in between. Default 5.
   */
  packets?: number;
}

/** What offer() decided about one packet. */
export type LatchDecision = "latched" | "accepted" | "relatched" | "rejected";

/** Tracks the source address a leg sends to. */
export class Latch {
  address: string | null = null;
  port = 0;
  ssrc: number | null = null;
  lastMs = 0;
  readonly #silenceMs: number;
  readonly #packets: number;
  #cand: { address: string; port: number; ssrc: number | null; count: number } | null = null;

  constructor(options: LatchOptions = {}) {
    this.#silenceMs = options.silenceMs ?? 500;
    this.#packets = options.packets ?? 5;
  }

  /** Forget the latched source (e.g. the remote SDP address changed). */
  reset(): void {
    this.address = null;
    this.port = 0;
    this.ssrc = null;
    this.#cand = null;
  }

  /** Decide whether a packet from `address:port` carrying `ssrc` is accepted, latching as needed. */
  offer(address: string, port: number, ssrc: number | null, nowMs: number): LatchDecision {
    if (this.address === null) {
      this.#take(address, port, ssrc, nowMs);
      return "latched";
    }
    if (address === this.address && port === this.port) {
      this.lastMs = nowMs;
      // Written only on change: storing an SSRC above 2^31 boxes a new number (per packet).
      if (ssrc !== this.ssrc) this.ssrc = ssrc;
      this.#cand = null; // the real source is alive: a competing candidate starts over
      return "accepted";
    }
    if (nowMs - this.lastMs >= this.#silenceMs) {
      this.#take(address, port, ssrc, nowMs);
      return "relatched";
    }
    if (ssrc !== this.ssrc) {
      const c = this.#cand;
      if (c !== null && c.address === address && c.port === port && c.ssrc === ssrc) c.count++;
      else this.#cand = { address, port, ssrc, count: 1 };
      if (this.#cand!.count >= this.#packets) {
        this.#take(address, port, ssrc, nowMs);
        return "relatched";
      }
    }
    return "rejected";
  }

  #take(address: string, port: number, ssrc: number | null, nowMs: number): void {
    this.address = address;
    this.port = port;
    this.ssrc = ssrc;
    this.lastMs = nowMs;
    this.#cand = null;
  }
}
