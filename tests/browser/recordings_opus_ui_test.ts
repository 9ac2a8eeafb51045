/**
 * An Opus recording on the recordings page in chromium: with the policy's `format: "opus"` the
 * recorder names the file `.opus`; the stand-in media plane writes it with the media worker's own
 * Ogg Opus writer (runtime/media/ogg, libopus), and the page's audio element decodes and plays it
 * (served as audio/ogg) with the right duration.
 */
import { ok } from "node:assert";
import type { Browser } from "playwright-core";
import { available as opusAvailable } from "../../drivers/opus/mod.ts";
import { VirtualClock } from "../../runtime/clock/mod.ts";
import {
  checkPolicy,
  Recorder,
  recordingFeature,
  type RecordingMedia,
} from "../../runtime/features/recording/mod.ts";
import { nullLogger } from "../../runtime/log/mod.ts";
import { OggOpusWriter } from "../../runtime/media/ogg/mod.ts";
import { hasChromium, launchChromium, openPage, startUiServer } from "./_browser.ts";

const ADMIN_PW = "admin-password-1";

/** Media stand-in: "recording" writes a 3 s stereo Ogg Opus file (a tone left, another right). */
function media(): RecordingMedia {
  const listeners = new Set<Parameters<RecordingMedia["on"]>[0]>();
  const paths = new Map<string, string>();
  return {
    async record(legId, path, options) {
      ok(options.format === "opus" && path.endsWith(".opus"), `${JSON.stringify(options)} ${path}`);
      const pcm = new Int16Array(8000 * 3 * 2);
      for (let i = 0; i < 8000 * 3; i++) {
        pcm[2 * i] = Math.round(8000 * Math.sin(i / 5));
        pcm[2 * i + 1] = Math.round(8000 * Math.sin(i / 9));
      }
      const w = await OggOpusWriter.create(path, { sampleRate: 8000, channels: 2 });
      await w.write(pcm);
      await w.close();
      paths.set(legId, path);
      return {};
    },
    stopRecord(legId) {
      const path = paths.get(legId)!;
      for (const l of listeners) l({ event: "recorded", legId, path, reason: "stopped", durationMs: 3000 });
      return Promise.resolve({ durationMs: 3000, reason: "stopped" });
    },
    on(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
}

Deno.test({
  name: "Recordings page: an Ogg Opus recording plays in chromium with its duration",
  ignore: !hasChromium() || !opusAvailable(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let recorder: Recorder | undefined;
    const m = media();
    const server = startUiServer((storage, dataDir) => {
      recorder = new Recorder({
        db: storage.db,
        dataDir,
        clock: new VirtualClock(),
        log: nullLogger,
        media: m,
      });
      return { features: [recordingFeature({ recorder: () => recorder })] };
    });
    let browser: Browser | undefined;
    try {
      await server.storage.users.create({ username: "admin", role: "admin", password: ADMIN_PW });
      recorder!.setPolicy(checkPolicy({ format: "opus", notice: false }, recorder!.policy()));
      recorder!.onBridged({ callId: "c1", caller: "201", callee: "202", aLegId: "a1", bLegId: "b1" });
      await recorder!.toggle("c1");
      await m.stopRecord("a1");
      ok(recorder!.list()[0]?.file.endsWith(".opus"), JSON.stringify(recorder!.list()));
      browser = await launchChromium();
      const { page, consoleErrors } = await openPage(browser);
      await page.goto(`${server.url}/login`);
      await page.getByLabel("User name").fill("admin");
      await page.getByLabel("Password").fill(ADMIN_PW);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL((u) => u.pathname !== "/login");
      await page.getByRole("link", { name: "Recordings" }).click();
      const audio = page.getByLabel("Recording 1", { exact: true });
      await audio.waitFor();
      const played = await audio.evaluate(async (el: HTMLAudioElement) => {
        el.muted = true;
        await el.play();
        await new Promise<void>((r) => el.addEventListener("timeupdate", () => el.currentTime > 0.2 && r()));
        el.pause();
        return {
          duration: el.duration,
          time: el.currentTime,
          error: el.error?.code ?? null,
          canPlay: el.canPlayType('audio/ogg; codecs="opus"'),
        };
      });
      ok(
        played.error === null && Math.abs(played.duration - 3) < 0.1 && played.time > 0.2,
        JSON.stringify(played),
      );
      const ranges = await page.evaluate(async () => {
        const head = await fetch("/api/recordings/1/audio", { headers: { Range: "bytes=0-3" } });
        const past = await fetch("/api/recordings/1/audio", { headers: { Range: "bytes=99999999-" } });
        await past.body?.cancel();
        return {
          status: head.status,
          type: head.headers.get("content-type"),
          body: await head.text(),
          past: past.status,
        };
      });
      ok(
        ranges.status === 206 && ranges.body === "OggS" && /^audio\/ogg/.test(ranges.type ?? "") &&
          ranges.past === 416,
        JSON.stringify(ranges),
      );
      ok(consoleErrors.length === 0, JSON.stringify(consoleErrors));
    } finally {
      await browser?.close();
      await server.close();
    }
  },
});
