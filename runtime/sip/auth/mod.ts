/**
 * SIP Digest authentication (RFC 3261 section 22, RFC 2617, RFC 7616 / RFC 8760 SHA-256):
 * the server side (challenges, verification, brute-force limiting) and the client side
 * (answering a challenge, for trunks). Pure: no sockets.
 *
 * @module
 */

export { type AuthParams, type ChallengeFields, formatChallenge, parseAuthParams, quote } from "./params.ts";
export {
  baseAlgorithm,
  computeAuthorization,
  type ComputeAuthorizationOptions,
  type DigestAlgorithm,
  type DigestAlgorithmName,
  type DigestQop,
  digestResponse,
  type DigestResponseInput,
  formatNc,
  ha1,
  hashHex,
  parseAlgorithm,
  randomCnonce,
} from "./digest.ts";
export {
  type AsyncHa1Lookup,
  type AuthFailureReason,
  type AuthResult,
  type Challenge,
  DigestAuthenticator,
  type DigestAuthenticatorOptions,
  type Ha1Lookup,
  type VerifyRequest,
} from "./authenticator.ts";
export {
  countsAsFailure,
  FailureLimiter,
  type FailureLimiterOptions,
  type LimiterEntry,
  type LimiterVerdict,
} from "./limiter.ts";
