import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import dgram from "node:dgram";
import type { Buffer } from "node:buffer";
import { SRTP_SUITES, type SrtpSuite } from "../../../drivers/srtp/mod.ts";
import { SrtpSession } from "../../../drivers/srtp/mod.ts";
import { buildRtcpRr, parseRtcp } from "../rtp/rtcp.ts";
import { writeRtpHeader } from "../rtp/rtp.ts";
import { type MediaEvent, MediaPlane } from "./mod.ts";

/** A phone on 127.0.0.1 that queues what it receives. */
class Phone {
  sock: dgram.Socket;
  queue: Uint8Array[] = [];
  waiters: (() => void)[] = [];
  private constructor(sock: dgram.Socket) {
    this.sock = sock;
    sock.on("message", (m: Buffer) => {
      this.queue.push(new Uint8Array(m));
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
  async next(): Promise<Uint8Array> {
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

function rtp(seq: number, ssrc: number, payload: Uint8Array): Uint8Array {
  const buf = new Uint8Array(12 + payload.length);
  writeRtpHeader(buf, { payloadType: 0, sequence: seq, timestamp: seq * 160, ssrc, marker: false });
  buf.set(payload, 12);
  return buf;
}

function key(suite: SrtpSuite): Uint8Array {
  const i = SRTP_SUITES[suite];
  return crypto.getRandomValues(new Uint8Array(i.keyLength + i.saltLength));
}

function protect(s: SrtpSession, pkt: Uint8Array, rtcp = false): Uint8Array {
  const buf = new Uint8Array(pkt.length + 32);
  buf.set(pkt);
  return buf.slice(0, rtcp ? s.protectRtcp(buf, pkt.length) : s.protectRtp(buf, pkt.length));
}

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

async function withBridge(
  fn: (
    ctx: { plane: MediaPlane; a: string; aPort: number; b: string; bPort: number; pa: Phone; pb: Phone },
  ) => Promise<void>,
): Promise<void> {
  const portMin = 20000 + 2 * Math.floor(Math.random() * 15000);
  const plane = await MediaPlane.start({ bind: "127.0.0.1", portMin, portMax: portMin + 49 });
  const [pa, pb] = [await Phone.open(), await Phone.open()];
  try {
    const a = await plane.allocateLeg();
    const b = await plane.allocateLeg();
    await plane.configureLeg(a.legId, { remote: { address: "127.0.0.1", port: pa.port, rtcpPort: pa.port } });
    await plane.configureLeg(b.legId, { remote: { address: "127.0.0.1", port: pb.port, rtcpPort: pb.port } });
    await plane.bridge(a.legId, b.legId);
    await fn({ plane, a: a.legId, aPort: a.rtpPort, b: b.legId, bPort: b.rtpPort, pa, pb });
  } finally {
    await pa.close();
    await pb.close();
    await plane.close();
  }
}

for (const suite of Object.keys(SRTP_SUITES) as SrtpSuite[]) {
  Deno.test(`an SRTP leg (${suite}) bridged to a plain leg: SRTP <-> RTP both ways, RTCP too`, async () => {
    await withBridge(async ({ plane, a, aPort, b, bPort, pa, pb }) => {
      const phoneKey = key(suite); // what phone A protects with (the leg's recvKey)
      const boxKey = key(suite); // what the box protects toward phone A (its sendKey)
      const phoneOut = new SrtpSession("outbound", { suite, keySalt: phoneKey });
      const phoneIn = new SrtpSession("inbound", { suite, keySalt: boxKey });
      try {
        await plane.configureLeg(a, { srtp: { suite, sendKey: boxKey.slice(), recvKey: phoneKey.slice() } });
        assertEquals((await plane.stats(a)).srtp, suite);
        assertEquals((await plane.stats(b)).srtp, null);
        const payload = new Uint8Array(160).map((_, i) => i);
        const plain = rtp(1, 0x1111, payload);
        const sealed = protect(phoneOut, plain);
        assertEquals(sealed.length, plain.length + SRTP_SUITES[suite].rtpOverhead);
        await pa.send(sealed, aPort);
        assertEquals(await pb.next(), plain); // B hears plain RTP
        const back = rtp(7, 0x2222, payload);
        await pb.send(back, bPort);
        const got = await pa.next();
        assert(got.length > back.length, "the box protected what it sent to the SRTP leg");
        const buf = got.slice();
        assertEquals(buf.subarray(0, phoneIn.unprotectRtp(buf, buf.length)), back);
        // SRTCP both ways.
        const rr = buildRtcpRr({ ssrc: 0x1111 });
        await pa.send(protect(phoneOut, rr, true), aPort + 1);
        assertEquals(parseRtcp(await pb.next())?.[0]?.ssrc, 0x1111);
        await pb.send(buildRtcpRr({ ssrc: 0x2222 }), bPort + 1);
        const srtcp = (await pa.next()).slice();
        assertEquals(
          parseRtcp(srtcp.subarray(0, phoneIn.unprotectRtcp(srtcp, srtcp.length)))?.[0]?.ssrc,
          0x2222,
        );
      } finally {
        phoneOut.close();
        phoneIn.close();
      }
    });
  });
}

Deno.test("SRTP packets under a wrong key, and plain RTP, are dropped and reported; the leg keeps working", async () => {
  await withBridge(async ({ plane, a, aPort, bPort, pa, pb }) => {
    const suite: SrtpSuite = "AES_CM_128_HMAC_SHA1_80";
    const phoneKey = key(suite);
    const events: MediaEvent[] = [];
    const off = plane.on((e) => void events.push(e));
    const right = new SrtpSession("outbound", { suite, keySalt: phoneKey });
    const wrong = new SrtpSession("outbound", { suite, keySalt: key(suite) });
    try {
      await plane.configureLeg(a, { srtp: { suite, sendKey: key(suite), recvKey: phoneKey.slice() } });
      const payload = new Uint8Array(160).fill(0x55);
      await pa.send(protect(wrong, rtp(1, 0x1111, payload)), aPort);
      await pa.send(rtp(2, 0x1111, payload), aPort); // plain RTP on an SRTP leg
      const s = await statsWhen(plane, a, (st) => st.dropped.srtp === 2);
      assertEquals(s.packetsIn, 0);
      assertEquals(s.latched, null); // nothing that failed to authenticate latched the leg
      const ev = events.find((e) => e.event === "srtpError");
      assert(ev !== undefined && ev.event === "srtpError");
      assertEquals([ev.legId, ev.status, ev.rtcp, ev.dropped], [a, "auth_fail", false, 1]);
      assert(!JSON.stringify(events).includes(btoa(String.fromCharCode(...phoneKey))));
      // The right key still gets through.
      const ok = rtp(3, 0x1111, payload);
      await pa.send(protect(right, ok), aPort);
      assertEquals(await pb.next(), ok);
      // Turning SRTP off makes the leg plain again.
      await plane.configureLeg(a, { srtp: null });
      await pb.send(rtp(4, 0x2222, payload), bPort);
      assertEquals((await pa.next()).length, 172);
    } finally {
      off();
      right.close();
      wrong.close();
    }
  });
});

Deno.test("re-keying one direction keeps the other's session; a bad key is a RangeError and changes nothing", async () => {
  await withBridge(async ({ plane, a, aPort, pa, pb, b, bPort }) => {
    const suite: SrtpSuite = "AEAD_AES_128_GCM";
    const k1 = key(suite);
    const k2 = key(suite);
    const send = key(suite);
    await plane.configureLeg(a, { srtp: { suite, sendKey: send.slice(), recvKey: k1.slice() } });
    let err: unknown;
    try {
      await plane.configureLeg(a, { srtp: { suite, sendKey: new Uint8Array(3), recvKey: k1.slice() } });
    } catch (e) {
      err = e;
    }
    assert(err instanceof RangeError, String(err));
    assertEquals((await plane.stats(a)).srtp, suite);
    await plane.configureLeg(a, { srtp: { suite, sendKey: send.slice(), recvKey: k2.slice() } });
    const phone = new SrtpSession("outbound", { suite, keySalt: k2 });
    const phoneIn = new SrtpSession("inbound", { suite, keySalt: send });
    try {
      const pkt = rtp(1, 0x3333, new Uint8Array(160));
      await pa.send(protect(phone, pkt), aPort);
      assertEquals(await pb.next(), pkt);
      const back = rtp(5, 0x4444, new Uint8Array(160));
      await pb.send(back, bPort);
      const got = (await pa.next()).slice();
      assertEquals(got.subarray(0, phoneIn.unprotectRtp(got, got.length)), back);
      assertEquals((await plane.stats(b)).srtp, null);
    } finally {
      phone.close();
      phoneIn.close();
    }
  });
});
