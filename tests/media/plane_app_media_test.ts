/**
 * Application media in the worker (the call-control API's players, recorders and mixes): WAV files
 * and PCM of any rate played into narrowband and wideband legs, recordings written by the worker
 * (mono and stereo, renamed from .part on stop), and a 3-party mixing bridge where each party
 * hears the others but not itself. Real sockets on 127.0.0.1; checks decoded audio by tone energy
 * and correlation.
 */
import { deepStrictEqual as assertEquals, ok as assert, rejects as assertRejects } from "node:assert";
import { MediaPlane } from "../../runtime/media/relay/mod.ts";
import { goertzelPower } from "../../runtime/media/dtmf/mod.ts";
import { readWav, writeWav } from "../../runtime/media/wav/mod.ts";
import { makeTestSignal, pickPortRange } from "../_harness/mod.ts";
import {
  codecAvailable,
  decodeStream,
  openCodec,
  RtpPeer,
  sleep,
  waitFor,
  windowedCorrelation,
} from "./_support.ts";

async function startPlane(): Promise<MediaPlane> {
  const [portMin, portMax] = await pickPortRange(20);
  return await MediaPlane.start({ bind: "127.0.0.1", portMin, portMax });
}

const BOX = (port: number) => () => ({ address: "127.0.0.1", port });

function sine(freq: number, rate: number, seconds: number, channels = 1, amp = 8000): Int16Array {
  const n = Math.round(rate * seconds);
  const out = new Int16Array(n * channels);
  for (let i = 0; i < n; i++) {
    const v = Math.round(amp * Math.sin(2 * Math.PI * freq * i / rate));
    for (let c = 0; c < channels; c++) out[i * channels + c] = v;
  }
  return out;
}

/** Normalised tone power (per sample squared amplitude units). */
function tonePower(pcm: Int16Array, freq: number, rate: number): number {
  return goertzelPower(pcm, freq, rate) / Math.max(1, pcm.length);
}

async function legFor(plane: MediaPlane, peer: RtpPeer, payloadMap: Record<number, string>) {
  const leg = await plane.allocateLeg();
  await plane.configureLeg(leg.legId, { remote: { address: "127.0.0.1", port: peer.port }, payloadMap });
  return leg;
}

for (
  const c of [
    { name: "PCMU", rate: 8000, pt: 0, pcmRate: 8000 },
    { name: "G722", rate: 8000, pt: 9, pcmRate: 16000 },
    { name: "opus", rate: 48000, pt: 111, pcmRate: 48000 },
  ]
) {
  Deno.test({
    name:
      `playFile: a 44.1 kHz stereo WAV reaches a ${c.name} leg in its codec, then the call resolves "done"`,
    ignore: !codecAvailable(c.name, c.rate),
    async fn() {
      const plane = await startPlane();
      const peer = await RtpPeer.open();
      const dir = await Deno.makeTempDir({ prefix: "play-file-" });
      try {
        const path = `${dir}/prompt.wav`;
        await Deno.writeFile(path, writeWav({ sampleRate: 44100, channels: 2 }, sine(1000, 44100, 0.6, 2)));
        const leg = await legFor(plane, peer, { [c.pt]: `${c.name}/${c.rate}`, 101: "telephone-event/8000" });
        const r = await plane.playFile(leg.legId, path);
        assertEquals(r.reason, "done");
        assert(r.frames >= 29 && r.frames <= 31, `frames ${r.frames}`);
        await sleep(100);
        assert(peer.received.every((p) => p.header.payloadType === c.pt), "only the leg's codec");
        const dec = openCodec(c.name, c.rate, c.name === "opus" ? { sampleRate: 48000 } : {});
        const heard = decodeStream(peer.received, c.pt, dec);
        dec.close();
        const rate = dec.sampleRate;
        assert(heard.length > rate * 0.5, `heard ${heard.length} samples at ${rate}`);
        const mid = heard.subarray(Math.round(rate * 0.1), Math.round(rate * 0.5));
        const on = tonePower(mid, 1000, rate);
        const off = tonePower(mid, 1700, rate);
        assert(on > 100 * off, `1 kHz power ${on} vs 1.7 kHz ${off}`);
        assertEquals((await plane.resources()).codecs, 0, "the player's encoder was closed");
      } finally {
        await peer.close();
        await plane.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test("playFile loop plays until stopPlay; playPcm takes 16 kHz; bad files are clear errors", async () => {
  const plane = await startPlane();
  const peer = await RtpPeer.open();
  const dir = await Deno.makeTempDir({ prefix: "play-file-" });
  try {
    const path = `${dir}/moh.wav`;
    await Deno.writeFile(path, writeWav({ sampleRate: 8000, channels: 1 }, sine(400, 8000, 0.2)));
    const leg = await legFor(plane, peer, { 8: "PCMA/8000" });
    const playing = plane.playFile(leg.legId, path, { loop: true });
    await sleep(700); // three and a half times the file
    assertEquals(await plane.stopPlay(leg.legId), true);
    const r = await playing;
    assertEquals(r.reason, "stopped");
    assert(r.frames > 20, `looped frames ${r.frames}`);
    const pcm = await plane.playPcm(leg.legId, sine(600, 16000, 0.2), { sampleRate: 16000 });
    assertEquals([pcm.reason, pcm.frames], ["done", 10]);
    await Deno.writeFile(`${dir}/broken.wav`, new TextEncoder().encode("RIFF....WAVEjunk"));
    await assertRejects(
      plane.playFile(leg.legId, `${dir}/broken.wav`),
      (e: Error) => e.name !== "Error" || /WAV/.test(e.message),
    );
    await assertRejects(plane.playFile(leg.legId, `${dir}/missing.wav`), /No such file|NotFound|not found/i);
    await assertRejects(plane.playPcm(leg.legId, new Int16Array(10), { sampleRate: 5 }), RangeError);
  } finally {
    await peer.close();
    await plane.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("record: mono WAV of what a leg receives, written as .part and renamed on stop", async () => {
  const plane = await startPlane();
  const pa = await RtpPeer.open();
  const dir = await Deno.makeTempDir({ prefix: "record-" });
  const pcmu = openCodec("PCMU", 8000);
  try {
    const leg = await legFor(plane, pa, { 0: "PCMU/8000" });
    const path = `${dir}/rec.wav`;
    const started = await plane.record(leg.legId, path);
    assertEquals(started, { path, sampleRate: 8000, channels: 1 });
    await assertRejects(plane.record(leg.legId, path), RangeError);
    const sent = makeTestSignal({ sampleRate: 8000, seconds: 2 }).samples;
    await pa.stream(BOX(leg.rtpPort), pcmu, 0, sent);
    await sleep(100);
    assert((await Deno.stat(`${path}.part`)).isFile, "the recording is written under .part meanwhile");
    const events: string[] = [];
    plane.on((e) => {
      if (e.event === "recorded") events.push(`${e.legId} ${e.reason}`);
    });
    const r = await plane.stopRecord(leg.legId);
    assert(r !== null);
    assertEquals([r.path, r.reason, r.channels], [path, "stopped", 1]);
    assert(r.durationMs >= 1900 && r.durationMs <= 3000, `duration ${r.durationMs}`);
    await assertRejects(Deno.stat(`${path}.part`));
    const wav = readWav(await Deno.readFile(path));
    assertEquals([wav.sampleRate, wav.channels], [8000, 1]);
    assertEquals(wav.samples.length, r.durationMs * 8);
    const corr = windowedCorrelation(sent, wav.samples, 8000);
    assert(corr > 0.8, `recording vs sent correlation ${corr}`);
    await sleep(20);
    assertEquals(events, [`${leg.legId} stopped`]);
    assertEquals(await plane.stopRecord(leg.legId), null);
    assertEquals((await plane.resources()).recorders, 0);
  } finally {
    pcmu.close();
    await pa.close();
    await plane.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("record stereo: left what the leg receives, right the other direction of the bridge", async () => {
  const plane = await startPlane();
  const pa = await RtpPeer.open();
  const pb = await RtpPeer.open();
  const dir = await Deno.makeTempDir({ prefix: "record-" });
  const ca = openCodec("PCMU", 8000);
  const cb = openCodec("PCMU", 8000);
  try {
    const a = await legFor(plane, pa, { 0: "PCMU/8000" });
    const b = await legFor(plane, pb, { 0: "PCMU/8000" });
    await plane.bridge(a.legId, b.legId);
    const path = `${dir}/call.wav`;
    await plane.record(a.legId, path, { stereo: true });
    await Promise.all([
      pa.stream(BOX(a.rtpPort), ca, 0, sine(500, 8000, 1.5)),
      pb.stream(BOX(b.rtpPort), cb, 0, sine(1300, 8000, 1.5)),
    ]);
    const r = (await plane.stopRecord(a.legId))!;
    assertEquals(r.channels, 2);
    const wav = readWav(await Deno.readFile(path));
    assertEquals(wav.channels, 2);
    const n = wav.samples.length / 2;
    const left = new Int16Array(n);
    const right = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      left[i] = wav.samples[2 * i]!;
      right[i] = wav.samples[2 * i + 1]!;
    }
    assert(tonePower(left, 500, 8000) > 50 * tonePower(left, 1300, 8000), "left is A's 500 Hz");
    assert(tonePower(right, 1300, 8000) > 50 * tonePower(right, 500, 8000), "right is B's 1300 Hz");
  } finally {
    ca.close();
    cb.close();
    await pa.close();
    await pb.close();
    await plane.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("record mixed: both directions of the bridge summed in one channel", async () => {
  const plane = await startPlane();
  const pa = await RtpPeer.open();
  const pb = await RtpPeer.open();
  const dir = await Deno.makeTempDir({ prefix: "record-" });
  const ca = openCodec("PCMU", 8000);
  const cb = openCodec("PCMU", 8000);
  try {
    const a = await legFor(plane, pa, { 0: "PCMU/8000" });
    const b = await legFor(plane, pb, { 0: "PCMU/8000" });
    await plane.bridge(a.legId, b.legId);
    const path = `${dir}/call.wav`;
    await plane.record(a.legId, path, { mixed: true });
    await Promise.all([
      pa.stream(BOX(a.rtpPort), ca, 0, sine(500, 8000, 1.5)),
      pb.stream(BOX(b.rtpPort), cb, 0, sine(1300, 8000, 1.5)),
    ]);
    const r = (await plane.stopRecord(a.legId))!;
    assertEquals(r.channels, 1);
    const wav = readWav(await Deno.readFile(path));
    assertEquals(wav.channels, 1);
    const mid = wav.samples.subarray(2400, 9600);
    const a500 = tonePower(mid, 500, 8000);
    const b1300 = tonePower(mid, 1300, 8000);
    const off = tonePower(mid, 900, 8000);
    assert(a500 > 50 * off && b1300 > 50 * off, `500 Hz ${a500}, 1300 Hz ${b1300}, 900 Hz ${off}`);
  } finally {
    ca.close();
    cb.close();
    await pa.close();
    await pb.close();
    await plane.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "mix: three legs (one G.722, so the mix is wideband); each hears the other two, not itself",
  ignore: !codecAvailable("G722", 8000),
  async fn() {
    const plane = await startPlane();
    const peers = [await RtpPeer.open(), await RtpPeer.open(), await RtpPeer.open()];
    const specs = [
      { name: "PCMU", rate: 8000, pt: 0, freq: 500 },
      { name: "PCMU", rate: 8000, pt: 0, freq: 900 },
      { name: "G722", rate: 8000, pt: 9, freq: 1400 },
    ];
    const codecs = specs.map((s) => openCodec(s.name, s.rate));
    try {
      const legs: { legId: string; rtpPort: number }[] = [];
      for (let i = 0; i < 3; i++) {
        legs.push(await legFor(plane, peers[i]!, { [specs[i]!.pt]: `${specs[i]!.name}/8000` }));
      }
      const m = await plane.mix("conf-1", legs.map((l) => l.legId));
      assertEquals(m.sampleRate, 16000);
      await assertRejects(plane.mix("conf-1", []), RangeError);
      await Promise.all(
        peers.map((p, i) =>
          p.stream(
            BOX(legs[i]!.rtpPort),
            codecs[i]!,
            specs[i]!.pt,
            sine(specs[i]!.freq, codecs[i]!.sampleRate, 1.5),
          )
        ),
      );
      for (let i = 0; i < 3; i++) {
        const dec = openCodec(specs[i]!.name, specs[i]!.rate);
        const heard = decodeStream(peers[i]!.received, specs[i]!.pt, dec);
        dec.close();
        const rate = dec.sampleRate;
        const mid = heard.subarray(Math.round(rate * 0.4), Math.round(rate * 1.2));
        assert(mid.length > rate * 0.5, `party ${i} heard ${heard.length} samples`);
        const own = tonePower(mid, specs[i]!.freq, rate);
        for (let j = 0; j < 3; j++) {
          if (j === i) continue;
          const other = tonePower(mid, specs[j]!.freq, rate);
          assert(
            other > 30 * own,
            `party ${i}: ${specs[j]!.freq} Hz ${other} vs own ${specs[i]!.freq} Hz ${own}`,
          );
        }
      }
      assertEquals(await plane.removeFromMix("conf-1", legs[0]!.legId), true);
      assertEquals(await plane.removeFromMix("conf-1", legs[0]!.legId), false);
      assertEquals(await plane.addToMix("conf-1", legs[0]!.legId), true);
      assertEquals(await plane.endMix("conf-1"), true);
      const res = await plane.resources();
      assertEquals([res.mixes, res.codecs, res.resamplers], [0, 0, 0]);
    } finally {
      for (const c of codecs) c.close();
      for (const p of peers) await p.close();
      await plane.close();
    }
  },
});

Deno.test({
  name:
    "mix room: created by the first join at 16 kHz, a muted party is heard by nobody, talking events on change, ends when empty",
  async fn() {
    const plane = await startPlane();
    const peers = [await RtpPeer.open(), await RtpPeer.open(), await RtpPeer.open()];
    const freqs = [500, 900, 1400];
    const codecs = peers.map(() => openCodec("PCMU", 8000));
    const talking: { legId: string; talking: boolean }[] = [];
    const off = plane.on((ev) => {
      if (ev.event === "talking") talking.push({ legId: ev.legId, talking: ev.talking });
    });
    try {
      const legs: { legId: string; rtpPort: number }[] = [];
      for (const p of peers) legs.push(await legFor(plane, p, { 0: "PCMU/8000" }));
      const room = { sampleRate: 16000, endWhenEmpty: true, talkEvents: true };
      for (const l of legs) assertEquals(await plane.addToMix("room-1", l.legId, room), true);
      await assertRejects(plane.muteInMix("room-1", "nope", true));
      assertEquals(await plane.muteInMix("room-1", legs[1]!.legId, true), true);
      await Promise.all(
        peers.map((p, i) => p.stream(BOX(legs[i]!.rtpPort), codecs[i]!, 0, sine(freqs[i]!, 8000, 1.5))),
      );
      await sleep(100);
      const heard = peers.map((p) => {
        const dec = openCodec("PCMU", 8000);
        const pcm = decodeStream(p.received, 0, dec);
        dec.close();
        return pcm.subarray(3200, 9600);
      });
      // Party 0 hears party 2, not the muted party 1; party 1 (muted) still hears 0 and 2.
      assert(tonePower(heard[0]!, 1400, 8000) > 30 * tonePower(heard[0]!, 900, 8000), "0 hears 2, not 1");
      assert(tonePower(heard[2]!, 500, 8000) > 30 * tonePower(heard[2]!, 900, 8000), "2 hears 0, not 1");
      assert(tonePower(heard[1]!, 500, 8000) > 30 * tonePower(heard[1]!, 900, 8000), "1 hears 0, not itself");
      assert(tonePower(heard[1]!, 1400, 8000) > 30 * tonePower(heard[1]!, 900, 8000), "1 hears 2");
      await waitFor(() => talking.filter((t) => !t.talking).length >= 2, "talking stopped events");
      const on = new Set(talking.filter((t) => t.talking).map((t) => t.legId));
      assertEquals(on, new Set([legs[0]!.legId, legs[2]!.legId]), "the muted party is never talking");
      for (const l of legs) await plane.removeFromMix("room-1", l.legId);
      assertEquals((await plane.resources()).mixes, 0);
      await assertRejects(plane.muteInMix("room-1", legs[0]!.legId, false), RangeError);
    } finally {
      off();
      for (const c of codecs) c.close();
      for (const p of peers) await p.close();
      await plane.close();
    }
  },
});

Deno.test("releasing a recording leg finishes its file; recording into a missing directory is a clear error", async () => {
  const plane = await startPlane();
  const pa = await RtpPeer.open();
  const dir = await Deno.makeTempDir({ prefix: "record-" });
  try {
    const leg = await legFor(plane, pa, { 0: "PCMU/8000" });
    await assertRejects(plane.record(leg.legId, `${dir}/no/such/dir/x.wav`), /No such file|NotFound/i);
    const recorded = new Promise<string>((resolve) =>
      plane.on((e) => {
        if (e.event === "recorded") resolve(`${e.reason} ${e.durationMs > 0}`);
      })
    );
    await plane.record(leg.legId, `${dir}/r.wav`);
    await sleep(300);
    await plane.releaseLeg(leg.legId);
    assertEquals(await recorded, "released true");
    await waitFor(() => {
      try {
        return Deno.statSync(`${dir}/r.wav`).isFile;
      } catch {
        return false;
      }
    }, "the renamed recording");
    const wav = readWav(await Deno.readFile(`${dir}/r.wav`));
    assertEquals([wav.sampleRate, wav.channels], [8000, 1]);
    assertEquals((await plane.resources()).recorders, 0);
  } finally {
    await pa.close();
    await plane.close();
    await Deno.remove(dir, { recursive: true });
  }
});
