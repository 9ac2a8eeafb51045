/**
 * Brute-force protection for authentication: failures per key (a source address, or an extension)
 * slow responses down and then block the key for a while. Failures are counted in a short window
 * (a burst) and a long one (a slow guesser that stays under the burst limit).
 */

import type { Clock } from "../../clock/mod.ts";
import type { AuthResult } from "./authenticator.ts";

/** Options of {@link FailureLimiter}. */
export interface FailureLimiterOptions {
  clock: Clock;
  /** Failures are counted in windows of this length, default 60 000 ms. */
  windowMs?: number;
  /** From this many failures in a window, responses are delayed; default 5. */
  delayAfter?: number;
  /** At this many failures in a window, the address is blocked; default 20. */
  blockAfter?: number;
  /** Failures are also counted over this long window, default 3 600 000 ms (an hour). */
  longWindowMs?: number;
  /** At this many failures in the long window, the key is blocked; default 30 (Infinity: off). */
  longBlockAfter?: number;
  /**
   * Whether a success forgets the failures (default true: one phone behind an office NAT that
   * logs in fine clears its neighbours' count). False for per-extension counting, where the real
   * phone's successes must not hide an attacker's guesses.
   */
  successClears?: boolean;
  /** How long a block lasts, default 600 000 ms. */
  blockMs?: number;
  /** Delay added per failure past `delayAfter`, default 1000 ms. */
  delayStepMs?: number;
  /** Cap on the delay, default 5000 ms. */
  maxDelayMs?: number;
  /** Bound on tracked addresses, default 10 000. */
  maxEntries?: number;
}

/** What to do with the next request from an address. */
export interface LimiterVerdict {
  /** Drop or reject (403) without checking credentials. */
  blocked: boolean;
  /** Delay the response by this much (0: none). */
  delayMs: number;
}

/** One tracked key, for the admin API. */
export interface LimiterEntry {
  /** The key: a source address or an extension. */
  ip: string;
  /** Failures in the current long window. */
  failures: number;
  blocked: boolean;
  /** Unix epoch ms when the block ends (only when blocked). */
  blockedUntil?: number;
  /** Unix epoch ms of the last failure. */
  lastFailureAt: number;
  /** Delay currently applied to this address. */
  delayMs: number;
}

interface Entry {
  failures: number;
  windowStart: number;
  longFailures: number;
  longStart: number;
  blockedUntil: number;
  lastFailure: number;
  lastFailureWall: number;
}

/**
 * Whether an authentication result should count against the source: `missing` (the normal first
 * request) and `stale` (an honest client with an old nonce) do not.
 */
export function countsAsFailure(result: AuthResult): boolean {
  return !result.ok && result.reason !== "missing" && result.reason !== "stale";
}

/**
 * Counts authentication failures per source IP. A success clears the count (not an active block),
 * so one misconfigured phone behind an office NAT does not lock out its neighbours.
 */
export class FailureLimiter {
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #delayAfter: number;
  readonly #blockAfter: number;
  readonly #blockMs: number;
  readonly #longWindowMs: number;
  readonly #longBlockAfter: number;
  readonly #successClears: boolean;
  readonly #delayStepMs: number;
  readonly #maxDelayMs: number;
  readonly #maxEntries: number;
  // Insertion order is kept as least-recently-failed first, for eviction.
  readonly #entries = new Map<string, Entry>();

  constructor(options: FailureLimiterOptions) {
    this.#clock = options.clock;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#delayAfter = options.delayAfter ?? 5;
    this.#blockAfter = options.blockAfter ?? 20;
    this.#blockMs = options.blockMs ?? 600_000;
    this.#longWindowMs = options.longWindowMs ?? 3_600_000;
    this.#longBlockAfter = options.longBlockAfter ?? 30;
    this.#successClears = options.successClears ?? true;
    this.#delayStepMs = options.delayStepMs ?? 1000;
    this.#maxDelayMs = options.maxDelayMs ?? 5000;
    this.#maxEntries = options.maxEntries ?? 10_000;
    if (this.#maxEntries < 1) throw new RangeError(`maxEntries must be at least 1, got ${this.#maxEntries}`);
  }

  /** Record the outcome of an authentication attempt from `ip`. */
  record(ip: string, ok: boolean): void {
    const now = this.#clock.now();
    const entry = this.#entries.get(ip);
    if (ok) {
      if (this.#successClears && entry !== undefined && entry.blockedUntil <= now) this.#entries.delete(ip);
      return;
    }
    if (entry === undefined) {
      this.#makeRoom(now);
      this.#entries.set(ip, {
        failures: 1,
        windowStart: now,
        longFailures: 1,
        longStart: now,
        blockedUntil: 0,
        lastFailure: now,
        lastFailureWall: this.#clock.wallNow(),
      });
      this.#maybeBlock(this.#entries.get(ip)!, now);
      return;
    }
    if (entry.blockedUntil > now) {
      // Failures while blocked do not extend the block: spoofed UDP could otherwise keep a
      // victim's address blocked forever.
      return;
    }
    if (now - entry.windowStart >= this.#windowMs) {
      entry.failures = 0;
      entry.windowStart = now;
    }
    if (now - entry.longStart >= this.#longWindowMs) {
      entry.longFailures = 0;
      entry.longStart = now;
    }
    entry.failures++;
    entry.longFailures++;
    entry.lastFailure = now;
    entry.lastFailureWall = this.#clock.wallNow();
    this.#entries.delete(ip);
    this.#entries.set(ip, entry);
    this.#maybeBlock(entry, now);
  }

  /** Should the next request from `ip` be refused or slowed down? */
  check(ip: string): LimiterVerdict {
    const entry = this.#entries.get(ip);
    if (entry === undefined) return { blocked: false, delayMs: 0 };
    const now = this.#clock.now();
    if (this.#expired(entry, now)) {
      this.#entries.delete(ip);
      return { blocked: false, delayMs: 0 };
    }
    if (entry.blockedUntil > now) return { blocked: true, delayMs: 0 };
    return { blocked: false, delayMs: this.#delayFor(entry, now) };
  }

  /** Lift a block and forget the failures of `ip` (admin action). Returns whether it was tracked. */
  unblock(ip: string): boolean {
    return this.#entries.delete(ip);
  }

  /** Every tracked address that still matters, most recent failure last. */
  list(): LimiterEntry[] {
    const now = this.#clock.now();
    const wall = this.#clock.wallNow();
    const out: LimiterEntry[] = [];
    for (const [ip, entry] of this.#entries) {
      if (this.#expired(entry, now)) {
        this.#entries.delete(ip);
        continue;
      }
      const blocked = entry.blockedUntil > now;
      const item: LimiterEntry = {
        ip,
        failures: entry.longFailures,
        blocked,
        lastFailureAt: entry.lastFailureWall,
        delayMs: blocked ? 0 : this.#delayFor(entry, now),
      };
      if (blocked) item.blockedUntil = wall + (entry.blockedUntil - now);
      out.push(item);
    }
    return out;
  }

  /** Is `ip` blocked right now? */
  isBlocked(ip: string): boolean {
    const entry = this.#entries.get(ip);
    return entry !== undefined && entry.blockedUntil > this.#clock.now();
  }

  /** Number of tracked addresses. */
  get size(): number {
    return this.#entries.size;
  }

  #maybeBlock(entry: Entry, now: number): void {
    if (entry.failures >= this.#blockAfter || entry.longFailures >= this.#longBlockAfter) {
      entry.blockedUntil = now + this.#blockMs;
    }
  }

  #delayFor(entry: Entry, now: number): number {
    if (now - entry.windowStart >= this.#windowMs) return 0;
    if (entry.failures < this.#delayAfter) return 0;
    return Math.min(this.#maxDelayMs, (entry.failures - this.#delayAfter + 1) * this.#delayStepMs);
  }

  #expired(entry: Entry, now: number): boolean {
    return entry.blockedUntil <= now && now - entry.windowStart >= this.#windowMs &&
      now - entry.longStart >= this.#longWindowMs;
  }

  #makeRoom(now: number): void {
    if (this.#entries.size < this.#maxEntries) return;
    for (const [ip, entry] of this.#entries) {
      if (this.#expired(entry, now)) this.#entries.delete(ip);
    }
    // Still full: forget the addresses that failed longest ago, unblocked ones first.
    for (const [ip, entry] of this.#entries) {
      if (this.#entries.size < this.#maxEntries) return;
      if (entry.blockedUntil <= now) this.#entries.delete(ip);
    }
    for (const ip of this.#entries.keys()) {
      if (this.#entries.size < this.#maxEntries) return;
      this.#entries.delete(ip);
    }
  }
}
