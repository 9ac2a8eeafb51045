import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert";
import { Mixer } from "./mod.ts";

const frame = (...v: number[]) => new Int16Array(v);

Deno.test("each participant hears the sum of everyone but themselves", () => {
  const m = new Mixer({ frameSize: 3 });
  for (const id of ["a", "b", "c"]) m.add(id);
  m.put("a", frame(1, 2, 3));
  m.put("b", frame(10, 20, 30));
  m.put("c", frame(100, 200, 300));
  assertEquals(m.mixFor("a"), frame(110, 220, 330));
  assertEquals(m.mixFor("b"), frame(101, 202, 303));
  assertEquals(m.mixFor("c"), frame(11, 22, 33));
  assertEquals(m.mixAll(), frame(111, 222, 333));
});

Deno.test("the mix saturates instead of wrapping, and subtraction uses the unsaturated total", () => {
  const m = new Mixer({ frameSize: 2 });
  for (const id of ["a", "b", "c"]) m.add(id);
  m.put("a", frame(30000, -30000));
  m.put("b", frame(30000, -30000));
  m.put("c", frame(-20000, 20000));
  assertEquals(m.mixFor("c"), frame(32767, -32768));
  assertEquals(m.mixFor("a"), frame(10000, -10000));
});

Deno.test("silent, late-joining and removed participants; rounds reset frames", () => {
  const m = new Mixer<number>({ frameSize: 2 });
  m.add(1);
  m.add(2);
  m.put(1, frame(5, 5));
  assertEquals(m.mixFor(2), frame(5, 5));
  assertEquals(m.mixFor(1), frame(0, 0));
  m.add(3);
  assertEquals(m.mixFor(3), frame(5, 5));
  m.put(3, frame(1)); // short frame padded with silence
  assertEquals(m.mixFor(2), frame(6, 5));
  m.remove(1);
  assertEquals(m.mixFor(2), frame(1, 0));
  m.nextRound();
  assertEquals(m.mixFor(2), frame(0, 0));
  assertEquals(m.participants, [2, 3]);
});

Deno.test("the mixer matches a naive O(N^2) mix on random frames", () => {
  const n = 8;
  const size = 160;
  const m = new Mixer<number>({ frameSize: size });
  let seed = 9;
  const frames: Int16Array[] = [];
  for (let p = 0; p < n; p++) {
    m.add(p);
    const f = new Int16Array(size).map(() =>
      (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 20000 - 10000
    );
    frames.push(f);
    m.put(p, f);
  }
  const out = new Int16Array(size);
  for (let p = 0; p < n; p++) {
    m.mixFor(p, out);
    for (let i = 0; i < size; i++) {
      let s = 0;
      for (let q = 0; q < n; q++) if (q !== p) s += frames[q]![i]!;
      assertEquals(out[i], Math.max(-32768, Math.min(32767, s)));
    }
  }
});

Deno.test("unknown participants and oversize frames are rejected", () => {
  const m = new Mixer({ frameSize: 2 });
  assertThrows(() => m.put("x", frame(1)), RangeError);
  assertThrows(() => m.mixFor("x"), RangeError);
  m.add("a");
  assertThrows(() => m.put("a", frame(1, 2, 3)), RangeError);
  assertThrows(() => new Mixer({ frameSize: 0 }), RangeError);
});

Deno.test("mixOf: a restricted listener hears only the participants named (supervisor whisper)", () => {
  const m = new Mixer<string>({ frameSize: 2 });
  for (const id of ["caller", "agent", "sup"]) m.add(id);
  m.put("caller", frame(1, 1));
  m.put("agent", frame(10, 10));
  m.put("sup", frame(100, 100));
  assertEquals(m.mixOf(["agent"]), frame(10, 10));
  assertEquals(m.mixOf(["caller", "sup", "nobody"]), frame(101, 101));
  assertEquals(m.mixFor("agent"), frame(101, 101));
  m.put("sup", frame(32760, -32760));
  assertEquals(m.mixOf(["sup", "agent"]), frame(32767, -32750));
});
