/**
 * A queue call answered by an agent, end to end with baresip phones: the caller waits in queue 610
 * (music), the box rings the static member 1002 with an originated leg, the agent answers, the two
 * are bridged and hear each other (windowed correlation of each phone's chirp in what the other
 * received); the caller hangs up, the agent's leg is hung up, and the day's statistics count one
 * answered call by 1002.
 */
import { ok as assert } from "node:assert";
import { hasBinary, readWav, startAppliance, startBaresip, toMono } from "../_harness/mod.ts";
import {
  APP_ENV,
  pw,
  registerFor,
  resampleLinear,
  setupExtensions,
  sleep,
  waitFor,
  windowedCorrelation,
  withAppLog,
} from "../media/_support.ts";

Deno.test({
  name: "queue: the box rings the agent, the agent answers and caller and agent hear each other",
  ignore: !hasBinary("baresip") || !hasBinary("sipp"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using app = await startAppliance({ env: APP_ENV });
    await setupExtensions(app, ["1001", "1002"]);
    const admin = await app.adminApi();
    await admin.put("/api/queues/610", {
      name: "Sales",
      strategy: "ring-all",
      members: ["1002"],
      ringMs: 10_000,
      maxWaitMs: 60_000,
      announceEveryMs: 0,
      overflow: { kind: "hangup" },
    });
    await using agent = await startBaresip({ user: "1002", codecs: ["PCMU"] });
    await registerFor(app, "1002", agent.localSipPort);
    await using caller = await startBaresip({ user: "1001", password: pw("1001"), codecs: ["PCMU"] });
    await withAppLog(app, async () => {
      await caller.dial(`sip:610@127.0.0.1:${app.sipPort}`);
      await waitFor(() => /queue: caller joined queue=610 caller=1001/.test(app.logs()), "joined", 10_000);
      await agent.waitForEvent("CALL_ESTABLISHED", 20_000);
      await waitFor(
        () => /legs bridged a=/.test(app.logs()),
        "bridged",
        10_000,
      );
    });
    await sleep(3000); // talk
    await caller.hangup();
    await agent.waitForEvent("CALL_CLOSED", 15_000);
    await waitFor(
      () => /queue: caller left queue=610 caller=1001 outcome=answered/.test(app.logs()),
      "the queue call's end",
      10_000,
    );
    await caller.stop();
    await agent.stop();

    const at8k = async (path: string) => {
      const w = await readWav(path);
      return resampleLinear(toMono(w), w.sampleRate, 8000);
    };
    const rc = await caller.recordings();
    const ra = await agent.recordings();
    const callerToAgent = windowedCorrelation(await at8k(rc.sent[0]!), await at8k(ra.received[0]!), 8000);
    const agentToCaller = windowedCorrelation(await at8k(ra.sent[0]!), await at8k(rc.received[0]!), 8000);
    assert(callerToAgent > 0.6, `caller -> agent correlation ${callerToAgent.toFixed(3)}`);
    assert(agentToCaller > 0.6, `agent -> caller correlation ${agentToCaller.toFixed(3)}`);

    const today = new Date().toISOString().slice(0, 10);
    const stats = await admin.get<{ days: { calls: number; answered: number }[] }>(
      `/api/queues/610/stats?from=${today}`,
    );
    assert(stats.days[0]?.calls === 1 && stats.days[0].answered === 1, JSON.stringify(stats));
  },
});
