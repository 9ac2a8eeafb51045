/** Timer values for the transaction layer (RFC 3261 section 17 and table 4). */
export interface TransactionTimers {
  /** RTT estimate, default 500 ms. */
  t1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, default 4 s. */
  t2: number;
  /** Maximum time a message stays in the network, default 5 s. */
  t4: number;
  /** Timer D, wait time for response retransmits over UDP, default 32 s ("at least 32 s"). */
  timerD: number;
  /** Delay before an INVITE server transaction sends 100 Trying on its own (17.2.1), default 200 ms. */
  trying: number;
}

/** The RFC 3261 defaults. */
export const DEFAULT_TIMERS: Readonly<TransactionTimers> = Object.freeze({
  t1: 500,
  t2: 4000,
  t4: 5000,
  timerD: 32000,
  trying: 200,
});
