import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert";
import { digitToEvent, DtmfDetector, dtmfFrequencies, eventToDigit, generateDtmf } from "./mod.ts";

Deno.test("RFC 4733 event codes map to digits and back", () => {
  const digits = "0123456789*#ABCD";
  for (let i = 0; i < 16; i++) {
    assertEquals(eventToDigit(i), digits[i]);
    assertEquals(digitToEvent(digits[i]!), i);
  }
  assertEquals(digitToEvent("a"), 12);
  assertEquals(digitToEvent("!"), 16);
  assertEquals(eventToDigit(16), "!");
  assertEquals(eventToDigit(17), undefined);
  assertThrows(() => digitToEvent("x"), RangeError);
  assertThrows(() => digitToEvent("12"), RangeError);
});

Deno.test("dtmfFrequencies gives the keypad row/column pair", () => {
  assertEquals(dtmfFrequencies("1"), [697, 1209]);
  assertEquals(dtmfFrequencies("#"), [941, 1477]);
  assertEquals(dtmfFrequencies("d"), [941, 1633]);
});

Deno.test("detector finds every digit of generated DTMF, once each", () => {
  const digits = "0123456789*#ABCD";
  const det = new DtmfDetector();
  const pcm = generateDtmf(digits);
  const found: string[] = [];
  // Feed in odd-sized chunks so block boundaries do not line up with frames.
  for (let i = 0; i < pcm.length; i += 137) found.push(...det.process(pcm.subarray(i, i + 137)));
  assertEquals(found.join(""), digits);
});

Deno.test("detector reports repeated digits separated by gaps, and short 40 ms tones", () => {
  const det = new DtmfDetector();
  assertEquals(det.process(generateDtmf("5551", { toneMs: 45, gapMs: 45 })).join(""), "5551");
});

Deno.test("detector finds digits in noise and after G.711-level attenuation", () => {
  const pcm = generateDtmf("159", { levelDbm0: -25 });
  let seed = 1;
  for (let i = 0; i < pcm.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    pcm[i] = pcm[i]! + ((seed / 0x7fffffff) - 0.5) * 200;
  }
  assertEquals(new DtmfDetector().process(pcm).join(""), "159");
});

Deno.test("detector ignores single tones, excessive twist, silence and speech-like noise", () => {
  const sr = 8000;
  const n = sr;
  const single = new Int16Array(n).map((_, i) => 5000 * Math.sin(2 * Math.PI * 697 * i / sr));
  assertEquals(new DtmfDetector().process(single), []);
  // Row tone 12 dB above the column tone: beyond 8 dB normal twist.
  const twisted = new Int16Array(n).map((_, i) =>
    8000 * Math.sin(2 * Math.PI * 697 * i / sr) + 2000 * Math.sin(2 * Math.PI * 1209 * i / sr)
  );
  assertEquals(new DtmfDetector().process(twisted), []);
  assertEquals(new DtmfDetector().process(new Int16Array(n)), []);
  let seed = 7;
  const noise = new Int16Array(n).map(() => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return ((seed / 0x7fffffff) - 0.5) * 20000;
  });
  assertEquals(new DtmfDetector().process(noise), []);
  // A DTMF pair buried under broadband noise of similar power is not a clean digit.
  const mixed = generateDtmf("8", { toneMs: 500, gapMs: 0 });
  for (let i = 0; i < mixed.length; i++) mixed[i] = mixed[i]! + noise[i]! * 1.7;
  assert(new DtmfDetector().process(mixed).length === 0);
});

Deno.test("generateDtmf rejects a non-digit", () => {
  assertThrows(() => generateDtmf("12x"), RangeError);
});
