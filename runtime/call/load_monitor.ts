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
  /**
   * True when the media ports are nearly all taken: new calls are then shed like a set-up backlog,
   * so the last ports go to the per-source shares (a phone on another address), not to the flood.
   */
  mediaLow?: () => boolean;
  /** New calls per second one source address may still start while the box is shedding. Default 10. */
  perSourceShare?: number;
  /** Monotonic ms (performance.now by default). */
  now?: () => number;
}

/** Decides, per new INVITE, whether the box takes it or sheds it (503 + Retry-After). */
export interface Admission {
  /** True when a new call from `sourceAddress` must be shed now. */
  /**
   * `challenge`: the INVITE has no credentials and will only get a 401/407; it is shed like the
   * others but not counted, so a phone's challenged first INVITE does not use half its share.
   */
  shed(sourceAddress: string, challenge?: boolean): boolean;
  /** Why the box is shedding right now, or null when it is not. */
  state(): "lagging" | "set-up backlog" | "media ports low" | null;
}

/**
 * Admission of new calls under overload. The box sheds when its event loop lags or when more calls
 * are in set-up than it can finish (a backlog that would otherwise end in retransmission storms and
 * timeouts for everyone). Each source address may always start `perSourceShare` new calls per
 * second: the flood is what gets 503, not the phone on another address. Only new INVITEs are asked
 * about; in-dialog requests, ACK, BYE, CANCEL and REGISTER never are.
 *
 * A set-up backlog, or media ports nearly all taken, sheds every call above the per-source shares. A lagging loop instead limits new
 * calls to a budget per second (AIMD): 85% of the calls the box finished setting up (answered,
 * refused or ended) in the last second, again each further second the loop still lags, then, once
 * it keeps up, 10% more per second until a whole second passes without a call shed for the budget.
 * So a box over its capacity (or one that loses the CPU to another process for a while) keeps taking
 * about as many calls as it finishes, instead of dropping to the per-source shares or taking calls
 * it cannot finish.
 */
export function createAdmission(options: AdmissionOptions): Admission {
  const max = options.maxSettingUp ?? 400;
  const share = options.perSourceShare ?? 10;
  const now = options.now ?? (() => performance.now());
  let windowStart = now();
  const counts = new Map<string, number>();
  /** Calls taken this second; calls in set-up when it began; calls finished in the last second. */
  let admitted = 0;
  let settingUpAtStart = options.settingUp();
  let lastFinished = 0;
  /** Calls shed for the budget this second. */
  let budgetShed = 0;
  /** New calls per second while lagging or recovering; Infinity = no budget. */
  let budget = Infinity;
  const state = (): "lagging" | "set-up backlog" | "media ports low" | null =>
    options.lagging()
      ? "lagging"
      : max > 0 && options.settingUp() >= max
      ? "set-up backlog"
      : options.mediaLow?.()
      ? "media ports low"
      : null;
  const roll = (t: number) => {
    if (t - windowStart < 1000) return;
    const lagging = options.lagging();
    const settingUp = options.settingUp();
    // Finished = taken - growth of the set-up count, per second since the last roll.
    lastFinished = Math.max(0, (admitted + settingUpAtStart - settingUp) / ((t - windowStart) / 1000));
    if (lagging && budget !== Infinity) {
      budget = Math.max(share, Math.floor(Math.min(budget, lastFinished) * 0.85));
    } else if (!lagging && budget !== Infinity) {
      budget = budgetShed === 0 ? Infinity : Math.ceil(budget * 1.1) + 1;
    }
    settingUpAtStart = settingUp;
    admitted = 0;
    budgetShed = 0;
    counts.clear();
    windowStart = t;
  };
  return {
    shed(source, challenge = false) {
      roll(now());
      const n = (counts.get(source) ?? 0) + 1;
      if (challenge) {
        // Checked against the share and the budget, counted nowhere (no call is started).
        const why = state();
        if (why === null && budget === Infinity) return false;
        const hard = why === "set-up backlog" || why === "media ports low";
        return !(n <= share || (!hard && admitted < budget));
      }
      if (counts.size < 10_000 || counts.has(source)) counts.set(source, n);
      const why = state();
      if (why === "lagging" && budget === Infinity) {
        // The onset: what finished in the last second, or in this one so far if that is more.
        const elapsed = (now() - windowStart) / 1000;
        const sofar = elapsed >= 0.2 ? (admitted + settingUpAtStart - options.settingUp()) / elapsed : 0;
        budget = Math.max(share, Math.floor(Math.max(lastFinished, sofar) * 0.85));
      }
      if (why === null && budget === Infinity) {
        admitted++;
        return false;
      }
      // Shedding (or recovering): the per-source share is always kept, the rest fits the budget.
      const hard = why === "set-up backlog" || why === "media ports low";
      if (n <= share || (!hard && admitted < budget)) {
        admitted++;
        return false;
      }
      if (!hard) budgetShed++;
      return true;
    },
    state,
  };
}
