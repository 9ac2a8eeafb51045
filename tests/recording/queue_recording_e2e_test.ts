/**
 * Per-queue always-on recording end to end with sipp: queue 615 has `record: true` (the recording
 * policy names nobody). A sipp caller and a sipp agent, each sending a known distinct signal, talk
 * through the queue; the recording's row names the queue, the call and both parties, and its
 * stereo WAV holds the caller on the left channel and the agent on the right (correlation).
 */
import { ok as assert } from "node:assert";
import { hasBinary, readWav, startAppliance, toMono } from "../_harness/mod.ts";
import {
  APP_ENV,
  openCodec,
  rtpCaller,
  setupExtensions,
  waitFor,
  windowedCorrelation,
  withAppLog,
} from "../media/_support.ts";
import { pcmuCallee, periodicNoise } from "../queue/_peers.ts";

interface Row {
  id: number;
  callId: string;
  caller: string;
  callee: string;
  queue: string | null;
  mode: string;
  file: string;
  status: string;
}

Deno.test({
  name: "queue recording: a queue with record on records its calls, caller left and agent right",
  ignore: !hasBinary("sipp"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using app = await startAppliance({ env: APP_ENV });
    await setupExtensions(app, ["1001", "1002"]);
    const admin = await app.adminApi();
    await admin.put("/api/recordings/policy", { notice: false });
    await admin.put("/api/queues/615", {
      name: "Recorded",
      members: ["1002"],
      ringMs: 15_000,
      announceEveryMs: 0,
      record: true,
    });
    const bad = await admin.request("PUT", "/api/queues/616", { record: "always" });
    assert(bad.status === 400, `bad record: ${bad.status}`);
    await using agent = await pcmuCallee(app, "1002", { hangupAfterMs: 7000 });
    const callerSent = periodicNoise(11, 8000, 16, 0.9);
    const agentSent = periodicNoise(22, 8000, 16, 0.9);
    const row = await withAppLog(app, async () => {
      await using caller = await rtpCaller(app, {
        scenario: "uac_pcmu_rtp_peer_wait_bye.xml",
        user: "1001",
        service: "615",
      });
      const callerStream = caller.peer.stream(
        () => ({ address: "127.0.0.1", port: caller.boxPort }),
        openCodec("PCMU", 8000),
        0,
        callerSent,
      );
      await waitFor(() => agent.peer.received.length > 0, "the caller's audio at the agent", 20_000);
      const box = agent.peer.received[0]!.from;
      const agentStream = agent.peer.stream(() => box, openCodec("PCMU", 8000), 0, agentSent);
      await waitFor(() => /recording started .*queue=615/.test(app.logs()), "recording started", 10_000);
      await waitFor(
        () => /queue: caller left queue=615 caller=1001 outcome=answered/.test(app.logs()),
        "the call's end",
        30_000,
      );
      await callerStream;
      await agentStream;
      let rows: Row[] = [];
      for (let i = 0; i < 100 && !(rows.length === 1 && rows[0]!.status === "done"); i++) {
        rows = (await admin.get<{ recordings: Row[] }>("/api/recordings")).recordings;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert(
        rows.length === 1 && rows[0]!.status === "done",
        JSON.stringify(rows) + app.logs().split("\n").slice(-30).join("\n"),
      );
      return rows[0]!;
    });
    assert(
      row.queue === "615" && row.caller === "1001" && row.callee === "1002" && row.mode === "always",
      JSON.stringify(row),
    );
    const cdr = await admin.get<{ items: { callId: string }[] }>("/api/cdr");
    const ids = cdr.items.map((r) => r.callId);
    assert(ids.includes(row.callId), `the recording's call is in the call records: ${row.callId}`);
    const wav = await readWav(`${app.dataDir}/recordings/${row.file}`);
    assert(wav.channels === 2 && wav.sampleRate === 8000, `${wav.channels} ch ${wav.sampleRate} Hz`);
    const left = toMono(wav, 0);
    const right = toMono(wav, 1);
    const starts = [0.3, 0.9, 1.5, 2.1, 2.7];
    const m = {
      leftCaller: windowedCorrelation(callerSent, left, 8000, starts),
      leftAgent: windowedCorrelation(agentSent, left, 8000, starts),
      rightAgent: windowedCorrelation(agentSent, right, 8000, starts),
      rightCaller: windowedCorrelation(callerSent, right, 8000, starts),
    };
    console.log("queue recording correlations", m);
    assert(m.leftCaller > 0.6 && m.rightAgent > 0.6, JSON.stringify(m));
    assert(m.leftAgent < 0.25 && m.rightCaller < 0.25, JSON.stringify(m));
  },
});
