import assert from "node:assert/strict";
import {
  decodeLineValue,
  encodeLineRequest,
  encodeLineValues,
  GPIO_V2_GET_LINE_IOCTL,
  GPIO_V2_LINE_GET_VALUES_IOCTL,
  GPIO_V2_LINE_SET_VALUES_IOCTL,
  iowr,
  LINE_REQUEST_SIZE,
  LINE_VALUES_SIZE,
  openInput,
  openLine,
  parseGpioSpec,
  requestFd,
} from "./mod.ts";

/** The non-zero bytes of a buffer as [offset, value] pairs: a byte-exact, readable fingerprint. */
function nonZero(buf: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  buf.forEach((b, i) => b !== 0 && out.push([i, b]));
  return out;
}

Deno.test("the GPIO v2 ioctl numbers match _IOWR(0xB4, nr, size) from linux/gpio.h", () => {
  assert.equal(LINE_REQUEST_SIZE, 592);
  assert.equal(LINE_VALUES_SIZE, 16);
  assert.equal(GPIO_V2_GET_LINE_IOCTL, 0xc250b407n);
  assert.equal(GPIO_V2_LINE_SET_VALUES_IOCTL, 0xc010b40fn);
  assert.equal(GPIO_V2_LINE_GET_VALUES_IOCTL, 0xc010b40en);
  assert.equal(iowr(0xb4, 0x01, 68), 0xc044b401n); // GPIO_GET_CHIPINFO_IOCTL's size/type/nr, as _IOWR
  assert.throws(() => iowr(0xb4, 1, 1 << 14), RangeError);
});

Deno.test("a line request for output line 17 is encoded byte for byte as struct gpio_v2_line_request", () => {
  const req = encodeLineRequest({ offset: 17, consumer: "pbx-amp", initial: true, activeLow: true });
  assert.equal(req.length, 592);
  const consumer = [..."pbx-amp"].map((c, i) => [256 + i, c.charCodeAt(0)] as [number, number]);
  assert.deepEqual(nonZero(req), [
    [0, 17], // offsets[0]
    ...consumer, // consumer[32] at 256
    [288, 0x0a], // config.flags = OUTPUT (1 << 3) | ACTIVE_LOW (1 << 1)
    [296, 1], // config.num_attrs
    [320, 2], // config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES
    [328, 1], // config.attrs[0].attr.values: line 0 starts asserted
    [336, 1], // config.attrs[0].mask: line 0
    [560, 1], // num_lines
  ]);
  // A large offset is little-endian u32; the default is de-asserted, active-high, consumer "pbx".
  const big = encodeLineRequest({ offset: 0x01020304 });
  assert.deepEqual(nonZero(big).slice(0, 4), [[0, 4], [1, 3], [2, 2], [3, 1]]);
  assert.equal(big[288], 0x08);
  assert.equal(big[328], 0);
  assert.equal(new TextDecoder().decode(big.subarray(256, 259)), "pbx");
  // A long consumer keeps its terminating NUL.
  const long = encodeLineRequest({ offset: 1, consumer: "x".repeat(40) });
  assert.equal(long[256 + 30], 0x78);
  assert.equal(long[256 + 31], 0);
  assert.throws(() => encodeLineRequest({ offset: -1 }), RangeError);
  assert.throws(() => encodeLineRequest({ offset: 1.5 }), RangeError);
});

Deno.test("the kernel's line fd is read from offset 588; values are bits then mask", () => {
  const req = encodeLineRequest({ offset: 3 });
  new DataView(req.buffer).setInt32(588, 42, true);
  assert.equal(requestFd(req), 42);
  assert.deepEqual(nonZero(encodeLineValues(true)), [[0, 1], [8, 1]]);
  assert.deepEqual(nonZero(encodeLineValues(false)), [[8, 1]]);
});

Deno.test("GPIO specs parse; malformed ones are refused with a RangeError", () => {
  assert.deepEqual(parseGpioSpec("gpiochip0:17"), { chip: "gpiochip0", offset: 17, activeLow: false });
  assert.deepEqual(parseGpioSpec("gpiochip2:5:active-low"), {
    chip: "gpiochip2",
    offset: 5,
    activeLow: true,
  });
  assert.equal(parseGpioSpec("gpiochip0"), undefined);
  assert.throws(() => openLine("gpiochip0:x"), RangeError);
  assert.throws(() => openLine("gpiochip0:99999999999"), RangeError);
});

Deno.test("a missing GPIO chip is a clear Error naming the device", () => {
  const dir = Deno.makeTempDirSync();
  try {
    assert.throws(() => openLine("gpiochip9:4", { devDir: dir }), /gpiochip9:4: .*gpiochip9 not found/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a chip path that is not a GPIO device fails the line request with ENOTTY and leaks no fd", () => {
  // Real libc open/ioctl/close through FFI: ioctl on a regular file answers ENOTTY.
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/gpiochip0`, "");
    // Look for the chip's own fd rather than counting: other test files share this process.
    const chipFds = () =>
      [...Deno.readDirSync("/proc/self/fd")].filter((e) => {
        try {
          return Deno.readLinkSync(`/proc/self/fd/${e.name}`) === `${dir}/gpiochip0`;
        } catch {
          return false; // closed between the listing and the look
        }
      }).length;
    assert.throws(() => openLine("gpiochip0:4", { devDir: dir }), /requesting line 4 failed: ENOTTY/);
    assert.equal(chipFds(), 0, "the chip fd is closed after a failed request");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("an input line request (a button) sets INPUT, no output attribute; its value is bit 0", () => {
  const req = encodeLineRequest({ offset: 27, consumer: "btn", activeLow: true, direction: "input" });
  assert.deepEqual(nonZero(req), [
    [0, 27], // offsets[0]
    [256, 0x62], // "btn"
    [257, 0x74],
    [258, 0x6e],
    [288, 0x06], // config.flags = INPUT (1 << 2) | ACTIVE_LOW (1 << 1)
    [560, 1], // num_lines; num_attrs stays 0
  ]);
  const values = new Uint8Array(16);
  assert.equal(decodeLineValue(values), false);
  values[0] = 1;
  assert.equal(decodeLineValue(values), true);
  values[0] = 2; // another line's bit
  assert.equal(decodeLineValue(values), false);
});

Deno.test("an input on a chip path that is not a GPIO device fails with ENOTTY; a missing chip names it", () => {
  const dir = Deno.makeTempDirSync();
  try {
    assert.throws(() => openInput("gpiochip3:1", { devDir: dir }), /gpiochip3:1: .*gpiochip3 not found/);
    Deno.writeTextFileSync(`${dir}/gpiochip0`, "");
    assert.throws(
      () => openInput("gpiochip0:27:active-low", { devDir: dir }),
      /requesting line 27 failed: ENOTTY/,
    );
    assert.throws(() => openInput("gpio0:27"), RangeError);
    assert.throws(() => openInput("gpiochip0:x"), RangeError);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
