import { ok as assert, rejects as assertRejects } from "node:assert";
import dgram from "node:dgram";
import { buildRtcpRr } from "../rtp/rtcp.ts";
import { writeRtpHeader } from "../rtp/rtp.ts";
import { type MediaEvent, MediaPlane } from "./mod.ts";

function open(): Promise<dgram.Socket> {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    s.bind(0, "127.0.0.1", () => resolve(s));
  });
}

function rtp(seq: number): Uint8Array {
  const buf = new Uint8Array(12 + 160);
  writeRtpHeader(buf, { payloadType: 0, sequence: seq, timestamp: seq * 160, ssrc: 0x1234, marker: false });
  return buf;
}

function randomBase(): number {
  return 20000 + 2 * Math.floor(Math.random() * 15000);
}

Deno.test("a leg that hears neither RTP nor RTCP for the RTP timeout is reported inactive, again per timeout", async () => {
  const portMin = randomBase();
  const plane = await MediaPlane.start({
    bind: "127.0.0.1",
    portMin,
    portMax: portMin + 19,
    rtpTimeoutMs: 1500,
  });
  const pa = await open();
  const pb = await open();
  const events: Extract<MediaEvent, { event: "inactive" }>[] = [];
  plane.on((ev) => {
    if (ev.event === "inactive") events.push(ev);
  });
  try {
    const a = await plane.allocateLeg();
    const b = await plane.allocateLeg();
    const idle = await plane.allocateLeg(); // never configured: not in use, never reported
    await plane.configureLeg(a.legId, { remote: { address: "127.0.0.1", port: pa.address().port } });
    await plane.configureLeg(b.legId, { remote: { address: "127.0.0.1", port: pb.address().port } });
    await plane.bridge(a.legId, b.legId);
    // A sends RTP every 20 ms, B only RTCP every 200 ms: both are alive for 2.5 s.
    let seq = 1;
    const rtpTimer = setInterval(() => pa.send(rtp(seq++), a.rtpPort, "127.0.0.1"), 20);
    const rtcpTimer = setInterval(() => pb.send(buildRtcpRr({ ssrc: 0x99 }), b.rtcpPort, "127.0.0.1"), 200);
    await new Promise((r) => setTimeout(r, 2500));
    clearInterval(rtpTimer);
    clearInterval(rtcpTimer);
    assert(events.length === 0, `no leg is reported while RTP or RTCP arrives: ${JSON.stringify(events)}`);
    // Both fall silent: each is reported, then reported again after another timeout.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const count = (id: string) => events.filter((e) => e.legId === id).length;
      if (count(a.legId) >= 2 && count(b.legId) >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const forA = events.filter((e) => e.legId === a.legId);
    const forB = events.filter((e) => e.legId === b.legId);
    assert(forA.length >= 2 && forB.length >= 2, JSON.stringify(events));
    assert(forA[0]!.silentMs >= 1500 && forA[1]!.silentMs >= 3000, JSON.stringify(forA));
    assert(!events.some((e) => e.legId === idle.legId), "an unused leg is not watched");
    // A configure (a re-INVITE) restarts the count: no report for that leg within the next half timeout.
    const before = events.length;
    await plane.configureLeg(a.legId, { relatch: true });
    await new Promise((r) => setTimeout(r, 600));
    assert(!events.slice(before).some((e) => e.legId === a.legId), JSON.stringify(events.slice(before)));
  } finally {
    pa.close();
    pb.close();
    await plane.close();
  }
});

Deno.test("a bad RTP timeout is refused at start", async () => {
  const portMin = randomBase();
  await assertRejects(
    MediaPlane.start({ bind: "127.0.0.1", portMin, portMax: portMin + 9, rtpTimeoutMs: 5 }),
    /bad RTP timeout/,
  );
});
