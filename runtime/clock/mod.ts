/**
 * An injectable clock, so that SIP timers, registration expiry and schedules can run in virtual
 * time in tests. `now()` is milliseconds on a monotonic scale for timers; `wallNow()` is the
 * Unix epoch in milliseconds for records.
 */

/** Opaque timer handle. */
export type TimerId = number;

/** The clock interface every timed component takes. */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Unix epoch milliseconds. */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}

/** The real clock. */
export const realClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as TimerId,
  clearTimeout: (id) => clearTimeout(id),
};

interface PendingTimer {
  id: TimerId;
  at: number;
  fn: () => void;
}

/** A clock that only moves when told to: `advance(ms)` fires due timers in order. */
export class VirtualClock implements Clock {
  #now = 0;
  #wallBase: number;
  #nextId = 1;
  #timers: PendingTimer[] = [];

  constructor(options: { wallStart?: number } = {}) {
    this.#wallBase = options.wallStart ?? Date.UTC(2026, 0, 1);
  }

  now(): number {
    return this.#now;
  }

  wallNow(): number {
    return this.#wallBase + this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerId {
    const id = this.#nextId++;
    this.#timers.push({ id, at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(id: TimerId): void {
    this.#timers = this.#timers.filter((t) => t.id !== id);
  }

  /** Number of timers still pending. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Move time forward by `ms`, firing every timer that falls due, earliest first. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: PendingTimer | undefined;
      for (const t of this.#timers) {
        if (
          t.at <= target && (next === undefined || t.at < next.at || (t.at === next.at && t.id < next.id))
        ) {
          next = t;
        }
      }
      if (next === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = next.at;
      next.fn();
    }
    this.#now = target;
  }
}
