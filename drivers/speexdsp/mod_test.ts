import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert";
import { SpeexPreprocessor, SpeexResampler } from "./mod.ts";

function zeroCrossings(a: Int16Array): number {
  let n = 0;
  for (let i = 1; i < a.length; i++) if ((a[i - 1]! < 0) !== (a[i]! < 0)) n++;
  return n;
}

Deno.test("speex resampler turns 8 kHz into 16 kHz keeping a 500 Hz tone's frequency", () => {
  const rs = new SpeexResampler(8000, 16000, { quality: 5 });
  try {
    const input = Int16Array.from(
      { length: 8000 },
      (_, i) => Math.round(10000 * Math.sin(2 * Math.PI * 500 * i / 8000)),
    );
    const out = new Int16Array(16010);
    let written = 0;
    for (let off = 0; off < input.length; off += 160) {
      written += rs.process(input.subarray(off, off + 160), out.subarray(written));
      assertEquals(rs.consumed, 160);
    }
    assert(Math.abs(written - 16000) <= 2 * rs.inputLatency() + 2, `wrote ${written}`);
    // 500 Hz over ~1 s: ~1000 zero crossings at either rate.
    const zc = zeroCrossings(out.subarray(200, written));
    assert(Math.abs(zc - 1000 * (written - 200) / 16000) < 10, `zero crossings ${zc}`);
  } finally {
    rs.close();
  }
  assertThrows(() => new SpeexResampler(0, 8000), RangeError);
  assertThrows(() => new SpeexResampler(8000, 16000, { quality: 11 }), RangeError);
});

Deno.test("speex AGC raises a quiet signal over time", () => {
  const pp = new SpeexPreprocessor(160, 8000, { agc: true, denoise: false, agcLevel: 16000 });
  try {
    const quiet = () =>
      Int16Array.from({ length: 160 }, (_, i) => Math.round(300 * Math.sin(2 * Math.PI * 400 * i / 8000)));
    let frame = quiet();
    for (let i = 0; i < 300; i++) {
      frame = quiet();
      pp.run(frame);
    }
    const peak = frame.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    assert(peak > 600, `peak after AGC ${peak}`);
    assert(pp.agcGain() > 3, `gain ${pp.agcGain()} dB`);
    assertThrows(() => pp.run(new Int16Array(80)), RangeError);
  } finally {
    pp.close();
  }
});
