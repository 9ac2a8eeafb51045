/**
 * The Paging page in chromium against an in-process server with a fake paging service: zones with
 * an output picked from the device list, groups (zone checkboxes), who may page, a bell sound
 * upload, scheduled bells with weekdays and exception dates, and live zone states arriving over
 * SSE on the Paging page and the dashboard without a reload.
 */
import { writeWav } from "../../runtime/media/wav/mod.ts";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Browser } from "playwright-core";
import type { ZoneStatus } from "../../runtime/features/paging/mod.ts";
import { readWav } from "../../runtime/media/wav/mod.ts";
import type { PagingControl } from "../../web/api_paging.ts";
import { DESKTOP, hasChromium, launchChromium, shoot, startUiServer, type UiServer } from "./_browser.ts";

const ADMIN_PW = "paging-admin-password";

/** A small valid WAV (runtime/media/wav's writer): 16-bit mono PCM silence at 8 kHz, `ms` long. */
function wav(ms: number): Uint8Array {
  return writeWav({ sampleRate: 8000, channels: 1 }, new Int16Array((8000 * ms) / 1000));
}

Deno.test({
  name: "paging page in chromium: zones, groups, permissions, sound upload, bells, live zone states over SSE",
  ignore: !hasChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const soundsRoot = Deno.makeTempDirSync({ prefix: "pbx-browser-sounds-" });
    const states = new Map<string, ZoneStatus>();
    const calls: string[] = [];
    const control: PagingControl = {
      status: () => [...states.values()],
      nextBells: () => ({}),
      reloadSchedules: () => calls.push("reload"),
      testTone: (zone) => {
        calls.push(`tone ${zone}`);
        return Promise.resolve({ outcome: "completed", detail: "" });
      },
    };
    let server: UiServer | undefined;
    let browser: Browser | undefined;
    try {
      server = startUiServer({
        paging: control,
        audioDevices: () => [
          { name: "hw:CARD=USB,DEV=0", description: "USB Audio, USB Audio" },
          { name: "hw:CARD=PCH,DEV=0", description: "HDA Intel PCH, ALC887 Analog" },
        ],
        soundsDir: `${soundsRoot}/sounds`,
        inspectWav: (bytes) => {
          const w = readWav(bytes);
          return {
            sampleRate: w.sampleRate,
            channels: w.channels,
            durationMs: (w.samples.length / w.sampleRate) * 1000,
          };
        },
      });
      const { url: base, storage, live } = server;
      await storage.users.create({ username: "admin", role: "admin", password: ADMIN_PW });
      browser = await launchChromium();
      const context = await browser.newContext({ viewport: DESKTOP });
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();
      page.on("dialog", (d) => void d.accept());
      const consoleErrors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") consoleErrors.push(m.text());
      });
      await page.goto(`${base}/login`);
      await page.getByLabel("User name").fill("admin");
      await page.getByLabel("Password").fill(ADMIN_PW);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL(`${base}/`);
      await page.goto(`${base}/paging`);
      await page.getByText("No zones configured.").waitFor();

      await t.step("zones: the output list comes from the device listing; add, edit, delete", async () => {
        await page.getByText("2 audio outputs found").waitFor();
        const options = await page.locator("#zone-devices option").evaluateAll((os) =>
          os.map((o) => (o as HTMLOptionElement).value)
        );
        assert.deepEqual(options, ["hw:CARD=USB,DEV=0", "hw:CARD=PCH,DEV=0"]);
        const form = page.locator("#zone-form");
        for (const [number, name] of [["71", "Hall"], ["74", "Yard"], ["75", "Spare"]]) {
          await form.getByLabel("Zone number (dial code)").fill(number!);
          await form.getByLabel("Name", { exact: true }).fill(name!);
          await form.getByLabel(/Audio output/).fill("hw:CARD=USB,DEV=0");
          await form.getByLabel(/Output channels/).fill(number === "71" ? "1, 2" : "1");
          await form.getByLabel("Volume (0-100)").fill("70");
          await form.getByRole("button", { name: "Save zone" }).click();
          await page.locator(`#zones-table tr[data-zone="${number}"]`).waitFor();
        }
        const hall = storage.paging.getZone("71")!;
        assert.deepEqual([hall.alsaDevice, hall.channels, hall.volume, hall.enabled], [
          "hw:CARD=USB,DEV=0",
          [1, 2],
          70,
          true,
        ]);
        await page.getByRole("button", { name: "Edit zone 74" }).click();
        assert.equal(await form.getByLabel("Name", { exact: true }).inputValue(), "Yard");
        await form.getByLabel("Volume (0-100)").fill("40");
        await form.getByLabel("Enabled").uncheck();
        await form.getByRole("button", { name: "Save zone" }).click();
        await page.getByText("Zone 74 saved.").waitFor();
        assert.equal(storage.paging.getZone("74")?.volume, 40);
        assert.equal(storage.paging.getZone("74")?.enabled, false);
        await page.getByRole("button", { name: "Delete zone 75" }).click();
        await page.getByText("Zone 75 deleted.").waitFor();
        assert.equal(storage.paging.getZone("75"), undefined);
        await page.getByRole("button", { name: "Play a test tone in zone 71" }).click();
        await page.getByText("Test tone in zone 71: completed.").waitFor();
      });

      await t.step("groups: pick zones with checkboxes, edit and see the change stored", async () => {
        const form = page.locator("#group-form");
        await form.getByLabel("Group number (dial code)").fill("76");
        await form.getByLabel("Name", { exact: true }).fill("Everywhere");
        await page.getByRole("button", { name: "Save group" }).click();
        await page.getByText("choose at least one zone for the group").waitFor();
        await form.getByLabel("71 Hall").check();
        await form.getByLabel("74 Yard").check();
        await page.getByRole("button", { name: "Save group" }).click();
        await page.locator('#groups-table tr[data-group="76"]').waitFor();
        assert.deepEqual(storage.paging.getGroup("76")?.zones, ["71", "74"]);
        await page.getByRole("button", { name: "Edit group 76" }).click();
        assert.equal(await form.getByLabel("74 Yard").isChecked(), true);
        await form.getByLabel("74 Yard").uncheck();
        await page.getByRole("button", { name: "Save group" }).click();
        // "Group 76 saved." is already on screen from the first save: wait
        // for the table row to show the edited zones instead.
        await page.locator('#groups-table tr[data-group="76"] td:nth-child(3)', { hasNotText: "Yard" })
          .waitFor();
        assert.deepEqual(storage.paging.getGroup("76")?.zones, ["71"]);
      });

      await t.step("who may page: set targets for an extension, then remove them", async () => {
        const form = page.locator("#perm-form");
        await form.getByLabel("Extension").fill("201");
        await form.getByLabel("76 Everywhere (group)").check();
        await form.getByLabel("74 Yard").check();
        await page.getByRole("button", { name: "Save permissions" }).click();
        await page.locator('#perm-table tr[data-extension="201"]').waitFor();
        assert.deepEqual(storage.paging.permissions("201"), ["74", "76"]);
        await form.getByLabel("Extension").fill("202");
        await form.getByLabel("All zones").check();
        await page.getByRole("button", { name: "Save permissions" }).click();
        await page.locator('#perm-table tr[data-extension="202"]').waitFor();
        assert.deepEqual(storage.paging.permissions("202"), ["*"]);
        await page.getByRole("button", { name: "Remove paging rights of extension 201" }).click();
        await page.getByText("Extension 201 may no longer page.").waitFor();
        assert.deepEqual(storage.paging.permissions("201"), []);
      });

      await t.step(
        "sounds: a bad file is refused; a WAV uploads and is chosen for the next bell",
        async () => {
          const form = page.locator("#sound-form");
          await form.getByLabel(/WAV file/).setInputFiles({
            name: "notes.wav",
            mimeType: "audio/wav",
            buffer: Buffer.from("not a wav at all, just text"),
          });
          await page.getByRole("button", { name: "Upload sound" }).click();
          await page.getByText(/not a playable WAV file/).waitFor();
          await form.getByLabel(/WAV file/).setInputFiles({
            name: "bell.wav",
            mimeType: "audio/wav",
            buffer: Buffer.from(wav(1500)),
          });
          await page.getByRole("button", { name: "Upload sound" }).click();
          await page.getByText("Sound bell.wav uploaded (1.5 s)").waitFor();
          await page.locator('#sounds-list li[data-sound="bell.wav"]').waitFor();
          assert.match(await page.locator("#sched-wav").inputValue(), /\/sounds\/bell\.wav$/);
        },
      );

      await t.step("bells: weekdays, time and exception dates; edit and delete", async () => {
        const form = page.locator("#sched-form");
        await form.getByLabel("Name", { exact: true }).fill("Morning");
        await form.getByLabel("Zone or group").selectOption("76");
        await form.getByLabel("Fri").uncheck();
        await form.getByLabel("Time").fill("08:15");
        await form.getByLabel(/Dates without the bell/).fill("2026-12-24, 2026-12-25");
        await page.getByRole("button", { name: "Save bell" }).click();
        await page.getByText("Bell Morning saved.").waitFor();
        const [s] = storage.paging.listSchedules();
        assert.ok(s);
        assert.deepEqual(
          [s.target, s.weekdays, s.time, s.exceptions, s.enabled],
          ["76", [1, 2, 3, 4], "08:15", ["2026-12-24", "2026-12-25"], true],
        );
        assert.match(s.wavPath, /\/sounds\/bell\.wav$/);
        await page.locator(`#sched-table tr[data-schedule="${s.id}"]`).waitFor();
        await page.getByRole("button", { name: "Edit bell Morning" }).click();
        await form.getByLabel("Time").fill("09:30");
        await form.getByLabel("Sat").check();
        await page.getByRole("button", { name: "Save bell" }).click();
        await page.getByText("Bell Morning saved.").waitFor();
        await page.waitForFunction(() =>
          document.querySelector("#sched-table tbody")?.textContent?.includes("09:30")
        );
        assert.equal(storage.paging.listSchedules().length, 1, "editing does not add a second bell");
        assert.deepEqual(storage.paging.listSchedules()[0]?.weekdays, [1, 2, 3, 4, 6]);
        // A bell's sound cannot be deleted while the bell uses it.
        await page.getByRole("button", { name: "Delete sound bell.wav" }).click();
        await page.getByText(/used by schedule "Morning"/).waitFor();
        await shoot(page, "paging");
        await page.getByRole("button", { name: "Delete bell Morning" }).click();
        await page.getByText("Bell Morning deleted.").waitFor();
        assert.equal(storage.paging.listSchedules().length, 0);
        assert.deepEqual(calls.filter((c) => c === "reload").length, 3);
      });

      await t.step("zone states follow the live 'zones' events without a reload", async () => {
        await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 7));
        states.set("71", { number: "71", name: "Hall", state: "paging" } as ZoneStatus);
        live.emit("zones");
        await page.locator('#zones-table tr[data-zone="71"] td.zone-state').filter({ hasText: "paging" })
          .waitFor();
        states.set(
          "71",
          { number: "71", name: "Hall", state: "faulty", fault: "no such device" } as ZoneStatus,
        );
        live.emit("zones");
        await page.locator('#zones-table tr[data-zone="71"] td.zone-state').filter({
          hasText: "no such device",
        })
          .waitFor();
        assert.equal(await page.evaluate(() => (globalThis as unknown as { marker: number }).marker), 7);

        await page.getByRole("link", { name: "Dashboard" }).click();
        await page.waitForURL(`${base}/`);
        await page.getByText("Live: updates appear as they happen.").waitFor();
        await page.locator('#zones-list li[data-zone="71"]').filter({ hasText: "no such device" }).waitFor();
        await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 8));
        states.set("71", { number: "71", name: "Hall", state: "paging" } as ZoneStatus);
        live.emit("zones");
        await page.locator('#zones-list li[data-zone="71"]').filter({ hasText: "Hall: paging" }).waitFor();
        states.set("71", { number: "71", name: "Hall", state: "idle" } as ZoneStatus);
        live.emit("zones");
        await page.locator('#zones-list li[data-zone="71"]').filter({ hasText: "Hall: idle" }).waitFor();
        assert.equal(await page.evaluate(() => (globalThis as unknown as { marker: number }).marker), 8);
      });

      assert.deepEqual(
        consoleErrors.filter((e) => !/status of 4\d\d|Failed to load resource/.test(e)),
        [],
        "no script errors (CSP violations show up here)",
      );
    } finally {
      await browser?.close();
      await server?.close();
      Deno.removeSync(soundsRoot, { recursive: true });
    }
  },
});
