import { deepStrictEqual as eq, ok } from "node:assert";
import { createAdmission, smoothLag, startLoadMonitor } from "./load_monitor.ts";

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

Deno.test("admission: a set-up backlog sheds the flooding source, another address still gets its share", () => {
  let t = 0;
  let settingUp = 0;
  let lag = false;
  const a = createAdmission({
    lagging: () => lag,
    settingUp: () => settingUp,
    maxSettingUp: 100,
    perSourceShare: 5,
    now: () => t,
  });
  // Not overloaded: everything is taken.
  for (let i = 0; i < 50; i++) eq(a.shed("10.0.0.1"), false);
  eq(a.state(), null);
  settingUp = 100;
  eq(a.state(), "set-up backlog");
  t = 1000; // a new second
  const flood = Array.from({ length: 200 }, () => a.shed("10.0.0.1"));
  eq(flood.filter((s) => !s).length, 5, "the flood keeps only its share");
  const phone = Array.from({ length: 3 }, () => a.shed("10.0.0.2"));
  eq(phone, [false, false, false], "the phone on another address is not shed");
  settingUp = 0;
  lag = true;
  eq(a.state(), "lagging");
  eq(a.shed("10.0.0.1"), true);
  lag = false;
  eq(a.shed("10.0.0.1"), false);
});
