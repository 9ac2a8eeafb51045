import { deepStrictEqual as eq } from "node:assert";
import { DatabaseSync } from "node:sqlite";
import type { CallLeg, LegEvent, PlaySource } from "../../call/mod.ts";
import { VirtualClock } from "../../clock/mod.ts";
import { nullLogger } from "../../log/mod.ts";
import * as m067 from "../../storage/migrations/067_queues.ts";
import {
  checkQueue,
  type ConnectResult,
  createQueueStore,
  queueApplications,
  QueueRuntime,
  type Strategy,
} from "./mod.ts";

/** A caller's leg: music plays until stopPlay; hangup ends it. */
function fakeLeg(caller: string): CallLeg {
  const listeners = new Set<(ev: LegEvent) => void>();
  let stop: (() => void) | undefined;
  let end: (by: "caller" | "system") => void = () => {};
  const ended = new Promise<"caller" | "system">((r) => (end = r));
  return {
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
    hangup: () => end("system"),
    ended,
  } as unknown as CallLeg;
}

/** Callers one after another: which agent answers each, through the connect seam. */
async function agentsFor(strategy: Strategy, calls: number, refuse: string[] = []): Promise<string[]> {
  const db = new DatabaseSync(":memory:");
  db.exec(m067.sql);
  const clock = new VirtualClock();
  const store = createQueueStore(db, () => clock.wallNow());
  store.put(
    checkQueue({ number: "600", strategy, members: ["201", "202", "203"], wrapUpMs: 0, announceEveryMs: 0 }),
  );
  const answered: string[] = [];
  const rt = new QueueRuntime({
    store,
    clock,
    log: nullLogger,
    prompts: { say: () => Promise.reject(new Error("no speech")) },
    connect: (agent): Promise<ConnectResult> => {
      if (refuse.includes(agent)) return Promise.resolve({ outcome: "no-answer" });
      answered.push(agent);
      clock.advance(60_000); // a minute's call
      return Promise.resolve({ outcome: "answered", ended: Promise.resolve() });
    },
  });
  const [queueApp] = queueApplications(rt);
  for (let i = 0; i < calls; i++) await queueApp!.run(fakeLeg(`10${i}`), { queue: "600" });
  db.close();
  return answered;
}

Deno.test("queue strategies through the caller application: the agent each caller reaches", async () => {
  eq(await agentsFor("round-robin", 4), ["201", "202", "203", "201"]);
  eq(await agentsFor("linear", 3), ["201", "201", "201"]);
  eq(await agentsFor("fewest-calls", 4), ["201", "202", "203", "201"]);
  eq(await agentsFor("least-recent", 4), ["201", "202", "203", "201"]);
  // An agent who does not answer is passed over for the next in order.
  eq(await agentsFor("linear", 2, ["201"]), ["202", "202"]);
  eq(await agentsFor("round-robin", 3, ["202"]), ["201", "203", "201"]);
});
