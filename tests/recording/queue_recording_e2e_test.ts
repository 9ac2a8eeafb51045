/**
 * Per-queue always-on recording end to end with sipp: queue 615 has `record: true` (the recording
 * policy names nobody). A sipp caller and a sipp agent, each sending a known distinct signal, talk
 * through the queue; the recording's row names the queue, the call and both parties, and its
 * stereo WAV holds the caller on the left channel and the agent on the right (correlation). The
 * same with the policy's `format: "opus"`: the Ogg Opus file passes the page CRC and header checks
 * (runtime/media/ogg readOggOpus), decodes with libopus to the right length, and its channels hold
 * the caller and the agent.
 */
import { ok as assert } from "node:assert";
import { available as opusAvailable, OpusDecoder } from "../../drivers/opus/mod.ts";
import { readOggOpus } from "../../runtime/media/ogg/mod.ts";
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

/** The recording's two channels at 8 kHz (an Opus file decoded with libopus). */
async function channels(path: string, format: "wav" | "opus"): Promise<[Int16Array, Int16Array]> {
  if (format === "wav") {
    const wav = await readWav(path);
    assert(wav.channels === 2 && wav.sampleRate === 8000, `${wav.channels} ch ${wav.sampleRate} Hz`);
    return [toMono(wav, 0), toMono(wav, 1)];
  }
  const bytes = await Deno.readFile(path);
  assert(String.fromCharCode(...bytes.subarray(0, 4)) === "OggS", "an Ogg file");
  const s = readOggOpus(bytes); // CRCs, OpusHead, OpusTags, EOS
  assert(s.channels === 2 && s.inputSampleRate === 8000, `${s.channels} ch, input ${s.inputSampleRate} Hz`);
  // Decoded at 8 kHz (the recording's rate): pre-skip and granule are 48 kHz counts.
  const dec = new OpusDecoder({ sampleRate: 8000, channels: 2 });
  const out = new Int16Array(960 * 2);
  const l: number[] = [];
  const r: number[] = [];
  for (const p of s.packets) {
    const n = dec.decode(p, out);
    for (let i = 0; i < n; i++) {
      l.push(out[2 * i]!);
      r.push(out[2 * i + 1]!);
    }
  }
  dec.destroy();
  const skip = Math.round(s.preSkip / 6);
  const samples = Math.round((Number(s.granule) - s.preSkip) / 6);
  assert(samples > 0 && samples <= l.length - skip, `granule ${s.granule}, decoded ${l.length}`);
  const cut = (x: number[]) => Int16Array.from(x.slice(skip, skip + samples));
  return [cut(l), cut(r)];
}

for (const format of ["wav", "opus"] as const) {
  Deno.test({
    name:
      `queue recording (${format}): a queue with record on records its calls, caller left and agent right`,
    ignore: !hasBinary("sipp") || (format === "opus" && !opusAvailable()),
    sanitizeResources: false,
    sanitizeOps: false,
    fn: () => recordedQueueCall(format),
  });
}

async function recordedQueueCall(format: "wav" | "opus"): Promise<void> {
  await using app = await startAppliance({ env: APP_ENV });
  await setupExtensions(app, ["1001", "1002"]);
  const admin = await app.adminApi();
  await admin.put("/api/recordings/policy", { notice: false, format });
  const badFormat = await admin.request("PUT", "/api/recordings/policy", { format: "mp3" });
  assert(badFormat.status === 400, `bad format: ${badFormat.status}`);
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
  assert(row.file.endsWith(format === "opus" ? ".opus" : ".wav"), row.file);
  const [left, right] = await channels(`${app.dataDir}/recordings/${row.file}`, format);
  const res = await fetch(`${app.baseUrl}/api/recordings/${row.id}/audio`, {
    headers: { authorization: `Bearer ${await app.adminToken()}` },
  });
  await res.body?.cancel();
  const type = res.headers.get("content-type") ?? "";
  assert(format === "opus" ? /^audio\/ogg/.test(type) : type === "audio/wav", type);
  const starts = [0.3, 0.9, 1.5, 2.1, 2.7];
  const m = {
    leftCaller: windowedCorrelation(callerSent, left, 8000, starts),
    leftAgent: windowedCorrelation(agentSent, left, 8000, starts),
    rightAgent: windowedCorrelation(agentSent, right, 8000, starts),
    rightCaller: windowedCorrelation(callerSent, right, 8000, starts),
  };
  console.log(`queue recording (${format}) correlations`, m);
  assert(m.leftCaller > 0.6 && m.rightAgent > 0.6, JSON.stringify(m));
  assert(m.leftAgent < 0.25 && m.rightCaller < 0.25, JSON.stringify(m));
}
