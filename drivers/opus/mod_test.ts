import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert";
import { OpusDecoder, OpusEncoder, version } from "./mod.ts";

function speechy(n: number, rate: number, start = 0): Int16Array {
  return Int16Array.from({ length: n }, (_, k) => {
    const t = (k + start) / rate;
    return Math.round(9000 * Math.sin(2 * Math.PI * 220 * t) + 4000 * Math.sin(2 * Math.PI * 660 * t));
  });
}

Deno.test("libopus reports version 1.x", () => {
  assert(/^libopus 1\./.test(version() ?? ""), String(version()));
});

Deno.test("Opus encoder rejects bad rates and bad CTL values with RangeError", () => {
  assertThrows(() => new OpusEncoder({ sampleRate: 44100 }), RangeError);
  assertThrows(() => new OpusEncoder({ channels: 3 }), RangeError);
  assertThrows(() => new OpusEncoder({ complexity: 11 }), RangeError);
  const enc = new OpusEncoder({ sampleRate: 16000 });
  try {
    assertThrows(() => enc.encode(new Int16Array(123), new Uint8Array(400)), RangeError);
  } finally {
    enc.destroy();
  }
});

Deno.test("Opus in-band FEC rebuilds a lost 20 ms frame from the next packet", () => {
  const rate = 16000;
  const enc = new OpusEncoder({ sampleRate: rate, inbandFec: true, packetLossPerc: 20, bitrate: 24000 });
  const dec = new OpusDecoder({ sampleRate: rate });
  try {
    const packets: Uint8Array[] = [];
    const buf = new Uint8Array(400);
    for (let f = 0; f < 20; f++) {
      const n = enc.encode(speechy(320, rate, f * 320), buf);
      packets.push(buf.slice(0, n));
    }
    const out = new Int16Array(320);
    for (let f = 0; f < 10; f++) assertEquals(dec.decode(packets[f]!, out), 320);
    // Packet 10 lost: recover it from packet 11's FEC, then decode 11 normally.
    assertEquals(dec.decode(packets[11]!, out, true), 320);
    assert(out.some((x) => Math.abs(x) > 1000), "FEC output carries audio");
    assertEquals(dec.decode(packets[11]!, out), 320);
    assertEquals(dec.packetSamples(packets[12]!), 320);
    // PLC: null packet conceals exactly out.length samples.
    assertEquals(dec.decode(null, new Int16Array(160)), 160);
    assertThrows(() => dec.decode(new Uint8Array([0xff, 0xff, 0xff]), new Int16Array(5760)), RangeError);
  } finally {
    enc.destroy();
    dec.destroy();
  }
});

Deno.test("Opus lookahead is a few ms and DTX makes silence tiny", () => {
  const enc = new OpusEncoder({ sampleRate: 16000, dtx: true });
  try {
    const la = enc.lookahead();
    assert(la > 0 && la < 16 * 10, `lookahead ${la}`);
    const buf = new Uint8Array(400);
    let last = 0;
    for (let i = 0; i < 30; i++) last = enc.encode(new Int16Array(320), buf);
    assert(last <= 3, `DTX silence packet ${last} bytes`);
  } finally {
    enc.destroy();
  }
});
