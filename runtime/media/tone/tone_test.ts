import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert";
import { goertzelPower } from "../dtmf/dtmf.ts";
import { PAGING_CHIMES, parseToneSpec, presetTone, renderTone, TONE_PRESETS, ToneGenerator } from "./mod.ts";

/** Relative power of `freq` against a set of other probe frequencies. */
function dominant(samples: Int16Array, sr: number, freqs: number[], probes: number[]): boolean {
  const minWanted = Math.min(...freqs.map((f) => goertzelPower(samples, f, sr)));
  const maxOther = Math.max(...probes.map((f) => goertzelPower(samples, f, sr)));
  return minWanted > 20 * maxOther;
}

Deno.test("parseToneSpec reads frequencies, durations, silence and play-once marks", () => {
  assertEquals(parseToneSpec("440+480/2000, 0/4000"), [
    { freqs: [440, 480], durationMs: 2000, once: false },
    { freqs: [], durationMs: 4000, once: false },
  ]);
  assertEquals(parseToneSpec("!523/250,350+440"), [
    { freqs: [523], durationMs: 250, once: true },
    { freqs: [350, 440], durationMs: Infinity, once: false },
  ]);
});

Deno.test("parseToneSpec rejects malformed specs with SyntaxError", () => {
  for (const bad of ["", "abc", "440/", "440+/100", "350+440,0/100", "440/1x", "99999"]) {
    assertThrows(() => parseToneSpec(bad), SyntaxError, bad);
  }
});

Deno.test("US ringback has 440+480 Hz for 2 s then 4 s of silence, at 8 and 48 kHz", () => {
  for (const sr of [8000, 48000]) {
    const pcm = renderTone(TONE_PRESETS.us.ringback, { sampleRate: sr, durationMs: 6000 });
    assertEquals(pcm.length, 6 * sr);
    const on = pcm.subarray(0, 2 * sr);
    assert(dominant(on, sr, [440, 480], [350, 400, 620, 1000]));
    assert(pcm.subarray(2 * sr, 6 * sr).every((s) => s === 0));
  }
});

Deno.test("every preset renders and its first segment carries its frequencies", () => {
  for (const [country, tones] of Object.entries(TONE_PRESETS)) {
    for (const [name, spec] of Object.entries(tones)) {
      const seg = parseToneSpec(spec)[0]!;
      const pcm = renderTone(spec, { durationMs: 100 });
      assert(dominant(pcm, 8000, seg.freqs, [300, 1000, 2000]), `${country} ${name}`);
      assertEquals(presetTone(country, name as "busy"), spec);
    }
  }
  assertThrows(() => presetTone("xx", "busy"), RangeError);
});

Deno.test("generation in small frames equals one-shot generation (continuous phase and cadence)", () => {
  const spec = TONE_PRESETS.uk.ringback;
  const whole = renderTone(spec, { durationMs: 7000 });
  const gen = new ToneGenerator(spec);
  const frames = new Int16Array(whole.length);
  for (let i = 0; i < frames.length; i += 160) gen.generate(frames.subarray(i, i + 160));
  assertEquals(frames, whole);
  // No discontinuity within a tone segment: adjacent samples differ by less than a full swing step.
  let maxStep = 0;
  for (let i = 1; i < 3200; i++) maxStep = Math.max(maxStep, Math.abs(frames[i]! - frames[i - 1]!));
  // 400+450 Hz at -13 dBm0 each: the steepest possible slope is 5083 * 2*pi*850/8000 ~ 3393.
  assert(maxStep < 3450, `max step ${maxStep}`);
});

Deno.test("play-once segments are skipped on later passes; all-once tones end", () => {
  const gen = new ToneGenerator("!1000/100,0/100", { sampleRate: 8000 });
  const a = new Int16Array(1600);
  assertEquals(gen.generate(a), 1600);
  const b = new Int16Array(800);
  for (let i = 0; i < 5; i++) gen.generate(b);
  assert(b.every((s) => s === 0));
  const chime = new ToneGenerator(PAGING_CHIMES.preAnnounce);
  const big = new Int16Array(80000);
  const n = chime.generate(big);
  assertEquals(n, Math.round(1.2 * 8000));
  assert(chime.done);
  assert(dominant(big.subarray(0, 2000), 8000, [523], [659, 784]));
  assert(dominant(big.subarray(2000, 4000), 8000, [659], [523, 784]));
  assert(dominant(big.subarray(4000, 8000), 8000, [784], [523, 659]));
});

Deno.test("level option sets amplitude in dBm0", () => {
  const pcm = renderTone("1000/100", { levelDbm0: 0, durationMs: 100 });
  const peak = Math.max(...pcm);
  assert(Math.abs(peak - 22706) < 50, `peak ${peak}`);
});
