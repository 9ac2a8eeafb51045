import { deepStrictEqual as assertEquals, ok as assert, rejects as assertRejects } from "node:assert";
import { recognize, unavailableReason, wordErrors } from "./mod.ts";

Deno.test("word errors count substitutions, insertions and deletions over reference words", () => {
  assertEquals(wordErrors("you have three new messages", "you have three new messages"), {
    errors: 0,
    words: 5,
  });
  assertEquals(wordErrors("press two to change", "best to to change"), { errors: 2, words: 4 });
  assertEquals(wordErrors("Message deleted.", "message"), { errors: 1, words: 2 });
  assertEquals(wordErrors("goodbye", "good bye now"), { errors: 3, words: 1 });
});

Deno.test("the recognizer refuses 8 kHz input with a RangeError saying to resample", async () => {
  await assertRejects(recognize(new Int16Array(8000), { sampleRate: 8000 }), {
    name: "RangeError",
    message: /16000 Hz.*8000 Hz/,
  });
});

Deno.test("a missing recognizer tool is named with its Debian packages", async () => {
  Deno.env.set("PBX_POCKETSPHINX", "/nonexistent/pocketsphinx_continuous");
  try {
    assert(/apt install pocketsphinx pocketsphinx-en-us/.test((await unavailableReason()) ?? ""));
    await assertRejects(recognize(new Int16Array(1600)), { message: /pocketsphinx-en-us/ });
  } finally {
    Deno.env.delete("PBX_POCKETSPHINX");
  }
});

Deno.test({
  name: "silence is recognised as no words",
  ignore: (await unavailableReason()) !== null,
  fn: async () => {
    assertEquals(await recognize(new Int16Array(16000)), "");
  },
});
