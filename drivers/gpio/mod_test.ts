import assert from "node:assert/strict";
import { FileLine, openInput, openLine, readLineHistory } from "./mod.ts";

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

Deno.test("a file-backed input reads 1 as asserted; anything else or no file is released", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const input = openInput(`file:${dir}/button`);
    assert.equal(input.spec, `file:${dir}/button`);
    assert.equal(input.read(), false);
    Deno.writeTextFileSync(`${dir}/button`, "1\n");
    assert.equal(input.read(), true);
    Deno.writeTextFileSync(`${dir}/button`, "0");
    assert.equal(input.read(), false);
    input.close();
    assert.throws(() => openInput("file:"), RangeError);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
