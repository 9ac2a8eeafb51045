/**
 * Which agents a queue rings, by strategy. Pure functions over the agents' state, so each strategy
 * is checked in virtual time (strategy_test.ts).
 *
 * - `ring-all`: every free agent at once.
 * - `round-robin`: the free agent after the one rung last (memory per queue), in member order.
 * - `least-recent`: the free agent whose last queue call ended longest ago (never: first).
 * - `fewest-calls`: the free agent with the fewest answered queue calls today.
 * - `random`: a free agent at random.
 * - `linear`: always in member order, first free agent first.
 * @module
 */

/** The strategies (at least five, as the issue asks; six here). */
export const STRATEGIES = [
  "ring-all",
  "round-robin",
  "least-recent",
  "fewest-calls",
  "random",
  "linear",
] as const;
/** A queue strategy. */
export type Strategy = typeof STRATEGIES[number];

/** An agent as the strategies see it. */
export interface AgentState {
  extension: string;
  /** Position among the queue's members (static first, then dynamic by login time). */
  order: number;
  loggedIn: boolean;
  paused: boolean;
  /** On a call (queue or not). */
  busy: boolean;
  /** Do not disturb: never rung. */
  dnd: boolean;
  /** Epoch ms until which the agent is in wrap-up after a queue call. */
  wrapUpUntil: number;
  /** Epoch ms the agent's last queue call ended; null when none. */
  lastCallEndedAt: number | null;
  /** Queue calls answered today. */
  callsToday: number;
}

/** Agents that may be rung now: logged in, not paused, not busy, not on DND, not in wrap-up. */
export function freeAgents(agents: readonly AgentState[], now: number): AgentState[] {
  return agents.filter((a) => a.loggedIn && !a.paused && !a.busy && !a.dnd && a.wrapUpUntil <= now)
    .sort((x, y) => x.order - y.order);
}

/** Options of `chooseAgents`. */
export interface ChooseOptions {
  now: number;
  /** The extension round-robin rang last in this queue. */
  lastRung?: string | undefined;
  /** For `random` (tests pass a seeded one). */
  random?: () => number;
}

/**
 * The agents to ring next, in the order to try them: `ring-all` returns every free agent (rung
 * together), the others the free agents in their strategy's order (rung one at a time, each for
 * the queue's ring time). Empty when nobody is free.
 */
export function chooseAgents(strategy: Strategy, agents: readonly AgentState[], o: ChooseOptions): string[] {
  const free = freeAgents(agents, o.now);
  if (free.length === 0) return [];
  switch (strategy) {
    case "ring-all":
    case "linear":
      return free.map((a) => a.extension);
    case "round-robin": {
      // Start after the last agent rung (by member order, so it wraps around the whole list).
      const last = agents.find((a) => a.extension === o.lastRung)?.order ?? -Infinity;
      const after = free.filter((a) => a.order > last);
      const before = free.filter((a) => a.order <= last);
      return [...after, ...before].map((a) => a.extension);
    }
    case "least-recent":
      return [...free].sort((x, y) =>
        (x.lastCallEndedAt ?? -Infinity) - (y.lastCallEndedAt ?? -Infinity) || x.order - y.order
      )
        .map((a) => a.extension);
    case "fewest-calls":
      return [...free].sort((x, y) => x.callsToday - y.callsToday || x.order - y.order).map((a) =>
        a.extension
      );
    case "random": {
      const rnd = o.random ?? Math.random;
      const pool = [...free];
      const out: string[] = [];
      while (pool.length > 0) out.push(pool.splice(Math.floor(rnd() * pool.length), 1)[0]!.extension);
      return out;
    }
  }
}
