/**
 * The web layer: REST API (and later the admin UI) as a Hono app. It reads storage and the live
 * status interface; it never touches SIP or media internals.
 *
 * @example
 * ```ts
 * const app = createApp({ storage, live, health: () => ({ ok: true, listeners: { sip: true } }) });
 * Deno.serve({ hostname: "0.0.0.0", port: 80 }, app.fetch);
 * ```
 */
export { createApp } from "./app.ts";
export type { AppEnv, AuthUser } from "./_env.ts";
export type {
  AppDeps,
  AudioDevice,
  BackupInfo,
  BoxInfo,
  Health,
  LiveCall,
  LiveCallState,
  LiveChange,
  LiveStatus,
  Logger,
  LoginLimitOptions,
  ReprovisionResult,
  SipBlock,
  SipSecurityControl,
  WavInfo,
} from "./types.ts";
export { ALLOW_LIST_SETTING } from "./api_security.ts";
export { CONTENT_SECURITY_POLICY } from "./_security_headers.ts";
