/**
 * Login throttle per client address and per account. An attempt is counted as a failure before
 * the (slow) password check, so a burst of parallel attempts cannot slip past the limit. A
 * success clears the address's record, and takes back only its own count from the account (so
 * the real admin logging in now and then does not hide a spread-out guesser's failures).
 */
import type { Clock } from "../runtime/clock/mod.ts";

interface Entry {
  failures: number;
  windowStart: number;
  lockedUntil: number;
}

const MAX_ENTRIES = 10_000;

/** Limits of one kind of key. */
export interface LoginLimits {
  /** Failed attempts within `windowMs` that trigger a lockout. */
  maxFailures?: number | undefined;
  windowMs?: number | undefined;
  lockoutMs?: number | undefined;
}

/** A locked address or account, for the admin API. */
export interface LoginBlock {
  kind: "web-address" | "web-account";
  key: string;
  /** Unix epoch ms when the lockout ends. */
  blockedUntil: number;
}

/** Why an attempt was refused: which key is locked and for how many more seconds. */
export interface LoginRefusal {
  scope: "address" | "account";
  retryAfter: number;
}

class KeyLimiter {
  readonly entries = new Map<string, Entry>();
  readonly max: number;
  readonly windowMs: number;
  readonly lockoutMs: number;
  constructor(limits: LoginLimits, defaults: Required<{ [K in keyof LoginLimits]: number }>) {
    this.max = limits.maxFailures ?? defaults.maxFailures;
    this.windowMs = limits.windowMs ?? defaults.windowMs;
    this.lockoutMs = limits.lockoutMs ?? defaults.lockoutMs;
  }
  retryAfter(key: string, now: number): number {
    const e = this.entries.get(key);
    return e !== undefined && e.lockedUntil > now ? Math.max(1, Math.ceil((e.lockedUntil - now) / 1000)) : 0;
  }
  /** Count a failure; true when this one locked the key. */
  count(key: string, now: number): boolean {
    let e = this.entries.get(key);
    if (e === undefined || now - e.windowStart > this.windowMs) {
      e = { failures: 0, windowStart: now, lockedUntil: e?.lockedUntil ?? 0 };
      this.#prune(now);
      this.entries.set(key, e);
    }
    e.failures++;
    if (e.failures >= this.max) {
      e.lockedUntil = now + this.lockoutMs;
      e.failures = 0;
      e.windowStart = now;
      return true;
    }
    return false;
  }
  uncount(key: string): void {
    const e = this.entries.get(key);
    if (e !== undefined && e.failures > 0) e.failures--;
  }
  #prune(now: number): void {
    if (this.entries.size < MAX_ENTRIES) return;
    for (const [k, e] of this.entries) {
      if (e.lockedUntil <= now && now - e.windowStart > this.windowMs) this.entries.delete(k);
    }
    // Still full (an address-spraying attacker): drop the oldest records, never refuse to track.
    for (const k of this.entries.keys()) {
      if (this.entries.size < MAX_ENTRIES) break;
      this.entries.delete(k);
    }
  }
}

/** Tracks failed logins per client address and per account, and locks either out after too many. */
export class LoginLimiter {
  #clock: Clock;
  #address: KeyLimiter;
  #account: KeyLimiter;

  /**
   * Address limits default to 5 failures in 15 min, locked 15 min; account limits (`account`) to
   * 10 failures from anywhere in 15 min, locked 15 min.
   */
  constructor(clock: Clock, options: LoginLimits & { account?: LoginLimits | undefined } = {}) {
    this.#clock = clock;
    this.#address = new KeyLimiter(options, {
      maxFailures: 5,
      windowMs: 15 * 60_000,
      lockoutMs: 15 * 60_000,
    });
    this.#account = new KeyLimiter(options.account ?? {}, {
      maxFailures: 10,
      windowMs: 15 * 60_000,
      lockoutMs: 15 * 60_000,
    });
  }

  /**
   * Register an attempt on `account` from `address`. Returns the refusal if either is locked out
   * (the attempt must be refused and is not counted), else undefined and the attempt counts as a
   * failure of both until `succeeded` is called. `locked` lists the keys this attempt locked.
   */
  begin(address: string, account: string): { refusal?: LoginRefusal; locked: LoginBlock["kind"][] } {
    const now = this.#clock.now();
    const byAddress = this.#address.retryAfter(address, now);
    if (byAddress > 0) return { refusal: { scope: "address", retryAfter: byAddress }, locked: [] };
    const byAccount = this.#account.retryAfter(account, now);
    if (byAccount > 0) return { refusal: { scope: "account", retryAfter: byAccount }, locked: [] };
    const locked: LoginBlock["kind"][] = [];
    if (this.#address.count(address, now)) locked.push("web-address");
    if (this.#account.count(account, now)) locked.push("web-account");
    return { locked };
  }

  /**
   * The attempt succeeded: forget the address's failures, take this attempt back from the account
   * (and lift the account lockout if this very attempt set it: `locked` from `begin`).
   */
  succeeded(address: string, account: string, locked: readonly LoginBlock["kind"][] = []): void {
    this.#address.entries.delete(address);
    if (locked.includes("web-account")) this.#account.entries.delete(account);
    else this.#account.uncount(account);
  }

  /** Addresses and accounts locked out now. */
  blocks(): LoginBlock[] {
    const now = this.#clock.now();
    const wall = this.#clock.wallNow();
    const out: LoginBlock[] = [];
    for (const [kind, limiter] of [["web-address", this.#address], ["web-account", this.#account]] as const) {
      for (const [key, e] of limiter.entries) {
        if (e.lockedUntil > now) out.push({ kind, key, blockedUntil: wall + (e.lockedUntil - now) });
      }
    }
    return out;
  }

  /** Lift a lockout (admin action); true if the key was locked. */
  unblock(kind: LoginBlock["kind"], key: string): boolean {
    const limiter = kind === "web-address" ? this.#address : this.#account;
    const e = limiter.entries.get(key);
    const was = e !== undefined && e.lockedUntil > this.#clock.now();
    limiter.entries.delete(key);
    return was;
  }
}
