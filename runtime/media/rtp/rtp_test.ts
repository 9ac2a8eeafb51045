import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert";
import {
  buildRtcpRr,
  buildRtcpSr,
  decodeTelephoneEvent,
  encodeTelephoneEvent,
  looksLikeRtcp,
  parseRtcp,
  parseRtp,
  readReportBlocks,
  RtcpType,
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
