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

/** Options of {@linkcode createAdmission}. */
export interface AdmissionOptions {
  /** Event-loop lag says the box is behind (a {@linkcode LoadMonitor}'s `overloaded`). */
  lagging(): boolean;
  /** Calls in set-up now (INVITEs not yet answered or ended). */
  settingUp(): number;
  /** Calls in set-up above which new ones are shed (0 = no limit). Default 400. */
  maxSettingUp?: number;
  /** New calls per second one source address may still start while the box is shedding. Default 10. */
  perSourceShare?: number;
  /** Monotonic ms (performance.now by default). */
  now?: () => number;
}

/** Decides, per new INVITE, whether the box takes it or sheds it (503 + Retry-After). */
export interface Admission {
  /** True when a new call from `sourceAddress` must be shed now. */
  shed(sourceAddress: string): boolean;
  /** Why the box is shedding right now, or null when it is not. */
  state(): "lagging" | "set-up backlog" | null;
}

/**
 * Admission of new calls under overload. The box sheds when its event loop lags or when more calls
 * are in set-up than it can finish (a backlog that would otherwise end in retransmission storms and
 * timeouts for everyone). While shedding, each source address may still start `perSourceShare` new
 * calls per second: the flood is what gets 503, not the phone on another address. Only new INVITEs
 * are asked about; in-dialog requests, ACK, BYE, CANCEL and REGISTER never are.
 */
export function createAdmission(options: AdmissionOptions): Admission {
  const max = options.maxSettingUp ?? 400;
  const share = options.perSourceShare ?? 10;
  const now = options.now ?? (() => performance.now());
  let windowStart = now();
  const counts = new Map<string, number>();
  const state = (): "lagging" | "set-up backlog" | null =>
    options.lagging() ? "lagging" : max > 0 && options.settingUp() >= max ? "set-up backlog" : null;
  return {
    shed(source) {
      const t = now();
      if (t - windowStart >= 1000) {
        counts.clear();
        windowStart = t;
      }
      const n = (counts.get(source) ?? 0) + 1;
      if (counts.size < 10_000 || counts.has(source)) counts.set(source, n);
      if (state() === null) return false;
      return n > share;
    },
    state,
  };
}
