/**
 * The factory-reset button: an input line (drivers/gpio `openInput`, e.g. `gpiochip0:27:active-low`)
 * polled every `pollMs`; held down for `holdMs` without a break it asks for a factory reset once
 * (the same act as POST /api/system/factory-reset: the privileged helper marks the data dir and
 * reboots). A shorter press is logged and does nothing. A line that cannot be read is logged once
 * and the watch stops (the box keeps running; the UI and the kernel argument still reset it).
 *
 * @module
 */
import type { Clock, TimerId } from "../runtime/clock/mod.ts";
import type { Logger } from "../runtime/log/mod.ts";
import type { InputLine } from "../drivers/gpio/mod.ts";

/** Options for {@linkcode ResetButton}. */
export interface ResetButtonOptions {
  /** The button (true = pressed). */
  line: InputLine;
  /** How long it must be held (ms). */
  holdMs: number;
  /** Poll interval (ms); default 200. */
  pollMs?: number;
  clock: Clock;
  logger: Logger;
  /** The reset itself; called at most once. */
  onReset: () => void | Promise<void>;
}

/** Watches the factory-reset button until {@linkcode ResetButton.stop}. */
export class ResetButton {
  readonly #o: ResetButtonOptions;
  readonly #pollMs: number;
  #timer: TimerId | undefined;
  #pressedAt: number | undefined;
  #stopped = false;
  #fired = false;

  /** Starts polling at once. */
  constructor(options: ResetButtonOptions) {
    if (!(options.holdMs > 0)) throw new RangeError(`hold time ${options.holdMs} ms must be positive`);
    this.#o = options;
    this.#pollMs = options.pollMs ?? 200;
    options.logger.info("factory reset button watched", {
      line: options.line.spec,
      holdSec: options.holdMs / 1000,
    });
    this.#poll();
  }

  /** True once the reset was asked for. */
  get fired(): boolean {
    return this.#fired;
  }

  #poll(): void {
    if (this.#stopped) return;
    const log = this.#o.logger;
    let pressed: boolean;
    try {
      pressed = this.#o.line.read();
    } catch (e) {
      log.error("factory reset button cannot be read; not watched any more", {
        line: this.#o.line.spec,
        error: (e as Error).message,
      });
      this.stop();
      return;
    }
    const now = this.#o.clock.now();
    if (pressed) {
      if (this.#pressedAt === undefined) {
        this.#pressedAt = now;
        log.info("factory reset button pressed; hold to reset", { holdSec: this.#o.holdMs / 1000 });
      } else if (now - this.#pressedAt >= this.#o.holdMs) {
        this.#fired = true;
        log.warn("factory reset button held: factory reset", { heldMs: Math.round(now - this.#pressedAt) });
        this.stop();
        Promise.resolve()
          .then(() => this.#o.onReset())
          .catch((e) => log.error("factory reset from the button failed", { error: (e as Error).message }));
        return;
      }
    } else if (this.#pressedAt !== undefined) {
      log.info("factory reset button released early; no reset", {
        heldMs: Math.round(now - this.#pressedAt),
      });
      this.#pressedAt = undefined;
    }
    this.#timer = this.#o.clock.setTimeout(() => this.#poll(), this.#pollMs);
  }

  /** Stop watching and release the line. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    try {
      this.#o.line.close();
    } catch { /* released already */ }
  }
}
