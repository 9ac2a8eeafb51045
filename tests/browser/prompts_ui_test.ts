/**
 * The Prompts page in chromium against an in-process server: the catalogue is listed with each
 * prompt's text, a broken upload shows the server's words for what is wrong, a 22.05 kHz WAV replaces
 * a prompt (listed as a recording, audio served) and "Revert" gives it back to the voice.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { Buffer } from "node:buffer";
import type { Browser } from "playwright-core";
import { PromptLibrary } from "../../runtime/media/prompts/mod.ts";
import { writeWav } from "../../runtime/media/wav/mod.ts";
import { hasChromium, launchChromium, openPage, shoot, startUiServer } from "./_browser.ts";

const PASSWORD = "admin-password-1";

function wav(rate: number, seconds: number): Uint8Array {
  const n = Math.round(rate * seconds);
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = Math.round(6000 * Math.sin(i / 5));
  return writeWav({ sampleRate: rate, channels: 1 }, pcm);
}

Deno.test({
  name:
    "Prompts page: the catalogue, a bad upload refused with its reason, a recording replaces a prompt and is reverted",
  ignore: !hasChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let prompts: PromptLibrary | undefined;
    const server = startUiServer((_storage, dataDir) => {
      // A stand-in voice (a short tone per prompt): the page, not flite, is under test here.
      prompts = new PromptLibrary(dataDir, {
        synthesize: () => Promise.resolve({ sampleRate: 16000, samples: new Int16Array(3200).fill(1000) }),
      });
      return { prompts };
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
      await page.getByRole("link", { name: "Prompts" }).click();
      const row = page.locator('#prompt-table tr[data-prompt="vm-leave-message"]');
      await row.waitFor();
      ok(/leave a message/i.test(await row.innerText()), "the prompt's text is shown");
      ok((await row.innerText()).includes("text-to-speech"));

      const form = page.locator("#prompt-form");
      await form.getByLabel("Prompt").selectOption("vm-leave-message");
      await form.getByLabel("WAV file").setInputFiles({
        name: "bad.wav",
        mimeType: "audio/wav",
        buffer: Buffer.from("RIFF....WAVEjunk, not audio"),
      });
      await page.getByRole("button", { name: "Upload" }).click();
      await page.getByText(/WAV/).filter({ hasNotText: "Upload" }).first().waitFor();
      const said = await page.locator("[role=alert], [role=status], .message").allInnerTexts();
      ok(
        said.some((t) => /WAV|RIFF|fmt|truncated|data/i.test(t)),
        `the reason is shown: ${said.join(" | ")}`,
      );
      eq((await prompts!.list()).find((p) => p.id === "vm-leave-message")?.overridden, false);

      await form.getByLabel("WAV file").setInputFiles({
        name: "leave.wav",
        mimeType: "audio/wav",
        buffer: Buffer.from(wav(22050, 1.5)), // ~66 KB: past the API's 64 KiB default body limit
      });
      await page.getByRole("button", { name: "Upload" }).click();
      await page.getByText(/vm-leave-message replaced by the recording \(22050 Hz/).waitFor();
      await row.getByText(/recording: 22050 Hz/).waitFor();
      const audio = await page.evaluate(async () => {
        const res = await fetch("/api/prompts/vm-leave-message/audio?rate=16000");
        return { status: res.status, type: res.headers.get("content-type") };
      });
      eq(audio, { status: 200, type: "audio/wav" });
      await shoot(page, "prompts");

      await page.getByRole("button", { name: "Revert vm-leave-message" }).click();
      await page.getByText("vm-leave-message is spoken by the voice again.").waitFor();
      eq((await prompts!.list()).find((p) => p.id === "vm-leave-message")?.overridden, false);
      eq(consoleErrors, []);
    } finally {
      await browser?.close();
      await server.close();
    }
  },
});
