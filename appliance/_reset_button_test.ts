import assert from "node:assert/strict";
import { VirtualClock } from "../runtime/clock/mod.ts";
import { createLogger } from "../runtime/log/mod.ts";
import { FileInput, type InputLine } from "../drivers/gpio/mod.ts";
import { ResetButton } from "./_reset_button.ts";

function setup(line: InputLine, holdMs = 10_000) {
  const clock = new VirtualClock();
  const lines: string[] = [];
  const logger = createLogger("button", { level: "debug", sink: (l) => lines.push(l) });
  let resets = 0;
  const button = new ResetButton({ line, holdMs, pollMs: 200, clock, logger, onReset: () => void resets++ });
  return { clock, lines, button, resets: () => resets };
}

/** Let the button's onReset (scheduled on a resolved promise) run. */
const settle = () => new Promise<void>((r) => setTimeout(r, 0));

Deno.test("holding the button for the hold time asks for one factory reset and stops watching", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/button`;
    const b = setup(new FileInput(path));
    b.clock.advance(5_000);
    assert.equal(b.button.fired, false);
    Deno.writeTextFileSync(path, "1");
    b.clock.advance(9_800);
    assert.equal(b.button.fired, false, "not before the hold time");
    b.clock.advance(400);
    await settle();
    assert.equal(b.button.fired, true);
    assert.equal(b.resets(), 1);
    // Still pressed: no second reset (the watch stopped).
    b.clock.advance(60_000);
    await settle();
    assert.equal(b.resets(), 1);
    assert.ok(
      b.lines.some((l) => l.includes("factory reset button held: factory reset")),
      b.lines.join("\n"),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a press shorter than the hold time (or one broken by a release) does nothing", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/button`;
    const b = setup(new FileInput(path));
    for (let i = 0; i < 3; i++) {
      Deno.writeTextFileSync(path, "1");
      b.clock.advance(6_000);
      Deno.writeTextFileSync(path, "0");
      b.clock.advance(1_000);
    }
    await settle();
    assert.equal(b.resets(), 0, "three 6 s presses add up to 18 s but none is 10 s long");
    assert.equal(b.lines.filter((l) => l.includes("released early; no reset")).length, 3, b.lines.join("\n"));
    b.button.stop();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a button line that cannot be read is logged once and the watch stops, without a reset", async () => {
  let reads = 0;
  let closed = 0;
  const broken: InputLine = {
    spec: "gpiochip0:27:active-low",
    read() {
      reads++;
      throw new Error("GPIO line gpiochip0:27:active-low: reading failed: EIO 5");
    },
    close() {
      closed++;
    },
  };
  const b = setup(broken);
  b.clock.advance(60_000);
  await settle();
  assert.equal(reads, 1);
  assert.equal(closed, 1);
  assert.equal(b.resets(), 0);
  const errors = b.lines.filter((l) => l.includes("ERROR"));
  assert.equal(errors.length, 1, b.lines.join("\n"));
  assert.match(errors[0]!, /cannot be read; not watched any more .*EIO 5/);
  b.button.stop(); // idempotent
  assert.equal(closed, 1);
});

Deno.test("a failing reset is logged, not thrown; a non-positive hold time is refused", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/button`;
    Deno.writeTextFileSync(path, "1");
    const clock = new VirtualClock();
    const lines: string[] = [];
    const logger = createLogger("button", { sink: (l) => lines.push(l) });
    new ResetButton({
      line: new FileInput(path),
      holdMs: 1_000,
      clock,
      logger,
      onReset: () => Promise.reject(new Error("factory reset needs the box (systemd) host mode")),
    });
    clock.advance(1_200);
    await settle();
    assert.ok(lines.some((l) => /factory reset from the button failed .*systemd/.test(l)), lines.join("\n"));
    assert.throws(
      () => new ResetButton({ line: new FileInput(path), holdMs: 0, clock, logger, onReset: () => {} }),
      RangeError,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
