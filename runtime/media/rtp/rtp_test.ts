import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert";
import {
  buildRtcpRr,
  buildRtcpSr,
  decodeTelephoneEvent,
  encodeTelephoneEvent,
  looksLikeRtcp,
  newRtpHeaderInfo,
  parseRtcp,
  parseRtp,
  readReportBlocks,
  readRtpHeaderInto,
  RtcpType,
  type RtpHeaderInfo,
  setRtpPayloadType,
  writeRtpHeader,
} from "./mod.ts";

Deno.test("writeRtpHeader then parseRtp round-trips every field and locates the payload", () => {
  const buf = new Uint8Array(12 + 8 + 160);
  const n = writeRtpHeader(buf, {
    payloadType: 8,
    sequence: 65535,
    timestamp: 0xfffffff0,
    ssrc: 0xdeadbeef,
    marker: true,
    csrcs: [1, 0x80000000],
  });
  assertEquals(n, 20);
  const h = parseRtp(buf)!;
  assertEquals([h.payloadType, h.sequence, h.timestamp, h.ssrc, h.marker], [
    8,
    65535,
    0xfffffff0,
    0xdeadbeef,
    true,
  ]);
  assertEquals(h.csrcs, [1, 0x80000000]);
  assertEquals([h.payloadOffset, h.payloadLength, h.paddingLength], [20, 160, 0]);
});

Deno.test("parseRtp handles header extension and padding", () => {
  const buf = new Uint8Array(12 + 4 + 8 + 10 + 4);
  writeRtpHeader(buf, { payloadType: 0, sequence: 1, timestamp: 2, ssrc: 3 });
  buf[0] = buf[0]! | 0x30; // padding + extension
  buf.set([0xbe, 0xde, 0, 2], 12);
  buf[buf.length - 1] = 4;
  const h = parseRtp(buf)!;
  assertEquals([h.extensionProfile, h.extensionOffset, h.extensionLength], [0xbede, 16, 8]);
  assertEquals([h.payloadOffset, h.payloadLength, h.paddingLength], [24, 10, 4]);
});

Deno.test("parseRtp rejects short packets, version != 2 and lengths past the end", () => {
  assertEquals(parseRtp(new Uint8Array(11)), null);
  const v1 = new Uint8Array(20);
  v1[0] = 0x40;
  assertEquals(parseRtp(v1), null);
  const cc = new Uint8Array(16);
  cc[0] = 0x82; // two CSRCs need 20 bytes
  assertEquals(parseRtp(cc), null);
  const ext = new Uint8Array(20);
  ext[0] = 0x90;
  ext.set([0, 0, 0, 9], 12);
  assertEquals(parseRtp(ext), null);
  const pad = new Uint8Array(14);
  pad[0] = 0xa0;
  pad[13] = 9;
  assertEquals(parseRtp(pad), null);
  const pad0 = new Uint8Array(14);
  pad0[0] = 0xa0;
  assertEquals(parseRtp(pad0), null);
});

/** The RtpHeaderInfo fields of a parseRtp result, or null. */
function infoOf(buf: Uint8Array): RtpHeaderInfo | null {
  const h = parseRtp(buf);
  if (h === null) return null;
  const { marker, payloadType, sequence, timestamp, ssrc, payloadOffset, payloadLength, paddingLength } = h;
  return { marker, payloadType, sequence, timestamp, ssrc, payloadOffset, payloadLength, paddingLength };
}

Deno.test("readRtpHeaderInto reads the same fields as parseRtp with CSRCs, extension and padding", () => {
  const buf = new Uint8Array(12 + 8 + 4 + 8 + 10 + 4);
  writeRtpHeader(buf, {
    payloadType: 101,
    sequence: 65535,
    timestamp: 0xfffffff0,
    ssrc: 0xdeadbeef,
    marker: true,
    csrcs: [1, 0x80000000],
  });
  buf[0] = buf[0]! | 0x30; // padding + extension after the CSRCs
  buf.set([0xbe, 0xde, 0, 2], 20);
  buf[buf.length - 1] = 4;
  const out = newRtpHeaderInfo();
  assert(readRtpHeaderInto(buf, out));
  assertEquals(out, infoOf(buf));
  assertEquals([out.payloadOffset, out.payloadLength, out.paddingLength, out.ssrc], [32, 10, 4, 0xdeadbeef]);
});

Deno.test("readRtpHeaderInto overwrites every field of a reused object", () => {
  const out = newRtpHeaderInfo();
  const a = new Uint8Array(12 + 4 + 3);
  writeRtpHeader(a, { payloadType: 8, sequence: 7, timestamp: 0x80000000, ssrc: 0xffffffff, marker: true });
  a[0] = a[0]! | 0x20;
  a[a.length - 1] = 3;
  assert(readRtpHeaderInto(a, out));
  const b = new Uint8Array(12 + 160);
  writeRtpHeader(b, { payloadType: 0, sequence: 8, timestamp: 160, ssrc: 5 });
  assert(readRtpHeaderInto(b, out));
  assertEquals(out, {
    marker: false,
    payloadType: 0,
    sequence: 8,
    timestamp: 160,
    ssrc: 5,
    payloadOffset: 12,
    payloadLength: 160,
    paddingLength: 0,
  });
});

Deno.test("readRtpHeaderInto accepts and rejects exactly what parseRtp does (10000 mutated packets)", () => {
  // Deterministic LCG: mutate valid packets so every length/flag check is hit many times.
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const out = newRtpHeaderInfo();
  let accepted = 0;
  for (let i = 0; i < 10000; i++) {
    const buf = new Uint8Array(rnd(48));
    for (let k = 0; k < buf.length; k++) buf[k] = rnd(256);
    if (buf.length > 0 && rnd(4) !== 0) buf[0] = 0x80 | (buf[0]! & 0x3f); // mostly version 2
    if (buf.length > 15 && rnd(2) === 0) buf[14] = 0; // short extensions fit more often
    if (buf.length > 0 && rnd(2) === 0) buf[buf.length - 1] = rnd(8); // plausible padding
    const want = infoOf(buf);
    const ok = readRtpHeaderInto(buf, out);
    assertEquals(ok, want !== null, `packet ${i}: ${[...buf].join(",")}`);
    if (want !== null) {
      assertEquals(out, want, `packet ${i}`);
      accepted++;
    }
  }
  assert(accepted > 500 && accepted < 9500, `accepted ${accepted}`);
});

Deno.test("setRtpPayloadType keeps the marker bit", () => {
  const buf = new Uint8Array(12);
  writeRtpHeader(buf, { payloadType: 101, sequence: 0, timestamp: 0, ssrc: 0, marker: true });
  setRtpPayloadType(buf, 96);
  const h = parseRtp(buf)!;
  assertEquals([h.payloadType, h.marker], [96, true]);
});

Deno.test("writeRtpHeader rejects a bad payload type and a short buffer", () => {
  assertThrows(
    () => writeRtpHeader(new Uint8Array(12), { payloadType: 128, sequence: 0, timestamp: 0, ssrc: 0 }),
    RangeError,
  );
  assertThrows(
    () => writeRtpHeader(new Uint8Array(8), { payloadType: 0, sequence: 0, timestamp: 0, ssrc: 0 }),
    RangeError,
  );
});

Deno.test("telephone-event encode/decode round-trips (RFC 4733 2.3)", () => {
  const b = new Uint8Array(4);
  encodeTelephoneEvent({ event: 11, end: true, volume: 10, duration: 1600 }, b);
  assertEquals([...b], [11, 0x8a, 0x06, 0x40]);
  assertEquals(decodeTelephoneEvent(b), { event: 11, end: true, volume: 10, duration: 1600 });
  assertEquals(decodeTelephoneEvent(new Uint8Array(3)), null);
  assertThrows(() => encodeTelephoneEvent({ event: 1, end: false, volume: 64, duration: 0 }, b), RangeError);
});

Deno.test("RTCP SR + RR compound parses into packets with SSRC and report blocks", () => {
  const block = {
    ssrc: 7,
    fractionLost: 12,
    cumulativeLost: -3,
    highestSeq: 70000,
    jitter: 40,
    lsr: 5,
    dlsr: 6,
  };
  const sr = buildRtcpSr({
    ssrc: 0x11223344,
    wallMs: Date.UTC(2026, 0, 1),
    rtpTimestamp: 160,
    packetCount: 2,
    octetCount: 320,
    reports: [block],
  });
  const rr = buildRtcpRr({ ssrc: 99 });
  const compound = new Uint8Array(sr.length + rr.length);
  compound.set(sr);
  compound.set(rr, sr.length);
  assert(looksLikeRtcp(compound));
  const pkts = parseRtcp(compound)!;
  assertEquals(pkts.map((p) => [p.packetType, p.ssrc, p.count]), [[RtcpType.SR, 0x11223344, 1], [
    RtcpType.RR,
    99,
    0,
  ]]);
  assertEquals(readReportBlocks(compound, pkts[0]!), [block]);
});

Deno.test("parseRtcp rejects truncated, wrong-version and non-RTCP datagrams", () => {
  const rr = buildRtcpRr({ ssrc: 1 });
  assertEquals(parseRtcp(rr.subarray(0, 6)), null);
  const bad = rr.slice();
  bad[0] = 0x40;
  assertEquals(parseRtcp(bad), null);
  const long = rr.slice();
  long[3] = 9;
  assertEquals(parseRtcp(long), null);
  const rtp = new Uint8Array(12);
  writeRtpHeader(rtp, { payloadType: 0, sequence: 0, timestamp: 0, ssrc: 0 });
  assertEquals(parseRtcp(rtp), null);
  assertEquals(parseRtcp(new Uint8Array(0)), null);
});
