/**
 * Call features in chromium against the REAL appliance with sipp phones: forwarding set on the
 * Call features page takes effect on the next call (202 answers a call to 201), DND toggled there
 * makes the next call busy (486), a missing target is refused with the server's words, and the
 * dashboard's BLF board changes live (ringing, busy, idle, DND) while a sipp phone rings and answers;
 * a ring group built on the Ring groups page rings its members (a DND member is left out).
 */
import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import { hasBinary } from "../_harness/mod.ts";
import { assertOk, call, phone, startPbx } from "../sip/_setup.ts";
import { DESKTOP, hasChromium, launchChromium, PHONE, shoot } from "./_browser.ts";

Deno.test({
  name: "Call features page and BLF board: UI forwarding and DND reach the next call; the board is live",
  ignore: !(hasChromium() && hasBinary("sipp")),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const pbx = await startPbx();
    const base = pbx.app.baseUrl;
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const context = await browser.newContext({ viewport: DESKTOP });
      context.setDefaultTimeout(15_000);
      const page = await context.newPage();
      const consoleErrors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
          consoleErrors.push(m.text());
        }
      });
      const step = (name: string, fn: () => Promise<void>) =>
        t.step(name, async () => {
          try {
            await fn();
          } catch (e) {
            (e as Error).message += `\n--- appliance log ---\n${
              pbx.app.logs().split("\n").slice(-40).join("\n")
            }`;
            throw e;
          }
        });
      await page.goto(`${base}/login`);
      await page.getByLabel("User name").fill("admin");
      await page.getByLabel("Password").fill(pbx.app.adminPassword);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL(`${base}/`);

      await step(
        "forward 201 always to 202 on the page; the next call to 201 is answered by 202",
        async () => {
          await page.getByRole("link", { name: "Call features" }).click();
          await page.getByRole("button", { name: "Edit forwarding of 201" }).click();
          await page.getByLabel("Forward every call to").fill("299");
          await page.getByRole("button", { name: "Save" }).first().click();
          await page.getByText("forward target 299 is not in the number plan").waitFor();
          await page.getByLabel("Forward every call to").fill("202");
          await page.getByRole("button", { name: "Save" }).first().click();
          await page.getByText("Saved for 201.").waitFor();
          await page.locator('#cf-table tr[data-extension="201"] td[data-label="Forward always"]', {
            hasText: "202",
          })
            .waitFor();
          await using bob = await phone(pbx, "202", "uas_answer.xml");
          assertOk(await call(pbx, "203", "201", "uac_short_call.xml"), "203 -> 201 forwarded");
          assertOk(await bob.done, "202 answered");
        },
      );

      await step("DND on for 202 on the page (forward cleared): the next call to 202 is busy", async () => {
        await page.getByRole("button", { name: "Edit forwarding of 201" }).click();
        await page.getByLabel("Forward every call to").fill("");
        await page.getByRole("button", { name: "Save" }).first().click();
        await page.getByText("Saved for 201.").waitFor();
        await page.getByRole("button", { name: "Do not disturb on for 202" }).click();
        await page.getByText("Do not disturb on for 202.").waitFor();
        assertOk(await call(pbx, "203", "202", "uac_busy.xml"), "486 while 202 is on DND");
        await page.getByRole("button", { name: "Do not disturb off for 202" }).click();
        await page.getByText("Do not disturb off for 202.").waitFor();
      });

      await step("the dashboard's BLF board: 201 rings, talks, hangs up, goes DND, live", async () => {
        await page.getByRole("link", { name: "Dashboard" }).click();
        await page.waitForURL(`${base}/`);
        const tile = (n: string) => page.locator(`#blf-board li[data-extension="${n}"]`);
        await tile("201").waitFor();
        await using alice = await phone(pbx, "201", "uas_ring_answer_hangup.xml");
        await page.locator('#blf-board li[data-extension="201"][data-state="idle"]').waitFor();
        const talking = call(pbx, "203", "201", "uac_call_bye_from_callee.xml");
        await page.locator('#blf-board li[data-extension="201"][data-state="ringing"]').waitFor();
        await page.locator('#blf-board li[data-extension="201"][data-state="busy"]').waitFor();
        await shoot(page, "blf-board", page.locator("#blf-card"));
        assertOk(await talking, "the call");
        assertOk(await alice.done, "201 answered and hung up");
        await page.locator('#blf-board li[data-extension="201"][data-state="idle"]').waitFor();
        await pbx.api.put("/api/callfeatures/extensions/201", { dnd: true });
        await page.locator('#blf-board li[data-extension="201"][data-state="dnd"]').waitFor();
        await page.setViewportSize(PHONE);
        const box = await tile("201").boundingBox();
        assert.ok(box && box.width < PHONE.width / 2, "two or more tiles per row on a phone");
      });
      await step(
        "a ring group built on the Ring groups page rings its members; a DND member is left out",
        async () => {
          await page.setViewportSize(DESKTOP);
          await pbx.api.put("/api/callfeatures/extensions/201", { dnd: false });
          await page.getByRole("link", { name: "Ring groups" }).click();
          await page.getByLabel("Number").fill("600");
          await page.getByLabel("Name").fill("Sales");
          await page.getByLabel("Members").fill("");
          await page.getByRole("button", { name: "Save ring group" }).click();
          await page.getByText("a ring group needs at least one member").waitFor();
          await page.getByLabel("Members").fill("201, 202");
          await page.getByRole("button", { name: "Save ring group" }).click();
          await page.getByText("Ring group 600 saved.").waitFor();
          await page.locator('#rg-table tr[data-number="600"]').waitFor();
          {
            await using alice = await phone(pbx, "201", "uas_ring_no_answer.xml");
            await using bob = await phone(pbx, "202", "uas_answer.xml");
            assertOk(await call(pbx, "203", "600", "uac_short_call.xml"), "203 -> ring group 600");
            assertOk(await alice.done, "201 rang and was cancelled when 202 answered");
            assertOk(await bob.done, "202 answered");
          }
          await pbx.api.put("/api/callfeatures/extensions/201", { dnd: true });
          {
            await using bob = await phone(pbx, "202", "uas_answer.xml");
            assertOk(await call(pbx, "203", "600", "uac_short_call.xml"), "only 202 rings now");
            assertOk(await bob.done, "202 answered");
          }
          await pbx.api.put("/api/callfeatures/extensions/202", { dnd: true });
          assertOk(await call(pbx, "203", "600", "uac_unavailable.xml"), "every member on DND: 480");
          assert.match(pbx.app.logs(), /ring group has no member to ring group=600/);
        },
      );
      assert.deepEqual(consoleErrors, []);
    } finally {
      await browser?.close();
      await pbx.app.stop();
    }
  },
});
