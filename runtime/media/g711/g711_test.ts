import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import {
  alawToLinear,
  alawToUlaw,
  createG711Codec,
  decodeAlaw,
  decodeUlaw,
  encodeAlaw,
  encodeUlaw,
  linearToAlaw,
  linearToUlaw,
  ulawToAlaw,
  ulawToLinear,
} from "./mod.ts";

Deno.test("mu-law known vectors from G.711 tables", () => {
  assertEquals(linearToUlaw(0), 0xff);
  assertEquals(linearToUlaw(-1), 0x7f);
  assertEquals(linearToUlaw(32767), 0x80);
  assertEquals(linearToUlaw(-32768), 0x00);
  assertEquals(ulawToLinear(0xff), 0);
  assertEquals(ulawToLinear(0x7f), 0);
  assertEquals(ulawToLinear(0x80), 32124);
  assertEquals(ulawToLinear(0x00), -32124);
  assertEquals(ulawToLinear(0xef), 132); // first step of segment 1 region
  assertEquals(ulawToLinear(0xf0), 120);
  assertEquals(linearToUlaw(1000), 0xce);
  assertEquals(ulawToLinear(0xce), 988);
});

Deno.test("A-law known vectors from G.711 tables", () => {
  assertEquals(linearToAlaw(0), 0xd5);
  assertEquals(linearToAlaw(-1), 0x55);
  assertEquals(linearToAlaw(32767), 0xaa);
  assertEquals(linearToAlaw(-32768), 0x2a);
  assertEquals(alawToLinear(0xd5), 8);
  assertEquals(alawToLinear(0x55), -8);
  assertEquals(alawToLinear(0xaa), 32256);
  assertEquals(alawToLinear(0x2a), -32256);
  assertEquals(linearToAlaw(1000), 0xfa);
  assertEquals(alawToLinear(0xfa), 1008);
});

Deno.test("decode then encode is the identity on every code word (except mu-law negative zero)", () => {
  for (let b = 0; b < 256; b++) {
    const u = linearToUlaw(ulawToLinear(b));
    assertEquals(u, b === 0x7f ? 0xff : b, `mu-law byte ${b}`);
    assertEquals(linearToAlaw(alawToLinear(b)), b, `A-law byte ${b}`);
  }
});

Deno.test("encoding is monotonic in the input sample", () => {
  let prevU = -Infinity;
  let prevA = -Infinity;
  for (let s = -32768; s < 32768; s += 7) {
    const u = ulawToLinear(linearToUlaw(s));
    const a = alawToLinear(linearToAlaw(s));
    assert(u >= prevU && a >= prevA, `non-monotonic at ${s}`);
    prevU = u;
    prevA = a;
  }
});

function snrDb(ref: Int16Array, got: Int16Array): number {
  let sig = 0;
  let noise = 0;
  for (let i = 0; i < ref.length; i++) {
    sig += ref[i]! * ref[i]!;
    noise += (ref[i]! - got[i]!) ** 2;
  }
  return 10 * Math.log10(sig / noise);
}

Deno.test("round-trip SNR of a -10 dBFS 1 kHz sine is above 35 dB for both laws", () => {
  const n = 8000;
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = Math.round(10362 * Math.sin(2 * Math.PI * 1004 * i / 8000));
  const bytes = new Uint8Array(n);
  const back = new Int16Array(n);
  encodeUlaw(pcm, bytes);
  decodeUlaw(bytes, back);
  const su = snrDb(pcm, back);
  encodeAlaw(pcm, bytes);
  decodeAlaw(bytes, back);
  const sa = snrDb(pcm, back);
  assert(su > 35, `mu-law SNR ${su}`);
  assert(sa > 35, `A-law SNR ${sa}`);
});

Deno.test("mu-law <-> A-law conversion matches decode+encode", () => {
  const all = new Uint8Array(256).map((_, i) => i);
  const a = new Uint8Array(256);
  ulawToAlaw(all, a);
  for (let b = 0; b < 256; b++) assertEquals(a[b], linearToAlaw(ulawToLinear(b)));
  const u = new Uint8Array(256);
  alawToUlaw(all, u);
  for (let b = 0; b < 256; b++) assertEquals(u[b], linearToUlaw(alawToLinear(b)));
});

Deno.test("createG711Codec has the AudioCodec shape and writes min(in, out) samples", () => {
  const c = createG711Codec("PCMA");
  assertEquals([c.name, c.clockRate, c.sampleRate, c.channels, c.frameMs, c.payloadType], [
    "PCMA",
    8000,
    8000,
    1,
    20,
    8,
  ]);
  assertEquals(c.encode(new Int16Array(160), new Uint8Array(100)), 100);
  assertEquals(c.decode(new Uint8Array(160), new Int16Array(160)), 160);
  c.close();
});
