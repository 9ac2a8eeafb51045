/**
 * RFC 3261 13.3.1.4: a UAS core resends its 2xx to an INVITE, T1 doubling up to T2, until the ACK
 * arrives; with no ACK after 64*T1 the dialog is confirmed and then torn down (the caller does so
 * through `onGiveUp`). Used by the B2BUA and by calls the box answers itself.
 */
import type { Clock, TimerId } from "../clock/mod.ts";

/** A running retransmission; `stop()` on ACK or when the call ends. */
export interface OkRetransmit {
  stop(): void;
}

/** Resend with `resend()` until stopped; `onGiveUp()` after 64*T1 without an ACK. */
export function retransmitOk(
  resend: () => void,
  options: { clock: Clock; t1Ms?: number; t2Ms?: number; onGiveUp(): void },
): OkRetransmit {
  const { clock } = options;
  const t1 = options.t1Ms ?? 500;
  const t2 = options.t2Ms ?? 4000;
  const started = clock.now();
  let interval = t1;
  let timer: TimerId | undefined;
  const tick = () => {
    timer = undefined;
    if (clock.now() - started >= 64 * t1) {
      options.onGiveUp();
      return;
    }
    resend();
    interval = Math.min(interval * 2, t2);
    timer = clock.setTimeout(tick, interval);
  };
  timer = clock.setTimeout(tick, t1);
  return {
    stop() {
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
    },
  };
}
