import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert";
import { NativeHandle, NativeLibrary, setDriverLogSink } from "./loader.ts";

const SYMBOLS = { opus_get_version_string: { parameters: [], result: "pointer" } } as const;

Deno.test("a missing library yields null, one clear log line, and a require() error", () => {
  const lines: string[] = [];
  const previous = setDriverLogSink((l) => lines.push(l));
  try {
    const lib = new NativeLibrary({
      label: "Opus",
      soname: "/nonexistent/libopus.so.0",
      aptPackage: "libopus0",
      envVar: "PBX_TEST_UNSET_VAR",
      symbols: SYMBOLS,
    });
    assertEquals(lib.reason(), null, "nothing is opened before first use");
    assertEquals(lib.load(), null);
    assertEquals(lib.available(), false);
    assertEquals(lib.load(), null);
    assertEquals(lines, ["/nonexistent/libopus.so.0 not found: Opus disabled (apt install libopus0)"]);
    assertThrows(() => lib.require(), /not found: Opus disabled/);
  } finally {
    setDriverLogSink(previous);
  }
});

Deno.test("setPath can disable and then restore a library without closing it", () => {
  const lines: string[] = [];
  const previous = setDriverLogSink((l) => lines.push(l));
  try {
    const lib = new NativeLibrary({
      label: "Opus",
      soname: "libopus.so.0",
      aptPackage: "libopus0",
      envVar: "PBX_TEST_UNSET_VAR",
      symbols: SYMBOLS,
    });
    const first = lib.load();
    assert(first !== null);
    lib.setPath("/nonexistent/x.so");
    assertEquals(lib.available(), false);
    assertEquals(lines.length, 1);
    assert(lines[0]!.startsWith("/nonexistent/x.so (override) not found: Opus disabled"));
    assert(first.opus_get_version_string() !== null, "symbols loaded earlier keep working");
    lib.setPath(undefined);
    assertEquals(lib.available(), true);
  } finally {
    setDriverLogSink(previous);
  }
});

Deno.test("NativeHandle frees exactly once and rejects use after close", () => {
  let freed = 0;
  const h = new NativeHandle(Deno.UnsafePointer.create(0x1000n)!, () => freed++, "thing");
  assert(!h.closed);
  h.ptr;
  h.close();
  h.close();
  assertEquals(freed, 1);
  assertThrows(() => h.ptr, TypeError);
});
