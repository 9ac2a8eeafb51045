/**
 * Queue callback in virtual time: a caller who presses the callback digit leaves the call but
 * keeps their place (the wallboard shows them first, the caller behind them second); when the
 * agent is free the box calls the callback waiter back before serving the caller behind; a
 * callback nobody answers is tried `callbackRetries` more times (others are served during the
 * pause), then given up with a log line and counted abandoned.
 */
import { deepStrictEqual as eq, ok as assert } from "node:assert";
import { DatabaseSync } from "node:sqlite";
import type { CallLeg, LegEvent, PlaySource } from "../../call/mod.ts";
import { VirtualClock } from "../../clock/mod.ts";
import { createLogger } from "../../log/mod.ts";
import * as m067 from "../../storage/migrations/067_queues.ts";
import {
  type CallbackResult,
  checkQueue,
  type ConnectResult,
  createQueueStore,
  queueApplications,
  QueueRuntime,
} from "./mod.ts";

/** A caller's leg whose events the test sends; music plays until stopPlay. */
function fakeLeg(caller: string) {
  const listeners = new Set<(ev: LegEvent) => void>();
  let stop: (() => void) | undefined;
  let end: (by: "caller" | "system") => void = () => {};
  let hungUp = false;
  const ended = new Promise<"caller" | "system">((r) => (end = r));
  const leg = {
    info: { caller, dialled: "600", receivedAt: 0, codec: "PCMU/8000" },
    answer() {},
    reject() {},
    play: (src: PlaySource) =>
      "tone" in src && src.durationMs === 20 ? Promise.resolve() : new Promise<void>((r) => (stop = r)),
    stopPlay: () => {
      stop?.();
      return Promise.resolve();
    },
    on: (l: (ev: LegEvent) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    hangup: () => {
      hungUp = true;
      end("system");
    },
    ended,
  } as unknown as CallLeg;
  return {
    leg,
    press: (digit: string) => {
      for (const l of [...listeners]) l({ type: "dtmf", digit, source: "rfc4733" });
    },
    hungUp: () => hungUp,
  };
}

function setup(callbackScript: CallbackResult["outcome"][]) {
  const db = new DatabaseSync(":memory:");
  db.exec(m067.sql);
  const clock = new VirtualClock();
  const lines: string[] = [];
  const log = createLogger("queue", { sink: (l) => lines.push(l) });
  const store = createQueueStore(db, () => clock.wallNow());
  store.put(checkQueue({
    number: "600",
    strategy: "linear",
    members: ["201"],
    wrapUpMs: 0,
    announceEveryMs: 0,
    maxWaitMs: 3_600_000,
    callbackDigit: "5",
    callbackRetries: 1,
    callbackRetryMs: 30_000,
  }));
  const served: string[] = [];
  const rt = new QueueRuntime({
    store,
    clock,
    log,
    prompts: { say: () => Promise.reject(new Error("no speech")) },
    connect: (agent, leg): Promise<ConnectResult> => {
      served.push(`connect ${agent} ${leg.info.caller}`);
      return Promise.resolve({ outcome: "answered", ended: Promise.resolve() });
    },
    callBack: (agent, caller): Promise<CallbackResult> => {
      served.push(`callback ${agent} ${caller}`);
      const outcome = callbackScript.shift() ?? "caller-no-answer";
      return Promise.resolve(
        outcome === "answered" ? { outcome, ended: Promise.resolve() } : { outcome } as CallbackResult,
      );
    },
  });
  const [queueApp] = queueApplications(rt);
  const flush = () => new Promise((r) => setTimeout(r, 0));
  /** Advance virtual time a second at a time until `cond` holds. */
  const until = async (cond: () => boolean, what: string) => {
    for (let i = 0; i < 600; i++) {
      if (cond()) return;
      clock.advance(1000);
      await flush();
    }
    throw new Error(`never: ${what}`);
  };
  return { db, clock, store, rt, queueApp: queueApp!, served, lines, until, flush };
}

Deno.test("queue callback: the caller keeps their place and is called back before the caller behind", async () => {
  const t = setup(["answered"]);
  t.rt.setAgent("600", "201", { paused: true }); // nobody free yet
  const a = fakeLeg("1001");
  const b = fakeLeg("1002");
  const runA = t.queueApp.run(a.leg, { queue: "600" });
  await t.until(() => t.rt.wallboard(t.store.get("600")!).waiting === 1, "A waits");
  const runB = t.queueApp.run(b.leg, { queue: "600" });
  await t.until(() => t.rt.wallboard(t.store.get("600")!).waiting === 2, "B waits");
  a.press("5");
  await runA; // A's call is over
  assert(a.hungUp(), "the box hangs up after taking the callback");
  const board = t.rt.wallboard(t.store.get("600")!);
  eq(board.callers.map((c) => [c.caller, c.position, c.callback]), [["1001", 1, true], ["1002", 2, false]]);
  await t.until(() => t.lines.some((l) => /caller asked for a callback .*position=1/.test(l)), "logged");
  t.clock.advance(10_000);
  await t.flush();
  eq(t.served, [], "nobody is rung while the agent is paused");
  t.rt.setAgent("600", "201", { paused: false });
  await t.until(() => t.served.length === 2, "both served");
  eq(t.served, ["callback 201 1001", "connect 201 1002"]);
  await runB;
  await t.rt.settled();
  const today = t.store.stats("600", Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 2))[0]!;
  eq([today.calls, today.answered, today.abandoned], [2, 2, 0]);
  t.db.close();
});

Deno.test("queue callback: not answered, tried again after the pause (others served meanwhile), then given up", async () => {
  const t = setup(["caller-no-answer", "caller-no-answer"]);
  t.rt.setAgent("600", "201", { paused: true });
  const a = fakeLeg("1001");
  const runA = t.queueApp.run(a.leg, { queue: "600" });
  await t.until(() => t.rt.wallboard(t.store.get("600")!).waiting === 1, "A waits");
  a.press("5");
  await runA;
  t.rt.setAgent("600", "201", { paused: false });
  await t.until(() => t.served.length === 1, "first attempt");
  await t.until(() => t.lines.some((l) => /callback not answered, will try again/.test(l)), "retry logged");
  // B joins during A's pause: B is served first; A keeps position 1 on the wallboard.
  const b = fakeLeg("1002");
  const runB = t.queueApp.run(b.leg, { queue: "600" });
  await t.until(() => t.served.length === 2, "B served");
  eq(t.served[1], "connect 201 1002");
  await runB;
  await t.until(() => t.lines.some((l) => /callback not answered, given up/.test(l)), "given up");
  eq(t.served, ["callback 201 1001", "connect 201 1002", "callback 201 1001"]);
  await t.rt.settled();
  eq(t.rt.wallboard(t.store.get("600")!).waiting, 0);
  const today = t.store.stats("600", Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 2))[0]!;
  eq([today.calls, today.answered, today.abandoned], [2, 1, 1]);
  t.db.close();
});

Deno.test("queue settings: callback and supervisor fields are checked", () => {
  const bad = (v: Record<string, unknown>, re: RegExp) => {
    try {
      checkQueue({ number: "600", ...v });
    } catch (e) {
      assert(re.test((e as Error).message), (e as Error).message);
      return;
    }
    throw new Error(`accepted ${JSON.stringify(v)}`);
  };
  bad({ callbackDigit: "55" }, /callbackDigit/);
  bad({ callbackDigit: "5", exitDigit: "5" }, /differ/);
  bad({ callbackRetries: -1 }, /callbackRetries/);
  bad({ supervisors: ["abc"] }, /supervisors/);
  bad({ record: "yes" }, /record/);
  const q = checkQueue({ number: "600" });
  eq([q.callbackRetries, q.callbackRetryMs, q.supervisors, q.record], [2, 60_000, [], false]);
});
