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

/** Create a logger. `level` filters lower severities (default from PBX_LOG_LEVEL or "info"). */
export function createLogger(
  name = "pbx",
  options: { level?: LogLevel; sink?: LogSink } = {},
): Logger {
  const level = options.level ?? "info";
  const sink = options.sink ?? stderrSink;
  const min = ORDER[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[lvl] < min) return;
    let line = `${new Date().toISOString()} ${lvl.toUpperCase()} ${name}: ${msg}`;
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
    child: (sub) => createLogger(`${name}.${sub}`, { level, sink }),
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
