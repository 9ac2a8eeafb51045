/**
 * Transcoding and DTMF through the real appliance (mod.ts started by the harness) with real SIP
 * peers: baresip phones for Opus/G.722/PCMU, and for G.729 (Debian's baresip has no G.729 module)
 * sipp for the callee's SIP with a Deno RTP socket, encoding and decoding G.729 through our bcg729
 * driver, as its media.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import {
  type Appliance,
  hasBinary,
  readWav,
  runSipp,
  startAppliance,
  startBaresip,
  startSipp,
  toMono,
} from "../_harness/mod.ts";
import { DtmfDetector, generateDtmf } from "../../runtime/media/dtmf/mod.ts";
import { encodeUlaw } from "../../runtime/media/g711/mod.ts";
import {
  codecAvailable,
  decodeStream,
  openCodec,
  resampleLinear,
  RtpPeer,
  sleep,
  telephoneEvents,
  uasScenario,
  waitFor,
  windowedCorrelation,
} from "./_support.ts";

/** Passwords the web API accepts (long enough, not containing the number). */
const pw = (ext: string) => `Sesame-${[...ext].map((d) => "abcdefghij"[Number(d)]).join("")}-42`;

/** baresip 1.0's libre fails a call (ENOSYS) when any challenge is SHA-256: offer MD5 only. */
const APP_ENV = { PBX_DIGEST_ALGORITHMS: "MD5" };

const HAVE_PEERS = hasBinary("baresip") && hasBinary("sipp");

async function setup(app: Appliance, users: string[]): Promise<void> {
  const admin = await app.adminApi();
  for (const u of users) await admin.createExtension({ number: u, name: `User ${u}`, password: pw(u) });
}

/** Call from a baresip speaking `codecA` to one speaking `codecB`; correlation each way at 8 kHz. */
async function baresipCall(
  codecA: string,
  codecB: string,
): Promise<{ aToB: number; bToA: number; log: string }> {
  await using app = await startAppliance({ env: APP_ENV });
  await setup(app, ["1001", "1002"]);
  await using b = await startBaresip({ user: "1002", codecs: [codecB] });
  await registerFor(app, "1002", b.localSipPort);
  // The caller authenticates its INVITE (baresip 1.0 does not get REGISTER through, see report).
  await using a = await startBaresip({ user: "1001", password: pw("1001"), codecs: [codecA] });
  await a.dial(`sip:1002@127.0.0.1:${app.sipPort}`);
  await b.waitForEvent("CALL_ESTABLISHED", 10_000);
  await sleep(3000); // let audio flow
  await a.hangup();
  await b.waitForEvent("CALL_CLOSED", 10_000);
  await a.stop();
  await b.stop();
  const at8k = async (path: string) => {
    const w = await readWav(path);
    return resampleLinear(toMono(w), w.sampleRate, 8000);
  };
  const ra = await a.recordings();
  const rb = await b.recordings();
  const aSent = await at8k(ra.sent[0]!);
  const bHeard = await at8k(rb.received[0]!);
  const bSent = await at8k(rb.sent[0]!);
  const aHeard = await at8k(ra.received[0]!);
  return {
    aToB: windowedCorrelation(aSent, bHeard, 8000),
    bToA: windowedCorrelation(bSent, aHeard, 8000),
    log: app.logs(),
  };
}

Deno.test({
  name: "baresip with only Opus calls baresip with only PCMU through the box; each hears the other",
  ignore: !HAVE_PEERS || !codecAvailable("opus", 48000),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const r = await baresipCall("opus/48000/2", "PCMU");
    assert(/transcoding .*a=opus\/48000 b=PCMU\/8000/.test(r.log), "the box logged the transcoding decision");
    assert(r.aToB > 0.6, `Opus->PCMU correlation ${r.aToB}`);
    assert(r.bToA > 0.6, `PCMU->Opus correlation ${r.bToA}`);
  },
});

Deno.test({
  name: "baresip with only Opus calls baresip with only G.722 through the box; each hears the other",
  ignore: !HAVE_PEERS || !codecAvailable("opus", 48000) || !codecAvailable("G722", 8000),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const r = await baresipCall("opus/48000/2", "G722/16000/1");
    assert(/transcoding .*a=opus\/48000 b=G722\/8000/.test(r.log), "the box logged the transcoding decision");
    assert(r.aToB > 0.6, `Opus->G722 correlation ${r.aToB}`);
    assert(r.bToA > 0.6, `G722->Opus correlation ${r.bToA}`);
  },
});

/** Register `user`'s contact at `port` (a baresip or sipp UAS) with sipp. */
async function registerFor(app: Appliance, user: string, port: number): Promise<void> {
  const reg = await runSipp({
    scenario: "register_auth.xml",
    target: `127.0.0.1:${app.sipPort}`,
    user,
    password: pw(user),
    keys: { contact_port: String(port) },
  });
  assert(reg.ok, `register failed: ${reg.output}`);
}

/** A callee that is sipp (SIP) + an RtpPeer (media), registered as `user`. */
async function rtpCallee(app: Appliance, user: string, codecs: string[], fmtp: string[] = []) {
  const peer = await RtpPeer.open();
  const dir = await Deno.makeTempDir({ prefix: "media-uas-" });
  const scenario = `${dir}/uas.xml`;
  await Deno.writeTextFile(scenario, uasScenario(codecs, fmtp));
  const uas = await startSipp({ scenario, keys: { rtp_port: String(peer.port) }, timeoutSec: 60 });
  await registerFor(app, user, uas.localPort);
  return {
    peer,
    uas,
    async [Symbol.asyncDispose]() {
      await peer.close();
      await uas.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test({
  name: "baresip with only G.722 calls a G.729-only callee (sipp + bcg729 RTP socket); audio both ways",
  ignore: !HAVE_PEERS || !codecAvailable("G729", 8000) || !codecAvailable("G722", 8000),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using app = await startAppliance({ env: APP_ENV });
    await setup(app, ["1001", "1002"]);
    await using callee = await rtpCallee(app, "1002", ["18 G729/8000"], ["18 annexb=no"]);
    await using a = await startBaresip({ user: "1001", password: pw("1001"), codecs: ["G722/16000/1"] });
    await a.dial(`sip:1002@127.0.0.1:${app.sipPort}`);
    await a.waitForEvent("CALL_ESTABLISHED", 10_000);
    const peer = callee.peer;
    // The box's port for this leg: the source of its first packet (symmetric RTP).
    await waitFor(() => peer.received.length > 0, "G.729 from the box", 10_000);
    const box = peer.received[0]!.from;
    const enc = openCodec("G729", 8000);
    const sent = (await import("../_harness/mod.ts")).makeTestSignal({ sampleRate: 8000, seconds: 3 });
    await peer.stream(() => box, enc, 18, sent.samples);
    enc.close();
    await a.hangup();
    await a.waitForEvent("CALL_CLOSED", 10_000);
    await a.stop();
    assert(
      /transcoding .*a=G722\/8000 b=G729\/8000/.test(app.logs()),
      "the box logged the transcoding decision",
    );
    assert(peer.received.every((p) => p.header.payloadType === 18), "B got only G.729 (PT 18)");
    const dec = openCodec("G729", 8000);
    const bHeard = decodeStream(peer.received, 18, dec);
    dec.close();
    const rec = await a.recordings();
    const aSentW = await readWav(rec.sent[0]!);
    const aSent = resampleLinear(toMono(aSentW), aSentW.sampleRate, 8000);
    const aHeardW = await readWav(rec.received[0]!);
    const aHeard = resampleLinear(toMono(aHeardW), aHeardW.sampleRate, 8000);
    const aToB = windowedCorrelation(aSent, bHeard, 8000);
    const bToA = windowedCorrelation(sent.samples, aHeard, 8000);
    assert(aToB > 0.6, `G722->G729 correlation ${aToB}`);
    assert(bToA > 0.6, `G729->G722 correlation ${bToA}`);
  },
});

Deno.test({
  name: "sipp's RFC 4733 pcap (digit 1) reaches the callee as telephone-event with its own PT",
  ignore: !hasBinary("sipp"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using app = await startAppliance({ env: APP_ENV });
    await setup(app, ["1001", "1002"]);
    // The callee uses PT 96 for events; the caller's pcap sends PT 101: the box rewrites.
    await using callee = await rtpCallee(app, "1002", ["0 PCMU/8000", "96 telephone-event/8000"], [
      "96 0-16",
    ]);
    const call = await runSipp({
      scenario: "uac_dtmf_pcap.xml",
      target: `127.0.0.1:${app.sipPort}`,
      user: "1001",
      password: pw("1001"),
      service: "1002",
    });
    assert(call.ok, `call failed: ${call.output}\n${call.errors}`);
    assertEquals(telephoneEvents(callee.peer.received, 96), ["1"]);
    await app.waitForLog(/dtmf .*digit=1 source=rfc4733/, 5000);
  },
});

Deno.test({
  name: "DTMF mapping: callee tones become digits at the box; caller's RFC 4733 becomes tones to the callee",
  ignore: !HAVE_PEERS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using app = await startAppliance({ env: APP_ENV });
    await setup(app, ["1001", "1002"]);
    // The callee has PCMU and no telephone-event: digits toward it must be tones.
    await using callee = await rtpCallee(app, "1002", ["0 PCMU/8000"]);
    await using a = await startBaresip({ user: "1001", password: pw("1001"), codecs: ["PCMU"] });
    await a.dial(`sip:1002@127.0.0.1:${app.sipPort}`);
    await a.waitForEvent("CALL_ESTABLISHED", 10_000);
    const peer = callee.peer;
    await waitFor(() => peer.received.length > 0, "RTP from the box", 10_000);
    const box = peer.received[0]!.from;
    // "4" then "#" as tones in the callee's PCMU audio, sent in real time.
    const pcm = new Int16Array(8000);
    pcm.set(generateDtmf("4#", { toneMs: 120, gapMs: 120 }), 800);
    const ulaw = new Uint8Array(pcm.length);
    encodeUlaw(pcm, ulaw);
    const mark = peer.received.length;
    await a.sendDtmf("5"); // RFC 4733 from baresip
    for (let i = 0; i + 160 <= ulaw.length; i += 160) {
      peer.send(box, 0, ulaw.subarray(i, i + 160), 160);
      await sleep(20);
    }
    await app.waitForLog(/dtmf .*side=b digit=4 source=inband/, 5000);
    await app.waitForLog(/dtmf .*side=b digit="?#"? source=inband/, 5000);
    await app.waitForLog(/dtmf .*side=a digit=5 source=rfc4733/, 5000);
    await sleep(300);
    await a.hangup();
    await a.waitForEvent("CALL_CLOSED", 10_000);
    // The caller's "5" reached the callee as tones written into its G.711 audio.
    const heard = decodeStream(peer.received.slice(mark), 0, openCodec("PCMU", 8000));
    assert(new DtmfDetector().process(heard).includes("5"), "callee heard the 5 as tones");
  },
});
