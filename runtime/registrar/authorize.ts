/**
 * Digest authentication of requests from extensions (REGISTER, INVITE, ...), with brute-force
 * limiting in front. RFC 3261 section 22; the digest math lives in runtime/sip/auth.
 *
 * Failures are counted per source address (a burst limit and an hourly one) and per extension
 * (from anywhere): a source past its limit is blocked for a while, an extension past its limit
 * has its authentication locked for a while. Only failures that prove the sender received our
 * challenge at its address count against that address (wrong password or unknown user with a
 * nonce issued to it): forged, foreign or made-up nonces are answered with a fresh challenge and
 * never block anyone, so spoofed UDP cannot lock a real phone's address out. Addresses in the
 * allow-list are never blocked by source. Every counted failure is logged as a fail2ban-friendly
 * line, `SECURITY auth-failure src=<ip> user=<user> ...`; blocks and lockouts are logged and
 * reported through `onSecurityEvent` (the appliance writes them to the audit log).
 */
import type { Peer, SipRequest, SipResponse } from "../sip/message/types.ts";
import { addHeader, createResponse, getHeaderValues } from "../sip/message/mod.ts";
import type { AuthResult, DigestAuthenticator, FailureLimiter } from "../sip/auth/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { AllowList } from "./allow_list.ts";

/** Looks up digest credentials of an extension. */
export interface CredentialDirectory {
  /** HA1 for the user in the realm, or undefined for an unknown user. */
  ha1(username: string, realm: string, algorithm: "MD5" | "SHA-256"): string | undefined;
}

/** Outcome of `authorize`: the user, or a response to send (401/403) after `delayMs`. */
export type AuthorizeResult =
  | { ok: true; username: string }
  | { ok: false; response: SipResponse; delayMs: number };

/** A block or lockout the authorizer imposed (for the audit log). */
export interface SecurityEvent {
  action: "sip.source-blocked" | "sip.extension-locked";
  /** The source address of the failure that triggered it. */
  source: string;
  /** The extension (for a lockout) or the user the triggering failure named. */
  user?: string | undefined;
  /** Failures counted in the long window. */
  failures: number;
  /** Unix epoch ms when the block ends. */
  until: number;
}

/** Options for `createAuthorizer`. */
export interface AuthorizerOptions {
  authenticator: DigestAuthenticator;
  /** Failures per source address. */
  limiter: FailureLimiter;
  /** Failures per extension, from any source; without it extensions are never locked. */
  extensionLimiter?: FailureLimiter | undefined;
  /** Networks never blocked by source. */
  allowList?: AllowList | undefined;
  directory: CredentialDirectory;
  log: Logger;
  /** Told about every new block and lockout. */
  onSecurityEvent?: ((event: SecurityEvent) => void) | undefined;
}

/** Checks digest credentials on a request and answers challenges. */
export interface Authorizer {
  authorize(req: SipRequest, source: Peer): AuthorizeResult;
}

/** Failures that prove the sender got a challenge at its address (its nonce is bound to it). */
function provesSource(result: AuthResult): boolean {
  return !result.ok &&
    (result.reason === "wrong-password" || result.reason === "unknown-user" ||
      result.reason === "uri-mismatch");
}

/** Build the authorizer shared by the registrar and the B2BUA. */
export function createAuthorizer(options: AuthorizerOptions): Authorizer {
  const { authenticator, limiter, directory, log } = options;
  const extensions = options.extensionLimiter;

  const challenge = (req: SipRequest, source: Peer, stale: boolean, delayMs: number): AuthorizeResult => {
    const res = createResponse(req, 401);
    const c = authenticator.challenge({ stale, source: source.address });
    for (const v of c.values) addHeader(res, c.name, v);
    return { ok: false, response: res, delayMs };
  };
  const forbidden = (req: SipRequest, reason: string, delayMs = 0): AuthorizeResult => ({
    ok: false,
    response: createResponse(req, 403, { reason: `Forbidden (${reason})` }),
    delayMs,
  });
  const until = (l: FailureLimiter, key: string) => l.list().find((e) => e.ip === key);

  return {
    authorize(req, source) {
      const ip = source.address;
      const allowed = options.allowList?.has(ip) ?? false;
      if (!allowed && limiter.check(ip).blocked) return forbidden(req, "too many failed attempts");
      const headers = getHeaderValues(req, "Authorization");
      if (headers.length === 0) return challenge(req, source, false, 0);
      const result = authenticator.verify({
        method: req.method,
        authorization: headers,
        lookupHa1: (user, realm, alg) => directory.ha1(user, realm, alg),
        source: ip,
      });
      if (result.ok) {
        if (extensions?.isBlocked(result.username)) {
          log.warn("SECURITY auth-refused", {
            src: ip,
            user: result.username,
            method: req.method,
            reason: "extension-locked",
          });
          return forbidden(req, "extension locked after repeated failed attempts");
        }
        limiter.record(ip, true);
        return { ok: true, username: result.username };
      }
      // A stale nonce or a replayed nonce-count: an honest phone just retries with a fresh nonce.
      if (result.stale) return challenge(req, source, true, 0);
      if (result.reason === "missing") return challenge(req, source, false, 0);
      const user = result.username?.slice(0, 64);
      if (!provesSource(result)) {
        // Forged or foreign nonce, other realm, malformed: anyone can send these from any
        // address, so they count against no one. A fresh challenge lets an honest client retry.
        log.debug("authentication rejected without counting", {
          src: ip,
          user: user ?? "?",
          method: req.method,
          reason: result.reason,
        });
        return challenge(req, source, false, 0);
      }
      const wasBlocked = !allowed && limiter.isBlocked(ip);
      if (!allowed) limiter.record(ip, false);
      const wasLocked = user !== undefined && extensions !== undefined && extensions.isBlocked(user);
      if (user !== undefined) extensions?.record(user, false);
      const after = allowed ? { blocked: false, delayMs: 0 } : limiter.check(ip);
      // The fixed fail2ban format (docs/security.md): src first, then user, method, reason.
      log.warn("SECURITY auth-failure", {
        src: ip,
        user: user ?? "?",
        method: req.method,
        reason: result.reason,
        port: source.port,
        transport: source.transport,
      });
      if (!wasBlocked && after.blocked) {
        const e = until(limiter, ip);
        log.warn("SECURITY source-blocked", {
          src: ip,
          failures: e?.failures ?? 0,
          until: new Date(e?.blockedUntil ?? 0).toISOString(),
        });
        // The old wording, kept for log watchers that know it.
        log.warn("source blocked after repeated authentication failures", { source: ip });
        options.onSecurityEvent?.({
          action: "sip.source-blocked",
          source: ip,
          user,
          failures: e?.failures ?? 0,
          until: e?.blockedUntil ?? 0,
        });
      }
      if (user !== undefined && extensions !== undefined && !wasLocked && extensions.isBlocked(user)) {
        const e = until(extensions, user);
        log.warn("SECURITY extension-locked", {
          src: ip,
          user,
          failures: e?.failures ?? 0,
          until: new Date(e?.blockedUntil ?? 0).toISOString(),
        });
        options.onSecurityEvent?.({
          action: "sip.extension-locked",
          source: ip,
          user,
          failures: e?.failures ?? 0,
          until: e?.blockedUntil ?? 0,
        });
      }
      return forbidden(req, "bad credentials", after.delayMs);
    },
  };
}
