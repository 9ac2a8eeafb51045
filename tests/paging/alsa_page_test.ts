/**
 * Cross-module: PagingService + drivers/alsa AlsaWriter (worker) + drivers/gpio FileLine + storage
 * + multicast RTP to a 127.0.0.1 receiver. ALSA's `file` plugin over `null` stands in for a
 * 4-channel DAC; a zone on a missing card must be reported faulty while the rest plays.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { AlsaWriter, available as alsaAvailable, type WriterStats } from "../../drivers/alsa/mod.ts";
import { openLine, readLineHistory } from "../../drivers/gpio/mod.ts";
import { PagingService } from "../../runtime/features/paging/mod.ts";
import { openStorage } from "../../runtime/storage/mod.ts";

const DEVICE_RATE = 16000;

function asoundConf(path: string): string {
  return `
pcm.pbx_null { type null }
pcm.pbx_dac { type file slave.pcm "pbx_null" file "${path}" format "raw" }
`;
}

function zeroCrossings(x: Int16Array | number[]): number {
  let n = 0;
  for (let i = 1; i < x.length; i++) if ((x[i - 1]! < 0) !== (x[i]! < 0)) n++;
  return n;
}

Deno.test({
  name: "a page to zone 2 lands on channel 2 of the 4-channel DAC: pre-tone, audio, post-tone, paced",
  ignore: !alsaAvailable(),
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "pbx-paging-" });
    const rawPath = `${dir}/dac.raw`;
    const storage = openStorage({ dataDir: `${dir}/data`, pbkdf2Iterations: 1000 });
    const rx = dgram.createSocket("udp4");
    await new Promise<void>((r) => rx.bind(0, "127.0.0.1", () => r()));
    const rtp: Uint8Array[] = [];
    rx.on("message", (m) => rtp.push(new Uint8Array(m)));
    let writer: AlsaWriter | null = null;
    let stats: WriterStats | null = null;
    const svc = new PagingService({
      store: storage.paging,
      agc: false,
      openSpeaker: async (device, hints) => {
        if (device !== "pbx_dac") {
          return await AlsaWriter.open({ device, rate: DEVICE_RATE, channels: hints.channels });
        }
        writer = await AlsaWriter.open({
          device,
          rate: DEVICE_RATE,
          channels: 4,
          config: asoundConf(rawPath),
          leadMs: 20,
          onWritten: hints.onWritten,
          onError: hints.onError,
        });
        return writer;
      },
      openAmpLine: (spec) => openLine(spec),
    });
    try {
      storage.paging.createZone({
        number: "2",
        name: "Hall",
        alsaDevice: "pbx_dac",
        channels: [2],
        preTone: "!1000/200",
        postTone: "!600/100",
        ampLine: `file:${dir}/amp2`,
        leadMs: 50,
        tailMs: 50,
        multicast: { address: "127.0.0.1", port: rx.address().port, format: "rtp", codec: "PCMU", ttl: 1 },
      });
      storage.paging.createZone({ number: "3", name: "Annex", alsaDevice: "hw:CARD=PbxMissing,DEV=0" });
      storage.paging.createGroup({ number: "9", name: "Both", zones: ["2", "3"] });
      storage.paging.setPermissions("201", ["9"]);
      assert.equal(svc.canPage("201", "9"), true);

      let firstWritten = 0;
      const page = svc.startPage({
        target: "9",
        origin: { extension: "201" },
        onFirstWritten: (at) => (firstWritten = at),
      });
      // The caller: 500 ms of a 400 Hz tone at 8 kHz, 20 ms frames, pushed as fast as possible.
      const src = new Int16Array(4000).map((_, i) =>
        Math.round(8000 * Math.sin(2 * Math.PI * 400 * i / 8000))
      );
      for (let i = 0; i < src.length; i += 160) {
        page.push({ samples: src.subarray(i, i + 160), sampleRate: 8000 });
      }
      const t0 = performance.now();
      const result = await page.end();
      const wall = performance.now() - t0;
      stats = await writer!.stats();
      assert.equal(result.outcome, "completed");

      // The zone on the missing card is faulty, the box goes on.
      const status = svc.status();
      assert.equal(status.find((z) => z.number === "3")?.state, "faulty");
      assert.match(status.find((z) => z.number === "3")?.fault ?? "", /PbxMissing/);
      assert.equal(status.find((z) => z.number === "2")?.state, "idle");

      await svc.close();
      const bytes = Deno.readFileSync(rawPath);
      const raw = new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1);
      const frames = raw.length / 4;
      const ch = (c: number) => Array.from({ length: frames }, (_, i) => raw[i * 4 + c]!);
      const ch2 = ch(1);
      // Silence on the other channels.
      for (const c of [0, 2, 3]) assert.ok(ch(c).every((s) => s === 0), `channel ${c + 1} not silent`);
      const pre = 200 * DEVICE_RATE / 1000;
      const post = 100 * DEVICE_RATE / 1000;
      const audio = frames - pre - post;
      // 500 ms at 16 kHz, less the resampler's filter delay.
      assert.ok(audio > 7900 && audio <= 8000, `audio frames ${audio}`);
      // Pre-tone 1000 Hz for 200 ms: ~400 zero crossings; audio 400 Hz for 0.5 s: ~400; post 600 Hz 0.1 s: ~120.
      const zc = (a: number, b: number) => zeroCrossings(ch2.slice(a, b));
      assert.ok(Math.abs(zc(0, pre) - 400) <= 4, `pre-tone crossings ${zc(0, pre)}`);
      assert.ok(Math.abs(zc(pre + 100, pre + audio) - 400 * (audio - 100) / 8000) <= 6, `audio crossings`);
      assert.ok(
        Math.abs(zc(pre + audio, frames) - 120) <= 4,
        `post-tone crossings ${zc(pre + audio, frames)}`,
      );
      const peak = Math.max(...ch2.slice(pre + 200, pre + audio));
      assert.ok(peak > 7000 && peak < 9000, `audio peak ${peak}`);

      // Real-time pacing: never more than the 20 ms lead (+ a tick) ahead of the wall clock.
      assert.ok(stats.maxAheadFrames <= 320 + 160, `writer ran ${stats.maxAheadFrames} frames ahead`);
      console.log(
        `0.8 s of audio took ${wall.toFixed(0)} ms to write; max ahead ${stats.maxAheadFrames} frames`,
      );

      // Amplifier: on before the first frame, off after the audio, once each.
      const amp = readLineHistory(`${dir}/amp2`);
      assert.deepEqual(amp.map((c) => c.on), [true, false]);
      assert.ok(amp[0]!.at <= firstWritten, "amp on before the first frame");

      // Multicast: 800 ms of 20 ms PCMU packets.
      for (let i = 0; i < 20 && rtp.length < 40; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(rtp.length, 40);
      assert.ok(rtp.every((p) => p.length === 172 && (p[1]! & 0x7f) === 0));

      const [log] = storage.paging.log();
      assert.deepEqual([log?.origin, log?.targets, log?.outcome], ["201", ["2", "3"], "completed"]);
    } finally {
      await svc.close();
      rx.close();
      storage.close();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
