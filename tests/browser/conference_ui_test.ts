/**
 * The conference page (runtime/features/conference) in chromium against an in-process server: a
 * room is created from the form (a bad PIN gets the server's reason), and the live participant
 * list follows the room over SSE: who is talking, mute (the leg is muted in its mix), kick (the
 * call ends), lock. Participants are stand-in legs: the real calls are in tests/conference.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import type { Browser } from "playwright-core";
import type { CallLeg } from "../../runtime/call/mod.ts";
import { conferenceFeature } from "../../runtime/features/conference/mod.ts";
import { nullLogger } from "../../runtime/log/mod.ts";
import { hasChromium, launchChromium, openPage, shoot, startUiServer } from "./_browser.ts";

const PASSWORD = "admin-password-1";

/** A stand-in leg that remembers what the page made the room do to it. */
function fakeLeg(caller: string, log: string[]): CallLeg {
  return {
    info: { caller, dialled: "850", receivedAt: 0, codec: "G722/8000" },
    muteInMix: (muted: boolean) => {
      log.push(`${caller} ${muted ? "muted" : "unmuted"}`);
      return Promise.resolve();
    },
    hangup: (reason?: string) => void log.push(`${caller} hangup ${reason}`),
  } as unknown as CallLeg;
}

Deno.test({
  name: "Conference page: create a room, live participants (talking), mute, kick and lock from the browser",
  ignore: !hasChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let conf: ReturnType<typeof conferenceFeature> | undefined;
    const server = startUiServer((storage) => {
      conf = conferenceFeature({
        db: storage.db,
        prompts: { say: () => Promise.reject(new Error("no speech in this test")) },
        log: nullLogger,
      });
      return { features: [conf] };
    });
    let browser: Browser | undefined;
    const done: string[] = [];
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
      await page.getByRole("link", { name: "Conference" }).click();
      await page.getByText("Live.").waitFor();

      const form = page.locator("#conf-form");
      await form.getByLabel("Number").fill("850");
      await form.getByLabel("Name").fill("Standup");
      await form.getByLabel(/^PIN/).fill("12");
      await form.getByLabel(/^Moderator PIN/).fill("12");
      await page.getByRole("button", { name: "Save room" }).click();
      await page.getByText("pin and moderatorPin must differ").waitFor();
      await form.getByLabel(/^Moderator PIN/).fill("99");
      await page.getByRole("button", { name: "Save room" }).click();
      await page.getByText("Room 850 saved.").waitFor();
      await page.locator('#conf-rooms tr[data-room="850"]').waitFor();

      const rooms = conf!.rooms;
      const alice = rooms.add("850", {
        leg: fakeLeg("201", done),
        caller: "201",
        codec: "G722/8000",
        joinedAt: Date.now(),
        muted: false,
        talking: false,
        moderator: true,
      });
      rooms.add("850", {
        leg: fakeLeg("202", done),
        caller: "202",
        codec: "PCMU/8000",
        joinedAt: Date.now(),
        muted: false,
        talking: false,
        moderator: false,
      });
      const aliceRow = page.locator(`#conf-people tr[data-participant="${alice}"]`);
      await aliceRow.waitFor();
      rooms.setTalking("850", alice, true);
      await aliceRow.getByText("talking", { exact: true }).waitFor();
      await aliceRow.getByText("moderator").waitFor();
      await shoot(page, "conference-live");

      await page.getByRole("button", { name: "Mute 202" }).click();
      await page.getByText("202 muted.").waitFor();
      await page.getByRole("button", { name: "Unmute 202" }).waitFor();
      page.once("dialog", (d) => d.accept());
      await page.getByRole("button", { name: "Kick 202" }).click();
      await page.getByText("202 removed.").waitFor();
      await page.getByRole("button", { name: "Lock room 850" }).click();
      await page.getByText("Room locked.").waitFor();
      await page.getByRole("button", { name: "Unlock room 850" }).waitFor();
      eq(rooms.isLocked("850"), true);
      eq(done, ["202 muted", "202 hangup kicked from the conference"]);
      eq(consoleErrors.filter((e) => !/400/.test(e)), []);
      ok(
        server.storage.audit.list({ actionPrefix: "conference." }).length >= 3,
        "room, mute, kick, lock audited",
      );
    } finally {
      await browser?.close();
      await server.close();
    }
  },
});
