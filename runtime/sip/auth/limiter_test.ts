import { deepStrictEqual as assertEquals } from "node:assert";
import { VirtualClock } from "../../clock/mod.ts";
import { countsAsFailure, FailureLimiter } from "./limiter.ts";

Deno.test("limiter delays after 5 failures, blocks at 20, and the block expires", () => {
  const clock = new VirtualClock();
  const limiter = new FailureLimiter({ clock });
  const ip = "192.0.2.7";
  for (let i = 0; i < 4; i++) limiter.record(ip, false);
  assertEquals(limiter.check(ip), { blocked: false, delayMs: 0 });
  limiter.record(ip, false);
  assertEquals(limiter.check(ip), { blocked: false, delayMs: 1000 });
  limiter.record(ip, false);
  assertEquals(limiter.check(ip), { blocked: false, delayMs: 2000 });
  for (let i = 0; i < 13; i++) limiter.record(ip, false);
  assertEquals(limiter.check(ip), { blocked: false, delayMs: 5000 });
  limiter.record(ip, false);
  assertEquals(limiter.check(ip), { blocked: true, delayMs: 0 });
  assertEquals(limiter.check("192.0.2.8"), { blocked: false, delayMs: 0 });
  // Failures during a block do not extend it.
  clock.advance(599_000);
  limiter.record(ip, false);
  assertEquals(limiter.check(ip).blocked, true);
  clock.advance(1_000);
  assertEquals(limiter.check(ip), { blocked: false, delayMs: 0 });
  // The failures stay counted in the long window (an hour) after the block.
  assertEquals(limiter.size, 1);
  clock.advance(3_600_000);
  assertEquals(limiter.check(ip), { blocked: false, delayMs: 0 });
  assertEquals(limiter.size, 0);
});

Deno.test("limiter failures outside the window start a new count", () => {
  const clock = new VirtualClock();
  const limiter = new FailureLimiter({ clock });
  for (let i = 0; i < 19; i++) limiter.record("a", false);
  clock.advance(60_000);
  limiter.record("a", false);
  assertEquals(limiter.check("a"), { blocked: false, delayMs: 0 });
});

Deno.test("limiter success clears failures but not an active block", () => {
  const clock = new VirtualClock();
  const limiter = new FailureLimiter({ clock, blockAfter: 3 });
  limiter.record("a", false);
  limiter.record("a", false);
  limiter.record("a", true);
  limiter.record("a", false);
  assertEquals(limiter.check("a").blocked, false);
  limiter.record("a", false);
  limiter.record("a", false);
  limiter.record("a", true);
  assertEquals(limiter.check("a").blocked, true);
  assertEquals(limiter.unblock("a"), true);
  assertEquals(limiter.check("a").blocked, false);
});

Deno.test("limiter list reports blocked addresses with wall-clock times", () => {
  const clock = new VirtualClock({ wallStart: 1_000_000 });
  const limiter = new FailureLimiter({ clock, blockAfter: 2, blockMs: 5000 });
  limiter.record("a", false);
  clock.advance(10);
  limiter.record("a", false);
  limiter.record("b", false);
  assertEquals(limiter.list(), [
    { ip: "a", failures: 2, blocked: true, blockedUntil: 1_005_010, lastFailureAt: 1_000_010, delayMs: 0 },
    { ip: "b", failures: 1, blocked: false, lastFailureAt: 1_000_010, delayMs: 0 },
  ]);
  clock.advance(3_600_000);
  assertEquals(limiter.list(), []);
});

Deno.test("limiter memory stays bounded and keeps blocked addresses longest", () => {
  const clock = new VirtualClock();
  const limiter = new FailureLimiter({ clock, maxEntries: 100, blockAfter: 2 });
  limiter.record("attacker", false);
  limiter.record("attacker", false);
  for (let i = 0; i < 1000; i++) limiter.record(`10.0.${i >> 8}.${i & 255}`, false);
  assertEquals(limiter.size <= 100, true);
  assertEquals(limiter.check("attacker").blocked, true);
});

Deno.test("countsAsFailure ignores the normal missing and stale answers", () => {
  assertEquals(countsAsFailure({ ok: false, reason: "missing" }), false);
  assertEquals(countsAsFailure({ ok: false, reason: "stale", stale: true }), false);
  assertEquals(countsAsFailure({ ok: false, reason: "wrong-password" }), true);
  assertEquals(countsAsFailure({ ok: true, username: "x" }), false);
});

Deno.test("limiter: a slow sequential guesser (32 guesses in ~100 s) ends blocked by the long window", () => {
  const clock = new VirtualClock();
  const limiter = new FailureLimiter({ clock });
  let blockedAt = -1;
  for (let i = 0; i < 32; i++) {
    if (limiter.check("a").blocked) {
      blockedAt = i;
      break;
    }
    limiter.record("a", false);
    clock.advance(3200); // 32 guesses in 102 s: never 20 in one (fixed) minute
  }
  assertEquals(blockedAt, 30);
  const [entry] = limiter.list();
  assertEquals(entry?.blocked, true);
  assertEquals(entry?.failures, 30);
});

Deno.test("limiter: long-window failures are forgotten after the long window, not the short one", () => {
  const clock = new VirtualClock();
  const limiter = new FailureLimiter({ clock, longWindowMs: 3_600_000, longBlockAfter: 5 });
  for (let i = 0; i < 4; i++) {
    limiter.record("a", false);
    clock.advance(600_000);
  }
  assertEquals(limiter.size, 1, "kept across short windows");
  clock.advance(3_600_000);
  limiter.record("a", false);
  assertEquals(limiter.check("a").blocked, false, "the first four are out of the window");
});

Deno.test("limiter with successClears: false (extensions): a success does not reset the count", () => {
  const clock = new VirtualClock();
  const limiter = new FailureLimiter({ clock, windowMs: 3_600_000, blockAfter: 3, successClears: false });
  limiter.record("1001", false);
  limiter.record("1001", false);
  limiter.record("1001", true); // the real phone re-registers in between
  limiter.record("1001", false);
  assertEquals(limiter.check("1001").blocked, true);
});
