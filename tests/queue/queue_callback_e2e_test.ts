/**
 * Queue callback end to end with sipp: the caller (sipp + an RtpPeer, PCMU without
 * telephone-event) waits in queue 612 while its only agent is paused, presses 5 in-band and is
 * hung up with its place kept (the wallboard shows it, callback); the agent is unpaused; the box
 * rings the agent (a sipp callee) first, then calls the caller back (a second sipp registered as
 * the caller's extension) and bridges them: each hears the other's known signal (windowed
 * correlation) and not its own; the agent hangs up, the box hangs up the caller, and the day
 * counts one answered call.
 */
import { ok as assert } from "node:assert";
import { encodeUlaw } from "../../runtime/media/g711/mod.ts";
import { generateDtmf } from "../../runtime/media/dtmf/mod.ts";
import { describeSipp, hasBinary, startAppliance } from "../_harness/mod.ts";
import {
  APP_ENV,
  decodeStream,
  openCodec,
  rtpCaller,
  setupExtensions,
  sleep,
  waitFor,
  windowedCorrelation,
  withAppLog,
} from "../media/_support.ts";
import { pcmuCallee, periodicNoise } from "./_peers.ts";

Deno.test({
  name: "queue callback: 5 leaves the queue keeping the place; the box rings the agent, calls back, bridges",
  ignore: !hasBinary("sipp"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using app = await startAppliance({ env: APP_ENV });
    await setupExtensions(app, ["1001", "1002"]);
    const admin = await app.adminApi();
    await admin.put("/api/queues/612", {
      name: "Support",
      strategy: "linear",
      members: ["1002"],
      ringMs: 15_000,
      maxWaitMs: 120_000,
      announceEveryMs: 0,
      callbackDigit: "5",
    });
    const bad = await admin.request("PUT", "/api/queues/613", { callbackDigit: "55" });
    assert(bad.status === 400 && /callbackDigit/.test(JSON.stringify(bad.body)), JSON.stringify(bad));
    await admin.post("/api/queues/612/agents/1002", { paused: true });
    // The agent hangs up 8 s after answering (the caller is rung and talks meanwhile).
    await using agent = await pcmuCallee(app, "1002", { hangupAfterMs: 8000 });
    await withAppLog(app, async () => {
      await using caller = await rtpCaller(app, {
        scenario: "uac_pcmu_rtp_peer_wait_bye.xml",
        user: "1001",
        service: "612",
      });
      await waitFor(() => /queue: caller joined queue=612 caller=1001/.test(app.logs()), "joined", 10_000);
      await sleep(500);
      // "5" as tones in the caller's PCMU audio, in real time.
      const pcm = new Int16Array(8000);
      pcm.set(generateDtmf("5", { toneMs: 150, gapMs: 100 }), 800);
      const ulaw = new Uint8Array(pcm.length);
      encodeUlaw(pcm, ulaw);
      for (let i = 0; i + 160 <= ulaw.length; i += 160) {
        caller.peer.send({ address: "127.0.0.1", port: caller.boxPort }, 0, ulaw.subarray(i, i + 160), 160);
        await sleep(20);
      }
      await waitFor(
        () => /queue: caller asked for a callback queue=612 caller=1001 position=1/.test(app.logs()),
        "the callback request",
        10_000,
      );
      const first = await caller.sipp.done;
      assert(first.ok, `the box hangs up the caller: ${describeSipp(first)}`);
    });
    const board = await admin.get<{ callers: { caller: string; position: number; callback: boolean }[] }>(
      "/api/queues/612/wallboard",
    );
    assert(
      board.callers.length === 1 && board.callers[0]!.caller === "1001" && board.callers[0]!.callback,
      JSON.stringify(board),
    );
    // The caller's phone for the callback: a callee registered as 1001.
    await using back = await pcmuCallee(app, "1001");
    await admin.post("/api/queues/612/agents/1002", { paused: false });
    const agentSent = periodicNoise(1, 8000, 12, 0.9);
    const callerSent = periodicNoise(2, 8000, 12, 0.9);
    const codec = openCodec("PCMU", 8000);
    await withAppLog(app, async () => {
      await waitFor(() => /queue: callback, ringing the agent first/.test(app.logs()), "agent rung", 15_000);
      await waitFor(() => agent.peer.received.length > 0, "ringback at the agent", 15_000);
      const agentBox = agent.peer.received[0]!.from;
      const agentStream = agent.peer.stream(() => agentBox, codec, 0, agentSent);
      await waitFor(
        () => /queue: callback answered queue=612 caller=1001 agent=1002/.test(app.logs()),
        "called back",
        20_000,
      );
      await waitFor(() => back.peer.received.length > 0, "the agent's audio at the caller", 10_000);
      const callerBox = back.peer.received[0]!.from;
      const callerStream = back.peer.stream(() => callerBox, openCodec("PCMU", 8000), 0, callerSent);
      const agentMark = agent.peer.received.length;
      await waitFor(
        () => /queue: caller left queue=612 caller=1001 outcome=answered/.test(app.logs()),
        "the call's end (the agent hangs up)",
        30_000,
      );
      await agentStream;
      await callerStream;
      const dec = openCodec("PCMU", 8000);
      const heardByCaller = decodeStream(back.peer.received, 0, dec);
      const heardByAgent = decodeStream(agent.peer.received.slice(agentMark), 0, dec);
      dec.close();
      const starts = [0.3, 0.9, 1.5, 2.1, 2.7];
      const m = {
        callerHearsAgent: windowedCorrelation(agentSent, heardByCaller, 8000, starts),
        callerHearsSelf: windowedCorrelation(callerSent, heardByCaller, 8000, starts),
        agentHearsCaller: windowedCorrelation(callerSent, heardByAgent, 8000, starts),
        agentHearsSelf: windowedCorrelation(agentSent, heardByAgent, 8000, starts),
      };
      console.log("callback correlations", m);
      assert(m.callerHearsAgent > 0.6 && m.agentHearsCaller > 0.6, JSON.stringify(m));
      assert(m.callerHearsSelf < 0.25 && m.agentHearsSelf < 0.25, JSON.stringify(m));
      const r = await back.done;
      assert(r.ok, `the box hangs up the called-back caller: ${describeSipp(r)}`);
    });
    codec.close();
    const today = new Date().toISOString().slice(0, 10);
    const stats = await admin.get<{ days: { calls: number; answered: number }[] }>(
      `/api/queues/612/stats?from=${today}`,
    );
    assert(stats.days[0]?.calls === 1 && stats.days[0].answered === 1, JSON.stringify(stats));
  },
});
