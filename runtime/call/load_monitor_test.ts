import { deepStrictEqual as eq, ok } from "node:assert";
import { smoothLag, startLoadMonitor } from "./load_monitor.ts";

Deno.test("lag rises at once to a stall and needs several quiet ticks to fall below the threshold", () => {
  let lag = smoothLag(0, 300);
  eq(lag, 300);
  let ticks = 0;
  while (lag > 100) {
    lag = smoothLag(lag, 0);
    ticks++;
  }
  eq(ticks, 5); // 300 * 0.8^5 < 100 <= 300 * 0.8^4
  ok(smoothLag(50, 10) < 50);
});

Deno.test("the monitor starts, reports a lag and stops without leaking its timer", () => {
  const m = startLoadMonitor({ intervalMs: 10, thresholdMs: 50 });
  ok(m.lagMs() >= 0);
  ok(typeof m.overloaded() === "boolean");
  m.stop();
});
