/**
 * A small structured logger shared by every layer. One line per event on stderr:
 * `2026-11-21T09:30:00.000Z INFO sip: message key=value`. Secrets must never be passed in.
 */

/** Severity levels in increasing order. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Key/value context attached to a log line. */
export type LogFields = Record<string, unknown>;

/** The logging interface every component takes. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger for a sub-component, prefixed with `name`. */
  child(name: string): Logger;
}

/** Where lines go; tests pass an array sink to inspect output. */
export type LogSink = (line: string, level: LogLevel) => void;

const encoder = new TextEncoder();

/** The default sink: stderr, synchronously so a crash does not swallow the last lines. */
export const stderrSink: LogSink = (line) => {
  try {
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
  } catch {
    // stderr closed: nothing useful left to do with a log line
  }
};

function formatValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === "string") return /^[\w.:\/@\-+]*$/.test(v) && v !== "" ? v : JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) return String(v);
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/**
 * Rate limit for repeated lines: per logger name, level and message (fields aside), at most
 * `burst` lines per `windowMs`; the rest are counted and reported as one `last message repeated
 * N times: <message>` line when the message next comes up after the window. Messages starting with
 * `SECURITY ` are never limited: fail2ban counts them, and they are rare by construction (the
 * limiters block a source after a few).
 */
export interface LogRateLimit {
  /** Lines of one message let through per window, default 20. */
  burst?: number;
  /** Window length in ms, default 10 000. */
  windowMs?: number;
  /** Monotonic ms clock, default performance.now (tests pass a virtual one). */
  now?: () => number;
}

interface RateState {
  windowStart: number;
  count: number;
  suppressed: number;
}

const MAX_RATE_KEYS = 2000;

/** The shared state of one logger tree's rate limit; undefined when the line may be written. */
function rateLimiter(options: LogRateLimit): (key: string, msg: string) => string | false | undefined {
  const burst = options.burst ?? 20;
  const windowMs = options.windowMs ?? 10_000;
  const now = options.now ?? (() => performance.now());
  const keys = new Map<string, RateState>();
  // Returns false to drop the line, a summary to write before it, or undefined.
  return (key, msg) => {
    if (msg.startsWith("SECURITY ")) return undefined;
    const t = now();
    let st = keys.get(key);
    if (st === undefined) {
      if (keys.size >= MAX_RATE_KEYS) keys.clear();
      st = { windowStart: t, count: 0, suppressed: 0 };
      keys.set(key, st);
    }
    let summary: string | undefined;
    if (t - st.windowStart >= windowMs) {
      if (st.suppressed > 0) summary = `last message repeated ${st.suppressed} times: ${msg}`;
      st.windowStart = t;
      st.count = 0;
      st.suppressed = 0;
    }
    st.count++;
    if (st.count > burst) {
      st.suppressed++;
      return false;
    }
    return summary;
  };
}

/** Create a logger. `level` filters lower severities (default from PBX_LOG_LEVEL or "info"). */
export function createLogger(
  name = "pbx",
  options: { level?: LogLevel; sink?: LogSink; rateLimit?: LogRateLimit } = {},
): Logger {
  return makeLogger(
    name,
    options.level ?? "info",
    options.sink ?? stderrSink,
    options.rateLimit && rateLimiter(options.rateLimit),
  );
}

function makeLogger(
  name: string,
  level: LogLevel,
  sink: LogSink,
  limit: ((key: string, msg: string) => string | false | undefined) | undefined,
): Logger {
  const min = ORDER[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[lvl] < min) return;
    const head = `${new Date().toISOString()} ${lvl.toUpperCase()} ${name}: `;
    if (limit !== undefined) {
      const verdict = limit(`${lvl} ${name} ${msg}`, msg);
      if (verdict === false) return;
      if (verdict !== undefined) sink(head + verdict, lvl);
    }
    let line = head + msg;
    if (fields) {
      for (const [k, v] of Object.entries(fields)) line += ` ${k}=${formatValue(v)}`;
    }
    sink(line, lvl);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (sub) => makeLogger(`${name}.${sub}`, level, sink, limit),
  };
}

/** A logger that drops everything (default for unit tests). */
export const nullLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return nullLogger;
  },
};
