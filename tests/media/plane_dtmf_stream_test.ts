/**
 * Box-generated RFC 4733 events join the stream they are sent in (RFC 4733 section 2.5): on a relay
 * bridge they carry the forwarded stream's SSRC and continue its sequence and timestamps; on a
 * transcoding bridge they carry the box's own (transcoded) stream's SSRC; telephone-event is mapped
 * between rates (48000 <-> 8000) with durations scaled. Real sockets on 127.0.0.1.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { MediaPlane } from "../../runtime/media/relay/mod.ts";
import { decodeTelephoneEvent, encodeTelephoneEvent } from "../../runtime/media/rtp/rtp.ts";
import { pickPortRange } from "../_harness/mod.ts";
import { codecAvailable, openCodec, type ReceivedRtp, RtpPeer, sleep, waitFor } from "./_support.ts";

async function startPlane(): Promise<MediaPlane> {
  const [portMin, portMax] = await pickPortRange(20);
  return await MediaPlane.start({ bind: "127.0.0.1", portMin, portMax });
}

const BOX = (port: number) => () => ({ address: "127.0.0.1", port });

function events(pkts: readonly ReceivedRtp[], pt: number) {
  return pkts.filter((p) => p.header.payloadType === pt).map((p) => ({
    ...decodeTelephoneEvent(p.payload)!,
    ssrc: p.header.ssrc,
    ts: p.header.timestamp,
  }));
}

Deno.test("relay bridge: an INFO digit sent into the forwarded stream uses its SSRC, sequence and timestamps", async () => {
  const plane = await startPlane();
  const pa = await RtpPeer.open();
  const pb = await RtpPeer.open();
  const pcmu = openCodec("PCMU", 8000);
  try {
    const a = await plane.allocateLeg();
    const b = await plane.allocateLeg();
    const map = { 0: "PCMU/8000", 101: "telephone-event/8000" };
    await plane.configureLeg(a.legId, { remote: { address: "127.0.0.1", port: pa.port }, payloadMap: map });
    await plane.configureLeg(b.legId, { remote: { address: "127.0.0.1", port: pb.port }, payloadMap: map });
    await plane.bridge(a.legId, b.legId);
    const pcm = new Int16Array(8000 * 1.5).map((_, i) => Math.round(4000 * Math.sin(i / 5)));
    const streaming = pa.stream(BOX(a.rtpPort), pcmu, 0, pcm);
    await waitFor(() => pb.received.length >= 10, "audio at B");
    assertEquals(await plane.sendDtmf(b.legId, "5", 100), "rfc4733");
    await streaming;
    await sleep(100);
    const got = pb.received;
    const audioSsrc = got.find((p) => p.header.payloadType === 0)!.header.ssrc;
    const ev = events(got, 101);
    assert(ev.length >= 4, `B got ${ev.length} event packets`);
    assert(ev.every((e) => e.ssrc === audioSsrc), "events carry the forwarded stream's SSRC");
    assertEquals(new Set(got.map((p) => p.header.ssrc)).size, 1);
    assertEquals(ev.filter((e) => e.end).length, 3);
    assertEquals(ev.at(-1)!.duration, 800); // 100 ms at 8000
    assertEquals(ev.at(-1)!.event, 5);
    // One sequence space: in arrival order (loopback keeps order), every number follows the previous.
    const seqs = got.map((p) => p.header.sequence);
    for (let i = 1; i < seqs.length; i++) assertEquals(seqs[i], (seqs[i - 1]! + 1) & 0xffff, `seq at ${i}`);
    // The event's timestamp lies in the audio's timestamp space (within a few frames of it).
    const i = got.findIndex((p) => p.header.payloadType === 101);
    const before = got[i - 1]!.header.timestamp;
    const d = (ev[0]!.ts - before) >>> 0;
    assert(d <= 800, `event timestamp ${ev[0]!.ts} vs audio ${before}`);
  } finally {
    pcmu.close();
    await pa.close();
    await pb.close();
    await plane.close();
  }
});

Deno.test({
  name:
    "transcoding bridge opus+te/48000 to PCMU+te/8000: A's event reaches B at 8000 in B's stream, duration scaled",
  ignore: !codecAvailable("opus", 48000),
  async fn() {
    const plane = await startPlane();
    const pa = await RtpPeer.open();
    const pb = await RtpPeer.open();
    const opus = openCodec("opus", 48000);
    try {
      const a = await plane.allocateLeg();
      const b = await plane.allocateLeg();
      await plane.configureLeg(a.legId, {
        remote: { address: "127.0.0.1", port: pa.port },
        payloadMap: { 111: "opus/48000", 110: "telephone-event/48000" },
      });
      await plane.configureLeg(b.legId, {
        remote: { address: "127.0.0.1", port: pb.port },
        payloadMap: { 0: "PCMU/8000", 101: "telephone-event/8000" },
      });
      const ra = { codec: "opus/48000", pt: 111 };
      const rb = { codec: "PCMU/8000", pt: 0 };
      await plane.bridge(a.legId, b.legId, {
        transcode: { aToB: { from: ra, to: rb }, bToA: { from: rb, to: ra } },
      });
      const digits: string[] = [];
      plane.on((e) => {
        if (e.event === "dtmf") digits.push(e.digit);
      });
      const pcm = new Int16Array(48000).map((_, i) => Math.round(4000 * Math.sin(i / 30)));
      const streaming = pa.stream(BOX(a.rtpPort), opus, 111, pcm);
      await waitFor(() => pb.received.length >= 10, "audio at B");
      // Digit 9, 120 ms at 48 kHz (5760 ticks), in A's stream: start, updates, three end packets.
      const ts = pa.timestamp;
      const p = new Uint8Array(4);
      for (let step = 1; step <= 6; step++) {
        const end = step === 6;
        encodeTelephoneEvent({ event: 9, end, volume: 10, duration: Math.min(step * 960, 5760) }, p);
        for (let k = 0; k < (end ? 3 : 1); k++) {
          pa.send(BOX(a.rtpPort)(), 110, p, 0, { timestamp: ts, marker: step === 1 });
        }
        await sleep(20);
      }
      await streaming;
      await sleep(300);
      assertEquals(digits, ["9"]);
      const audioSsrc = pb.received.find((x) => x.header.payloadType === 0)!.header.ssrc;
      const ev = events(pb.received, 101);
      assert(ev.length > 0, "B got no telephone-event/8000");
      assert(ev.every((e) => e.ssrc === audioSsrc), "events carry B's transcoded stream's SSRC");
      assertEquals(ev.at(-1)!.event, 9);
      assertEquals(ev.at(-1)!.duration, 960); // 120 ms at 8000
      assertEquals(pb.received.filter((x) => x.header.payloadType === 110).length, 0);
    } finally {
      opus.close();
      await pa.close();
      await pb.close();
      await plane.close();
    }
  },
});
