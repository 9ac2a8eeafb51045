/**
 * The supervisor feature code's refusals (the media part is tests/queue/queue_supervise_e2e_test.ts):
 * an agent without a queue call is 404, a caller who is not a supervisor of the agent's queue 403;
 * each is logged.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { DatabaseSync } from "node:sqlite";
import type { CallLeg } from "../../call/mod.ts";
import { VirtualClock } from "../../clock/mod.ts";
import { createLogger } from "../../log/mod.ts";
import * as m067 from "../../storage/migrations/067_queues.ts";
import { checkQueue, queueFeature, SuperviseRefused } from "./mod.ts";

Deno.test("supervisor feature code: 404 without a queue call, 403 for a non-supervisor (logged)", async () => {
  const db = new DatabaseSync(":memory:");
  db.exec(m067.sql);
  const lines: string[] = [];
  const f = queueFeature({
    db,
    clock: new VirtualClock(),
    log: createLogger("queue", { sink: (l) => lines.push(l) }),
    prompts: { say: () => Promise.reject(new Error("no speech")) },
  });
  f.store.put(checkQueue({ number: "600", members: ["201"], supervisors: ["300"] }));
  const app = f.applications!.find((a) => a.name === "queue-supervise")!;
  const attempt = async (caller: string, agent: string) => {
    let status = 0;
    const leg = {
      info: { caller, dialled: `*222${agent}`, receivedAt: 0, codec: "PCMU/8000" },
      reject: (s: number) => (status = s),
      answer() {},
    } as unknown as CallLeg;
    await app.run(leg, { mode: "listen", agent });
    return status;
  };
  eq(await attempt("300", "201"), 404);
  const leg = { ended: new Promise(() => {}) } as unknown as CallLeg;
  const forget = f.supervision.register("600", "201", leg, leg);
  eq(await attempt("301", "201"), 403);
  eq(f.supervision.callOf("201"), { queue: "600" });
  ok(
    lines.some((l) => /supervision refused .*supervisor=301 .*not a supervisor of queue 600/.test(l)),
    lines.join("\n"),
  );
  forget();
  eq(f.supervision.callOf("201"), undefined);
  try {
    f.supervision.check("300", "201");
    throw new Error("accepted");
  } catch (e) {
    ok(e instanceof SuperviseRefused && e.status === 404);
  }
  db.close();
});
