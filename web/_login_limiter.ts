/**
 * Per-IP login throttle. An attempt is counted as a failure before the (slow) password check, so
 * a burst of parallel attempts cannot slip past the limit; a success clears the record.
 */
import type { Clock } from "../runtime/clock/mod.ts";

interface Entry {
  failures: number;
  windowStart: number;
  lockedUntil: number;
}

const MAX_ENTRIES = 10_000;

/** Tracks failed logins per key (client IP) and locks a key out after too many. */
export class LoginLimiter {
  #entries = new Map<string, Entry>();
  #clock: Clock;
  #max: number;
  #windowMs: number;
  #lockoutMs: number;

  constructor(clock: Clock, options: { maxFailures?: number; windowMs?: number; lockoutMs?: number } = {}) {
    this.#clock = clock;
    this.#max = options.maxFailures ?? 5;
    this.#windowMs = options.windowMs ?? 15 * 60_000;
    this.#lockoutMs = options.lockoutMs ?? 15 * 60_000;
  }

  /**
   * Register an attempt by `key`. Returns seconds to wait if locked out (the attempt must be
   * refused), else 0 and the attempt counts as a failure until `succeeded` is called.
   */
  begin(key: string): number {
    const now = this.#clock.now();
    let e = this.#entries.get(key);
    if (e !== undefined && e.lockedUntil > now) return Math.max(1, Math.ceil((e.lockedUntil - now) / 1000));
    if (e === undefined || now - e.windowStart > this.#windowMs) {
      e = { failures: 0, windowStart: now, lockedUntil: 0 };
      this.#prune(now);
      this.#entries.set(key, e);
    }
    e.failures++;
    if (e.failures >= this.#max) {
      e.lockedUntil = now + this.#lockoutMs;
      e.failures = 0;
      e.windowStart = now;
    }
    return 0;
  }

  /** The attempt by `key` succeeded: forget its failures. */
  succeeded(key: string): void {
    this.#entries.delete(key);
  }

  #prune(now: number): void {
    if (this.#entries.size < MAX_ENTRIES) return;
    for (const [k, e] of this.#entries) {
      if (e.lockedUntil <= now && now - e.windowStart > this.#windowMs) this.#entries.delete(k);
    }
    // Still full (an address-spraying attacker): drop the oldest records, never refuse to track.
    for (const k of this.#entries.keys()) {
      if (this.#entries.size < MAX_ENTRIES) break;
      this.#entries.delete(k);
    }
  }
}
