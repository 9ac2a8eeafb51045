/**
 * Per-source limits on failed provisioning fetches: a source that makes too many misses
 * (unknown MACs, unknown files, bad credentials) within a window is blocked for a while. Only
 * misses count, so phones fetching their own files are never slowed down. One log line per
 * block; refusals while blocked are summarised at most once per `logEveryMs` per source.
 */

/** Options of {@linkcode FetchGuard}. */
export interface FetchGuardOptions {
  /** Misses allowed per source within `windowMs` before it is blocked. Default 20. */
  maxMisses?: number;
  /** Sliding window for counting misses (ms). Default 5 minutes. */
  windowMs?: number;
  /** How long a block lasts (ms). Default 15 minutes. */
  blockMs?: number;
  /** At most this many sources are tracked (oldest dropped). Default 4096. */
  maxSources?: number;
  /** Repeated "still blocked" lines per source at most this often (ms). Default 60 s. */
  logEveryMs?: number;
  /** Epoch ms; injectable for tests. */
  now?: () => number;
  /** Where block lines go. */
  log?: (message: string, fields: Record<string, unknown>) => void;
}

/** A blocked source as the API shows it. */
export interface FetchBlock {
  address: string;
  /** Epoch ms the block ends. */
  until: number;
  since: number;
  misses: number;
  /** Requests refused while blocked. */
  refused: number;
  lastReason: string;
}

interface SourceState {
  misses: number[];
  blockedUntil: number;
  since: number;
  refused: number;
  refusedLogged: number;
  lastLog: number;
  lastReason: string;
}

/** Counts misses per source address and blocks sources that exceed the limit. */
export class FetchGuard {
  readonly maxMisses: number;
  readonly windowMs: number;
  readonly blockMs: number;
  #maxSources: number;
  #logEvery: number;
  #now: () => number;
  #log: (message: string, fields: Record<string, unknown>) => void;
  #sources = new Map<string, SourceState>();

  constructor(options: FetchGuardOptions = {}) {
    this.maxMisses = options.maxMisses ?? 20;
    this.windowMs = options.windowMs ?? 5 * 60_000;
    this.blockMs = options.blockMs ?? 15 * 60_000;
    this.#maxSources = options.maxSources ?? 4096;
    this.#logEvery = options.logEveryMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? (() => {});
  }

  /** True while `address` is blocked; counts (and occasionally logs) the refusal. */
  refuse(address: string): boolean {
    const s = this.#sources.get(address);
    const now = this.#now();
    if (!s || s.blockedUntil <= now) return false;
    s.refused++;
    if (now - s.lastLog >= this.#logEvery) {
      this.#log("provisioning requests from a blocked source refused", {
        address,
        refused: s.refused - s.refusedLogged,
        until: new Date(s.blockedUntil).toISOString(),
      });
      s.lastLog = now;
      s.refusedLogged = s.refused;
    }
    return true;
  }

  /** Record a miss by `address`; returns true when this miss started a block. */
  miss(address: string, reason: string): boolean {
    const now = this.#now();
    let s = this.#sources.get(address);
    if (!s) {
      if (this.#sources.size >= this.#maxSources) this.#evict(now);
      s = { misses: [], blockedUntil: 0, since: 0, refused: 0, refusedLogged: 0, lastLog: 0, lastReason: "" };
      this.#sources.set(address, s);
    }
    s.lastReason = reason;
    if (s.blockedUntil > now) return false;
    s.misses = s.misses.filter((t) => now - t < this.windowMs);
    s.misses.push(now);
    if (s.misses.length <= this.maxMisses) return false;
    s.blockedUntil = now + this.blockMs;
    s.since = now;
    s.refused = 0;
    s.refusedLogged = 0;
    s.lastLog = now;
    this.#log("provisioning source blocked after too many failed fetches", {
      address,
      misses: s.misses.length,
      windowSec: Math.round(this.windowMs / 1000),
      until: new Date(s.blockedUntil).toISOString(),
      reason,
    });
    return true;
  }

  /** Current blocks, soonest-ending last. */
  blocks(): FetchBlock[] {
    const now = this.#now();
    const out: FetchBlock[] = [];
    for (const [address, s] of this.#sources) {
      if (s.blockedUntil > now) {
        out.push({
          address,
          until: s.blockedUntil,
          since: s.since,
          misses: s.misses.length,
          refused: s.refused,
          lastReason: s.lastReason,
        });
      }
    }
    return out.sort((a, b) => b.until - a.until);
  }

  /** Lift the block on `address` and forget its misses; false when it was not blocked. */
  unblock(address: string): boolean {
    const s = this.#sources.get(address);
    const was = s !== undefined && s.blockedUntil > this.#now();
    this.#sources.delete(address);
    if (was) this.#log("provisioning source unblocked", { address });
    return was;
  }

  #evict(now: number) {
    for (const [a, s] of this.#sources) {
      if (s.blockedUntil <= now && s.misses.every((t) => now - t >= this.windowMs)) this.#sources.delete(a);
    }
    // Still full: drop the oldest unblocked entry (insertion order).
    if (this.#sources.size >= this.#maxSources) {
      for (const [a, s] of this.#sources) {
        if (s.blockedUntil <= now) {
          this.#sources.delete(a);
          return;
        }
      }
      const first = this.#sources.keys().next();
      if (!first.done) this.#sources.delete(first.value);
    }
  }
}

function parseIpv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

/** Throw RangeError unless `cidr` is an IPv4 address or `a.b.c.d/n` network. */
export function checkNetwork(cidr: string): string {
  const [ip, bits, ...rest] = cidr.trim().split("/");
  const n = bits === undefined ? 32 : Number(bits);
  if (rest.length || parseIpv4(ip ?? "") === null || !Number.isInteger(n) || n < 0 || n > 32) {
    throw new RangeError(
      `network must be an IPv4 address or a.b.c.d/n, got ${JSON.stringify(cidr.slice(0, 40))}`,
    );
  }
  return cidr.trim();
}

/** True when `address` (IPv4, or IPv4-mapped IPv6) lies in one of `networks` ("a.b.c.d/n"). */
export function addressInNetworks(address: string, networks: readonly string[]): boolean {
  const ip = parseIpv4(address.replace(/^::ffff:/i, ""));
  if (ip === null) return false;
  for (const net of networks) {
    const [base, bits] = net.split("/");
    const b = parseIpv4(base ?? "");
    const n = bits === undefined ? 32 : Number(bits);
    if (b === null || !Number.isInteger(n) || n < 0 || n > 32) continue;
    const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
    if (((ip & mask) >>> 0) === ((b & mask) >>> 0)) return true;
  }
  return false;
}
