/**
 * Self-test of the baresip harness without the appliance: baresip calls sipp's built-in UAS, and
 * two baresips call each other directly with the test signal, which must arrive intact.
 */
import { ok } from "node:assert/strict";
import { startBaresip } from "./baresip.ts";
import { describeSipp, startSipp } from "./sipp.ts";
import { hasBinary } from "./process.ts";
import { correlate, readWav, toMono } from "./wav.ts";

const haveBaresip = hasBinary("baresip") && hasBinary("stdbuf");
const haveSipp = hasBinary("sipp");
if (!haveBaresip) {
  console.warn("harness_baresip_test: baresip not installed (apt-get install baresip); skipping");
}
if (!haveSipp) {
  console.warn("harness_baresip_test: sipp not installed (apt-get install sip-tester); skipping");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name: "baresip dials sipp's built-in UAS over ctrl_tcp, the call is established and hung up",
  ignore: !haveBaresip || !haveSipp,
  async fn() {
    await using uas = await startSipp({ scenario: "sn:uas" });
    await using phone = await startBaresip({ user: "1001", codecs: ["PCMU"] });
    await phone.dial(`sip:service@${uas.address}`);
    await phone.waitForEvent("CALL_ESTABLISHED", 10_000);
    await phone.hangup();
    await phone.waitForEvent("CALL_CLOSED", 10_000);
    const r = await uas.done;
    ok(r.ok && r.successful === 1, describeSipp(r));
  },
});

async function directCall(codec: string, minCorr: number): Promise<void> {
  await using callee = await startBaresip({ user: "2002", codecs: [codec] });
  await using caller = await startBaresip({ user: "1001", codecs: [codec] });
  await caller.dial(callee.directUri);
  await caller.waitForEvent("CALL_ESTABLISHED", 10_000);
  await callee.waitForEvent("CALL_ESTABLISHED", 10_000);
  await sleep(2500); // let ~2 s of audio flow both ways
  await caller.hangup();
  await callee.waitForEvent("CALL_CLOSED", 10_000);
  await caller.stop();
  await callee.stop(); // closes the recordings

  const sent = await readWav((await caller.recordings()).sent[0]!);
  const received = await readWav((await callee.recordings()).received[0]!);
  ok(received.samples.length > 0, "callee recorded nothing");
  // One second from the middle of what the caller sent, searched in what the callee received.
  const a = toMono(sent);
  const ref = a.subarray(Math.floor(sent.sampleRate * 0.5), Math.floor(sent.sampleRate * 1.5));
  const r = correlate(ref, toMono(received));
  ok(r.maxCorr > minCorr, `${codec}: correlation ${r.maxCorr.toFixed(3)} (lag ${r.lagSamples})`);
  // The check discriminates: the callee's own (falling vs rising) chirp does not match.
  const own = await readWav((await callee.recordings()).sent[0]!);
  const wrong = correlate(ref, toMono(own));
  ok(wrong.maxCorr < 0.5, `${codec}: callee's own signal correlates ${wrong.maxCorr.toFixed(3)}`);
}

Deno.test({
  name: "two baresips call each other with PCMU and the callee receives the caller's test signal",
  ignore: !haveBaresip,
  fn: () => directCall("PCMU", 0.9),
});

Deno.test({
  name: "two baresips call each other with opus/48000/2 and the callee receives the caller's test signal",
  ignore: !haveBaresip,
  fn: () => directCall("opus/48000/2", 0.7),
});

Deno.test({
  name: "baresip registers with digest auth and registered() sees it even before ctrl_tcp connects",
  ignore: !haveBaresip || !haveSipp,
  async fn() {
    const fakes = new URL("./sipp_fakes/", import.meta.url).pathname;
    await using registrar = await startSipp({
      scenario: fakes + "fake_registrar.xml",
      injectionCsv: "SEQUENTIAL\n1001;pw-1001\n",
    });
    await using phone = await startBaresip({
      user: "1001",
      password: "pw-1001",
      sipPort: registrar.localPort,
      codecs: ["PCMU"],
    });
    await phone.registered();
    ok((await registrar.done).ok);
  },
});
