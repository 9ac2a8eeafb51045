/**
 * Digest authentication of requests from extensions (REGISTER, INVITE, ...), with the brute-force
 * limiter in front: repeated failures from one source are slowed, then blocked for a while, and
 * every block is logged. RFC 3261 section 22; the digest math lives in runtime/sip/auth.
 */
import type { Peer, SipRequest, SipResponse } from "../sip/message/types.ts";
import { addHeader, createResponse, getHeaderValues } from "../sip/message/mod.ts";
import type { DigestAuthenticator, FailureLimiter } from "../sip/auth/mod.ts";
import type { Logger } from "../log/mod.ts";

/** Looks up digest credentials of an extension. */
export interface CredentialDirectory {
  /** HA1 for the user in the realm, or undefined for an unknown user. */
  ha1(username: string, realm: string, algorithm: "MD5" | "SHA-256"): string | undefined;
}

/** Outcome of `authorize`: the user, or a response to send (401/403) after `delayMs`. */
export type AuthorizeResult =
  | { ok: true; username: string }
  | { ok: false; response: SipResponse; delayMs: number };

/** Options for `createAuthorizer`. */
export interface AuthorizerOptions {
  authenticator: DigestAuthenticator;
  limiter: FailureLimiter;
  directory: CredentialDirectory;
  log: Logger;
}

/** Checks digest credentials on a request and answers challenges. */
export interface Authorizer {
  authorize(req: SipRequest, source: Peer): AuthorizeResult;
}

/** Build the authorizer shared by the registrar and the B2BUA. */
export function createAuthorizer(options: AuthorizerOptions): Authorizer {
  const { authenticator, limiter, directory, log } = options;

  const challenge = (req: SipRequest, stale: boolean, delayMs: number): AuthorizeResult => {
    const res = createResponse(req, 401);
    const c = authenticator.challenge({ stale });
    for (const v of c.values) addHeader(res, c.name, v);
    return { ok: false, response: res, delayMs };
  };

  return {
    authorize(req, source) {
      const gate = limiter.check(source.address);
      if (gate.blocked) {
        return {
          ok: false,
          response: createResponse(req, 403, { reason: "Forbidden (too many failed attempts)" }),
          delayMs: 0,
        };
      }
      const headers = getHeaderValues(req, "Authorization");
      if (headers.length === 0) return challenge(req, false, 0);
      const result = authenticator.verify({
        method: req.method,
        authorization: headers,
        lookupHa1: (user, realm, alg) => directory.ha1(user, realm, alg),
      });
      if (result.ok) {
        limiter.record(source.address, true);
        return { ok: true, username: result.username };
      }
      // A stale nonce or a replayed nonce-count: an honest phone just retries with a fresh nonce.
      if (result.stale) return challenge(req, true, 0);
      if (result.reason === "missing") return challenge(req, false, 0);
      limiter.record(source.address, false);
      const after = limiter.check(source.address);
      log.warn("authentication failed", {
        method: req.method,
        user: result.username ?? "?",
        reason: result.reason,
        source: `${source.address}:${source.port}`,
        blocked: after.blocked,
      });
      if (after.blocked) {
        log.warn("source blocked after repeated authentication failures", { source: source.address });
      }
      if (result.reason === "malformed" || result.reason === "realm" || result.reason === "bad-nonce") {
        return challenge(req, false, after.delayMs);
      }
      return {
        ok: false,
        response: createResponse(req, 403, { reason: "Forbidden (bad credentials)" }),
        delayMs: after.delayMs,
      };
    },
  };
}
