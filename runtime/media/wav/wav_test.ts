import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert";
import { alawToLinear, linearToAlaw, linearToUlaw, ulawToLinear } from "../g711/g711.ts";
import { readWav, WavWriter, writeWav } from "./mod.ts";

const ramp = (n: number) => new Int16Array(n).map((_, i) => (i * 397) % 65536 - 32768);

Deno.test("PCM16 WAV round-trips at 8, 16 and 48 kHz, mono and stereo", () => {
  for (const sampleRate of [8000, 16000, 48000, 11025]) {
    for (const channels of [1, 2]) {
      const samples = ramp(200 * channels);
      const wav = writeWav({ sampleRate, channels }, samples);
      assertEquals(wav.length, 44 + samples.length * 2);
      assertEquals(readWav(wav), { format: "pcm16", sampleRate, channels, samples });
    }
  }
});

Deno.test("mu-law and A-law WAVs (format 7/6) decode to PCM16", () => {
  const samples = ramp(101);
  const mu = readWav(writeWav({ sampleRate: 8000, channels: 1, format: "mulaw" }, samples));
  assertEquals(mu.format, "mulaw");
  assertEquals(mu.samples, samples.map((s) => ulawToLinear(linearToUlaw(s))));
  const a = readWav(writeWav({ sampleRate: 8000, channels: 1, format: "alaw" }, samples));
  assertEquals(a.format, "alaw");
  assertEquals(a.samples, samples.map((s) => alawToLinear(linearToAlaw(s))));
});

/** Hand-built WAV from chunks. */
function riff(...chunks: [string, Uint8Array][]): Uint8Array {
  const parts: number[] = [
    ...new TextEncoder().encode("RIFF"),
    0,
    0,
    0,
    0,
    ...new TextEncoder().encode("WAVE"),
  ];
  for (const [id, body] of chunks) {
    parts.push(...new TextEncoder().encode(id));
    const n = body.length;
    parts.push(n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24, ...body);
    if (n & 1) parts.push(0);
  }
  const out = new Uint8Array(parts);
  new DataView(out.buffer).setUint32(4, out.length - 8, true);
  return out;
}

function fmtBody(
  o: { tag?: number; channels?: number; rate?: number; align?: number; bits?: number; extra?: number[] },
) {
  const b = new Uint8Array(16 + (o.extra?.length ?? 0));
  const v = new DataView(b.buffer);
  const ch = o.channels ?? 1;
  const bits = o.bits ?? 16;
  v.setUint16(0, o.tag ?? 1, true);
  v.setUint16(2, ch, true);
  v.setUint32(4, o.rate ?? 8000, true);
  v.setUint32(8, (o.rate ?? 8000) * ch * bits / 8, true);
  v.setUint16(12, o.align ?? ch * bits / 8, true);
  v.setUint16(14, bits, true);
  if (o.extra) b.set(o.extra, 16);
  return b;
}

Deno.test("unknown chunks (LIST, odd-sized with pad byte) are skipped", () => {
  const data = new Uint8Array([1, 0, 2, 0]);
  const wav = riff(["LIST", new Uint8Array(5)], ["fmt ", fmtBody({})], ["junk", new Uint8Array(3)], [
    "data",
    data,
  ]);
  assertEquals(readWav(wav).samples, new Int16Array([1, 2]));
});

Deno.test("WAVE_FORMAT_EXTENSIBLE with a PCM or mu-law SubFormat is read", () => {
  const guidTail = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];
  const ext = (sub: number) => [22, 0, 16, 0, 4, 0, 0, 0, sub, 0, ...guidTail];
  const pcm = riff(["fmt ", fmtBody({ tag: 0xfffe, extra: ext(1) })], ["data", new Uint8Array([0xff, 0x7f])]);
  assertEquals(readWav(pcm).samples, new Int16Array([32767]));
  const mu = riff(["fmt ", fmtBody({ tag: 0xfffe, bits: 8, extra: ext(7) })], [
    "data",
    new Uint8Array([0x80]),
  ]);
  assertEquals(readWav(mu), {
    format: "mulaw",
    sampleRate: 8000,
    channels: 1,
    samples: new Int16Array([32124]),
  });
});

Deno.test("malformed WAVs throw SyntaxError or RangeError with a clear message", () => {
  const ok = writeWav({ sampleRate: 8000, channels: 1 }, ramp(10));
  const cases: [string, Uint8Array, ErrorConstructor, RegExp][] = [
    ["empty", new Uint8Array(0), SyntaxError, /only 0 bytes/],
    ["not RIFF", new TextEncoder().encode("RIFX____WAVEfmt "), SyntaxError, /not a WAV/],
    ["truncated file", ok.subarray(0, 50), RangeError, /claims 20 bytes, only 6 remain/],
    ["truncated in header", ok.subarray(0, 30), RangeError, /fmt chunk claims/],
    ["no data", riff(["fmt ", fmtBody({})]), SyntaxError, /no data chunk/],
    ["no fmt", riff(["LIST", new Uint8Array(4)]), SyntaxError, /no fmt chunk/],
    [
      "data before fmt",
      riff(["data", new Uint8Array(2)], ["fmt ", fmtBody({})]),
      SyntaxError,
      /before the fmt/,
    ],
    [
      "fmt too small",
      riff(["fmt ", new Uint8Array(14)], ["data", new Uint8Array(2)]),
      SyntaxError,
      /fmt chunk too small: 14/,
    ],
    [
      "zero block align",
      riff(["fmt ", fmtBody({ align: 0 })], ["data", new Uint8Array(2)]),
      RangeError,
      /bad block align: 0/,
    ],
    [
      "odd block align",
      riff(["fmt ", fmtBody({ align: 3 })], ["data", new Uint8Array(6)]),
      RangeError,
      /bad block align: 3/,
    ],
    [
      "0 channels",
      riff(["fmt ", fmtBody({ channels: 0, align: 2 })], ["data", new Uint8Array(2)]),
      RangeError,
      /0 channels/,
    ],
    [
      "24-bit",
      riff(["fmt ", fmtBody({ bits: 24 })], ["data", new Uint8Array(3)]),
      RangeError,
      /bits per sample/,
    ],
    [
      "float",
      riff(["fmt ", fmtBody({ tag: 3, bits: 32 })], ["data", new Uint8Array(4)]),
      RangeError,
      /format tag: 3/,
    ],
    [
      "short extensible",
      riff(["fmt ", fmtBody({ tag: 0xfffe, extra: [0, 0] })], ["data", new Uint8Array(2)]),
      SyntaxError,
      /EXTENSIBLE/,
    ],
  ];
  for (const [name, bytes, E, msg] of cases) {
    assertThrows(() => readWav(bytes), (e: Error) => e instanceof E && msg.test(e.message), name);
  }
  // A lying data size: 1000 bytes claimed, 20 present.
  const liar = ok.slice();
  new DataView(liar.buffer).setUint32(40, 1000, true);
  assertThrows(() => readWav(liar), RangeError);
  assertEquals(readWav(liar, { lenient: true }).samples.length, 10);
  // A placeholder size of 0 that was never finalized: strict reads nothing, lenient reads the rest.
  const unfinished = ok.slice();
  new DataView(unfinished.buffer).setUint32(40, 0, true);
  assertEquals(readWav(unfinished).samples.length, 0);
  assertEquals(readWav(unfinished, { lenient: true }).samples.length, 10);
  // An odd data size drops the partial trailing sample instead of over-reading.
  const odd = riff(["fmt ", fmtBody({})], ["data", new Uint8Array([1, 0, 2])]);
  assertEquals(readWav(odd).samples, new Int16Array([1]));
});

Deno.test("readWav never throws anything but SyntaxError/RangeError on random corruption", () => {
  const base = writeWav({ sampleRate: 8000, channels: 2 }, ramp(64));
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let i = 0; i < 3000; i++) {
    const b = base.slice(0, rnd() % (base.length + 1));
    for (let k = 0; k < 3; k++) if (b.length > 0) b[rnd() % b.length] = rnd() & 255;
    try {
      readWav(b);
    } catch (e) {
      if (!(e instanceof SyntaxError || e instanceof RangeError)) throw e;
    }
  }
});

Deno.test("writeWav rejects a bad spec and a sample count that is not whole frames", () => {
  assertThrows(() => writeWav({ sampleRate: 0, channels: 1 }, new Int16Array(1)), RangeError);
  assertThrows(() => writeWav({ sampleRate: 8000, channels: 2 }, new Int16Array(3)), RangeError);
});

Deno.test("WavWriter streams a recording to a file and fixes the sizes on close", async () => {
  const path = await Deno.makeTempFile({ suffix: ".wav" });
  try {
    for (const format of ["pcm16", "alaw"] as const) {
      const w = await WavWriter.create(path, { sampleRate: 8000, channels: 1, format });
      const a = ramp(161);
      const b = ramp(40);
      await w.write(a);
      await w.write(b);
      await w.close();
      await w.close(); // idempotent
      const bytes = await Deno.readFile(path);
      const all = new Int16Array([...a, ...b]);
      const got = readWav(bytes);
      assertEquals(got.samples.length, 201);
      if (format === "pcm16") assertEquals(got.samples, all);
      assertEquals(bytes, writeWav({ sampleRate: 8000, channels: 1, format }, all));
    }
  } finally {
    await Deno.remove(path);
  }
});
