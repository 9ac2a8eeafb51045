/**
 * The visual voicemail page (runtime/features/voicemail's page at /voicemail) in chromium against an
 * in-process server: a stored message is listed, its audio loads in the browser's <audio> element,
 * it is marked read, a broken greeting upload shows the server's reason, and the message is deleted.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { Buffer } from "node:buffer";
import type { Browser } from "playwright-core";
import { voicemailFeature } from "../../runtime/features/voicemail/mod.ts";
import { nullLogger } from "../../runtime/log/mod.ts";
import { writeWav } from "../../runtime/media/wav/mod.ts";
import { realClock } from "../../runtime/clock/mod.ts";
import { hasChromium, launchChromium, openPage, startUiServer } from "../browser/_browser.ts";

const PASSWORD = "admin-password-1";

Deno.test({
  name:
    "Voicemail page: lists a message, plays it in the browser, marks it read, refuses a bad greeting, deletes",
  ignore: !hasChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let vm: ReturnType<typeof voicemailFeature> | undefined;
    const mwi: [string, number][] = [];
    const server = startUiServer((storage, dataDir) => {
      vm = voicemailFeature({
        db: storage.db,
        dataDir,
        clock: realClock,
        exists: (n) => n === "201",
        prompts: {
          get: () => Promise.reject(new Error("no tts")),
          say: () => Promise.reject(new Error("no tts")),
        },
        mwi: (m, c) => void mwi.push([m, c.newMessages]),
        log: nullLogger,
      });
      return { features: [vm] };
    });
    let browser: Browser | undefined;
    try {
      const store = vm!.store;
      store.mailbox("201");
      Deno.mkdirSync(store.dir("201"), { recursive: true });
      const path = `${store.dir("201")}/msg-ui.wav`;
      const pcm = new Int16Array(12000).map((_, i) => Math.round(5000 * Math.sin(i / 5)));
      Deno.writeFileSync(path, writeWav({ sampleRate: 8000, channels: 1 }, pcm));
      const m = store.addMessage({ mailbox: "201", caller: "202", durationMs: 1500, path });

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
      // The link of a new-message mail opens the mailbox with that message marked.
      await page.goto(`${server.url}/voicemail?mailbox=201&message=${m.id}`);
      await page.locator(`#vm-table tr.linked[data-message="${m.id}"]`).waitFor();
      await page.getByRole("link", { name: "Voicemail" }).click();
      const tr = page.locator(`#vm-table tr[data-message="${m.id}"]`);
      await tr.waitFor();
      ok((await tr.textContent())!.includes("202"));
      // The browser decodes the WAV from the API (the same request a click on play makes).
      const seconds = await page.evaluate(() =>
        new Promise<number>((resolve, reject) => {
          const a = document.querySelector("#vm-table audio") as HTMLAudioElement;
          a.addEventListener("loadedmetadata", () => resolve(a.duration));
          a.addEventListener("error", () => reject(new Error("audio did not load")));
          a.preload = "auto";
          a.load();
        })
      );
      ok(Math.abs(seconds - 1.5) < 0.05, `audio duration ${seconds}`);

      await page.getByRole("button", { name: `Mark read message ${m.id}` }).click();
      await page.getByRole("button", { name: `Mark unread message ${m.id}` }).waitFor();
      eq(store.message(m.id)!.read, true);
      eq(mwi.at(-1), ["201", 0]);

      const form = page.locator("#vm-greeting-form");
      await form.getByLabel(/^WAV file/).setInputFiles({
        name: "hello.wav",
        mimeType: "audio/wav",
        buffer: Buffer.from("ID3 this is an mp3, not a wav"),
      });
      await form.getByRole("button", { name: "Upload" }).click();
      await page.getByText(/not a usable WAV/).waitFor();

      page.once("dialog", (d) => d.accept());
      await page.getByRole("button", { name: `Delete message ${m.id}` }).click();
      await page.getByText("Message deleted.").waitFor();
      eq(store.messages("201").length, 0);
      eq(consoleErrors.filter((e) => !/Failed to load resource/.test(e)), []);
    } finally {
      await browser?.close();
      await server.close();
    }
  },
});
