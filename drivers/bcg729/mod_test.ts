import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert";
import { G729Decoder, G729Encoder } from "./mod.ts";

Deno.test("G.729 encodes 80 samples into 10 bytes and decodes them back to 80", () => {
  const enc = new G729Encoder();
  const dec = new G729Decoder();
  try {
    const pcm = Int16Array.from({ length: 80 }, (_, i) => Math.round(8000 * Math.sin(i / 3)));
    const bits = new Uint8Array(10);
    assertEquals(enc.encodeFrame(pcm, bits), 10);
    assertEquals(dec.decodeFrame(bits, new Int16Array(80)), 80);
    assertEquals(dec.concealFrame(new Int16Array(80)), 80);
    assertThrows(() => enc.encodeFrame(new Int16Array(79), bits), RangeError);
    assertThrows(() => dec.decodeFrame(new Uint8Array(7), new Int16Array(80)), RangeError);
  } finally {
    enc.close();
    dec.close();
  }
});

Deno.test("G.729 Annex B: silence becomes 2-byte SID or untransmitted frames, and SID decodes", () => {
  const enc = new G729Encoder({ vad: true });
  const dec = new G729Decoder();
  try {
    const bits = new Uint8Array(10);
    const lengths = new Set<number>();
    let sid: Uint8Array | null = null;
    let seed = 1;
    for (let f = 0; f < 100; f++) {
      // Very quiet noise: VAD should call it silence after its hangover.
      const pcm = Int16Array.from({ length: 80 }, () => ((seed = (seed * 69069 + 1) >>> 0) >>> 28) - 8);
      const n = enc.encodeFrame(pcm, bits);
      lengths.add(n);
      if (n === 2) sid = bits.slice(0, 2);
    }
    assert(lengths.has(0) && lengths.has(2), `frame lengths seen: ${[...lengths]}`);
    assertEquals(dec.decodeFrame(sid!, new Int16Array(80)), 80);
    assertEquals(dec.concealFrame(new Int16Array(80)), 80);
  } finally {
    enc.close();
    dec.close();
  }
});
