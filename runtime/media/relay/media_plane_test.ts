import { deepStrictEqual as assertEquals, ok as assert, rejects as assertRejects } from "node:assert";
import dgram from "node:dgram";
import type { Buffer } from "node:buffer";
import { buildRtcpRr, parseRtcp } from "../rtp/rtcp.ts";
import { decodeTelephoneEvent, encodeTelephoneEvent, parseRtp, writeRtpHeader } from "../rtp/rtp.ts";
import { decodeAlaw, decodeUlaw, encodeUlaw, linearToAlaw, linearToUlaw } from "../g711/g711.ts";
import { goertzelPower } from "../dtmf/dtmf.ts";
import { type MediaEvent, MediaPlane } from "./mod.ts";

/** A fake phone: one UDP socket on 127.0.0.1 that queues what it receives. */
class Phone {
  sock: dgram.Socket;
  queue: { data: Uint8Array; port: number }[] = [];
  waiters: (() => void)[] = [];
  private constructor(sock: dgram.Socket) {
    this.sock = sock;
    sock.on("message", (m: Buffer, r: dgram.RemoteInfo) => {
      this.queue.push({ data: new Uint8Array(m), port: r.port });
      for (const w of this.waiters.splice(0)) w();
    });
  }
  static open(): Promise<Phone> {
    return new Promise((resolve) => {
      const s = dgram.createSocket("udp4");
      s.bind(0, "127.0.0.1", () => resolve(new Phone(s)));
    });
  }
  get port(): number {
    return this.sock.address().port;
  }
  send(data: Uint8Array, port: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this.sock.send(data, port, "127.0.0.1", (e) => e ? reject(e) : resolve())
    );
  }
  /** Next datagram; fails (rather than hangs) if none arrives within 3 s. */
  async next(): Promise<{ data: Uint8Array; port: number }> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      while (this.queue.length === 0) {
        await new Promise<void>((resolve, reject) => {
          this.waiters.push(resolve);
          timer = setTimeout(() => reject(new Error("no datagram within 3 s")), 3000);
        });
        clearTimeout(timer);
      }
      return this.queue.shift()!;
    } finally {
      clearTimeout(timer);
    }
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.sock.close(() => resolve()));
  }
}

function rtp(pt: number, seq: number, ssrc: number, payload: Uint8Array, marker = false): Uint8Array {
  const buf = new Uint8Array(12 + payload.length);
  writeRtpHeader(buf, { payloadType: pt, sequence: seq, timestamp: seq * 160, ssrc, marker });
  buf.set(payload, 12);
  return buf;
}

function randomBase(): number {
  return 20000 + 2 * Math.floor(Math.random() * 15000);
}

async function withPlane(
  fn: (plane: MediaPlane) => Promise<void>,
  extra: { portCount?: number; silenceMs?: number } = {},
): Promise<void> {
  const portMin = randomBase();
  const plane = await MediaPlane.start({
    bind: "127.0.0.1",
    portMin,
    portMax: portMin + (extra.portCount ?? 200) - 1,
    latch: { silenceMs: extra.silenceMs ?? 10_000 },
  });
  try {
    await fn(plane);
  } finally {
    await plane.close();
  }
}

/** A stats round trip after a send: the worker handles messages in order, but UDP delivery to it is async. */
async function statsWhen(
  plane: MediaPlane,
  legId: string,
  pred: (s: Awaited<ReturnType<MediaPlane["stats"]>>) => boolean,
) {
  for (let i = 0; i < 200; i++) {
    const s = await plane.stats(legId);
    if (pred(s)) return s;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`stats for ${legId} never matched`);
}

Deno.test("two phones exchange RTP both ways through two bridged legs, payload untouched", async () => {
  await withPlane(async (plane) => {
    const [pa, pb] = [await Phone.open(), await Phone.open()];
    try {
      const a = await plane.allocateLeg();
      const b = await plane.allocateLeg();
      assertEquals(a.address, "127.0.0.1");
      assertEquals(a.rtpPort % 2, 0);
      assertEquals(a.rtcpPort, a.rtpPort + 1);
      assertEquals(plane.activeLegs(), 2);
      await plane.configureLeg(a.legId, { remote: { address: "127.0.0.1", port: pa.port } });
      await plane.configureLeg(b.legId, { remote: { address: "127.0.0.1", port: pb.port } });
      await plane.bridge(a.legId, b.legId);
      assertEquals((await plane.stats(a.legId)).lastPacketAt, null);
      const t0 = Date.now();
      const payload = new Uint8Array(160).map((_, i) => i);
      const sent = rtp(0, 1, 0x1111, payload, true);
      await pa.send(sent, a.rtpPort);
      const got = await pb.next();
      assertEquals(got.data, sent);
      assertEquals(got.port, b.rtpPort); // leaves through leg B's socket
      const back = rtp(0, 9, 0x2222, payload);
      await pb.send(back, b.rtpPort);
      const got2 = await pa.next();
      assertEquals(got2.data, back);
      assertEquals(got2.port, a.rtpPort);
      const sa = await plane.stats(a.legId);
      assertEquals([sa.packetsIn, sa.bytesIn, sa.packetsOut, sa.bytesOut], [1, 172, 1, 172]);
      assertEquals(sa.latched, { address: "127.0.0.1", port: pa.port });
      assertEquals(sa.latchedSsrc, 0x1111);
      assertEquals(sa.bridgedTo, b.legId);
      // Epoch ms (not a monotonic clock value).
      assert(
        sa.lastPacketAt !== null && sa.lastPacketAt >= t0 - 1000 && sa.lastPacketAt <= Date.now() + 1000,
      );
      // The latched source restarts its stream with an SSRC above 2^31: reported, still relayed.
      const restarted = rtp(0, 2, 0xfedcba98, payload);
      await pa.send(restarted, a.rtpPort);
      assertEquals((await pb.next()).data, restarted);
      assertEquals((await plane.stats(a.legId)).latchedSsrc, 0xfedcba98);
    } finally {
      await pa.close();
      await pb.close();
    }
  });
});

Deno.test("legs latch to a NAT'd source port that differs from the SDP port", async () => {
  await withPlane(async (plane) => {
    const [sdpSock, natSock, pb, attacker] = [
      await Phone.open(),
      await Phone.open(),
      await Phone.open(),
      await Phone.open(),
    ];
    try {
      const a = await plane.allocateLeg();
      const b = await plane.allocateLeg();
      await plane.configureLeg(a.legId, { remote: { address: "127.0.0.1", port: sdpSock.port } });
      await plane.configureLeg(b.legId, { remote: { address: "127.0.0.1", port: pb.port } });
      await plane.bridge(a.legId, b.legId);
      const p = new Uint8Array(160);
      // Before A sends anything, media for A goes to the SDP address.
      await pb.send(rtp(0, 1, 0xb, p), b.rtpPort);
      assertEquals(parseRtp((await sdpSock.next()).data)!.sequence, 1);
      // A's packets come from another port (NAT); the leg latches on to it.
      await natSock.send(rtp(0, 100, 0xa, p), a.rtpPort);
      await pb.next();
      await pb.send(rtp(0, 2, 0xb, p), b.rtpPort);
      assertEquals(parseRtp((await natSock.next()).data)!.sequence, 2);
      // A random source with another SSRC cannot hijack the leg mid-call.
      await attacker.send(rtp(0, 5, 0x666, p), a.rtpPort);
      await statsWhen(plane, a.legId, (s) => s.dropped.rejectedSource === 1);
      await pb.send(rtp(0, 3, 0xb, p), b.rtpPort);
      assertEquals(parseRtp((await natSock.next()).data)!.sequence, 3);
      assertEquals(sdpSock.queue.length + attacker.queue.length + pb.queue.length, 0);
      const sa = await plane.stats(a.legId);
      assertEquals(sa.latched, { address: "127.0.0.1", port: natSock.port });
    } finally {
      for (const s of [sdpSock, natSock, pb, attacker]) await s.close();
    }
  });
});

Deno.test("a new SDP remote resets latching; latching can be turned off", async () => {
  await withPlane(async (plane) => {
    const [pa1, pa2, pb] = [await Phone.open(), await Phone.open(), await Phone.open()];
    try {
      const a = await plane.allocateLeg();
      const b = await plane.allocateLeg();
      await plane.configureLeg(a.legId, { remote: { address: "127.0.0.1", port: pa1.port } });
      await plane.configureLeg(b.legId, { remote: { address: "127.0.0.1", port: pb.port }, latching: false });
      await plane.bridge(a.legId, b.legId);
      const p = new Uint8Array(20);
      await pa1.send(rtp(0, 1, 1, p), a.rtpPort);
      await pb.next();
      await plane.configureLeg(a.legId, { remote: { address: "127.0.0.1", port: pa2.port } });
      assertEquals((await plane.stats(a.legId)).latched, null);
      // B has latching off: it sends from another port yet media still goes to its SDP port.
      const bOther = await Phone.open();
      try {
        await bOther.send(rtp(0, 2, 2, p), b.rtpPort);
        assertEquals(parseRtp((await pa2.next()).data)!.sequence, 2);
        await pa2.send(rtp(0, 3, 1, p), a.rtpPort);
        assertEquals(parseRtp((await pb.next()).data)!.sequence, 3);
        assertEquals(bOther.queue.length, 0);
      } finally {
        await bOther.close();
      }
    } finally {
      for (const s of [pa1, pa2, pb]) await s.close();
    }
  });
});

Deno.test("RTCP is relayed between the legs' RTCP sockets, to a=rtcp ports", async () => {
  await withPlane(async (plane) => {
    const [pa, pb, pbRtcp] = [await Phone.open(), await Phone.open(), await Phone.open()];
    try {
      const a = await plane.allocateLeg();
      const b = await plane.allocateLeg();
      await plane.configureLeg(a.legId, { remote: { address: "127.0.0.1", port: pa.port } });
      await plane.configureLeg(b.legId, {
        remote: { address: "127.0.0.1", port: pb.port, rtcpPort: pbRtcp.port },
      });
      await plane.bridge(a.legId, b.legId);
      const rr = buildRtcpRr({ ssrc: 0xabc });
      await pa.send(rr, a.rtcpPort);
      const got = await pbRtcp.next();
      assertEquals(got.data, rr);
      assertEquals(got.port, b.rtcpPort);
      assertEquals(parseRtcp(got.data)![0]!.ssrc, 0xabc);
      // RTCP back to A goes to A's latched RTCP source.
      await pbRtcp.send(buildRtcpRr({ ssrc: 0xdef }), b.rtcpPort);
      const back = await pa.next();
      assertEquals(parseRtcp(back.data)![0]!.ssrc, 0xdef);
      const sb = await plane.stats(b.legId);
      assertEquals([sb.rtcpIn, sb.rtcpOut], [1, 1]);
      // Garbage on the RTCP port is dropped.
      await pa.send(new Uint8Array([1, 2, 3]), a.rtcpPort);
      await statsWhen(plane, a.legId, (s) => s.dropped.invalid === 1);
    } finally {
      for (const s of [pa, pb, pbRtcp]) await s.close();
    }
  });
});

Deno.test("payload types are rewritten between legs; unnegotiated PTs dropped; DTMF reported", async () => {
  await withPlane(async (plane) => {
    const [pa, pb] = [await Phone.open(), await Phone.open()];
    const events: MediaEvent[] = [];
    const off = plane.on((e) => events.push(e));
    try {
      const a = await plane.allocateLeg();
      const b = await plane.allocateLeg();
      await plane.configureLeg(a.legId, {
        remote: { address: "127.0.0.1", port: pa.port },
        payloadMap: { 0: "PCMU/8000", 97: "opus/48000/2", 101: "telephone-event/8000" },
      });
      await plane.configureLeg(b.legId, {
        remote: { address: "127.0.0.1", port: pb.port },
        payloadMap: { 0: "pcmu/8000", 96: "telephone-event/8000", 111: "OPUS/48000/2" },
      });
      await plane.bridge(a.legId, b.legId);
      const ev = new Uint8Array(4);
      encodeTelephoneEvent({ event: 11, end: true, volume: 10, duration: 800 }, ev);
      await pa.send(rtp(101, 1, 1, ev, true), a.rtpPort);
      const got = parseRtp((await pb.next()).data)!;
      assertEquals([got.payloadType, got.marker], [96, true]);
      await pa.send(rtp(97, 2, 1, new Uint8Array(40)), a.rtpPort);
      assertEquals(parseRtp((await pb.next()).data)!.payloadType, 111);
      await pa.send(rtp(0, 3, 1, new Uint8Array(160)), a.rtpPort);
      assertEquals(parseRtp((await pb.next()).data)!.payloadType, 0);
      await pa.send(rtp(8, 4, 1, new Uint8Array(160)), a.rtpPort); // PCMA was not negotiated
      await statsWhen(plane, a.legId, (s) => s.dropped.noRoute === 1);
      // B -> A: 96 back to 101.
      await pb.send(rtp(96, 1, 2, ev), b.rtpPort);
      const back = await pa.next();
      const h = parseRtp(back.data)!;
      assertEquals(h.payloadType, 101);
      assertEquals(decodeTelephoneEvent(back.data.subarray(h.payloadOffset))!.event, 11);
      await statsWhen(plane, b.legId, () => events.filter((e) => e.event === "dtmf").length === 2);
      assertEquals(
        events.filter((e) => e.event === "dtmf").map((
          e,
        ) => [e.legId, (e as { digit: string }).digit, (e as { durationMs: number }).durationMs]),
        [[a.legId, "#", 100], [b.legId, "#", 100]],
      );
    } finally {
      off();
      await pa.close();
      await pb.close();
    }
  });
});

Deno.test("PCMU is transcoded to PCMA when the bridge asks for it; unsupported transcodes are refused", async () => {
  await withPlane(async (plane) => {
    const [pa, pb] = [await Phone.open(), await Phone.open()];
    try {
      const a = await plane.allocateLeg();
      const b = await plane.allocateLeg();
      await plane.configureLeg(a.legId, {
        remote: { address: "127.0.0.1", port: pa.port },
        payloadMap: { 0: "PCMU/8000" },
      });
      await plane.configureLeg(b.legId, {
        remote: { address: "127.0.0.1", port: pb.port },
        payloadMap: { 8: "PCMA/8000" },
      });
      await assertRejects(
        plane.bridge(a.legId, b.legId, {
          transcode: { aToB: { from: { codec: "opus", pt: 0 }, to: { codec: "PCMA", pt: 8 } } },
        }),
        TypeError,
      );
      await plane.bridge(a.legId, b.legId, {
        transcode: {
          aToB: { from: { codec: "PCMU", pt: 0 }, to: { codec: "PCMA", pt: 8 } },
          bToA: { from: { codec: "PCMA", pt: 8 }, to: { codec: "PCMU", pt: 0 } },
        },
      });
      const pcm = new Int16Array(160).map((_, i) => Math.round(8000 * Math.sin(i / 5)));
      const mu = new Uint8Array(160);
      encodeUlaw(pcm, mu);
      await pa.send(rtp(0, 7, 5, mu), a.rtpPort);
      const got = (await pb.next()).data;
      const h = parseRtp(got)!;
      assertEquals([h.payloadType, h.sequence, h.ssrc, h.payloadLength], [8, 7, 5, 160]);
      const mu2 = new Int16Array(160);
      decodeUlaw(mu, mu2);
      const al = new Int16Array(160);
      decodeAlaw(got.subarray(12), al);
      for (let i = 0; i < 160; i++) assertEquals(got[12 + i], linearToAlaw(mu2[i]!));
      assert(al.every((v, i) => Math.abs(v - pcm[i]!) < 300));
      await pb.send(rtp(8, 8, 6, got.subarray(12)), b.rtpPort);
      const back = parseRtp((await pa.next()).data)!;
      assertEquals(back.payloadType, 0);
    } finally {
      await pa.close();
      await pb.close();
    }
  });
});

Deno.test("1000 allocate/release cycles leave the pool full and the ports closed", async () => {
  await withPlane(async (plane) => {
    const initial = plane.freePorts();
    assertEquals(initial, 5);
    const used = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const x = await plane.allocateLeg();
      const y = await plane.allocateLeg();
      used.add(x.rtpPort).add(y.rtpPort);
      await plane.bridge(x.legId, y.legId);
      await plane.releaseLeg(x.legId);
      await plane.releaseLeg(y.legId);
    }
    assertEquals(plane.freePorts(), initial);
    assertEquals(plane.activeLegs(), 0);
    // Every port is bindable again, so no socket leaked in the worker.
    for (const p of used) {
      for (const q of [p, p + 1]) {
        await new Promise<void>((resolve, reject) => {
          const s = dgram.createSocket("udp4");
          s.once("error", reject);
          s.bind(q, "127.0.0.1", () => s.close(() => resolve()));
        });
      }
    }
  }, { portCount: 10 });
});

Deno.test("allocation skips ports that fail to bind and reports an exhausted pool", async () => {
  const portMin = randomBase();
  const blocker = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => blocker.bind(portMin + 1, "127.0.0.1", () => resolve()));
  const plane = await MediaPlane.start({ bind: "127.0.0.1", portMin, portMax: portMin + 5 });
  try {
    assertEquals(plane.freePorts(), 3);
    const a = await plane.allocateLeg();
    const b = await plane.allocateLeg();
    assert(a.rtpPort !== portMin && b.rtpPort !== portMin);
    await assertRejects(plane.allocateLeg(), RangeError);
    assertEquals(plane.activeLegs(), 2);
    await assertRejects(plane.stats("leg-nope"), RangeError);
  } finally {
    await plane.close();
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
});

Deno.test("start rejects a bad port range and terminates its worker", async () => {
  await assertRejects(MediaPlane.start({ bind: "127.0.0.1", portMin: 40000, portMax: 40000 }), RangeError);
  await assertRejects(MediaPlane.start({ bind: "127.0.0.1", portMin: 0, portMax: 70000 }), RangeError);
});

Deno.test("invalid RTP (too short, version != 2, bad CSRC count) is dropped without harm", async () => {
  await withPlane(async (plane) => {
    const [pa, pb] = [await Phone.open(), await Phone.open()];
    try {
      const a = await plane.allocateLeg();
      const b = await plane.allocateLeg();
      await plane.configureLeg(a.legId, { remote: { address: "127.0.0.1", port: pa.port } });
      await plane.configureLeg(b.legId, { remote: { address: "127.0.0.1", port: pb.port } });
      await plane.bridge(a.legId, b.legId);
      const v1 = rtp(0, 1, 1, new Uint8Array(10));
      v1[0] = 0x40;
      const cc = rtp(0, 1, 1, new Uint8Array(2));
      cc[0] = 0x8f;
      for (const bad of [new Uint8Array(0), new Uint8Array(5), v1, cc]) await pa.send(bad, a.rtpPort);
      await statsWhen(plane, a.legId, (s) => s.dropped.invalid === 4);
      await pa.send(rtp(0, 2, 1, new Uint8Array(10)), a.rtpPort);
      assertEquals(parseRtp((await pb.next()).data)!.sequence, 2);
      assertEquals(pb.queue.length, 0);
      assertEquals((await plane.stats(a.legId)).packetsIn, 1);
    } finally {
      await pa.close();
      await pb.close();
    }
  });
});

Deno.test("playTone sends paced G.711 RTP that carries the tone; taps decode received audio", async () => {
  await withPlane(async (plane) => {
    const pa = await Phone.open();
    const events: MediaEvent[] = [];
    const off = plane.on((e) => events.push(e));
    try {
      const a = await plane.allocateLeg();
      await plane.configureLeg(a.legId, {
        remote: { address: "127.0.0.1", port: pa.port },
        payloadMap: { 8: "PCMA/8000" },
      });
      const res = await plane.playTone(a.legId, "440/1000", { durationMs: 100 });
      assertEquals(res, { reason: "done", frames: 5 });
      const pkts = [];
      for (let i = 0; i < 5; i++) pkts.push(parseRtp((await pa.next()).data)!);
      assertEquals(pkts.map((h) => h.payloadType), [8, 8, 8, 8, 8]);
      assertEquals(pkts[0]!.marker, true);
      for (let i = 1; i < 5; i++) {
        assertEquals(pkts[i]!.sequence, (pkts[0]!.sequence + i) & 0xffff);
        assertEquals(pkts[i]!.timestamp, (pkts[0]!.timestamp + 160 * i) >>> 0);
      }
      // A repeating tone runs until stopped.
      const forever = plane.playTone(a.legId, "425/200,0/200");
      await pa.next();
      assertEquals(await plane.stopPlay(a.legId), true);
      assertEquals((await forever).reason, "stopped");
      // Playing PCM: what arrives decodes back to the 1 kHz tone.
      const pcm = new Int16Array(320).map((_, i) =>
        Math.round(6000 * Math.sin(2 * Math.PI * 1000 * i / 8000))
      );
      pa.queue.length = 0;
      assertEquals((await plane.playPcm(a.legId, pcm)).frames, 2);
      let d = await pa.next();
      while (parseRtp(d.data)!.marker !== true) d = await pa.next();
      const dec = new Int16Array(160);
      decodeAlaw(d.data.subarray(12), dec);
      assert(goertzelPower(dec, 1000, 8000) > 50 * goertzelPower(dec, 500, 8000));
      // Tap: a PCMA packet from the phone comes back as decoded PCM.
      await plane.tap(a.legId, true);
      const payload = new Uint8Array(160).fill(linearToAlaw(1000));
      await pa.send(rtp(8, 1, 9, payload), a.rtpPort);
      await statsWhen(plane, a.legId, () => events.some((e) => e.event === "audio"));
      const audio = events.find((e) => e.event === "audio") as Extract<MediaEvent, { event: "audio" }>;
      assertEquals(audio.pcm.length, 160);
      assertEquals(audio.pcm[0], 1008);
      assertEquals(linearToUlaw(0), 0xff);
    } finally {
      off();
      await pa.close();
    }
  });
});

for (const poll of ["sync", "thread", "paced"] as const) {
  Deno.test(`poll=${poll}: commands are answered while RTP flows, and the tone clock runs`, async () => {
    const portMin = randomBase();
    const plane = await MediaPlane.start({ bind: "127.0.0.1", portMin, portMax: portMin + 99, poll });
    const [pa, pb] = [await Phone.open(), await Phone.open()];
    let flowing = true;
    try {
      const a = await plane.allocateLeg();
      const b = await plane.allocateLeg();
      await plane.configureLeg(a.legId, { remote: { address: "127.0.0.1", port: pa.port } });
      await plane.configureLeg(b.legId, { remote: { address: "127.0.0.1", port: pb.port } });
      await plane.bridge(a.legId, b.legId);
      // A steady stream keeps the worker's poll loop busy the whole time.
      const stream = (async () => {
        for (let seq = 1; flowing; seq++) {
          await pa.send(rtp(0, seq & 0xffff, 0x4444, new Uint8Array(160)), a.rtpPort);
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      // Command round trips (the worker's incoming messages) are served meanwhile, in order.
      let last = 0;
      for (let i = 0; i < 30; i++) {
        const s = await plane.stats(a.legId);
        assert(s.packetsIn >= last);
        last = s.packetsIn;
        const extra = await plane.allocateLeg();
        await plane.releaseLeg(extra.legId);
      }
      await statsWhen(plane, b.legId, (s) => s.packetsOut > 0);
      // Timers in the worker (10 ms player tick) run: a 100 ms tone is 5 frames toward b.
      const played = await plane.playTone(b.legId, "400", { durationMs: 100 });
      assertEquals(played, { reason: "done", frames: 5 });
      flowing = false;
      await stream;
      assertEquals(plane.activeLegs(), 2);
    } finally {
      flowing = false;
      await plane.close();
      await pa.close();
      await pb.close();
    }
  });
}

Deno.test("configure relatch: true opens a new window with the same remote; a locked leg ignores a burst", async () => {
  await withPlane(async (plane) => {
    const [pa, other, pb] = [await Phone.open(), await Phone.open(), await Phone.open()];
    try {
      const a = await plane.allocateLeg();
      const b = await plane.allocateLeg();
      await plane.configureLeg(a.legId, { remote: { address: "127.0.0.1", port: pa.port } });
      await plane.configureLeg(b.legId, { remote: { address: "127.0.0.1", port: pb.port } });
      await plane.bridge(a.legId, b.legId);
      const p = new Uint8Array(20);
      await pa.send(rtp(0, 1, 0xa, p), a.rtpPort); // from the SDP address: locked at once
      await pb.next();
      for (let i = 0; i < 20; i++) await other.send(rtp(0, 100 + i, 0x666, p), a.rtpPort);
      await statsWhen(plane, a.legId, (s) => s.dropped.rejectedSource === 20);
      assertEquals((await plane.stats(a.legId)).latched, { address: "127.0.0.1", port: pa.port });
      // A re-INVITE with the same address: the engine asks for a new window.
      await plane.configureLeg(a.legId, { remote: { address: "127.0.0.1", port: pa.port }, relatch: true });
      assertEquals((await plane.stats(a.legId)).latched, null);
      await other.send(rtp(0, 200, 0x777, p), a.rtpPort);
      await statsWhen(plane, a.legId, (s) => s.latched?.port === other.port);
      // strictSource is accepted as configuration (its rule is unit-tested in latch_test.ts).
      await plane.configureLeg(a.legId, { strictSource: true });
    } finally {
      for (const s of [pa, other, pb]) await s.close();
    }
  });
});
