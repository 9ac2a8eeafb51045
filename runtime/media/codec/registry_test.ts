import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert";
import { type AudioCodec, type CodecFactory, CodecRegistry, defaultRegistry } from "./mod.ts";
import { library as opusLibrary } from "../../../drivers/opus/mod.ts";
import { setDriverLogSink } from "../../../drivers/loader.ts";

Deno.test("a missing libopus drops only opus from the registry, with one log line", () => {
  const lines: string[] = [];
  const previous = setDriverLogSink((l) => lines.push(l));
  opusLibrary.setPath("/nonexistent/libopus.so.0");
  try {
    const r = defaultRegistry();
    const names = r.available().map((f) => f.name);
    assertEquals(names, ["G722", "PCMU", "PCMA", "G729", "G726-32"]);
    assertEquals(r.available().length, 5, "asking twice logs nothing new");
    assertEquals(r.get("opus", 48000), undefined);
    assertEquals(lines, [
      "/nonexistent/libopus.so.0 (override) not found: Opus disabled (apt install libopus0)",
    ]);
    const opus = r.all().find((f) => f.name === "opus")!;
    assertThrows(() => opus.create(), /Opus disabled/);
    const pcmu = r.get("PCMU", 8000)!.create();
    assertEquals(pcmu.encode(new Int16Array(160), new Uint8Array(160)), 160);
    pcmu.close();
  } finally {
    opusLibrary.setPath(undefined);
    setDriverLogSink(previous);
  }
  assert(defaultRegistry().get("opus", 48000) !== undefined, "restored");
});

Deno.test("PBX_LIBBCG729_PATH pointing nowhere disables G.729 in a fresh process with one message", async () => {
  const registryUrl = new URL("./registry.ts", import.meta.url).href;
  const code = `import { defaultRegistry } from "${registryUrl}";
console.log(defaultRegistry().available().map((f) => f.name).join(","));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { PBX_LIBBCG729_PATH: "/nonexistent/libbcg729.so.0", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  const stderr = new TextDecoder().decode(out.stderr).trim().split("\n").filter((l) => l !== "");
  assertEquals(out.code, 0, stderr.join("\n"));
  assertEquals(stdout, "opus,G722,PCMU,PCMA,G726-32");
  assertEquals(stderr, [
    "/nonexistent/libbcg729.so.0 (PBX_LIBBCG729_PATH) not found: G.729 disabled (apt install libbcg729-0)",
  ]);
});

Deno.test("register() keeps order and replaces a factory of the same name and rate", () => {
  const fake = (name: string, ok: boolean): CodecFactory => ({
    name,
    rtpClockRate: 8000,
    sampleRate: 8000,
    channels: 1,
    available: () => ok,
    create: (): AudioCodec => {
      throw new Error("not used");
    },
  });
  const r = new CodecRegistry();
  r.register(fake("A", true));
  r.register(fake("B", false));
  r.register(fake("C", true));
  assertEquals(r.available().map((f) => f.name), ["A", "C"]);
  r.register(fake("b", true));
  assertEquals(r.available().map((f) => f.name), ["A", "b", "C"]);
  assertEquals(r.get("B", 8000)?.name, "b");
});

Deno.test("opus is offered as opus/48000/2 with FEC fmtp and encodes 16 kHz by default", () => {
  const f = defaultRegistry().get("opus", 48000)!;
  assertEquals([f.rtpClockRate, f.channels, f.sampleRate, f.fmtp], [
    48000,
    2,
    16000,
    "minptime=10;useinbandfec=1",
  ]);
  const c = f.create({ fmtp: "useinbandfec=1; maxaveragebitrate=20000" });
  assertEquals([c.sampleRate, c.channels, c.rtpClockRate], [16000, 1, 48000]);
  c.close();
  const wide = defaultRegistry({ opus: { sampleRate: 48000 } }).get("opus", 48000)!.create();
  assertEquals(wide.sampleRate, 48000);
  wide.close();
});

Deno.test("G729 with annexb=yes sends short SID payloads in silence; voice packets stay 20 bytes", () => {
  const r = defaultRegistry();
  const g729 = r.get("G729", 8000)!.create({ fmtp: "annexb=yes" });
  try {
    const out = new Uint8Array(64);
    const sizes = new Set<number>();
    for (let i = 0; i < 50; i++) sizes.add(g729.encode(new Int16Array(160), out));
    assert([...sizes].every((s) => s === 0 || s === 2 || s === 20 || s === 12), `sizes ${[...sizes]}`);
    assert(sizes.has(0) || sizes.has(2), `silence produced ${[...sizes]}`);
    assertEquals(g729.decode(new Uint8Array(12), new Int16Array(160)), 160, "10-byte frame + SID");
    assertThrows(() => g729.decode(new Uint8Array(13), new Int16Array(320)), RangeError);
  } finally {
    g729.close();
  }
});
