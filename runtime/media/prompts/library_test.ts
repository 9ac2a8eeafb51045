import { deepStrictEqual as assertEquals, ok as assert, rejects as assertRejects } from "node:assert";
import { measureAudio, PromptLibrary, resampleMono, type Synthesizer, ttsAvailable } from "./mod.ts";
import { readWav, writeWav } from "../wav/mod.ts";

/** A fake engine: a 440 Hz tone whose length follows the text, counting calls. */
function fakeSynth(): { synth: Synthesizer; calls: string[] } {
  const calls: string[] = [];
  const synth: Synthesizer = (text) => {
    calls.push(text);
    const n = 160 * text.length;
    const samples = Int16Array.from(
      { length: n },
      (_, i) => Math.round(8000 * Math.sin(2 * Math.PI * 440 * i / 16000)),
    );
    return Promise.resolve({ sampleRate: 16000, samples });
  };
  return { synth, calls };
}

Deno.test("a prompt is synthesised once: memory, then the WAV cache in the data dir", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { synth, calls } = fakeSynth();
    const lib = new PromptLibrary(dir, { synthesize: synth });
    const a = await lib.get("goodbye");
    await lib.get("goodbye");
    assertEquals(calls.length, 1);
    assertEquals(a.source, "tts");
    assertEquals(a.rate16.length, 2 * a.rate8.length);
    const files = [...Deno.readDirSync(`${dir}/cache/prompts`)].map((e) => e.name);
    assertEquals(files.length, 1);
    assert(/^[0-9a-f]{64}\.wav$/.test(files[0]!));
    // A second library over the same dir reads the cache and does not synthesise again.
    const again = fakeSynth();
    const b = await new PromptLibrary(dir, { synthesize: again.synth }).get("goodbye");
    assertEquals(again.calls.length, 0);
    assertEquals(b.rate16.length, a.rate16.length);
    // Another voice or rate is another cache entry.
    await new PromptLibrary(dir, { synthesize: again.synth, rate: 1.2 }).get("goodbye");
    assertEquals(again.calls.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an uploaded 44.1 kHz stereo WAV overrides a prompt, resampled to 8/16 kHz; delete restores TTS", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { synth } = fakeSynth();
    const lib = new PromptLibrary(dir, { synthesize: synth, now: () => 1234 });
    const frames = 44100; // one second
    const st = new Int16Array(frames * 2);
    for (let i = 0; i < frames; i++) {
      st[2 * i] = st[2 * i + 1] = Math.round(9000 * Math.sin(2 * Math.PI * 300 * i / 44100));
    }
    const info = await lib.setOverride("vm-leave-message", writeWav({ sampleRate: 44100, channels: 2 }, st));
    assertEquals(info.override?.sampleRate, 44100);
    assertEquals(info.override?.channels, 2);
    assertEquals(info.override?.durationMs, 1000);
    assertEquals(info.override?.uploadedAt, 1234);
    const a = await lib.get("vm-leave-message");
    assertEquals(a.source, "override");
    assert(Math.abs(a.rate8.length - 8000) <= 2, `8k length ${a.rate8.length}`);
    assert(Math.abs(a.rate16.length - 16000) <= 2);
    const m = measureAudio(a.rate8, 8000);
    assert(m.rmsDbfs > -15 && m.rmsDbfs < -8, `level ${m.rmsDbfs}`);
    const stored = readWav(await Deno.readFile(`${dir}/prompts/vm-leave-message.wav`));
    assertEquals([stored.sampleRate, stored.channels], [16000, 1]);
    assertEquals(
      (await new PromptLibrary(dir, { synthesize: synth }).get("vm-leave-message")).source,
      "override",
    );
    assertEquals((await lib.list()).find((p) => p.id === "vm-leave-message")?.overridden, true);
    const wav8 = readWav(await lib.wav("vm-leave-message", 8000));
    assertEquals(wav8.sampleRate, 8000);
    assertEquals(await lib.deleteOverride("vm-leave-message"), true);
    assertEquals(await lib.deleteOverride("vm-leave-message"), false);
    assertEquals((await lib.get("vm-leave-message")).source, "tts");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad uploads get errors naming the problem; nothing is stored", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lib = new PromptLibrary(dir, {
      synthesize: fakeSynth().synth,
      maxUploadBytes: 100_000,
      maxUploadMs: 2000,
    });
    const good = writeWav({ sampleRate: 8000, channels: 1 }, new Int16Array(8000).fill(1000));
    await assertRejects(lib.setOverride("goodbye", new TextEncoder().encode("ID3 this is an mp3")), {
      name: "SyntaxError",
      message: /not a WAV file/,
    });
    await assertRejects(lib.setOverride("goodbye", good.subarray(0, 4000)), {
      name: "RangeError",
      message: /truncated/,
    });
    await assertRejects(lib.setOverride("goodbye", new Uint8Array(100_001)), {
      name: "RangeError",
      message: /limit is 100000/,
    });
    const long = writeWav({ sampleRate: 8000, channels: 1 }, new Int16Array(8000 * 3));
    await assertRejects(lib.setOverride("goodbye", long), { name: "RangeError", message: /3000 ms long/ });
    await assertRejects(
      lib.setOverride("goodbye", writeWav({ sampleRate: 8000, channels: 1 }, new Int16Array(0))),
      {
        name: "RangeError",
        message: /no audio/,
      },
    );
    await assertRejects(lib.setOverride("no-such-prompt", good), {
      name: "RangeError",
      message: /unknown prompt/,
    });
    await assertRejects(lib.setOverride("../etc/passwd", good), {
      name: "RangeError",
      message: /unknown prompt/,
    });
    assertEquals((await lib.info("goodbye")).overridden, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resampleMono keeps length and timing of a click", () => {
  const x = new Int16Array(16000);
  x[8000] = 20000;
  const y = resampleMono(x, 16000, 8000);
  assertEquals(y.length, 8000);
  let peak = 0;
  for (let i = 1; i < y.length; i++) if (Math.abs(y[i]!) > Math.abs(y[peak]!)) peak = i;
  assert(Math.abs(peak - 4000) <= 2, `peak at ${peak}`);
});

Deno.test({
  name: "flite speaks a catalogue prompt: seconds of audio with speech energy at 8 and 16 kHz",
  ignore: !ttsAvailable(),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const a = await new PromptLibrary(dir).get("vm-leave-message");
      for (const [samples, rate] of [[a.rate8, 8000], [a.rate16, 16000]] as const) {
        const m = measureAudio(samples, rate);
        assert(m.durationMs > 2500 && m.durationMs < 9000, `duration ${m.durationMs}`);
        assert(m.rmsDbfs > -35 && m.rmsDbfs < -3, `level ${m.rmsDbfs} dBFS`);
        assert(m.activeMs > m.durationMs / 3, `active ${m.activeMs} of ${m.durationMs}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
