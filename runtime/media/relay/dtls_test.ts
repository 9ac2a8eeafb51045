import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import dgram from "node:dgram";
import type { Buffer } from "node:buffer";
import { available, DtlsCertificate, DtlsEndpoint } from "../../../drivers/dtls/mod.ts";
import { SrtpSession } from "../../../drivers/srtp/mod.ts";
import { writeRtpHeader } from "../rtp/rtp.ts";
import { type MediaEvent, MediaPlane } from "./mod.ts";
import { bindingRequest, checkBindingRequest, isStun } from "./_stun.ts";

const opts = { ignore: !available(), sanitizeResources: false, sanitizeOps: false };

function udp(): Promise<{ s: dgram.Socket; port: number; q: Uint8Array[]; next: () => Promise<Uint8Array> }> {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    const q: Uint8Array[] = [];
    const waiters: (() => void)[] = [];
    s.on("message", (m: Buffer) => {
      q.push(new Uint8Array(m));
      for (const w of waiters.splice(0)) w();
    });
    const next = async () => {
      const until = Date.now() + 3000;
      while (q.length === 0) {
        if (Date.now() > until) throw new Error("no datagram within 3 s");
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
      return q.shift()!;
    };
    s.bind(0, "127.0.0.1", () => resolve({ s, port: s.address().port, q, next }));
  });
}

function send(s: dgram.Socket, data: Uint8Array, port: number): Promise<void> {
  return new Promise((r) => s.send(data, port, "127.0.0.1", () => r()));
}

function rtp(seq: number, ssrc: number): Uint8Array {
  const b = new Uint8Array(172);
  writeRtpHeader(b, { payloadType: 0, sequence: seq, timestamp: seq * 160, ssrc, marker: false });
  b.fill(seq & 0xff, 12);
  return b;
}

Deno.test("STUN: a Binding request made with the right credentials checks; a wrong password does not", () => {
  const req = bindingRequest("box:peer", "secret-password-22chars", { useCandidate: true });
  assert(isStun(req));
  const ok = checkBindingRequest(req, "box", "secret-password-22chars");
  assert(ok !== null && ok.useCandidate);
  assertEquals(checkBindingRequest(req, "box", "another-password"), null);
  assertEquals(checkBindingRequest(req, "xyz", "secret-password-22chars"), null);
});

Deno.test({
  name:
    "a DTLS-SRTP ICE-lite leg: STUN answered, handshake as server, fingerprint checked, SRTP both ways with rtcp-mux",
  ...opts,
  async fn() {
    const portMin = 20000 + 2 * Math.floor(Math.random() * 15000);
    const plane = await MediaPlane.start({ bind: "127.0.0.1", portMin, portMax: portMin + 19 });
    const phone = await udp();
    const other = await udp();
    const cert = DtlsCertificate.generate({ commonName: "browser" });
    const events: MediaEvent[] = [];
    plane.on((e) => void events.push(e));
    try {
      const boxFp = await plane.setDtlsIdentity();
      assertEquals(plane.dtlsFingerprint(), boxFp);
      const a = await plane.allocateLeg();
      const b = await plane.allocateLeg();
      await plane.configureLeg(a.legId, {
        dtls: {
          role: "server",
          peerFingerprint: cert.fingerprint,
          ice: { localUfrag: "boxu", localPwd: "box-password-0123456789" },
          rtcpMux: true,
        },
      });
      await plane.configureLeg(b.legId, { remote: { address: "127.0.0.1", port: other.port } });
      await plane.bridge(a.legId, b.legId);
      // ICE connectivity check: answered with a success response from the RTP port.
      await send(
        phone.s,
        bindingRequest("boxu:webu", "box-password-0123456789", { useCandidate: true }),
        a.rtpPort,
      );
      const resp = await phone.next();
      assertEquals([resp[0], resp[1]], [0x01, 0x01]);
      // A check with a wrong password is ignored (counted invalid).
      await send(phone.s, bindingRequest("boxu:webu", "wrong-password-xxxxxxxx"), a.rtpPort);
      // DTLS: the phone is the client (the box answered a=setup:passive).
      const client = new DtlsEndpoint("client", { certificate: cert });
      client.start();
      for (let round = 0; round < 10 && !client.connected; round++) {
        for (const d of client.drain()) await send(phone.s, d, a.rtpPort);
        const got = await phone.next();
        client.feed(got);
        while (phone.q.length > 0) client.feed(phone.q.shift()!);
      }
      for (const d of client.drain()) await send(phone.s, d, a.rtpPort);
      assert(client.connected, "handshake finished");
      assertEquals(client.peerFingerprint(), boxFp);
      const keys = client.srtpKeys();
      for (let i = 0; i < 100 && !events.some((e) => e.event === "dtls"); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const ev = events.find((e) => e.event === "dtls");
      assert(ev !== undefined && ev.event === "dtls" && ev.suite === keys.suite, JSON.stringify(events));
      const out = new SrtpSession("outbound", { suite: keys.suite, keySalt: keys.local });
      const inn = new SrtpSession("inbound", { suite: keys.suite, keySalt: keys.remote });
      try {
        const p = rtp(1, 0x1234);
        const buf = new Uint8Array(220);
        buf.set(p);
        await send(phone.s, buf.subarray(0, out.protectRtp(buf, p.length)), a.rtpPort);
        assertEquals(await other.next(), p); // decrypted toward the plain leg
        const back = rtp(9, 0x9999);
        await send(other.s, back, b.rtpPort);
        let got = await phone.next();
        while (isStun(got)) got = await phone.next();
        const g = got.slice();
        assertEquals(g.subarray(0, inn.unprotectRtp(g, g.length)), back);
        const st = await plane.stats(a.legId);
        assertEquals(st.srtp, keys.suite);
        assert(st.dropped.invalid >= 1, "the bad STUN check was dropped");
      } finally {
        out.close();
        inn.close();
        client.close();
      }
    } finally {
      phone.s.close();
      other.s.close();
      cert.close();
      await plane.close();
    }
  },
});

Deno.test({
  name: "a DTLS peer whose certificate is not the SDP fingerprint gets no SRTP keys (reported)",
  ...opts,
  async fn() {
    const portMin = 20000 + 2 * Math.floor(Math.random() * 15000);
    const plane = await MediaPlane.start({ bind: "127.0.0.1", portMin, portMax: portMin + 9 });
    const phone = await udp();
    const cert = DtlsCertificate.generate({ commonName: "mallory" });
    const claimed = DtlsCertificate.generate({ commonName: "alice" });
    const events: MediaEvent[] = [];
    plane.on((e) => void events.push(e));
    try {
      const a = await plane.allocateLeg();
      await plane.configureLeg(a.legId, { dtls: { role: "server", peerFingerprint: claimed.fingerprint } });
      const client = new DtlsEndpoint("client", { certificate: cert });
      client.start();
      for (let round = 0; round < 10 && !client.connected; round++) {
        for (const d of client.drain()) await send(phone.s, d, a.rtpPort);
        client.feed(await phone.next());
        while (phone.q.length > 0) client.feed(phone.q.shift()!);
      }
      for (const d of client.drain()) await send(phone.s, d, a.rtpPort);
      for (let i = 0; i < 100 && !events.some((e) => e.event === "dtls"); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const ev = events.find((e) => e.event === "dtls");
      assert(
        ev !== undefined && ev.event === "dtls" && /fingerprint/.test(ev.error ?? ""),
        JSON.stringify(events),
      );
      assertEquals((await plane.stats(a.legId)).srtp, null);
      client.close();
    } finally {
      phone.s.close();
      cert.close();
      claimed.close();
      await plane.close();
    }
  },
});

Deno.test({
  name:
    "DTLS retransmission: the box's first flight is lost, its timer sends it again and the handshake completes",
  ...opts,
  async fn() {
    const portMin = 20000 + 2 * Math.floor(Math.random() * 15000);
    const plane = await MediaPlane.start({ bind: "127.0.0.1", portMin, portMax: portMin + 9 });
    const phone = await udp();
    const cert = DtlsCertificate.generate({ commonName: "phone" });
    const events: MediaEvent[] = [];
    plane.on((e) => void events.push(e));
    try {
      const a = await plane.allocateLeg();
      await plane.configureLeg(a.legId, { dtls: { role: "server", peerFingerprint: cert.fingerprint } });
      // The phone's client never retransmits here (handleTimeout is not called): only the box's timer
      // can recover the flight the phone drops.
      const client = new DtlsEndpoint("client", { certificate: cert });
      client.start();
      for (const d of client.drain()) await send(phone.s, d, a.rtpPort);
      const first = await phone.next();
      while (phone.q.length > 0) phone.q.shift(); // the box's first flight: lost
      assert(first.length > 0 && first[0]! >= 20 && first[0]! <= 63, "a DTLS record");
      // The retransmission comes by the box's timer (OpenSSL: 1 s); wait for it without a deadline of ours.
      let again: Uint8Array | undefined;
      for (let i = 0; i < 5 && again === undefined; i++) again = await phone.next().catch(() => undefined);
      assert(again !== undefined, "the box sent its flight again");
      client.feed(again);
      while (phone.q.length > 0) client.feed(phone.q.shift()!);
      for (let round = 0; round < 10 && !client.connected; round++) {
        for (const d of client.drain()) await send(phone.s, d, a.rtpPort);
        client.feed(await phone.next());
        while (phone.q.length > 0) client.feed(phone.q.shift()!);
      }
      for (const d of client.drain()) await send(phone.s, d, a.rtpPort);
      assert(client.connected, "handshake finished after the lost flight");
      for (let i = 0; i < 200 && !events.some((e) => e.event === "dtls"); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const ev = events.find((e) => e.event === "dtls");
      assert(
        ev !== undefined && ev.event === "dtls" && ev.suite === client.srtpKeys().suite,
        JSON.stringify(events),
      );
      client.close();
    } finally {
      phone.s.close();
      cert.close();
      await plane.close();
    }
  },
});
