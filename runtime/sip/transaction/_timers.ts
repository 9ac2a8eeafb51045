import type { Clock, TimerId } from "../../clock/mod.ts";

/**
 * Named deadlines for one transaction behind a single clock timer, so a transaction with timers A
 * and B (or E and F) costs one pending timer instead of two.
 */
export class TimerSet {
  #clock: Clock;
  #deadlines = new Map<string, { at: number; fn: () => void }>();
  #armed: TimerId | undefined;
  #armedAt = Infinity;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** (Re)start the timer `name` to fire `fn` after `ms`. */
  set(name: string, ms: number, fn: () => void): void {
    this.#deadlines.set(name, { at: this.#clock.now() + ms, fn });
    this.#rearm();
  }

  /** Stop the timer `name` if running. */
  clear(name: string): void {
    if (this.#deadlines.delete(name)) this.#rearm();
  }

  /** Whether the timer `name` is running. */
  has(name: string): boolean {
    return this.#deadlines.has(name);
  }

  /** Stop every timer. */
  clearAll(): void {
    this.#deadlines.clear();
    this.#rearm();
  }

  #rearm(): void {
    let min = Infinity;
    for (const d of this.#deadlines.values()) if (d.at < min) min = d.at;
    if (min === this.#armedAt) return;
    if (this.#armed !== undefined) this.#clock.clearTimeout(this.#armed);
    this.#armed = undefined;
    this.#armedAt = min;
    if (min !== Infinity) {
      this.#armed = this.#clock.setTimeout(this.#fire, Math.max(0, min - this.#clock.now()));
    }
  }

  #fire = (): void => {
    this.#armed = undefined;
    this.#armedAt = Infinity;
    // Real timers may fire a hair before now() reaches the deadline; allow 1 ms of slack.
    const now = this.#clock.now() + 1;
    for (;;) {
      let dueName: string | undefined;
      let dueAt = Infinity;
      for (const [name, d] of this.#deadlines) {
        if (d.at <= now && d.at < dueAt) {
          dueName = name;
          dueAt = d.at;
        }
      }
      if (dueName === undefined) break;
      const d = this.#deadlines.get(dueName)!;
      this.#deadlines.delete(dueName);
      d.fn();
    }
    this.#rearm();
  };
}
