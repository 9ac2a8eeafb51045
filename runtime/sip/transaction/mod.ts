/**
 * The SIP transaction layer (RFC 3261 section 17): client and server transactions with timers A-K
 * driven by an injectable clock, plus the random ids the stack needs.
 *
 * @module
 */
export { BRANCH_MAGIC_COOKIE, newBranch, newCallId, newTag } from "./ids.ts";
export { DEFAULT_TIMERS, type TransactionTimers } from "./timers.ts";
export { ServerTransaction, type ServerTransactionContext, type ServerTransactionState } from "./server.ts";
export {
  ClientTransaction,
  type ClientTransactionContext,
  type ClientTransactionHandlers,
  type ClientTransactionState,
  createCancel,
  createNon2xxAck,
} from "./client.ts";
export { TransactionLayer, type TransactionLayerOptions, type TransactionTransport } from "./layer.ts";
