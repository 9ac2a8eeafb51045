import { deepStrictEqual as eq, ok, throws } from "node:assert";
import { writeWav } from "../../media/wav/mod.ts";
import { BUILTIN_CLASS, MAX_CLASS_BYTES, MohClassError, MohClasses } from "./classes.ts";
import { createMusicOnHold } from "./mod.ts";
import { createLogger } from "../../log/mod.ts";

const log = createLogger("test", { level: "error", sink: () => {} });

function settings() {
  const m = new Map<string, unknown>();
  return {
    get: <T>(k: string) => m.get(k) as T | undefined,
    set: (k: string, v: unknown) => void m.set(k, v),
  };
}

/** `seconds` of a 440 Hz tone, interleaved over `channels`. */
function tone(rate: number, channels: number, seconds: number): Uint8Array {
  const n = Math.round(rate * seconds);
  const pcm = new Int16Array(n * channels);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < channels; c++) {
      pcm[i * channels + c] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate));
    }
  }
  return writeWav({ sampleRate: rate, channels }, pcm);
}

const status = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    ok(e instanceof MohClassError, String(e));
    return { status: e.status, message: e.message };
  }
  throw new Error("nothing thrown");
};

Deno.test("classes: a WAV of any rate and channels is kept, listed and selected; bad uploads say what is wrong", () => {
  const dir = Deno.makeTempDirSync({ prefix: "moh-classes-" });
  try {
    const lib = new MohClasses(`${dir}/moh`, settings());
    eq(lib.list().map((c) => c.name), [BUILTIN_CLASS]);
    eq(lib.selectedFile(), undefined);
    const jazz = lib.put("jazz", tone(44100, 2, 1));
    eq([jazz.sampleRate, jazz.channels, jazz.durationMs], [44100, 2, 1000]);
    lib.put("lobby", tone(16000, 1, 2));
    eq(lib.list().map((c) => c.name), [BUILTIN_CLASS, "jazz", "lobby"]);
    lib.select("jazz");
    eq(lib.selected(), "jazz");
    eq(lib.selectedFile(), `${dir}/moh/jazz.wav`);
    ok(lib.list().find((c) => c.name === "jazz")!.selected);
    // Bad input: each refused with words for what is wrong, nothing kept.
    const wav = tone(8000, 1, 1);
    eq(status(() => lib.put("broken", wav.subarray(0, 30))).status, 400);
    ok(/not a usable WAV file/.test(status(() => lib.put("broken", wav.subarray(0, 30))).message));
    ok(
      /not a WAV file/.test(
        status(() => lib.put("text", new TextEncoder().encode("hello, this is not audio"))).message,
      ),
    );
    ok(/outside 8000-48000/.test(status(() => lib.put("slow", tone(4000, 1, 1))).message));
    ok(/needs 500 ms/.test(status(() => lib.put("short", tone(8000, 1, 0.1))).message));
    eq(status(() => lib.put("big", new Uint8Array(MAX_CLASS_BYTES + 1))).status, 413);
    eq(status(() => lib.put("default", wav)).status, 409);
    eq(status(() => lib.put("../etc", wav)).status, 400);
    eq(status(() => lib.select("nope")).status, 404);
    eq(lib.list().map((c) => c.name), [BUILTIN_CLASS, "jazz", "lobby"]);
    eq([...Deno.readDirSync(`${dir}/moh`)].map((e) => e.name).sort(), ["jazz.wav", "lobby.wav"]);
    // Deleting the selected class falls back to the built-in one.
    lib.delete("jazz");
    eq(lib.selected(), BUILTIN_CLASS);
    eq(status(() => lib.delete("jazz")).status, 404);
    throws(() => lib.delete("default"), MohClassError);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("hold plays the selected uploaded class as a looping file in the leg's codec", () => {
  const dir = Deno.makeTempDirSync({ prefix: "moh-classes-" });
  try {
    const lib = new MohClasses(dir, settings());
    lib.put("lobby", tone(22050, 2, 1));
    lib.select("lobby");
    const files: string[] = [];
    const moh = createMusicOnHold({
      log,
      classes: lib,
      media: {
        playPcm: () => Promise.resolve(),
        stopPlay: () => Promise.resolve(true),
        playFile: (leg, path) => (files.push(`${leg} ${path}`), new Promise(() => {})),
      },
    });
    moh.held({ callId: "c", legId: "leg9", codec: "G722/8000" });
    eq(files, [`leg9 ${dir}/lobby.wav`]);
    ok(moh.playing.has("leg9"));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
