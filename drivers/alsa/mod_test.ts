import assert from "node:assert/strict";
import { AlsaError, AlsaPcm, AlsaWriter, available, library, listCards, listPcms } from "./mod.ts";

const HAVE = available();

function fileDacConfig(path: string, channels = 4): string {
  return `
pcm.pbx_null { type null }
pcm.pbx_dac { type file slave.pcm "pbx_null" file "${path}" format "raw" }
pcm.pbx_dac${channels}_zone2 { type plug slave { pcm "pbx_dac" channels ${channels} } ttable.0.1 1 }
`;
}

function readRaw(path: string): Int16Array {
  const bytes = Deno.readFileSync(path);
  return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1);
}

Deno.test({
  name: "AlsaPcm over the file plugin writes interleaved S16 frames to the file",
  ignore: !HAVE,
  fn() {
    const dir = Deno.makeTempDirSync();
    try {
      const path = `${dir}/out.raw`;
      const pcm = AlsaPcm.open("pbx_dac", { rate: 8000, channels: 4, config: fileDacConfig(path) });
      const buf = new Int16Array(800 * 4);
      for (let i = 0; i < 800; i++) buf[i * 4 + 2] = i;
      assert.deepEqual(pcm.write(buf), 800);
      pcm.drain();
      pcm.close();
      pcm.close(); // idempotent
      const raw = readRaw(path);
      assert.deepEqual(raw.length, 3200);
      assert.deepEqual(raw[4 * 500 + 2], 500);
      assert.deepEqual(raw[4 * 500 + 1], 0);
      assert.throws(() => pcm.write(buf), TypeError);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a plug/route PCM puts mono audio on channel 2 of a 4-channel file",
  ignore: !HAVE,
  fn() {
    const dir = Deno.makeTempDirSync();
    try {
      const path = `${dir}/out.raw`;
      const pcm = AlsaPcm.open("pbx_dac4_zone2", { rate: 8000, channels: 1, config: fileDacConfig(path) });
      const mono = new Int16Array(400).map((_, i) => i + 1);
      pcm.write(mono);
      pcm.drain();
      pcm.close();
      const raw = readRaw(path);
      assert.deepEqual(raw.length, 1600);
      for (let i = 0; i < 400; i++) {
        assert.deepEqual(raw[i * 4 + 1], i + 1);
        assert.deepEqual([raw[i * 4], raw[i * 4 + 2], raw[i * 4 + 3]], [0, 0, 0]);
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "opening a missing card gives an AlsaError naming the device",
  ignore: !HAVE,
  fn() {
    const e = assert.throws(() => AlsaPcm.open("hw:CARD=NoSuchCard,DEV=0", { rate: 8000 }), AlsaError);
    void e;
    try {
      AlsaPcm.open("hw:CARD=NoSuchCard,DEV=0", { rate: 8000 });
    } catch (err) {
      assert.match((err as Error).message, /NoSuchCard/);
      assert.ok((err as AlsaError).code < 0);
    }
  },
});

Deno.test("bad PCM arguments are RangeErrors", () => {
  assert.throws(() => AlsaPcm.open("", {}), RangeError);
  assert.throws(() => AlsaPcm.open("default", { rate: 12 }), RangeError);
  assert.throws(() => AlsaPcm.open("default", { channels: 0 }), RangeError);
});

Deno.test({
  name: "listCards and listPcms answer without a sound card",
  ignore: !HAVE,
  fn() {
    assert.ok(Array.isArray(listCards()));
    const pcms = listPcms();
    assert.ok(pcms.some((p) => p.name === "null"), JSON.stringify(pcms.map((p) => p.name)));
  },
});

Deno.test("a missing libasound gives one clear reason and AlsaWriter.open rejects", async () => {
  library.setPath("/nonexistent/libasound.so.2");
  try {
    assert.deepEqual(library.available(), false);
    assert.match(library.reason() ?? "", /libasound2/);
    assert.throws(() => AlsaPcm.open("default"), /libasound2/);
  } finally {
    library.setPath(undefined);
  }
  const prev = Deno.env.get("PBX_LIBASOUND_PATH");
  Deno.env.set("PBX_LIBASOUND_PATH", "/nonexistent/libasound.so.2");
  try {
    await assert.rejects(AlsaWriter.open({ device: "default" }), /libasound2/);
  } finally {
    if (prev === undefined) Deno.env.delete("PBX_LIBASOUND_PATH");
    else Deno.env.set("PBX_LIBASOUND_PATH", prev);
  }
});

Deno.test({
  name: "AlsaWriter paces a non-blocking device at real time and routes channels",
  ignore: !HAVE,
  async fn() {
    const dir = Deno.makeTempDirSync();
    try {
      const path = `${dir}/out.raw`;
      const rate = 8000;
      const written: number[] = [];
      const w = await AlsaWriter.open({
        device: "pbx_dac",
        rate,
        channels: 4,
        config: fileDacConfig(path),
        leadMs: 20,
        onWritten: (tag) => written.push(tag),
      });
      const t0 = performance.now();
      // 300 ms of audio pushed at once: the writer must take ~300 ms, not 0.2 ms.
      for (let k = 0; k < 15; k++) {
        w.write([1], new Int16Array(160).fill(k + 1), { hold: true, tag: k });
      }
      await w.end([1]);
      const elapsed = performance.now() - t0;
      const stats = await w.close();
      assert.deepEqual(stats.framesWritten, 2400);
      // Never more than the lead (20 ms = 160 frames) plus a tick's rounding ahead of real time.
      assert.ok(stats.maxAheadFrames <= 160 + 80, `ahead by ${stats.maxAheadFrames} frames`);
      assert.deepEqual(written, Array.from({ length: 15 }, (_, i) => i));
      const raw = readRaw(path);
      assert.deepEqual(raw.length, 2400 * 4);
      for (let i = 0; i < 2400; i++) {
        assert.deepEqual(raw[i * 4 + 1], Math.floor(i / 160) + 1);
        assert.deepEqual(raw[i * 4], 0);
        assert.deepEqual(raw[i * 4 + 3], 0);
      }
      console.log(`300 ms of audio written in ${elapsed.toFixed(0)} ms`);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "AlsaWriter rejects a channel the device does not have",
  ignore: !HAVE,
  async fn() {
    const dir = Deno.makeTempDirSync();
    const w = await AlsaWriter.open({
      device: "pbx_dac",
      rate: 8000,
      channels: 2,
      config: fileDacConfig(`${dir}/o.raw`),
    });
    try {
      assert.throws(() => w.write([2], new Int16Array(10)), RangeError);
    } finally {
      await w.close();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
