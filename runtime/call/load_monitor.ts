/**
 * Event-loop lag as the measure of overload: a timer that should fire every `intervalMs` is
 * late by however long the loop was busy. A smoothed lag above `thresholdMs` means the box is
 * behind on its work and should refuse new calls until it catches up.
 */

/** A running monitor. */
export interface LoadMonitor {
  /** True while the smoothed lag is above the threshold. */
  overloaded(): boolean;
  /** Smoothed lag in ms. */
  lagMs(): number;
  stop(): void;
}

/** One step of the smoothing: rise at once to a new stall, decay slowly back down. */
export function smoothLag(previous: number, late: number): number {
  return late > previous ? late : previous * 0.8 + late * 0.2;
}

/** Start measuring; `now` is monotonic milliseconds (performance.now by default). */
export function startLoadMonitor(
  options: { intervalMs?: number; thresholdMs?: number; now?: () => number } = {},
): LoadMonitor {
  const interval = options.intervalMs ?? 50;
  const threshold = options.thresholdMs ?? 250;
  const now = options.now ?? (() => performance.now());
  let last = now();
  let lag = 0;
  const timer = setInterval(() => {
    const t = now();
    const late = Math.max(0, t - last - interval);
    last = t;
    // Rise fast, fall slowly: one long stall counts, recovery must last a few ticks.
    lag = smoothLag(lag, late);
  }, interval);
  Deno.unrefTimer(timer);
  return {
    overloaded: () => lag > threshold,
    lagMs: () => lag,
    stop: () => clearInterval(timer),
  };
}
