/**
 * The media plane's transcoding bridge in-process: real UDP sockets on 127.0.0.1 play the phones,
 * encoding and decoding with the codec registry; the bridge runs in the media worker.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { MediaPlane } from "../../runtime/media/relay/mod.ts";
import { DtmfDetector, generateDtmf } from "../../runtime/media/dtmf/mod.ts";
import { encodeTelephoneEvent } from "../../runtime/media/rtp/rtp.ts";
import { encodeUlaw } from "../../runtime/media/g711/mod.ts";
import { makeTestSignal, pickPortRange } from "../_harness/mod.ts";
import {
  codecAvailable,
  decodeStream,
  openCodec,
  resampleLinear,
  RtpPeer,
  sleep,
  telephoneEvents,
  waitFor,
  windowedCorrelation,
} from "./_support.ts";

async function startPlane(): Promise<MediaPlane> {
  const [portMin, portMax] = await pickPortRange(400);
  return MediaPlane.start({ bind: "127.0.0.1", portMin, portMax });
}

const BOX = (rtpPort: number) => () => ({ address: "127.0.0.1", port: rtpPort });

/** Stream a chirp from `pa` (codec ca) through the bridge and correlate what `pb` decodes (codec cb). */
async function checkPath(
  plane: MediaPlane,
  a: { name: string; rate: number; pt: number },
  b: { name: string; rate: number; pt: number },
): Promise<number> {
  const legA = await plane.allocateLeg();
  const legB = await plane.allocateLeg();
  const pa = await RtpPeer.open();
  const pb = await RtpPeer.open();
  const enc = openCodec(a.name, a.rate);
  const dec = openCodec(b.name, b.rate);
  try {
    await plane.configureLeg(legA.legId, {
      remote: { address: "127.0.0.1", port: pa.port },
      payloadMap: { [a.pt]: `${a.name}/${a.rate}` },
    });
    await plane.configureLeg(legB.legId, {
      remote: { address: "127.0.0.1", port: pb.port },
      payloadMap: { [b.pt]: `${b.name}/${b.rate}` },
    });
    const ra = { codec: `${a.name}/${a.rate}`, pt: a.pt };
    const rb = { codec: `${b.name}/${b.rate}`, pt: b.pt };
    await plane.bridge(legA.legId, legB.legId, {
      transcode: { aToB: { from: ra, to: rb }, bToA: { from: rb, to: ra } },
    });
    const sent = makeTestSignal({ sampleRate: enc.sampleRate, seconds: 2.5 });
    await pa.stream(BOX(legA.rtpPort), enc, a.pt, sent.samples);
    await sleep(300); // let the jitter buffer drain
    const heard = decodeStream(pb.received, b.pt, dec);
    assert(heard.length > 0, "B received nothing");
    // Compare at B's decoder rate: a 1 s slice of the sent chirp searched in what B heard.
    const ref = resampleLinear(sent.samples, enc.sampleRate, dec.sampleRate);
    return windowedCorrelation(ref, heard, dec.sampleRate);
  } finally {
    enc.close();
    dec.close();
    await pa.close();
    await pb.close();
    await plane.releaseLeg(legA.legId);
    await plane.releaseLeg(legB.legId);
  }
}

Deno.test({
  name: "opus to PCMU through a transcoding bridge: B hears A's chirp",
  ignore: !codecAvailable("opus", 48000),
  async fn() {
    const plane = await startPlane();
    try {
      assert(plane.codecs().some((c) => c.name === "opus"), "worker reports opus");
      const corr = await checkPath(plane, { name: "opus", rate: 48000, pt: 96 }, {
        name: "PCMU",
        rate: 8000,
        pt: 0,
      });
      assert(corr > 0.6, `correlation ${corr}`);
    } finally {
      await plane.close();
    }
  },
});

Deno.test({
  name: "G.722 to G.729 and G.729 to opus through transcoding bridges carry the signal",
  ignore: !codecAvailable("G729", 8000) || !codecAvailable("G722", 8000) || !codecAvailable("opus", 48000),
  async fn() {
    const plane = await startPlane();
    try {
      const c1 = await checkPath(plane, { name: "G722", rate: 8000, pt: 9 }, {
        name: "G729",
        rate: 8000,
        pt: 18,
      });
      assert(c1 > 0.6, `G722->G729 correlation ${c1}`);
      const c2 = await checkPath(plane, { name: "G729", rate: 8000, pt: 18 }, {
        name: "opus",
        rate: 48000,
        pt: 111,
      });
      assert(c2 > 0.6, `G729->opus correlation ${c2}`);
    } finally {
      await plane.close();
    }
  },
});

Deno.test("DTMF maps across a bridge: 4733 from A becomes tones to B, B's tones become 4733 to A", async () => {
  const plane = await startPlane();
  const pa = await RtpPeer.open();
  const pb = await RtpPeer.open();
  const events: string[] = [];
  const off = plane.on((ev) => {
    if (ev.event === "dtmf") events.push(`${ev.legId}:${ev.digit}:${ev.source}`);
  });
  try {
    const legA = await plane.allocateLeg();
    const legB = await plane.allocateLeg();
    await plane.configureLeg(legA.legId, {
      remote: { address: "127.0.0.1", port: pa.port },
      payloadMap: { 0: "PCMU/8000", 101: "telephone-event/8000" },
    });
    await plane.configureLeg(legB.legId, {
      remote: { address: "127.0.0.1", port: pb.port },
      payloadMap: { 0: "PCMU/8000" },
    });
    await plane.bridge(legA.legId, legB.legId);
    // A: 1.2 s of PCMU silence carrying an RFC 4733 "5" (start, updates, 3 end packets).
    const silence = new Uint8Array(160).fill(0xff);
    // B: 1.2 s of PCMU with an in-band "7".
    const tones = generateDtmf("7", { toneMs: 120, gapMs: 100 });
    const bPcm = new Int16Array(9600);
    bPcm.set(tones, 1600);
    const bUlaw = new Uint8Array(bPcm.length);
    encodeUlaw(bPcm, bUlaw);
    const evTs = 123456;
    for (let i = 0; i < 60; i++) {
      pa.send({ address: "127.0.0.1", port: legA.rtpPort }, 0, silence, 160);
      if (i >= 10 && i < 20) {
        const p = new Uint8Array(4);
        const end = i >= 17;
        encodeTelephoneEvent({ event: 5, end, volume: 10, duration: Math.min((i - 9) * 160, 1120) }, p);
        pa.send({ address: "127.0.0.1", port: legA.rtpPort }, 101, p, 0, {
          timestamp: evTs,
          marker: i === 10,
        });
      }
      pb.send({ address: "127.0.0.1", port: legB.rtpPort }, 0, bUlaw.subarray(i * 160, i * 160 + 160), 160);
      await sleep(20);
    }
    await waitFor(() => telephoneEvents(pa.received, 101).includes("7"), "RFC 4733 '7' at A");
    await sleep(300);
    const heardB = decodeStream(pb.received, 0, openCodec("PCMU", 8000));
    assertEquals(new DtmfDetector().process(heardB), ["5"]);
    assert(events.includes(`${legA.legId}:5:rfc4733`), `events ${events}`);
    assert(events.includes(`${legB.legId}:7:inband`), `events ${events}`);
    // A got the 7 as RFC 4733, so the tone itself was kept out of its audio (no double digit).
    assertEquals(new DtmfDetector().process(decodeStream(pa.received, 0, openCodec("PCMU", 8000))), []);
    // sendDtmf: A negotiated telephone-event, B only takes tones.
    assertEquals(await plane.sendDtmf(legA.legId, "9", 100), "rfc4733");
    await waitFor(() => telephoneEvents(pa.received, 101).includes("9"), "RFC 4733 '9' at A");
    await plane.releaseLeg(legA.legId);
    await plane.releaseLeg(legB.legId);
  } finally {
    off();
    await pa.close();
    await pb.close();
    await plane.close();
  }
});

Deno.test({
  name: "1000 allocate/bridge(transcoded)/release cycles free every codec and keep RSS bounded",
  ignore: !codecAvailable("opus", 48000) || !codecAvailable("G729", 8000),
  async fn() {
    // RSS is per process and other test files run in this one: measure in a process of its own.
    const script = new URL("./_leak_child.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", script],
      stdout: "piped",
    })
      .output();
    const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
    const { resources, growthMb } = JSON.parse(text) as {
      resources: { legs: number; codecs: number; resamplers: number; dirs: number };
      growthMb: number;
    };
    assertEquals(resources, { legs: 0, codecs: 0, resamplers: 0, dirs: 0 });
    assert(growthMb < 40, `RSS grew ${growthMb.toFixed(1)} MB over 800 cycles`);
  },
});
