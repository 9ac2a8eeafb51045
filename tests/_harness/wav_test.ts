import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { correlate, encodeWav, makeTestSignal, parseWav, rms, toMono, toneLevel } from "./wav.ts";

Deno.test("a WAV written by encodeWav parses back to the same samples", () => {
  const pcm = makeTestSignal({ sampleRate: 16000, seconds: 0.1, channels: 2 });
  const back = parseWav(encodeWav(pcm));
  deepStrictEqual([back.sampleRate, back.channels], [16000, 2]);
  deepStrictEqual(back.samples, pcm.samples);
  deepStrictEqual(toMono(back).length, 1600);
});

Deno.test("parseWav reads a WAV whose data size was never finalized", () => {
  const bytes = encodeWav(makeTestSignal({ seconds: 0.05 }));
  new DataView(bytes.buffer).setUint32(40, 0, true);
  deepStrictEqual(parseWav(bytes).samples.length, 400);
});

Deno.test("parseWav rejects non-WAV input with a SyntaxError", () => {
  throws(() => parseWav(new TextEncoder().encode("hello world, no riff")), SyntaxError);
});

Deno.test("correlate finds a delayed copy of the test signal and its lag", () => {
  const sent = makeTestSignal({ seconds: 1 }).samples;
  const received = new Int16Array(sent.length + 800);
  received.set(sent.map((s) => Math.round(s * 0.3)), 800); // delayed 100 ms, quieter
  const r = correlate(sent, received);
  ok(r.maxCorr > 0.99, `maxCorr ${r.maxCorr}`);
  deepStrictEqual(r.lagSamples, 800);
});

Deno.test("correlate scores silence and an unrelated tone near zero", () => {
  const sent = makeTestSignal({ seconds: 1 }).samples;
  deepStrictEqual(correlate(sent, new Int16Array(8000)).maxCorr, 0);
  const tone = new Int16Array(8000).map((_, i) =>
    Math.round(8000 * Math.sin((2 * Math.PI * 3500 * i) / 8000))
  );
  const r = correlate(sent, tone);
  ok(r.maxCorr < 0.3, `maxCorr ${r.maxCorr}`);
});

Deno.test("toneLevel and rms measure a 1 kHz sine", () => {
  const s = new Int16Array(8000).map((_, i) => Math.round(16384 * Math.sin((2 * Math.PI * 1000 * i) / 8000)));
  ok(Math.abs(rms(s) - 16384 / Math.SQRT2) < 50);
  ok(toneLevel(s, 8000, 1000) > 0.2);
  ok(toneLevel(s, 8000, 1400) < 0.001);
});
