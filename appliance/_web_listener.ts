/**
 * The web listener with connection limits: our own accept loop (so a full descriptor table or a
 * flood cannot end it) hands each admitted connection to Deno's HTTP server for that connection
 * (`Deno.serveHttp`). `Deno.serve` owns its accept loop and has no per-connection hook, no limit
 * and no header timeout: an idle or slowloris connection stays open for ever there.
 *
 * Limits: a global and a per-source connection cap (refused connections are closed at once, one
 * log line per episode, per source at most once a minute); a first-request deadline (headers
 * must be complete within `headerMs` of connecting) and an idle deadline between requests. A
 * request in progress (a download, an upload, the live-status event stream) is never cut.
 *
 * When the running Deno lacks `Deno.serveHttp`, {@linkcode serveWeb} falls back to the
 * supervised `Deno.serve` (restarted after EMFILE, no caps) and says so in the log.
 *
 * @module
 */
import type { Logger } from "../runtime/log/mod.ts";
import { serveSupervised } from "./_net_guard.ts";

/** Limits of the web listener; docs/security.md lists the settings. */
export interface WebLimits {
  /** Most connections at once (default 1024). */
  maxConnections?: number;
  /** Most connections from one IP address (default 64). */
  maxPerSource?: number;
  /** A new connection must deliver complete request headers within this (ms, default 15000). */
  headerMs?: number;
  /** A connection without a request in progress is closed after this (ms, default 60000). */
  idleMs?: number;
}

/** Options of {@linkcode serveWeb}. */
export interface ServeWebOptions extends WebLimits {
  hostname: string;
  port: number;
  cert?: string;
  key?: string;
  /** "http" or "https", in log lines. */
  name: string;
  log: Logger;
  onError?: (e: unknown) => Response | Promise<Response>;
}

/** A running web listener. */
export interface WebListener {
  readonly port: number;
  /** Open connections (null for the fallback, which cannot count them). */
  readonly connections: number | null;
  stop(): Promise<void>;
}

type Handler = (req: Request, info: { remoteAddr: Deno.NetAddr }) => Response | Promise<Response>;

interface RequestEvent {
  readonly request: Request;
  respondWith(r: Response | Promise<Response>): Promise<void>;
}
interface HttpConn extends AsyncIterable<RequestEvent> {
  close(): void;
}
type ServeHttp = (conn: Deno.Conn) => HttpConn;

function legacyServeHttp(): ServeHttp | null {
  const f = (Deno as unknown as { serveHttp?: ServeHttp }).serveHttp;
  return typeof f === "function" ? f.bind(Deno) : null;
}

function isFdExhaustion(e: unknown): boolean {
  return /os error 2[34]\b|too many open files/i.test(String(e));
}

interface Tracked {
  conn: Deno.Conn;
  http: HttpConn | null;
  source: string;
  /** Requests in progress. */
  busy: number;
  /** Whether any request arrived (else the header deadline is what expired). */
  served: boolean;
  /** Deadline (performance.now()) for the next request to arrive, when none is in progress. */
  deadline: number;
  closed: boolean;
}

/** Start the web listener: capped where the runtime allows it, supervised `Deno.serve` otherwise. */
/** Upgraded connections (WebSockets) and what ends them: the idle sweep leaves them alone until then. */
const upgraded = new WeakMap<Response, Promise<unknown>>();

/** Tell the listener that `res` upgrades its connection (a WebSocket) until `ended` settles. */
export function keepOpenUntil(res: Response, ended: Promise<unknown>): Response {
  upgraded.set(res, ended);
  return res;
}

export function serveWeb(options: ServeWebOptions, handler: Handler): WebListener {
  const serveHttp = legacyServeHttp();
  if (serveHttp === null) {
    options.log.warn(`${options.name}: this Deno has no Deno.serveHttp; web connection limits are off`);
    const s = serveSupervised(options, (req, info) => handler(req, info));
    return {
      get port() {
        return s.port;
      },
      connections: null,
      stop: () => s.stop(),
    };
  }
  return new CappedListener(options, handler, serveHttp);
}

class CappedListener implements WebListener {
  readonly port: number;
  #o: ServeWebOptions;
  #handler: Handler;
  #serveHttp: ServeHttp;
  #listener: Deno.Listener;
  #all = new Set<Tracked>();
  #perSource = new Map<string, number>();
  #capLogged = new Map<string, number>();
  #globalCapLogged = false;
  #max: number;
  #maxPerSource: number;
  #headerMs: number;
  #idleMs: number;
  #sweeper: ReturnType<typeof setInterval>;
  #loop: Promise<void>;
  #stopped = false;

  constructor(options: ServeWebOptions, handler: Handler, serveHttp: ServeHttp) {
    this.#o = options;
    this.#handler = handler;
    this.#serveHttp = serveHttp;
    this.#max = options.maxConnections ?? 1024;
    this.#maxPerSource = options.maxPerSource ?? 64;
    this.#headerMs = options.headerMs ?? 15_000;
    this.#idleMs = options.idleMs ?? 60_000;
    this.#listener = options.cert !== undefined && options.key !== undefined
      ? Deno.listenTls({
        hostname: options.hostname,
        port: options.port,
        cert: options.cert,
        key: options.key,
        alpnProtocols: ["h2", "http/1.1"],
      })
      : Deno.listen({ hostname: options.hostname, port: options.port });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    const tick = Math.max(20, Math.min(this.#headerMs, this.#idleMs, 4000) / 4);
    this.#sweeper = setInterval(() => this.#sweep(), tick);
    this.#loop = this.#acceptLoop();
  }

  get connections(): number {
    return this.#all.size;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#sweeper);
    try {
      this.#listener.close();
    } catch { /* closed */ }
    for (const t of this.#all) this.#close(t);
    await this.#loop;
  }

  /** Accept until stopped; errors (EMFILE included) back off and are logged once per episode. */
  async #acceptLoop(): Promise<void> {
    const { log, name } = this.#o;
    let backoff = 10;
    let failingSince: number | null = null;
    while (!this.#stopped) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (this.#stopped || e instanceof Deno.errors.BadResource) return;
        if (failingSince === null) {
          failingSince = performance.now();
          log.warn(
            isFdExhaustion(e)
              ? `${name} accept: out of file descriptors; backing off`
              : `${name} accept failed; backing off`,
            { error: e as Error, connections: this.#all.size },
          );
        }
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 1000);
        continue;
      }
      if (failingSince !== null) {
        log.warn(`${name} accept recovered`, { failedMs: Math.round(performance.now() - failingSince) });
        failingSince = null;
        backoff = 10;
      }
      this.#admit(conn);
    }
  }

  #admit(conn: Deno.Conn): void {
    const { log, name } = this.#o;
    const source = (conn.remoteAddr as Deno.NetAddr).hostname;
    if (this.#all.size >= this.#max) {
      if (!this.#globalCapLogged) {
        this.#globalCapLogged = true;
        log.warn(`${name} connection limit reached; refusing new connections`, { limit: this.#max, source });
      }
      return closeQuietly(conn);
    }
    const count = this.#perSource.get(source) ?? 0;
    if (count >= this.#maxPerSource) {
      const now = performance.now();
      const last = this.#capLogged.get(source);
      if (last === undefined || now - last >= 60_000) {
        this.#capLogged.set(source, now);
        if (this.#capLogged.size > 1000) this.#capLogged.delete(this.#capLogged.keys().next().value!);
        log.warn(`${name} per-source connection limit reached; refusing`, {
          source,
          limit: this.#maxPerSource,
        });
      }
      return closeQuietly(conn);
    }
    this.#perSource.set(source, count + 1);
    const t: Tracked = {
      conn,
      http: null,
      source,
      busy: 0,
      served: false,
      deadline: performance.now() + this.#headerMs,
      closed: false,
    };
    this.#all.add(t);
    this.#serve(t).catch((e) => log.debug(`${name} connection failed`, { source, error: e as Error }))
      .finally(() => this.#close(t));
  }

  async #serve(t: Tracked): Promise<void> {
    const http = this.#serveHttp(t.conn);
    t.http = http;
    if (t.closed) return http.close();
    const remoteAddr = t.conn.remoteAddr as Deno.NetAddr;
    for await (const ev of http) {
      t.busy++;
      t.served = true;
      // Requests on one HTTP/1.1 connection arrive in order; serve each without blocking the loop.
      void this.#respond(t, ev, remoteAddr);
    }
  }

  async #respond(t: Tracked, ev: RequestEvent, remoteAddr: Deno.NetAddr): Promise<void> {
    try {
      let res: Response;
      try {
        res = await this.#handler(ev.request, { remoteAddr });
      } catch (e) {
        res = this.#o.onError ? await this.#o.onError(e) : new Response("internal error", { status: 500 });
      }
      await ev.respondWith(res);
      // A WebSocket stays open past the idle limit (it has its own keep-alives); it still counts
      // against the per-source and total caps.
      const ends = upgraded.get(res);
      if (ends !== undefined) await ends.catch(() => {});
    } catch {
      // the client went away mid-response
    } finally {
      t.busy--;
      t.deadline = performance.now() + this.#idleMs;
    }
  }

  #sweep(): void {
    const now = performance.now();
    let idle = 0;
    const slow = new Map<string, number>();
    for (const t of this.#all) {
      if (t.busy === 0 && now > t.deadline) {
        if (t.served) idle++;
        else slow.set(t.source, (slow.get(t.source) ?? 0) + 1);
        this.#close(t);
      }
    }
    if (idle > 0) this.#o.log.debug(`${this.#o.name} idle connections closed`, { count: idle });
    if (slow.size > 0) {
      this.#o.log.warn(`${this.#o.name} connections closed: no complete request headers in time`, {
        count: [...slow.values()].reduce((a, b) => a + b, 0),
        timeoutMs: this.#headerMs,
        sources: [...slow.keys()].slice(0, 10).join(","),
      });
    }
    if (this.#all.size < this.#max * 0.9) this.#globalCapLogged = false;
  }

  #close(t: Tracked): void {
    if (t.closed) return;
    t.closed = true;
    this.#all.delete(t);
    const left = (this.#perSource.get(t.source) ?? 1) - 1;
    if (left <= 0) this.#perSource.delete(t.source);
    else this.#perSource.set(t.source, left);
    try {
      t.http?.close();
    } catch { /* closed */ }
    closeQuietly(t.conn);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* closed */ }
}
