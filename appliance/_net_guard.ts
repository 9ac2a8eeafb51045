/**
 * Keeps listeners alive under connection floods and fd exhaustion:
 * - a last-resort guard that logs (never hides) an unhandled rejection or uncaught error instead
 *   of letting it end the process and with it SIP, RTP, TFTP and the web;
 * - a supervised `Deno.serve`: when its accept loop dies (it does on EMFILE, "Too many open
 *   files"), it is started again on the same port after a back-off, logged once per episode;
 * - the open-file limit, raised at start and reported (System page, /api/system/status).
 *
 * @module
 */
import type { Logger } from "../runtime/log/mod.ts";
import { type FdLimit, getFdLimit, raiseFdLimit } from "../drivers/rlimit/mod.ts";

/** Whether an error says the process or the system ran out of file descriptors. */
function isFdExhaustion(e: unknown): boolean {
  return /os error 2[34]\b|too many open files/i.test(String(e));
}

/**
 * Log unhandled promise rejections and uncaught errors instead of exiting. They are bugs: the
 * line says so, at error level, with the stack. Returns a function that removes the guard.
 */
export function installProcessGuard(log: Logger): () => void {
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    log.error("unhandled promise rejection (a bug: kept running)", { error: asError(e.reason) });
  };
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    log.error("uncaught error (a bug: kept running)", { error: asError(e.error ?? e.message) });
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);
  return () => {
    globalThis.removeEventListener("unhandledrejection", onRejection);
    globalThis.removeEventListener("error", onError);
  };
}

function asError(v: unknown): Error {
  return v instanceof Error ? v : new Error(String(v));
}

/** Options of {@linkcode serveSupervised}: those of `Deno.serve`, plus a name for log lines. */
export interface SupervisedServeOptions {
  hostname: string;
  port: number;
  cert?: string;
  key?: string;
  /** "http" or "https", in log lines. */
  name: string;
  log: Logger;
  onError?: (e: unknown) => Response | Promise<Response>;
  /** First back-off after a failure (ms, default 100); doubles up to `maxBackoffMs` (default 5000). */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** A supervised web listener. */
export interface SupervisedServer {
  /** The bound port (fixed across restarts). */
  readonly port: number;
  /** Times the listener died and was started again. */
  readonly restarts: number;
  /** Stop for good and wait for the current server to finish. */
  stop(): Promise<void>;
}

/**
 * `Deno.serve` that does not stay dead: Deno's HTTP accept loop ends with "Too many open files"
 * when the process runs out of descriptors, and its `finished` promise rejects. The rejection is
 * caught here, logged once per episode, and the server is started again on the same port after a
 * back-off (100 ms doubling to 5 s), which also covers a failing re-listen while descriptors are
 * still short. An episode ends (with a "recovered" line) once a server has stayed up for 10 s.
 */
export function serveSupervised(
  options: SupervisedServeOptions,
  handler: Deno.ServeHandler<Deno.NetAddr>,
): SupervisedServer {
  const { log, name } = options;
  const minBackoff = options.backoffMs ?? 100;
  const maxBackoff = options.maxBackoffMs ?? 5000;
  let stopped = false;
  let restarts = 0;
  let backoff = minBackoff;
  let failingSince: number | null = null;
  let current: { ac: AbortController; server: Deno.HttpServer<Deno.NetAddr> } | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let healthyTimer: ReturnType<typeof setTimeout> | undefined;
  let port = options.port;

  const start = (): void => {
    const ac = new AbortController();
    const server = Deno.serve({
      hostname: options.hostname,
      port,
      signal: ac.signal,
      onListen: () => {},
      ...(options.onError ? { onError: options.onError } : {}),
      ...(options.cert !== undefined && options.key !== undefined
        ? { cert: options.cert, key: options.key }
        : {}),
    }, handler);
    port = server.addr.port;
    current = { ac, server };
    if (failingSince !== null) {
      clearTimeout(healthyTimer);
      healthyTimer = setTimeout(() => {
        if (failingSince === null || stopped) return;
        log.warn(`${name} listener recovered`, {
          port,
          downMs: Math.round(performance.now() - failingSince),
        });
        failingSince = null;
        backoff = minBackoff;
      }, 10_000);
    }
    server.finished.then(() => {
      if (!stopped && !ac.signal.aborted) failed(new Error("server finished unexpectedly"));
    }, (e) => {
      if (!stopped) failed(e);
    });
  };

  const failed = (e: unknown): void => {
    current = null;
    clearTimeout(healthyTimer);
    if (failingSince === null) {
      failingSince = performance.now();
      log.warn(
        isFdExhaustion(e)
          ? `${name} listener stopped: out of file descriptors; restarting with back-off`
          : `${name} listener stopped; restarting with back-off`,
        { port, error: asError(e) },
      );
    }
    restarts++;
    retryTimer = setTimeout(attempt, backoff);
    backoff = Math.min(backoff * 2, maxBackoff);
  };

  const attempt = (): void => {
    if (stopped) return;
    try {
      start();
    } catch (e) {
      failed(e);
    }
  };

  start(); // the first start throws to the caller (port taken, bad certificate)
  return {
    get port() {
      return port;
    },
    get restarts() {
      return restarts;
    },
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      clearTimeout(healthyTimer);
      const c = current;
      current = null;
      if (c !== null) {
        c.ac.abort();
        await c.server.finished.catch(() => {});
      }
    },
  };
}

/** The open-file limit after start-up and how many files are open now. */
export interface FdStatus {
  /** Soft limit in effect (null = unlimited or unknown). */
  limit: number | null;
  /** Hard limit. */
  hard: number | null;
  /** Descriptors open now (from /proc/self/fd), null when unknown. */
  open: number | null;
}

/**
 * Raise the soft RLIMIT_NOFILE to the hard limit (Deno often does this itself already) and log
 * the result; returns a function that reports the limit and the open count for the System page.
 */
export function prepareFdLimit(log: Logger): () => FdStatus {
  let limit: FdLimit | null = null;
  try {
    const r = raiseFdLimit();
    if (r === null) log.info("open-file limit unknown (not Linux or no FFI)");
    else {
      limit = r.after;
      if (r.error !== undefined) {
        log.warn("could not raise the open-file limit", { error: r.error, ...r.before });
      } else if (r.after.soft !== r.before.soft) {
        log.info("open-file limit raised", {
          from: r.before.soft ?? "unlimited",
          to: r.after.soft ?? "unlimited",
        });
      } else {log.info("open-file limit", {
          soft: r.after.soft ?? "unlimited",
          hard: r.after.hard ?? "unlimited",
        });}
    }
  } catch (e) {
    log.warn("could not read the open-file limit", { error: asError(e) });
  }
  // Read live: the limit can change under a running process (prlimit --pid).
  return () => {
    const now = limit === null ? null : getFdLimit() ?? limit;
    return { limit: now?.soft ?? null, hard: now?.hard ?? null, open: openFiles() };
  };
}

function openFiles(): number | null {
  try {
    let n = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
    return n;
  } catch {
    return null;
  }
}
