import { deepStrictEqual as assertEquals, ok as assert, rejects as assertRejects } from "node:assert";
import { available, library, synthesize, unavailableReason } from "./mod.ts";
import { setDriverLogSink } from "../loader.ts";

Deno.test({
  name: "flite speaks a sentence as 16 kHz mono PCM; a faster rate is shorter",
  ignore: !available(),
  fn: async () => {
    const s = await synthesize("You have three new messages.");
    assertEquals(s.sampleRate, 16000);
    assert(s.samples.length > 16000 && s.samples.length < 5 * 16000, `${s.samples.length} samples`);
    const fast = await synthesize("You have three new messages.", { rate: 1.5 });
    assert(fast.samples.length < s.samples.length * 0.85, `${fast.samples.length} vs ${s.samples.length}`);
  },
});

Deno.test("bad text, rate or voice is a RangeError naming it", async () => {
  await assertRejects(synthesize("   "), { name: "RangeError", message: /empty text/ });
  await assertRejects(synthesize("x".repeat(5000)), { name: "RangeError", message: /5000 characters/ });
  await assertRejects(synthesize("hi", { rate: 3 }), { name: "RangeError", message: /rate 3/ });
  // deno-lint-ignore no-explicit-any
  await assertRejects(synthesize("hi", { voice: "hal" as any }), { name: "RangeError", message: /"hal"/ });
});

Deno.test("a missing libflite gives one clear line naming the Debian package", async () => {
  const lines: string[] = [];
  const prev = setDriverLogSink((l) => lines.push(l));
  try {
    library.setPath("/nonexistent/libflite.so.1");
    assertEquals(available(), false);
    assert(/apt install libflite1/.test(unavailableReason() ?? ""), String(unavailableReason()));
    await assertRejects(synthesize("hello"), { message: /libflite1/ });
    assert(lines.some((l) => l.includes("libflite1")));
  } finally {
    library.setPath(undefined);
    setDriverLogSink(prev);
  }
});
