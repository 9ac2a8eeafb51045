/**
 * Call recording end to end: two baresip phones call each other through the appliance. Always-on
 * for the callee's extension: the stereo WAV holds the caller's known signal on the left channel
 * and the callee's on the right (cross-correlation). On demand: the caller's `*1` starts a
 * recording, the callee's `*1` stops it; the call goes on. The download is audited.
 */
import { ok as assert } from "node:assert";
import { hasBinary, login, readWav, startAppliance, startBaresip } from "../_harness/mod.ts";
import {
  APP_ENV,
  pw,
  registerFor,
  resampleLinear,
  setupExtensions,
  sleep,
  waitFor,
  windowedCorrelation,
} from "../media/_support.ts";

const HAVE_PEERS = hasBinary("baresip") && hasBinary("sipp");

interface Rec {
  id: number;
  caller: string;
  callee: string;
  mode: string;
  status: string;
  durationMs: number | null;
}

Deno.test({
  name:
    "recording: always-on for the callee puts the caller on the left and the callee on the right; *1 starts and stops on demand",
  ignore: !HAVE_PEERS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using app = await startAppliance({ env: APP_ENV });
    await setupExtensions(app, ["1001", "1002", "1003"]);
    const admin = await app.adminApi();
    const bad = await admin.request("PUT", "/api/recordings/policy", { featureCode: "1" });
    assert(bad.status === 400, `bad feature code: ${bad.status}`);
    await admin.put("/api/recordings/policy", { alwaysExtensions: ["1002"], notice: false });
    await using b = await startBaresip({ user: "1002", codecs: ["PCMU"] });
    await registerFor(app, "1002", b.localSipPort);
    await using a = await startBaresip({ user: "1001", password: pw("1001"), codecs: ["PCMU"] });
    await a.dial(`sip:1002@127.0.0.1:${app.sipPort}`);
    await b.waitForEvent("CALL_ESTABLISHED", 10_000);
    await waitFor(() => /recording started/.test(app.logs()), "the always-on recording", 10_000);
    await sleep(4000);
    await a.hangup();
    await b.waitForEvent("CALL_CLOSED", 10_000);
    let list: Rec[] = [];
    await waitFor(
      () => {
        void admin.get<{ recordings: Rec[] }>("/api/recordings").then((r) => (list = r.recordings));
        return list.length === 1 && list[0]!.status === "done";
      },
      "the finished recording",
      10_000,
    );
    assert(list[0]!.mode === "always" && list[0]!.caller === "1001" && list[0]!.callee === "1002");

    // The file: stereo, caller left, callee right.
    const res = await fetch(`${app.baseUrl}/api/recordings/${list[0]!.id}/audio?download=1`, {
      headers: { authorization: `Bearer ${await login(app.baseUrl, "admin", app.adminPassword)}` },
    });
    assert(res.status === 200 && /attachment/.test(res.headers.get("content-disposition") ?? ""));
    const dir = await Deno.makeTempDir();
    await Deno.writeFile(`${dir}/rec.wav`, new Uint8Array(await res.arrayBuffer()));
    const wav = await readWav(`${dir}/rec.wav`);
    assert(wav.channels === 2, `channels ${wav.channels}`);
    const ch = (k: number) => {
      const n = wav.samples.length / 2;
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = wav.samples[2 * i + k]!;
      return resampleLinear(out, wav.sampleRate, 8000);
    };
    await a.stop();
    await b.stop();
    const mono = async (p: string) => {
      const w = await readWav(p);
      return resampleLinear(
        w.channels === 1 ? w.samples : w.samples.filter((_, i) => i % 2 === 0),
        w.sampleRate,
        8000,
      );
    };
    const aSent = await mono((await a.recordings()).sent[0]!);
    const bSent = await mono((await b.recordings()).sent[0]!);
    const left = ch(0);
    const right = ch(1);
    const m = {
      leftCaller: windowedCorrelation(aSent, left, 8000),
      leftCallee: windowedCorrelation(bSent, left, 8000),
      rightCallee: windowedCorrelation(bSent, right, 8000),
      rightCaller: windowedCorrelation(aSent, right, 8000),
    };
    console.log("recording correlations", m);
    assert(m.leftCaller > 0.6 && m.rightCallee > 0.6, JSON.stringify(m));
    assert(m.leftCallee < 0.3 && m.rightCaller < 0.3, JSON.stringify(m));

    const audit = await admin.get<{ items: { action: string }[] }>("/api/audit?action=recording.download");
    assert(audit.items.length === 1, "the download is audited");
    await Deno.remove(dir, { recursive: true });

    // On demand: no always-on; *1 from the caller starts, *1 from the callee stops.
    await admin.put("/api/recordings/policy", { alwaysExtensions: [] });
    await using b2 = await startBaresip({ user: "1002", codecs: ["PCMU"] });
    await registerFor(app, "1002", b2.localSipPort);
    await using a2 = await startBaresip({ user: "1003", password: pw("1003"), codecs: ["PCMU"] });
    await a2.dial(`sip:1002@127.0.0.1:${app.sipPort}`);
    await b2.waitForEvent("CALL_ESTABLISHED", 10_000);
    await sleep(1000);
    await a2.sendDtmf("*1");
    await waitFor(
      () => (app.logs().match(/recording started/g) ?? []).length === 2,
      "on-demand start",
      10_000,
    );
    await sleep(2000);
    await b2.sendDtmf("*1");
    await waitFor(
      () => (app.logs().match(/recording finished/g) ?? []).length === 2,
      "on-demand stop",
      10_000,
    );
    await sleep(500);
    assert(a2.events().every((e) => e.type !== "CALL_CLOSED"), "the call goes on after the recording stops");
    await a2.hangup();
    const after = (await admin.get<{ recordings: Rec[] }>("/api/recordings")).recordings;
    const od = after.find((r) => r.mode === "on-demand");
    assert(od !== undefined && od.status === "done" && od.caller === "1003", JSON.stringify(after));
    assert((od.durationMs ?? 0) > 1000, `on-demand length ${od.durationMs}`);
  },
});
