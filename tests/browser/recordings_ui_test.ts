/**
 * The recordings page (runtime/features/recording) in chromium against an in-process server: an
 * admin sees every recording and plays one in the browser's audio element (the WAV decodes and
 * plays), downloads it and deletes it, each audited; a user with an extension sees only the
 * recordings of their own calls, and the API refuses them another's (403).
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import type { Browser } from "playwright-core";
import { VirtualClock } from "../../runtime/clock/mod.ts";
import { Recorder, recordingFeature, type RecordingMedia } from "../../runtime/features/recording/mod.ts";
import { nullLogger } from "../../runtime/log/mod.ts";
import { writeWav } from "../../runtime/media/wav/mod.ts";
import { hasChromium, launchChromium, openPage, shoot, startUiServer } from "./_browser.ts";

const ADMIN_PW = "admin-password-1";
const USER_PW = "user-password-201";

/** Media stand-in: "recording" writes a 2 s stereo WAV (a tone left, another right). */
function media(): RecordingMedia {
  const listeners = new Set<Parameters<RecordingMedia["on"]>[0]>();
  const paths = new Map<string, string>();
  return {
    record(legId, path) {
      const pcm = new Int16Array(16000 * 2);
      for (let i = 0; i < 16000; i++) {
        pcm[2 * i] = Math.round(8000 * Math.sin(i / 5));
        pcm[2 * i + 1] = Math.round(8000 * Math.sin(i / 9));
      }
      Deno.writeFileSync(path, writeWav({ sampleRate: 8000, channels: 2 }, pcm));
      paths.set(legId, path);
      return Promise.resolve({});
    },
    stopRecord(legId) {
      const path = paths.get(legId)!;
      for (const l of listeners) l({ event: "recorded", legId, path, reason: "stopped", durationMs: 2000 });
      return Promise.resolve({ durationMs: 2000, reason: "stopped" });
    },
    on(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
}

async function loginAs(page: import("playwright-core").Page, url: string, user: string, password: string) {
  await page.goto(`${url}/login`);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL((u) => u.pathname !== "/login");
}

Deno.test({
  name: "Recordings page: play in chromium, download, delete (audited); a user sees only their own calls",
  ignore: !hasChromium(),
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
      server.storage.extensions.create({ number: "201", name: "Alice", password: "secret-pass-1" }, "pbx");
      await server.storage.users.create({
        username: "alice",
        role: "user",
        extension: "201",
        password: USER_PW,
      });
      for (const [n, caller, callee] of [[1, "201", "202"], [2, "203", "204"]] as const) {
        recorder!.onBridged({ callId: `c${n}`, caller, callee, aLegId: `a${n}`, bLegId: `b${n}` });
        await recorder!.toggle(`c${n}`);
        await m.stopRecord(`a${n}`);
      }
      browser = await launchChromium();
      const { page, consoleErrors } = await openPage(browser);
      await loginAs(page, server.url, "admin", ADMIN_PW);
      await page.getByRole("link", { name: "Recordings" }).click();
      await page.locator("#rec-table tr[data-recording]").nth(1).waitFor();
      await page.getByLabel("Filter by extension or number").fill("203");
      await page.locator('#rec-table tr[data-recording="1"]').waitFor({ state: "detached" });
      await page.getByLabel("Filter by extension or number").fill("");
      const audio = page.getByLabel("Recording 1", { exact: true });
      await audio.waitFor();
      const played = await audio.evaluate(async (el: HTMLAudioElement) => {
        el.muted = true;
        await el.play();
        await new Promise<void>((r) => el.addEventListener("timeupdate", () => el.currentTime > 0.2 && r()));
        el.pause();
        return { duration: el.duration, time: el.currentTime, error: el.error?.code ?? null };
      });
      ok(played.error === null && played.duration > 1.9 && played.time > 0.2, JSON.stringify(played));
      await shoot(page, "recordings");
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.locator('#rec-table tr[data-recording="1"]').getByRole("link", { name: "Download" }).click(),
      ]);
      ok(download.suggestedFilename().endsWith(".wav"), download.suggestedFilename());
      page.once("dialog", (d) => d.accept());
      await page.getByRole("button", { name: "Delete recording 2" }).click();
      await page.getByText("Recording deleted.").waitFor();
      const actions = server.storage.audit.list({ actionPrefix: "recording." }).map((a) => a.action).sort();
      ok(
        ["recording.delete", "recording.download", "recording.play"].every((a) => actions.includes(a)),
        actions.join(),
      );
      eq(consoleErrors, []);

      // A user: only their own calls' recordings; another's is refused.
      const ctx2 = await openPage(browser);
      await loginAs(ctx2.page, server.url, "alice", USER_PW);
      await ctx2.page.goto(`${server.url}/recordings`);
      await ctx2.page.locator('#rec-table tr[data-recording="1"]').waitFor();
      const other = await ctx2.page.evaluate(async () => (await fetch("/api/recordings/2/audio")).status);
      ok(other === 403 || other === 404, `another's recording: ${other}`);
      eq(await ctx2.page.locator("#rec-table tr[data-recording]").count(), 1);
    } finally {
      await browser?.close();
      recorder?.close();
      await server.close();
    }
  },
});
