import assert from "node:assert/strict";
import { FileLine, openLine, readLineHistory } from "./mod.ts";

Deno.test("a file-backed line writes 1/0 and a timestamped history", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    let t = 1000;
    const line = openLine(`file:${dir}/amp1`, { now: () => t });
    assert.ok(line instanceof FileLine);
    assert.equal(Deno.readTextFileSync(`${dir}/amp1`), "0");
    await line.set(true);
    assert.equal(Deno.readTextFileSync(`${dir}/amp1`), "1");
    t = 1500;
    await line.set(false);
    t = 1600;
    await line.set(true);
    await line.close(); // de-asserts
    assert.equal(Deno.readTextFileSync(`${dir}/amp1`), "0");
    assert.deepEqual(readLineHistory(`${dir}/amp1`), [
      { at: 1000, on: true },
      { at: 1500, on: false },
      { at: 1600, on: true },
      { at: 1600, on: false },
    ]);
    await assert.rejects(line.set(true), TypeError);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a malformed or unsupported line spec is refused with a clear error", () => {
  assert.throws(() => openLine("relay7"), RangeError);
  assert.throws(() => openLine("gpiochip0:17", { devDir: "/nonexistent" }), /not found/);
  assert.deepEqual(readLineHistory("/nonexistent/line"), []);
});
