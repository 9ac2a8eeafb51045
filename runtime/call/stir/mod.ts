/**
 * STIR/SHAKEN for trunk calls: verify inbound `Identity` headers (RFC 8224/8225/8588) into a
 * `verstat`, sign outbound calls, and the attestation rule. Pure of SIP transport: the trunk code
 * hands in header values and gets header values back; fetching and time are injectable.
 *
 * @module
 */

export {
  formatIdentityHeader,
  type IdentityHeader,
  MAX_IDENTITY_LENGTH,
  normalizeTn,
  parseIdentityHeader,
  tnFromUri,
  type Verstat,
  withVerstat,
} from "./identity.ts";
export { type FetchLike, isPrivateHost, X5uCache, type X5uCacheOptions, X5uFetchError } from "./x5u_cache.ts";
export { ChainError, MAX_CHAIN_DEPTH, parsePemBundle, TrustStore } from "./chain.ts";
export {
  type Attestation,
  type ShakenClaims,
  type ShakenHeader,
  StirVerifier,
  type StirVerifierOptions,
  type VerifyFailure,
  type VerifyInput,
  type VerifyResult,
} from "./verify.ts";
export {
  type AttestationFacts,
  chooseAttestation,
  type SignInput,
  type SignResult,
  StirSigner,
  type StirSignerOptions,
} from "./sign.ts";
