// One suite run against every available codec (hono's shared router cases, applied to codecs).
import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert";
import { type AudioCodec, type CodecFactory, defaultRegistry, frameSamples } from "./mod.ts";
import { compare, testSignal } from "./_signal.ts";

interface Expectation {
  /** Payload bytes per 20 ms frame (undefined: variable bit rate). */
  bytesPer20ms?: number;
  /** Minimum SNR in dB after alignment (waveform codecs). */
  minSnrDb?: number;
  /** Minimum normalized cross-correlation after alignment. */
  minCorrelation: number;
}

// Measured on the test signal (Debian 12 libraries): PCMU/PCMA SNR 37.6 dB; G.722 48 dB;
// G.726-32 37 dB; Opus 16 kHz c5 correlation 0.98 (SNR ~15 dB: a perceptual codec does not keep
// the waveform); G.729 correlation 0.89 (SNR ~7 dB; CELP is tuned for speech, not steady tones).
// Thresholds sit well below those so noise in library versions does not flap the suite.
const EXPECT: Record<string, Expectation> = {
  PCMU: { bytesPer20ms: 160, minSnrDb: 30, minCorrelation: 0.999 },
  PCMA: { bytesPer20ms: 160, minSnrDb: 30, minCorrelation: 0.999 },
  G722: { bytesPer20ms: 160, minSnrDb: 30, minCorrelation: 0.99 },
  "G726-32": { bytesPer20ms: 80, minSnrDb: 25, minCorrelation: 0.99 },
  G729: { bytesPer20ms: 20, minCorrelation: 0.8 },
  opus: { minCorrelation: 0.9 },
};

function assertGreater(actual: number, floor: number, msg?: string): void {
  assert(actual > floor, msg ?? `${actual} should exceed ${floor}`);
}
function assertLess(actual: number, ceiling: number, msg?: string): void {
  assert(actual < ceiling, msg ?? `${actual} should be below ${ceiling}`);
}

const registry = defaultRegistry();
const factories = registry.available();

// Native libraries are installed on the build machines: make a silently shrinking suite visible.
Deno.test("the default registry advertises every codec when all libraries are installed", () => {
  assertEquals(factories.map((f) => f.name).sort(), ["G722", "G726-32", "G729", "PCMA", "PCMU", "opus"]);
});

function roundTrip(codec: AudioCodec, pcm: Int16Array) {
  const frame = frameSamples(codec);
  const payload = new Uint8Array(1500);
  const decoded = new Int16Array(pcm.length + frame);
  const sizes: number[] = [];
  let written = 0;
  const scratch = new Int16Array(5760);
  for (let off = 0; off + frame <= pcm.length; off += frame) {
    const bytes = codec.encode(pcm.subarray(off, off + frame), payload);
    sizes.push(bytes);
    const n = codec.decode(payload.subarray(0, bytes), scratch);
    assertEquals(n, frame, `${codec.name} decodes one frame into ${frame} samples`);
    decoded.set(scratch.subarray(0, n), written);
    written += n;
  }
  return { sizes, decoded: decoded.subarray(0, written) };
}

for (const factory of factories) {
  const expect = EXPECT[factory.name];
  const label = `${factory.name}/${factory.rtpClockRate}`;

  Deno.test(`${label}: round trip of a 400 Hz + 1 kHz mix keeps the waveform`, () => {
    if (expect === undefined) throw new Error(`no expectations for ${factory.name}`);
    const codec = factory.create();
    try {
      const pcm = testSignal(codec.sampleRate, 1);
      const { decoded } = roundTrip(codec, pcm);
      const ms = codec.sampleRate / 1000;
      const r = compare(pcm, decoded, 40 * ms, 100 * ms);
      assertGreater(
        r.correlation,
        expect.minCorrelation,
        `${label} correlation ${r.correlation} (lag ${r.lag})`,
      );
      if (expect.minSnrDb !== undefined) {
        assertGreater(r.snrDb, expect.minSnrDb, `${label} SNR ${r.snrDb} dB`);
      }
    } finally {
      codec.close();
    }
  });

  Deno.test(`${label}: 20 ms frames have the payload size of the codec's bit rate`, () => {
    const codec = factory.create();
    try {
      assertEquals(codec.frameMs, 20);
      const { sizes } = roundTrip(codec, testSignal(codec.sampleRate, 0.2));
      for (const s of sizes) {
        if (expect?.bytesPer20ms !== undefined) assertEquals(s, expect.bytesPer20ms);
        else {
          assertGreater(s, 2);
          assertLess(s, 400);
        }
      }
      const ticks = frameSamples(codec) * codec.rtpClockRate / codec.sampleRate;
      assertEquals(ticks, 20 * codec.rtpClockRate / 1000, "RTP timestamp step per 20 ms");
    } finally {
      codec.close();
    }
  });

  Deno.test(`${label}: conceal() fills one frame after a loss`, () => {
    const codec = factory.create();
    try {
      roundTrip(codec, testSignal(codec.sampleRate, 0.1));
      const conceal = codec.conceal?.bind(codec);
      if (conceal === undefined) throw new Error(`${label} has no conceal()`);
      const out = new Int16Array(frameSamples(codec));
      assertEquals(conceal(out), frameSamples(codec));
      assertThrows(() => conceal(new Int16Array(8)), RangeError);
    } finally {
      codec.close();
    }
  });

  Deno.test(`${label}: a 10 ms ptime halves the frame; a nonsense ptime is a RangeError`, () => {
    const codec = factory.create({ frameMs: 10 });
    try {
      assertEquals(frameSamples(codec), codec.sampleRate / 100);
      const { sizes } = roundTrip(codec, testSignal(codec.sampleRate, 0.1));
      if (expect?.bytesPer20ms !== undefined) assertEquals(sizes[0], expect.bytesPer20ms / 2);
    } finally {
      codec.close();
    }
    assertThrows(() => factory.create({ frameMs: 7 }), RangeError);
  });

  Deno.test(`${label}: garbage payloads decode or throw RangeError, never crash`, () => {
    const codec = factory.create();
    const out = new Int16Array(5760);
    try {
      let seed = 12345;
      for (let i = 0; i < 200; i++) {
        const len = 1 + (i % 170);
        const junk = new Uint8Array(len);
        for (let j = 0; j < len; j++) junk[j] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
        try {
          const n = codec.decode(junk, out);
          assert(n >= 0 && n <= out.length);
        } catch (err) {
          assert(err instanceof RangeError, `${label}: ${err}`);
        }
      }
    } finally {
      codec.close();
    }
  });

  Deno.test(`${label}: close() is idempotent and later use throws`, () => {
    const codec = factory.create();
    codec.close();
    codec.close();
    if (factory.name !== "PCMU" && factory.name !== "PCMA") {
      assertThrows(() => codec.encode(new Int16Array(frameSamples(codec)), new Uint8Array(1500)), TypeError);
    }
  });

  Deno.test(`${label}: 3000 create/close cycles do not grow RSS`, async () => {
    // RSS is per process: measured in a child of its own so tests running alongside (--parallel,
    // other files' allocations) do not count.
    const { before, after } = await rssAcrossCycles(factory.name, factory.rtpClockRate);
    const grown = after - before;
    // An Opus encoder+decoder pair is ~40 KB: a leak would show as > 100 MB here.
    assertLess(grown, 24 * 1024 * 1024, `${label} RSS grew ${grown} bytes`);
  });
}

/**
 * Run 300 warm-up then 3000 create/encode/close cycles of one codec in a fresh Deno process and
 * return its RSS before and after the 3000.
 */
async function rssAcrossCycles(name: string, clockRate: number): Promise<{ before: number; after: number }> {
  const script = await Deno.makeTempFile({ prefix: "codec-rss-", suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      script,
      `import { defaultRegistry, frameSamples } from ${
        JSON.stringify(new URL("./mod.ts", import.meta.url).href)
      };
const factory = defaultRegistry().get(Deno.args[0], Number(Deno.args[1]));
if (factory === undefined) throw new Error("codec " + Deno.args[0] + " not available");
const cycle = (n) => {
  for (let i = 0; i < n; i++) {
    const c = factory.create();
    c.encode(new Int16Array(frameSamples(c)), new Uint8Array(1500));
    c.close();
  }
};
cycle(300); // warm up allocator and JIT
const before = Deno.memoryUsage().rss;
cycle(3000);
const after = Deno.memoryUsage().rss;
console.log(JSON.stringify({ before, after }));
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-config",
        "--allow-ffi",
        "--allow-read",
        "--allow-env",
        script,
        name,
        String(clockRate),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success) {
      throw new Error(`RSS child for ${name} failed: ${new TextDecoder().decode(out.stderr)}${text}`);
    }
    return JSON.parse(text.trim().split("\n").at(-1)!) as { before: number; after: number };
  } finally {
    await Deno.remove(script);
  }
}

Deno.test("registry.get matches names case-insensitively and by clock rate", () => {
  const f: CodecFactory | undefined = registry.get("OPUS", 48000);
  assertEquals(f?.name, "opus");
  assertEquals(f?.channels, 2);
  assertEquals(registry.get("g722", 8000)?.sampleRate, 16000);
  assertEquals(registry.get("PCMU", 16000), undefined);
  assertEquals(registry.get("nope", 8000), undefined);
});
