import { deepStrictEqual as eq } from "node:assert";
import { VirtualClock } from "../clock/mod.ts";
import { retransmitOk } from "./_ok_retransmit.ts";

Deno.test("2xx is resent at T1, 2T1, 4T1 ... capped at T2, and given up after 64*T1", () => {
  const clock = new VirtualClock();
  const sent: number[] = [];
  let gaveUp = false;
  retransmitOk(() => sent.push(clock.now()), { clock, onGiveUp: () => (gaveUp = true) });
  clock.advance(40_000);
  eq(sent.slice(0, 5), [500, 1500, 3500, 7500, 11500]);
  eq(gaveUp, true);
  eq(clock.pending, 0);
});

Deno.test("stop() on ACK ends the retransmissions", () => {
  const clock = new VirtualClock();
  let n = 0;
  const r = retransmitOk(() => n++, { clock, onGiveUp: () => {} });
  clock.advance(600);
  r.stop();
  clock.advance(10_000);
  eq(n, 1);
  eq(clock.pending, 0);
});
