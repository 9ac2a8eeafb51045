/**
 * Queue configuration, agents and call rows (migration 067), checked by `checkQueue`.
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { STRATEGIES, type Strategy } from "./strategy.ts";

/** Where a caller goes on exit digit, overflow or no agents: an application by name, or hang up. */
export type QueueTarget =
  | { kind: "application"; name: string; args?: Record<string, unknown> }
  | { kind: "hangup" };

/** One queue as configured. */
export interface QueueConfig {
  number: string;
  name: string;
  strategy: Strategy;
  /** How long one agent rings (default 15 s). */
  ringMs: number;
  /** Rest after a queue call before the agent is rung again (default 5 s). */
  wrapUpMs: number;
  /** Longest a caller waits before overflow (default 5 min). */
  maxWaitMs: number;
  /** Static members (extensions): always logged in, may pause. */
  members: string[];
  /** Callers may join when no agent is logged in (default true); false: straight to overflow. */
  joinEmpty: boolean;
  /** Waiting callers leave (overflow) when the last agent logs out (default false). */
  leaveWhenEmpty: boolean;
  /** Position and estimated wait are announced this often (default 30 s; 0: only on joining). */
  announceEveryMs: number;
  /** A digit that takes the caller out of the queue to `exitTarget`. */
  exitDigit?: string;
  exitTarget?: QueueTarget;
  /** Where callers go on max wait or no agents (default hang up). */
  overflow: QueueTarget;
  /**
   * A digit that takes the caller out of the queue to be called back when an agent is free,
   * keeping their place in the queue's order.
   */
  callbackDigit?: string;
  /** How often an unanswered callback is tried again (default 2) before it is given up (logged). */
  callbackRetries: number;
  /** The pause before a callback is tried again (default 60 s; other callers go first meanwhile). */
  callbackRetryMs: number;
  /** Extensions that may listen to, whisper to or barge into this queue's agents' calls. */
  supervisors: string[];
  /** Record every answered call of this queue (caller left, agent right), whatever the policy says. */
  record: boolean;
}

const NUMBER_RE = /^[0-9*#]{1,16}$/;
const EXT_RE = /^[0-9]{1,16}$/;

function checkTarget(v: unknown, where: string): QueueTarget {
  const t = v as Record<string, unknown> | null;
  if (typeof t !== "object" || t === null) throw new TypeError(`${where} must be an object`);
  if (t.kind === "hangup") return { kind: "hangup" };
  if (t.kind === "application") {
    if (typeof t.name !== "string" || !/^[a-z][a-z0-9-]{0,40}$/.test(t.name)) {
      throw new RangeError(`${where}.name must be an application name`);
    }
    if (t.args !== undefined && (typeof t.args !== "object" || t.args === null || Array.isArray(t.args))) {
      throw new TypeError(`${where}.args must be an object`);
    }
    return {
      kind: "application",
      name: t.name,
      ...(t.args ? { args: t.args as Record<string, unknown> } : {}),
    };
  }
  throw new RangeError(
    `${where}.kind must be "application" or "hangup" (dialling onward needs the call engine)`,
  );
}

/** Check a queue from the API; a TypeError/RangeError names what is wrong. */
export function checkQueue(input: unknown): QueueConfig {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new TypeError("queue must be an object");
  }
  const q = input as Record<string, unknown>;
  if (typeof q.number !== "string" || !NUMBER_RE.test(q.number)) {
    throw new RangeError(`number may hold only 0-9 * # (1-16), got ${JSON.stringify(q.number)}`);
  }
  const name = q.name ?? `Queue ${q.number}`;
  if (typeof name !== "string" || name.length === 0 || name.length > 80) {
    throw new RangeError("name must be 1-80 characters");
  }
  const strategy = q.strategy ?? "ring-all";
  if (!STRATEGIES.includes(strategy as Strategy)) {
    throw new RangeError(`strategy must be one of ${STRATEGIES.join(", ")}, got ${JSON.stringify(strategy)}`);
  }
  const ms = (k: string, dflt: number, min: number, max: number): number => {
    const v = q[k] ?? dflt;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`${k} must be an integer ${min}-${max} (ms), got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const members = q.members ?? [];
  if (!Array.isArray(members) || !members.every((m) => typeof m === "string" && EXT_RE.test(m))) {
    throw new RangeError("members must be a list of extension numbers");
  }
  const flag = (k: string, dflt: boolean): boolean => {
    const v = q[k] ?? dflt;
    if (typeof v !== "boolean") throw new TypeError(`${k} must be true or false`);
    return v;
  };
  let exitDigit: string | undefined;
  if (q.exitDigit !== undefined && q.exitDigit !== "") {
    if (typeof q.exitDigit !== "string" || !/^[0-9*#]$/.test(q.exitDigit)) {
      throw new RangeError("exitDigit must be one digit");
    }
    exitDigit = q.exitDigit;
  }
  let callbackDigit: string | undefined;
  if (q.callbackDigit !== undefined && q.callbackDigit !== "") {
    if (typeof q.callbackDigit !== "string" || !/^[0-9*#]$/.test(q.callbackDigit)) {
      throw new RangeError("callbackDigit must be one digit");
    }
    if (q.callbackDigit === exitDigit) throw new RangeError("callbackDigit and exitDigit must differ");
    callbackDigit = q.callbackDigit;
  }
  const supervisors = q.supervisors ?? [];
  if (!Array.isArray(supervisors) || !supervisors.every((m) => typeof m === "string" && EXT_RE.test(m))) {
    throw new RangeError("supervisors must be a list of extension numbers");
  }
  const retries = q.callbackRetries ?? 2;
  if (typeof retries !== "number" || !Number.isInteger(retries) || retries < 0 || retries > 10) {
    throw new RangeError(`callbackRetries must be an integer 0-10, got ${JSON.stringify(retries)}`);
  }
  return {
    number: q.number,
    name,
    strategy: strategy as Strategy,
    ringMs: ms("ringMs", 15_000, 1000, 300_000),
    wrapUpMs: ms("wrapUpMs", 5_000, 0, 3_600_000),
    maxWaitMs: ms("maxWaitMs", 300_000, 1000, 86_400_000),
    members: [...new Set(members as string[])],
    joinEmpty: flag("joinEmpty", true),
    leaveWhenEmpty: flag("leaveWhenEmpty", false),
    announceEveryMs: ms("announceEveryMs", 30_000, 0, 3_600_000),
    ...(exitDigit !== undefined ? { exitDigit } : {}),
    ...(q.exitTarget !== undefined ? { exitTarget: checkTarget(q.exitTarget, "exitTarget") } : {}),
    overflow: q.overflow === undefined ? { kind: "hangup" } : checkTarget(q.overflow, "overflow"),
    ...(callbackDigit !== undefined ? { callbackDigit } : {}),
    callbackRetries: retries,
    callbackRetryMs: ms("callbackRetryMs", 60_000, 1000, 3_600_000),
    supervisors: [...new Set(supervisors as string[])],
    record: flag("record", false),
  };
}

/** An agent row. */
export interface AgentRow {
  queue: string;
  extension: string;
  static: boolean;
  loggedIn: boolean;
  paused: boolean;
  since: number;
}

/** How a queue call ended. */
export type QueueOutcome =
  | "answered"
  | "abandoned"
  | "timeout"
  | "exit"
  | "empty"
  /** The caller asked for a callback that was never answered (tried 1 + callbackRetries times). */
  | "callback-failed";

/** One day's statistics of a queue. */
export interface QueueDayStats {
  queue: string;
  day: string;
  calls: number;
  answered: number;
  abandoned: number;
  overflowed: number;
  exited: number;
  /** Mean and longest wait of the day's callers, ms. */
  averageWaitMs: number;
  longestWaitMs: number;
}

/** The queue store. */
export interface QueueStore {
  list(): QueueConfig[];
  get(number: string): QueueConfig | undefined;
  put(q: QueueConfig): void;
  delete(number: string): boolean;
  /** Agents of a queue: static members (kept in step with the configuration) and dynamic logins. */
  agents(queue: string): AgentRow[];
  /** Queues an extension is an agent of (static or dynamic). */
  queuesOf(extension: string): string[];
  setAgent(row: AgentRow): void;
  removeAgent(queue: string, extension: string): void;
  /** A caller joined: the row id. */
  joined(queue: string, caller: string, at: number): number;
  ended(id: number, o: { at: number; outcome: QueueOutcome; agent?: string; waitMs: number }): void;
  /** Answered calls per agent since `from` (fewest-calls). */
  answeredSince(queue: string, from: number): Map<string, number>;
  /** Statistics of the days [from, to) in UTC, one entry per day with calls. */
  stats(queue: string, from: number, to: number): QueueDayStats[];
}

/** A queue stored before a setting existed gets its default. */
function withDefaults(q: Partial<QueueConfig>): QueueConfig {
  return { callbackRetries: 2, callbackRetryMs: 60_000, supervisors: [], record: false, ...q } as QueueConfig;
}

/** Open the store (migration 067 applied). */
export function createQueueStore(db: DatabaseSync, now: () => number = Date.now): QueueStore {
  const syncStatic = (q: QueueConfig) => {
    const rows = db.prepare("SELECT extension, static FROM queue_agents WHERE queue = ?").all(q.number) as {
      extension: string;
      static: number;
    }[];
    for (const r of rows) {
      if (r.static === 1 && !q.members.includes(r.extension)) {
        db.prepare("DELETE FROM queue_agents WHERE queue = ? AND extension = ?").run(q.number, r.extension);
      }
    }
    for (const m of q.members) {
      db.prepare(
        "INSERT INTO queue_agents (queue, extension, static, logged_in, paused, since) VALUES (?, ?, 1, 1, 0, ?) ON CONFLICT (queue, extension) DO UPDATE SET static = 1, logged_in = 1",
      ).run(q.number, m, now());
    }
  };
  const toAgent = (r: Record<string, unknown>): AgentRow => ({
    queue: String(r.queue),
    extension: String(r.extension),
    static: r.static === 1,
    loggedIn: r.logged_in === 1,
    paused: r.paused === 1,
    since: Number(r.since),
  });
  return {
    list: () =>
      (db.prepare("SELECT config FROM queues ORDER BY number").all() as { config: string }[])
        .map((r) => withDefaults(JSON.parse(r.config))),
    get(number) {
      const r = db.prepare("SELECT config FROM queues WHERE number = ?").get(number) as
        | { config: string }
        | undefined;
      return r === undefined ? undefined : withDefaults(JSON.parse(r.config));
    },
    put(q) {
      db.prepare(
        "INSERT INTO queues (number, config, updated_at) VALUES (?, ?, ?) ON CONFLICT (number) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at",
      ).run(q.number, JSON.stringify(q), now());
      syncStatic(q);
    },
    delete(number) {
      db.prepare("DELETE FROM queue_agents WHERE queue = ?").run(number);
      return db.prepare("DELETE FROM queues WHERE number = ?").run(number).changes > 0;
    },
    agents: (queue) =>
      (db.prepare("SELECT * FROM queue_agents WHERE queue = ? ORDER BY static DESC, since, extension").all(
        queue,
      ) as Record<string, unknown>[]).map(toAgent),
    queuesOf: (ext) =>
      (db.prepare("SELECT queue FROM queue_agents WHERE extension = ? ORDER BY queue").all(ext) as {
        queue: string;
      }[])
        .map((r) => r.queue),
    setAgent(a) {
      db.prepare(
        "INSERT INTO queue_agents (queue, extension, static, logged_in, paused, since) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (queue, extension) DO UPDATE SET logged_in = excluded.logged_in, paused = excluded.paused, since = excluded.since",
      ).run(a.queue, a.extension, a.static ? 1 : 0, a.loggedIn ? 1 : 0, a.paused ? 1 : 0, a.since);
    },
    removeAgent(queue, ext) {
      db.prepare("DELETE FROM queue_agents WHERE queue = ? AND extension = ? AND static = 0").run(queue, ext);
    },
    joined: (queue, caller, at) =>
      Number(
        db.prepare("INSERT INTO queue_calls (queue, caller, joined_at) VALUES (?, ?, ?)").run(
          queue,
          caller,
          at,
        )
          .lastInsertRowid,
      ),
    ended(id, o) {
      db.prepare("UPDATE queue_calls SET ended_at = ?, outcome = ?, agent = ?, wait_ms = ? WHERE id = ?").run(
        o.at,
        o.outcome,
        o.agent ?? null,
        o.waitMs,
        id,
      );
    },
    answeredSince(queue, from) {
      const rows = db.prepare(
        "SELECT agent, COUNT(*) AS n FROM queue_calls WHERE queue = ? AND joined_at >= ? AND outcome = 'answered' GROUP BY agent",
      ).all(queue, from) as { agent: string; n: number }[];
      return new Map(rows.map((r) => [r.agent, Number(r.n)]));
    },
    stats(queue, from, to) {
      const rows = db.prepare(
        `SELECT strftime('%Y-%m-%d', joined_at / 1000, 'unixepoch') AS day, COUNT(*) AS calls,
           SUM(outcome = 'answered') AS answered, SUM(outcome IN ('abandoned', 'callback-failed')) AS abandoned,
           SUM(outcome IN ('timeout', 'empty')) AS overflowed, SUM(outcome = 'exit') AS exited,
           COALESCE(AVG(wait_ms), 0) AS avg_wait, COALESCE(MAX(wait_ms), 0) AS max_wait
         FROM queue_calls WHERE queue = ? AND joined_at >= ? AND joined_at < ? AND outcome IS NOT NULL
         GROUP BY day ORDER BY day`,
      ).all(queue, from, to) as Record<string, number | string>[];
      return rows.map((r) => ({
        queue,
        day: String(r.day),
        calls: Number(r.calls),
        answered: Number(r.answered),
        abandoned: Number(r.abandoned),
        overflowed: Number(r.overflowed),
        exited: Number(r.exited),
        averageWaitMs: Math.round(Number(r.avg_wait)),
        longestWaitMs: Number(r.max_wait),
      }));
    },
  };
}
