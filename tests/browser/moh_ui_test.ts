/**
 * The music-on-hold page (a feature module's page: runtime/features/moh) in chromium against an
 * in-process server: a broken upload shows the server's words for what is wrong, a 22.05 kHz stereo
 * WAV uploads and is listed, "Use" makes it the class held callers hear, and it can be deleted.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { Buffer } from "node:buffer";
import type { Browser } from "playwright-core";
import { MohClasses, mohFeature } from "../../runtime/features/moh/mod.ts";
import { nullLogger } from "../../runtime/log/mod.ts";
import { writeWav } from "../../runtime/media/wav/mod.ts";
import { hasChromium, launchChromium, openPage, shoot, startUiServer } from "./_browser.ts";

const PASSWORD = "admin-password-1";

function stereoWav(rate: number, seconds: number): Uint8Array {
  const n = Math.round(rate * seconds);
  const pcm = new Int16Array(n * 2);
  for (let i = 0; i < n; i++) pcm[2 * i] = pcm[2 * i + 1] = Math.round(6000 * Math.sin(i / 7));
  return writeWav({ sampleRate: rate, channels: 2 }, pcm);
}

Deno.test({
  name:
    "Music on hold page: a broken upload is refused with a reason, a WAV uploads, is selected and deleted",
  ignore: !hasChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let classes: MohClasses | undefined;
    const server = startUiServer((storage, dataDir) => {
      classes = new MohClasses(`${dataDir}/moh`, storage.settings);
      const moh = mohFeature({
        log: nullLogger,
        classes,
        media: { playPcm: () => Promise.resolve(), stopPlay: () => Promise.resolve(true) },
      });
      return { features: [moh] };
    });
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const { page, consoleErrors } = await openPage(browser);
      const r = await fetch(`${server.url}/api/setup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ password: PASSWORD }),
      });
      await r.body?.cancel();
      await page.goto(`${server.url}/login`);
      await page.getByLabel("User name").fill("admin");
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL(`${server.url}/`);
      await page.getByRole("link", { name: "Music on hold" }).click();
      await page.locator('#moh-table tr[data-class="default"]').waitFor();

      const form = page.locator("#moh-form");
      await form.getByLabel(/^Name/).fill("lobby");
      await form.getByLabel("WAV file").setInputFiles({
        name: "lobby.wav",
        mimeType: "audio/wav",
        buffer: Buffer.from("RIFF....WAVEjunk, not audio"),
      });
      await page.getByRole("button", { name: "Upload" }).click();
      await page.getByText(/not a usable WAV file/).waitFor();

      await form.getByLabel("WAV file").setInputFiles({
        name: "lobby.wav",
        mimeType: "audio/wav",
        buffer: Buffer.from(stereoWav(22050, 2)), // ~176 KB: past the API's 64 KiB default body limit
      });
      await page.getByRole("button", { name: "Upload" }).click();
      await page.getByText("Class lobby uploaded (22050 Hz, 2 ch).").waitFor();
      await page.locator('#moh-table tr[data-class="lobby"]').waitFor();
      await page.getByRole("button", { name: "Use lobby" }).click();
      await page.getByText("Held callers now hear lobby.").waitFor();
      eq(classes!.selected(), "lobby");
      await shoot(page, "moh-classes-desktop");

      page.once("dialog", (d) => d.accept());
      await page.getByRole("button", { name: "Delete lobby" }).click();
      await page.getByText("Class lobby deleted.").waitFor();
      eq(classes!.selected(), "default");
      eq(consoleErrors, []);
      ok(
        server.storage.audit.list({ actionPrefix: "moh." }).length >= 3,
        "upload, select and delete audited",
      );
    } finally {
      await browser?.close();
      await server.close();
    }
  },
});
