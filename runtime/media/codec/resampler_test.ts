import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert";
import { Resampler } from "./mod.ts";
import { compare, testSignal } from "./_signal.ts";

function run(rs: Resampler, input: Int16Array, chunk: number): Int16Array {
  const out = new Int16Array(rs.maxOutput(input.length) + 64);
  const scratch = new Int16Array(rs.maxOutput(chunk));
  let w = 0;
  for (let off = 0; off < input.length; off += chunk) {
    const n = rs.process(input.subarray(off, off + chunk), scratch);
    out.set(scratch.subarray(0, n), w);
    w += n;
  }
  return out.subarray(0, w);
}

for (const linear of [false, true]) {
  const kind = linear ? "linear" : "speex";
  for (const [from, to] of [[8000, 16000], [16000, 8000], [8000, 48000], [48000, 16000]] as const) {
    Deno.test(`${kind} resampler ${from} -> ${to} in 20 ms chunks keeps length and waveform`, () => {
      const rs = new Resampler(from, to, { linear });
      try {
        assertEquals(rs.kind, kind);
        const out = run(rs, testSignal(from, 1), from / 50);
        assert(Math.abs(out.length - to) <= 2 * to / 1000 + 2, `${out.length} samples`);
        const ideal = testSignal(to, 1);
        const r = compare(ideal, out, to / 100, to / 10);
        assert(r.correlation > 0.98, `correlation ${r.correlation}`);
      } finally {
        rs.close();
      }
    });
  }
}

Deno.test("equal rates copy; bad rates and short outputs are RangeErrors", () => {
  const rs = new Resampler(8000, 8000);
  assertEquals(rs.kind, "copy");
  const out = new Int16Array(4);
  assertEquals(rs.process(Int16Array.of(1, 2, 3), out), 3);
  assertEquals([...out], [1, 2, 3, 0]);
  assertThrows(() => new Resampler(0, 8000), RangeError);
  const up = new Resampler(8000, 16000);
  assertThrows(() => up.process(new Int16Array(160), new Int16Array(100)), RangeError);
  up.close();
});
