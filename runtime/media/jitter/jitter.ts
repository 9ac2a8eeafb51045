/**
 * Adaptive jitter buffer for one RTP stream. The owner pushes packets as they arrive and pops one
 * frame per frame interval from its playout clock; pop returns the packet to decode, "lost" when
 * the decoder should conceal (PLC), or undefined when there is nothing to play (silence).
 *
 * Playout follows sequence numbers (extended across wrap-around). The target delay follows the
 * RFC 3550 interarrival jitter estimate; it is applied when a talkspurt starts (marker bit, SSRC
 * change, or after the buffer ran dry), which is where silence can be stretched without cutting
 * speech. Clock drift is absorbed the same way: a sender running fast fills the buffer and a frame
 * is dropped once the queue has stayed well above target; a slow sender drains it and the gap is
 * concealed.
 */

/** One RTP packet as the jitter buffer needs it. */
export interface JitterPacket {
  seq: number;
  timestamp: number;
  marker?: boolean;
  ssrc?: number;
  payload: Uint8Array;
}

/** What push() did with a packet. */
export type PushResult = "queued" | "duplicate" | "late" | "reset";

/** Options for JitterBuffer. */
export interface JitterOptions {
  /** RTP clock rate; default 8000. */
  clockRate?: number;
  /** Frame duration in ms (pop interval); default 20. */
  frameMs?: number;
  /** Delay bounds in ms; defaults 20 and 400. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Starting target delay; default 60 ms. */
  initialDelayMs?: number;
  /** Maximum packets held; the oldest are dropped beyond it. Default 100. */
  maxPackets?: number;
  /** Consecutive empty pops concealed as "lost" before declaring the talkspurt over; default 5. */
  maxConcealFrames?: number;
}

interface Entry {
  ext: number; // extended sequence number
  arrival: number;
  pkt: JitterPacket;
}

/** Counters, for stats and tests. */
export interface JitterStats {
  received: number;
  played: number;
  lost: number;
  late: number;
  duplicate: number;
  dropped: number;
  resets: number;
}

/** See module doc. */
export class JitterBuffer {
  readonly clockRate: number;
  readonly frameMs: number;
  readonly #min: number;
  readonly #max: number;
  readonly #maxPackets: number;
  readonly #maxConceal: number;
  #target: number;
  #queue: Entry[] = []; // sorted by ext
  #ssrc: number | undefined;
  #highest = -1; // highest extended seq seen
  #next = -1; // extended seq to play next; -1 = not playing
  #waitStart = true; // waiting to (re)start a talkspurt
  #empty = 0; // consecutive empty pops
  #overTarget = 0; // consecutive pops with the queue well above target
  #jitter = 0; // RFC 3550 J, in ms
  #lastTransit: number | undefined;
  readonly stats: JitterStats = {
    received: 0,
    played: 0,
    lost: 0,
    late: 0,
    duplicate: 0,
    dropped: 0,
    resets: 0,
  };

  constructor(options: JitterOptions = {}) {
    this.clockRate = options.clockRate ?? 8000;
    this.frameMs = options.frameMs ?? 20;
    this.#min = options.minDelayMs ?? 20;
    this.#max = options.maxDelayMs ?? 400;
    if (!(this.clockRate > 0 && this.frameMs > 0 && this.#min >= 0 && this.#max >= this.#min)) {
      throw new RangeError(`bad jitter buffer options: ${JSON.stringify(options)}`);
    }
    this.#target = clamp(options.initialDelayMs ?? 60, this.#min, this.#max);
    this.#maxPackets = options.maxPackets ?? 100;
    this.#maxConceal = options.maxConcealFrames ?? 5;
  }

  /** Current target playout delay in ms. */
  get targetDelayMs(): number {
    return this.#target;
  }

  /** Smoothed interarrival jitter in ms. */
  get jitterMs(): number {
    return this.#jitter;
  }

  /** Packets currently held. */
  get size(): number {
    return this.#queue.length;
  }

  /** Add a packet that arrived at `arrivalMs` (same clock as pop's `nowMs`). */
  push(packet: JitterPacket, arrivalMs: number): PushResult {
    this.stats.received++;
    let result: PushResult = "queued";
    if (packet.ssrc !== undefined && this.#ssrc !== undefined && packet.ssrc !== this.#ssrc) {
      // A new source: its sequence space is unrelated, start over.
      this.#resetStream();
      result = "reset";
    }
    if (packet.ssrc !== undefined) this.#ssrc = packet.ssrc;
    const ext = this.#extend(packet.seq & 0xffff);
    if (this.#next >= 0 && ext < this.#next) {
      this.stats.late++;
      return "late";
    }
    // Insert keeping order; packets mostly arrive in order, so scan from the back.
    let i = this.#queue.length;
    while (i > 0 && this.#queue[i - 1]!.ext > ext) i--;
    if (i > 0 && this.#queue[i - 1]!.ext === ext) {
      this.stats.duplicate++;
      return "duplicate";
    }
    this.#queue.splice(i, 0, { ext, arrival: arrivalMs, pkt: packet });
    if (ext > this.#highest) this.#highest = ext;
    this.#updateJitter(packet.timestamp, arrivalMs);
    while (this.#queue.length > this.#maxPackets) {
      this.#queue.shift();
      this.stats.dropped++;
    }
    return result;
  }

  /** Next frame at playout time `nowMs`: a packet, "lost" (conceal), or undefined (nothing to play). */
  pop(nowMs: number): JitterPacket | "lost" | undefined {
    const head = this.#queue[0];
    if (this.#waitStart) {
      // Start (or restart) a talkspurt once its first packet has waited the target delay.
      if (head === undefined || nowMs - head.arrival < this.#target) return undefined;
      this.#waitStart = false;
      this.#next = head.ext;
      this.#empty = 0;
    } else if (head !== undefined && head.ext === this.#next && head.pkt.marker && this.#empty > 0) {
      // A new talkspurt after silence: hold it until it has waited the (new) target delay.
      if (nowMs - head.arrival < this.#target) return undefined;
    }
    if (head === undefined) {
      if (++this.#empty > this.#maxConceal) {
        this.#waitStart = true; // talkspurt over (or a long outage): rebuffer on the next packet
        return undefined;
      }
      this.stats.lost++;
      return "lost"; // keep #next: a late packet can still play, which grows the delay
    }
    this.#empty = 0;
    if (head.ext > this.#next) {
      this.#next++;
      this.stats.lost++;
      return "lost";
    }
    this.#queue.shift();
    this.#next = head.ext + 1;
    // Drift/over-buffering: if the queue stays two frames above target for a second, drop one frame.
    const queuedMs = this.#queue.length * this.frameMs;
    if (queuedMs > this.#target + 2 * this.frameMs) {
      if (++this.#overTarget >= 1000 / this.frameMs && this.#queue.length > 0) {
        this.#overTarget = 0;
        this.stats.dropped++;
        const skipped = this.#queue.shift()!;
        this.#next = skipped.ext + 1;
      }
    } else this.#overTarget = 0;
    this.stats.played++;
    return head.pkt;
  }

  /** Drop everything (e.g. on hold or re-INVITE). */
  reset(): void {
    this.#resetStream();
    this.#ssrc = undefined;
  }

  #resetStream(): void {
    this.#queue = [];
    this.#highest = -1;
    this.#next = -1;
    this.#waitStart = true;
    this.#empty = 0;
    this.#lastTransit = undefined;
    this.stats.resets++;
  }

  /** Extend a 16-bit sequence number to the cycle closest to the highest seen. */
  #extend(seq: number): number {
    if (this.#highest < 0) return seq + 65536; // start one cycle up so earlier packets stay positive
    const cycle = this.#highest - (this.#highest & 0xffff);
    let ext = cycle + seq;
    if (ext - this.#highest > 32768) ext -= 65536;
    else if (this.#highest - ext > 32768) ext += 65536;
    return ext;
  }

  #updateJitter(timestamp: number, arrivalMs: number): void {
    const transit = arrivalMs - (timestamp >>> 0) * 1000 / this.clockRate;
    if (this.#lastTransit !== undefined) {
      let d = Math.abs(transit - this.#lastTransit);
      // A timestamp jump (new talkspurt after DTX, sender restart) is not jitter.
      if (d > this.#max * 4) d = this.#jitter;
      this.#jitter += (d - this.#jitter) / 16;
      this.#target = clamp(this.frameMs + 3 * this.#jitter, this.#min, this.#max);
    }
    this.#lastTransit = transit;
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
