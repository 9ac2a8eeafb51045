/**
 * Fetching the signing certificate a PASSporT points at (`x5u`), through an injected `fetch`,
 * with a deadline on the injected clock, a response size limit and a bounded cache that follows
 * the response's `Cache-Control: max-age` (clamped to a configured ceiling).
 *
 * @module
 */

import { type Clock, realClock } from "../../clock/mod.ts";

/** The subset of `fetch` the cache uses (inject a fake in unit tests). */
export type FetchLike = (
  input: string,
  init: { signal: AbortSignal; redirect: "manual" },
) => Promise<Response>;

/** Settings for {@link X5uCache}. */
export interface X5uCacheOptions {
  /** Defaults to `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Defaults to the real clock. */
  clock?: Clock;
  /** Whole-request deadline in ms (connect, headers, body). Default 2000. */
  timeoutMs?: number;
  /** Largest accepted body in bytes. Default 16384 (a leaf plus two intermediates in PEM is ~3 KiB). */
  maxBytes?: number;
  /** Most URLs kept; the least recently used is dropped beyond it. Default 64. */
  maxEntries?: number;
  /** Seconds to keep a response that has no max-age. Default 3600. */
  defaultTtlSec?: number;
  /** Upper bound on any max-age. Default 86400. */
  maxTtlSec?: number;
  /** Accept `http:` URLs (tests on loopback). SHAKEN requires https; default false. */
  allowHttp?: boolean;
  /**
   * Accept x5u hosts that are `localhost` or a literal loopback, private, link-local or unspecified
   * IP address (the caller picks the URL, so by default the box will not fetch its own or the LAN's
   * services). Host names that resolve to such addresses are not caught. Default false.
   */
  allowPrivateHosts?: boolean;
}

/** True for `localhost` and literal loopback/private/link-local/unspecified/ULA addresses. */
export function isPrivateHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
  }
  if (h.includes(":")) {
    if (h === "::" || h === "::1") return true;
    if (/^f[cd][0-9a-f]{0,2}:/.test(h) || /^fe[89ab][0-9a-f]?:/.test(h)) return true;
    const mapped = /^::ffff:(.+)$/.exec(h);
    if (mapped) return mapped[1]!.includes(".") ? isPrivateHost(mapped[1]!) : true;
  }
  return false;
}

/** Why a certificate could not be fetched: `code` is stable for the call record. */
export class X5uFetchError extends Error {
  constructor(
    readonly code: "bad-url" | "timeout" | "network" | "http-status" | "too-large",
    message: string,
  ) {
    super(message);
    this.name = "X5uFetchError";
  }
}

interface Entry {
  body: string;
  expiresAt: number;
}

/** Bounded, max-age-respecting cache of x5u responses (the PEM text). */
export class X5uCache {
  readonly #fetch: FetchLike;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #maxEntries: number;
  readonly #defaultTtlMs: number;
  readonly #maxTtlMs: number;
  readonly #allowHttp: boolean;
  readonly #allowPrivateHosts: boolean;
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<string>>();
  /** Number of network fetches made (for tests and the status page). */
  fetches = 0;

  constructor(options: X5uCacheOptions = {}) {
    this.#fetch = options.fetch ?? ((u, i) => globalThis.fetch(u, i));
    this.#clock = options.clock ?? realClock;
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#maxBytes = options.maxBytes ?? 16384;
    this.#maxEntries = Math.max(1, options.maxEntries ?? 64);
    this.#defaultTtlMs = (options.defaultTtlSec ?? 3600) * 1000;
    this.#maxTtlMs = (options.maxTtlSec ?? 86400) * 1000;
    this.#allowHttp = options.allowHttp ?? false;
    this.#allowPrivateHosts = options.allowPrivateHosts ?? false;
  }

  /** Entries currently cached. */
  get size(): number {
    return this.#entries.size;
  }

  /** The body at `url`, from the cache when fresh. Throws {@link X5uFetchError}. */
  get(url: string): Promise<string> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return Promise.reject(new X5uFetchError("bad-url", `x5u is not a URL: ${url.slice(0, 200)}`));
    }
    if (parsed.protocol !== "https:" && !(this.#allowHttp && parsed.protocol === "http:")) {
      return Promise.reject(new X5uFetchError("bad-url", `x5u scheme not allowed: ${parsed.protocol}`));
    }
    if (!this.#allowPrivateHosts && isPrivateHost(parsed.hostname)) {
      return Promise.reject(
        new X5uFetchError("bad-url", `x5u host not allowed (private address): ${parsed.hostname}`),
      );
    }
    const key = parsed.href;
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      if (hit.expiresAt > this.#clock.now()) {
        this.#entries.delete(key); // refresh LRU position
        this.#entries.set(key, hit);
        return Promise.resolve(hit.body);
      }
      this.#entries.delete(key);
    }
    const pending = this.#inflight.get(key);
    if (pending !== undefined) return pending;
    const p = this.#load(key).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }

  async #load(url: string): Promise<string> {
    this.fetches++;
    const ctl = new AbortController();
    let timedOut = false;
    const timer = this.#clock.setTimeout(() => {
      timedOut = true;
      ctl.abort();
    }, this.#timeoutMs);
    // The deadline also races the body read and a fetch that ignores the signal.
    let rejectDeadline: (e: Error) => void = () => {};
    const deadline = new Promise<never>((_, rej) => (rejectDeadline = rej));
    ctl.signal.addEventListener("abort", () => {
      rejectDeadline(new X5uFetchError("timeout", `x5u fetch timed out after ${this.#timeoutMs} ms: ${url}`));
    });
    deadline.catch(() => {});
    try {
      const res = await Promise.race([
        this.#fetch(url, { signal: ctl.signal, redirect: "manual" }),
        deadline,
      ]);
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => {});
        throw new X5uFetchError("http-status", `x5u fetch answered HTTP ${res.status}: ${url}`);
      }
      const declared = Number(res.headers.get("content-length") ?? "NaN");
      if (Number.isFinite(declared) && declared > this.#maxBytes) {
        await res.body?.cancel().catch(() => {});
        throw new X5uFetchError("too-large", `x5u response of ${declared} bytes exceeds ${this.#maxBytes}`);
      }
      const body = await Promise.race([this.#readLimited(res), deadline]);
      const ttl = this.#ttlMs(res.headers.get("cache-control"));
      if (ttl > 0) this.#store(url, { body, expiresAt: this.#clock.now() + ttl });
      return body;
    } catch (e) {
      if (e instanceof X5uFetchError) throw e;
      if (timedOut) {
        throw new X5uFetchError("timeout", `x5u fetch timed out after ${this.#timeoutMs} ms: ${url}`);
      }
      throw new X5uFetchError("network", `x5u fetch failed: ${url}: ${(e as Error).message}`);
    } finally {
      this.#clock.clearTimeout(timer);
      ctl.abort(); // release the deadline listener and any socket still open
    }
  }

  async #readLimited(res: Response): Promise<string> {
    if (res.body === null) return "";
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > this.#maxBytes) {
        await reader.cancel().catch(() => {});
        throw new X5uFetchError("too-large", `x5u response exceeds ${this.#maxBytes} bytes`);
      }
      chunks.push(value);
    }
    const all = new Uint8Array(total);
    let off = 0;
    for (const c of chunks) {
      all.set(c, off);
      off += c.byteLength;
    }
    return new TextDecoder().decode(all);
  }

  #ttlMs(cacheControl: string | null): number {
    if (cacheControl === null) return Math.min(this.#defaultTtlMs, this.#maxTtlMs);
    const cc = cacheControl.toLowerCase();
    if (/(^|[,\s])(no-store|no-cache)([,\s=]|$)/.test(cc)) return 0;
    const m = /(?:^|[,\s])max-age\s*=\s*"?(\d+)/.exec(cc);
    if (!m) return Math.min(this.#defaultTtlMs, this.#maxTtlMs);
    return Math.min(Number(m[1]) * 1000, this.#maxTtlMs);
  }

  #store(url: string, entry: Entry): void {
    this.#entries.delete(url);
    this.#entries.set(url, entry);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }
}
