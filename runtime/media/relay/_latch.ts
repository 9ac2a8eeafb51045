/**
 * Symmetric RTP source latching (comedia) with hijack protection ("RTP bleed"). Pure logic over an
 * explicit `nowMs` so it is testable without sockets or timers.
 *
 * A latch is *open* (a relatch window) when created and after {@linkcode Latch.reset} (the
 * signalling gave a new remote address, or a re-INVITE asked to learn the source again). While
 * open, the first packet latches, a packet from the SDP address takes over at once (and closes the
 * window: the signalled source is confirmed), and another source takes over after `packets`
 * consecutive packets of one new SSRC or after the latched source was silent `silenceMs`. The
 * window closes after `windowPackets` packets from the latched source or `windowMs` after the
 * first packet. Once closed, the latch is *locked*: only the latched source is accepted, except
 * that a phone behind NAT that rebinds may move when it keeps its SSRC and sends a sustained stream
 * from the new address (`rebindPackets` consecutive packets over at least `rebindMs`, the old
 * source silent all that time). A burst, a new SSRC, or a `strict` latch (SRTP legs) never moves a
 * locked latch; only the signalling does (reset).
 *
 * Allocation-free per packet: candidate state lives in plain fields and a Float64Array (an SSRC
 * above 2^31 stored in a field would box a number per packet).
 */

/** Latching tunables. */
export interface LatchOptions {
  /** In the relatch window, a new source may take over after the latched one was silent this long (ms). Default 500. */
  silenceMs?: number;
  /**
   * In the relatch window, a new source takes over after this many consecutive packets of one SSRC
   * different from the latched one, with no packet from the latched source in between. Default 5.
   */
  packets?: number;
  /** The relatch window closes after this many packets from the latched source. Default 10. */
  windowPackets?: number;
  /** ...or this long after the first packet of the window (ms). Default 2000. */
  windowMs?: number;
  /** Locked: a NAT rebind needs this many consecutive packets with the latched SSRC from the new source. Default 10. */
  rebindPackets?: number;
  /** ...spread over at least this long (ms), the latched source silent meanwhile. Default 200. */
  rebindMs?: number;
  /** Locked means locked: no rebind at all, only a reset moves the latch (SRTP legs). Default false. */
  strict?: boolean;
}

/** What offer() decided about one packet. */
export type LatchDecision = "latched" | "accepted" | "relatched" | "rejected";

const CAND_SSRC = 0;
const CAND_FIRST = 1;
const CAND_COUNT = 2;
const WINDOW_START = 3;
/** Marks "no SSRC" in the Float64Array (SSRCs are 0..2^32-1). */
const NO_SSRC = -1;

/** Tracks the source address a leg sends to. */
export class Latch {
  address: string | null = null;
  port = 0;
  ssrc: number | null = null;
  lastMs = 0;
  /** True while the relatch window is open (see the module doc). */
  open = true;
  /** Locked latch: no rebind without signalling. */
  strict: boolean;
  readonly #silenceMs: number;
  readonly #packets: number;
  readonly #windowPackets: number;
  readonly #windowMs: number;
  readonly #rebindPackets: number;
  readonly #rebindMs: number;
  /** Packets accepted from the latched source since the window opened. */
  #windowCount = 0;
  #expectAddress: string | null = null;
  #expectPort = 0;
  #candAddress: string | null = null;
  #candPort = 0;
  /** CAND_SSRC, CAND_FIRST (ms), CAND_COUNT, WINDOW_START (ms, -1 before the first packet). */
  readonly #num = new Float64Array(4);

  constructor(options: LatchOptions = {}) {
    this.#silenceMs = options.silenceMs ?? 500;
    this.#packets = options.packets ?? 5;
    this.#windowPackets = options.windowPackets ?? 10;
    this.#windowMs = options.windowMs ?? 2000;
    this.#rebindPackets = options.rebindPackets ?? 10;
    this.#rebindMs = options.rebindMs ?? 200;
    this.strict = options.strict ?? false;
    this.#num[WINDOW_START] = -1;
  }

  /**
   * Forget the latched source and open a relatch window (the remote SDP address changed, or a
   * re-INVITE). `expected` is the address the signalling names: a packet from it wins the window.
   */
  reset(expected?: { address: string; port: number } | null): void {
    this.address = null;
    this.port = 0;
    this.ssrc = null;
    this.open = true;
    this.#windowCount = 0;
    this.#num[WINDOW_START] = -1;
    this.#expectAddress = expected?.address ?? null;
    this.#expectPort = expected?.port ?? 0;
    this.#candAddress = null;
  }

  /** Decide whether a packet from `address:port` carrying `ssrc` is accepted, latching as needed. */
  offer(address: string, port: number, ssrc: number | null, nowMs: number): LatchDecision {
    const num = this.#num;
    if (this.address === null) {
      num[WINDOW_START] = nowMs;
      this.#take(address, port, ssrc, nowMs);
      this.#countWindow(address, port, nowMs);
      return "latched";
    }
    if (address === this.address && port === this.port) {
      this.lastMs = nowMs;
      // Written only on change: storing an SSRC above 2^31 boxes a new number (per packet).
      if (ssrc !== this.ssrc) this.ssrc = ssrc;
      this.#candAddress = null; // the real source is alive: a competing candidate starts over
      if (this.open) this.#countWindow(address, port, nowMs);
      return "accepted";
    }
    if (this.open && nowMs - num[WINDOW_START]! >= this.#windowMs) this.open = false;
    if (this.open) {
      if (address === this.#expectAddress && port === this.#expectPort) {
        this.#take(address, port, ssrc, nowMs);
        this.open = false; // the signalled source: confirmed
        return "relatched";
      }
      if (nowMs - this.lastMs >= this.#silenceMs) {
        this.#take(address, port, ssrc, nowMs);
        this.#countWindow(address, port, nowMs);
        return "relatched";
      }
      if (ssrc !== this.ssrc && this.#candidate(address, port, ssrc, nowMs) >= this.#packets) {
        this.#take(address, port, ssrc, nowMs);
        this.#countWindow(address, port, nowMs);
        return "relatched";
      }
      return "rejected";
    }
    // Locked: only a NAT rebind of the same stream, sustained, the latched source silent.
    if (this.strict || ssrc === null || ssrc !== this.ssrc) return "rejected";
    const n = this.#candidate(address, port, ssrc, nowMs);
    if (
      n >= this.#rebindPackets && nowMs - num[CAND_FIRST]! >= this.#rebindMs &&
      this.lastMs <= num[CAND_FIRST]!
    ) {
      this.#take(address, port, ssrc, nowMs);
      return "relatched";
    }
    return "rejected";
  }

  /** Count a packet for the candidate source; a different candidate starts over. Returns the count. */
  #candidate(address: string, port: number, ssrc: number | null, nowMs: number): number {
    const num = this.#num;
    const s = ssrc ?? NO_SSRC;
    if (this.#candAddress === address && this.#candPort === port && num[CAND_SSRC] === s) {
      return ++num[CAND_COUNT]!;
    }
    this.#candAddress = address;
    this.#candPort = port;
    num[CAND_SSRC] = s;
    num[CAND_FIRST] = nowMs;
    num[CAND_COUNT] = 1;
    return 1;
  }

  #countWindow(address: string, port: number, nowMs: number): void {
    if (address === this.#expectAddress && port === this.#expectPort) this.open = false;
    else if (++this.#windowCount >= this.#windowPackets) this.open = false;
    else if (nowMs - this.#num[WINDOW_START]! >= this.#windowMs) this.open = false;
  }

  #take(address: string, port: number, ssrc: number | null, nowMs: number): void {
    this.address = address;
    this.port = port;
    this.ssrc = ssrc;
    this.lastMs = nowMs;
    this.#candAddress = null;
  }
}
