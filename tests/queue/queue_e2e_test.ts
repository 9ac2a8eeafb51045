/**
 * Queues end to end with baresip phones: an agent logs in to a queue and pauses by feature code
 * (`*45600`, `*46`), seen on the wallboard; a caller waits (music, position), overflows at max
 * wait to another dialplan destination (here a conference room, an application); another caller
 * leaves by the exit digit; the day's statistics (JSON and CSV) count both. An agent answering is
 * queue_agent_e2e_test.ts.
 */
import { ok as assert } from "node:assert";
import { hasBinary, startAppliance, startBaresip } from "../_harness/mod.ts";
import { APP_ENV, pw, setupExtensions, sleep, waitFor } from "../media/_support.ts";

const HAVE_PEERS = hasBinary("baresip") && hasBinary("sipp");

interface Board {
  waiting: number;
  agents: { extension: string; state: string }[];
  answeredToday: number;
  abandonedToday: number;
}

Deno.test({
  name:
    "queue: agent login and pause by feature code; a caller overflows at max wait to a conference room; exit digit; daily stats and CSV",
  ignore: !HAVE_PEERS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using app = await startAppliance({ env: APP_ENV });
    await setupExtensions(app, ["1001", "1002", "1003"]);
    const admin = await app.adminApi();
    await admin.put("/api/conference/rooms/800", { announceCount: false, tones: false });
    const bad = await admin.request("PUT", "/api/queues/600", { strategy: "cheapest" });
    assert(
      bad.status === 400 && /strategy must be one of/.test(JSON.stringify(bad.body)),
      JSON.stringify(bad),
    );
    await admin.put("/api/queues/600", {
      name: "Support",
      strategy: "round-robin",
      maxWaitMs: 5000,
      announceEveryMs: 0,
      exitDigit: "0",
      exitTarget: { kind: "hangup" },
      overflow: { kind: "application", name: "conference", args: { room: "800" } },
    });
    const taken = await admin.request("PUT", "/api/queues/800", {});
    assert(taken.status === 409, `queue on a room's number: ${taken.status}`);
    const board = () => admin.get<Board>("/api/queues/600/wallboard");

    // The agent logs in by feature code, then pauses.
    await using agent = await startBaresip({ user: "1002", password: pw("1002"), codecs: ["PCMU"] });
    await agent.dial(`sip:*45600@127.0.0.1:${app.sipPort}`);
    await waitFor(
      () => /queue agent queue=600 agent=1002 loggedIn=true paused=false/.test(app.logs()),
      "login",
      10_000,
    );
    await agent.waitForEvent("CALL_CLOSED", 15_000);
    assert((await board()).agents.some((a) => a.extension === "1002" && a.state === "free"));
    await agent.dial(`sip:*46@127.0.0.1:${app.sipPort}`);
    await waitFor(
      () => /queue agent queue=600 agent=1002 loggedIn=true paused=true/.test(app.logs()),
      "pause",
      10_000,
    );
    assert((await board()).agents.some((a) => a.extension === "1002" && a.state === "paused"));

    // A caller waits, then overflows into the conference room.
    await using caller = await startBaresip({ user: "1001", password: pw("1001"), codecs: ["PCMU"] });
    await caller.dial(`sip:600@127.0.0.1:${app.sipPort}`);
    await waitFor(
      () => /queue: caller joined queue=600 caller=1001 position=1/.test(app.logs()),
      "joined",
      10_000,
    );
    let waiting = 0;
    for (let i = 0; i < 50 && waiting === 0; i++) {
      waiting = (await board()).waiting;
      await sleep(100);
    }
    assert(waiting === 1, "the wallboard shows the waiting caller");
    await waitFor(
      () => /queue: caller moved on caller=1001 why=timeout to=conference/.test(app.logs()),
      "overflow",
      15_000,
    );
    await waitFor(() => /conference joined room=800 caller=1001/.test(app.logs()), "in the room", 10_000);
    await caller.hangup();

    // Another caller presses the exit digit.
    await using second = await startBaresip({ user: "1003", password: pw("1003"), codecs: ["PCMU"] });
    await second.dial(`sip:600@127.0.0.1:${app.sipPort}`);
    await waitFor(
      () => /queue: caller joined queue=600 caller=1003/.test(app.logs()),
      "second joined",
      10_000,
    );
    await sleep(500);
    await second.sendDtmf("0");
    await waitFor(
      () => /queue: caller left queue=600 caller=1003 outcome=exit/.test(app.logs()),
      "exit digit",
      10_000,
    );
    await second.waitForEvent("CALL_CLOSED", 15_000);

    const today = new Date().toISOString().slice(0, 10);
    const stats = await admin.get<{ days: { calls: number; overflowed: number; exited: number }[] }>(
      `/api/queues/600/stats?from=${today}`,
    );
    assert(
      stats.days[0]?.calls === 2 && stats.days[0].overflowed === 1 && stats.days[0].exited === 1,
      JSON.stringify(stats),
    );
    const csv = await admin.request("GET", `/api/queues/600/stats?from=${today}&format=csv`);
    assert(String(csv.body).startsWith("queue,day,calls,answered"), String(csv.body));
    assert(String(csv.body).includes(`600,${today},2,0,0,1,1,`), String(csv.body));
    const badDay = await admin.request("GET", "/api/queues/600/stats?from=yesterday");
    assert(badDay.status === 400, `bad day: ${badDay.status}`);
  },
});
