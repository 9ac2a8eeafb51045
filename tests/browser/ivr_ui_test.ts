/**
 * The Auto attendant page (the IVR feature's page) in chromium against an in-process server: a menu
 * is built in the form (greeting, key 1 dials 201, key 2 is dial by name, key 3 voicemail of 203, a
 * final target), saved through the API and listed; a key without its number and a broken greeting
 * recording are refused with a reason; the menu is edited and deleted.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { Buffer } from "node:buffer";
import type { Browser } from "playwright-core";
import { ivrFeature } from "../../runtime/features/ivr/mod.ts";
import { nullLogger } from "../../runtime/log/mod.ts";
import { writeWav } from "../../runtime/media/wav/mod.ts";
import { hasChromium, launchChromium, openPage, shoot, startUiServer } from "./_browser.ts";

const PASSWORD = "admin-password-1";

Deno.test({
  name: "Auto attendant page: a menu built in the form is saved, refused with reasons, edited and deleted",
  ignore: !hasChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let ivr: ReturnType<typeof ivrFeature> | undefined;
    let greetings = "";
    const server = startUiServer((storage, dataDir) => {
      greetings = `${dataDir}/prompts/ivr`;
      const quiet = () => Promise.resolve({ rate16: new Int16Array(160) });
      ivr = ivrFeature({
        db: storage.db,
        prompts: { get: quiet, say: quiet },
        log: nullLogger,
        greetingsDir: greetings,
      });
      return { features: [ivr] };
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
      await page.getByRole("link", { name: "Auto attendant" }).click();
      await page.locator("#ivr-none").waitFor();

      await page.getByLabel("Number", { exact: true }).fill("500");
      await page.getByLabel("Name").fill("Main");
      await page.getByLabel(/^Greeting/).fill("Press one for sales, two for the directory.");
      await page.getByLabel("Key 1: what happens").selectOption("dial");
      await page.getByLabel("Key 1: number").fill("201");
      await page.getByLabel("Key 2: what happens").selectOption("directory");
      await page.getByLabel("Key 3: what happens").selectOption("voicemail");
      // Key 3 without its mailbox: the page says what is missing, nothing is saved.
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByText(/needs a number/).waitFor();
      eq(ivr!.store.get("500"), undefined);
      await page.getByLabel("Key 3: number").fill("203");
      await page.getByLabel("After the last repeat: what happens").selectOption("hangup");
      // A broken recording: the menu is saved, the recording refused with the server's reason.
      await page.getByLabel(/recorded greeting/).setInputFiles({
        name: "hello.wav",
        mimeType: "audio/wav",
        buffer: Buffer.from("RIFF....WAVEjunk, not audio"),
      });
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByText(/not a usable WAV/).waitFor();
      eq(ivr!.store.get("500")?.options, {
        "1": { kind: "dial", number: "201" },
        "2": { kind: "directory" },
        "3": { kind: "application", name: "voicemail-deposit", args: { mailbox: "203" } },
      });
      eq(ivr!.store.get("500")?.final, { kind: "hangup" });
      // A good recording this time.
      const pcm = new Int16Array(8000).fill(1200);
      await page.getByLabel(/recorded greeting/).setInputFiles({
        name: "hello.wav",
        mimeType: "audio/wav",
        buffer: Buffer.from(writeWav({ sampleRate: 8000, channels: 1 }, pcm)),
      });
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByText("Menu 500 saved with its recorded greeting.").waitFor();
      ok(Deno.statSync(`${greetings}/500.wav`).isFile);
      await page.locator('#ivr-table tr[data-menu="500"]').getByText(/Dial by name/).waitFor();
      await shoot(page, "ivr-menus");

      // Edit: the form is filled from the menu; key 1 now goes to menu 501.
      await page.getByRole("button", { name: "Edit menu 500" }).click();
      eq(await page.getByLabel("Key 1: number").inputValue(), "201");
      await page.getByLabel("Key 1: what happens").selectOption("menu");
      await page.getByLabel("Key 1: number").fill("501");
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByText("Menu 500 saved.").waitFor();
      eq(ivr!.store.get("500")?.options["1"], { kind: "menu", number: "501" });

      page.once("dialog", (d) => d.accept());
      await page.getByRole("button", { name: "Delete menu 500" }).click();
      await page.getByText("Menu 500 deleted.").waitFor();
      eq(ivr!.store.get("500"), undefined);
      eq(consoleErrors, []);
    } finally {
      await browser?.close();
      await server.close();
    }
  },
});
