/**
 * What the web layer needs from the rest of the appliance, as interfaces: the live call registry
 * (implemented by runtime/call), listener health and a logger. The composition root passes the
 * real implementations; tests pass fakes.
 */
import type { Clock } from "../runtime/clock/mod.ts";
import type { Storage } from "../runtime/storage/mod.ts";

/** States a live call goes through, as shown in the UI. */
export type LiveCallState = "dialing" | "ringing" | "answered" | "held" | "transferring" | "ending";

/** One call in progress. Times are Unix epoch milliseconds. */
export interface LiveCall {
  id: string;
  caller: string;
  callee: string;
  callerName?: string | undefined;
  state: LiveCallState;
  startedAt: number;
  answeredAt?: number | undefined;
}

/** Kinds of live change a UI may want to be told about (SSE later). */
export type LiveChange = "calls" | "registrations";

/** Read-only view of live state; runtime/call implements it. */
export interface LiveStatus {
  /** Calls in progress right now. */
  calls(): LiveCall[];
  /** Subscribe to change notifications; returns an unsubscribe function. Optional. */
  onChange?(listener: (change: LiveChange) => void): () => void;
}

/** Listener health for GET /api/health. */
export interface Health {
  ok: boolean;
  listeners: Record<string, boolean>;
}

/** Minimal structured logger. Never pass secrets in fields. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Login throttling per client IP. */
export interface LoginLimitOptions {
  /** Failed attempts within `windowMs` that trigger a lockout (default 5). */
  maxFailures?: number | undefined;
  /** Window for counting failures (default 15 min). */
  windowMs?: number | undefined;
  /** Lockout duration (default 15 min). */
  lockoutMs?: number | undefined;
}

/** Dependencies of `createApp`. */
export interface AppDeps {
  storage: Storage;
  live: LiveStatus;
  health(): Health;
  logger?: Logger | undefined;
  /** Drives session expiry display and the login limiter; default realClock. */
  clock?: Clock | undefined;
  /** Lifetime of a login token (default 12 h). */
  sessionTtlMs?: number | undefined;
  /** SIP realm for new extensions' HA1; default the `sip.realm` setting, else "pbx". */
  sipRealm?: (() => string) | undefined;
  loginLimit?: LoginLimitOptions | undefined;
  /** Maximum request body in bytes (default 64 KiB). */
  maxBodyBytes?: number | undefined;
}
