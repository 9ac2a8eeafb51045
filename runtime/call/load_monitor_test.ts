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
  const a = createAdmission({
    lagging: () => false,
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
  eq(a.state(), null);
  eq(a.shed("10.0.0.1"), false);
});

Deno.test("admission: a lagging loop takes what the box finishes (AIMD), not just the shares, and recovers", () => {
  let t = 0;
  let lag = false;
  let settingUp = 0;
  const a = createAdmission({
    lagging: () => lag,
    settingUp: () => settingUp,
    perSourceShare: 5,
    now: () => t,
  });
  const second = (offered: number, source = "10.0.0.1") =>
    Array.from({ length: offered }, () => a.shed(source)).filter((s) => !s).length;
  eq(second(100), 100); // keeping up: all taken (and finished: nothing left in set-up)
  t = 1000;
  lag = true;
  eq(a.state(), "lagging");
  // Onset: 85% of the 100 finished in the last second, not just the source's share of 5.
  eq(second(300), 85);
  settingUp = 25; // of those 85, 60 finished within the second
  t = 2000; // still lagging: 85% of the 60 finished
  eq(second(300), 51);
  // Another address keeps its share whatever the budget.
  eq(second(3, "10.0.0.2"), 3);
  settingUp = 0;
  t = 3000;
  lag = false; // keeping up again: the budget grows by 10% a second while it still sheds
  eq(a.state(), null);
  eq(second(300), 58); // ceil(51 * 1.1) + 1
  t = 4000;
  eq(second(50), 50); // fits the budget (65): nothing shed this second
  t = 5000;
  eq(second(500), 500); // a whole second without shedding: no budget any more
});

Deno.test("admission: media ports nearly all taken shed the flood; another address keeps its share", () => {
  let low = false;
  const a = createAdmission({
    lagging: () => false,
    settingUp: () => 0,
    mediaLow: () => low,
    perSourceShare: 5,
  });
  for (let i = 0; i < 20; i++) eq(a.shed("10.0.0.1"), false);
  low = true;
  eq(a.state(), "media ports low");
  eq(
    Array.from({ length: 20 }, () => a.shed("10.0.0.1")).every(Boolean),
    true,
    "the flood is past its share",
  );
  eq(Array.from({ length: 3 }, () => a.shed("10.0.0.2")), [false, false, false]);
  low = false;
  eq(a.shed("10.0.0.1"), false);
});

Deno.test("admission: an INVITE that will only be challenged is checked but not counted in the share", () => {
  let low = true;
  const a = createAdmission({
    lagging: () => false,
    settingUp: () => 0,
    mediaLow: () => low,
    perSourceShare: 2,
  });
  // A phone's calls: a challenged INVITE, then the one with credentials, twice: both calls go through.
  eq([a.shed("10.0.0.2", true), a.shed("10.0.0.2"), a.shed("10.0.0.2", true), a.shed("10.0.0.2")], [
    false,
    false,
    false,
    false,
  ]);
  // Past the share, the challenged INVITE is shed too (the cheapest answer under overload).
  eq(a.shed("10.0.0.2", true), true);
  low = false;
  eq(a.shed("10.0.0.2", true), false);
});
