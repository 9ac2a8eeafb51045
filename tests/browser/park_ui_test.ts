/**
 * The Call park page (runtime/features/park) in chromium against the real appliance: the settings
 * form refuses a recall destination that is not in the number plan (the server's reason shown) and
 * saves a timeout and park keys per slot; a sipp call parked by blind transfer (201 transfers 202 to 700) appears in slot
 * 701 without a reload (SSE: slot, parked caller, who parked it, since when) and disappears when 203
 * retrieves it by dialling 701.
 */
import { deepStrictEqual as eq } from "node:assert";
import type { Browser } from "playwright-core";
import { hasBinary, runSipp } from "../_harness/mod.ts";
import { hasChromium, launchChromium, openPage, shoot } from "./_browser.ts";
import { assertOk, EXT, phone, startPbx } from "../sip/_setup.ts";
import { pickerScenario } from "../sip/_attended.ts";

Deno.test({
  name: "Call park page: settings refused and saved; a parked sipp call appears in its slot live and leaves",
  ignore: !hasChromium() || !hasBinary("sipp"),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const tmp = Deno.makeTempDirSync({ prefix: "pbx-park-ui-" });
    const pbx = await startPbx({ PBX_PARK_SECONDS: "300" });
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const { page, consoleErrors } = await openPage(browser);
      const base = pbx.app.baseUrl;
      await page.goto(`${base}/login`);
      await page.getByLabel("User name").fill("admin");
      await page.getByLabel("Password").fill(pbx.app.adminPassword);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL(`${base}/`);
      await page.getByRole("link", { name: "Call park" }).click();
      await page.waitForURL(`${base}/park`);
      await page.getByText("Live.").waitFor();
      await page.getByText("No call is parked.").waitFor();
      eq(await page.getByLabel("First slot").inputValue(), "701");

      await page.getByLabel(/^Recall destination/).fill("999");
      await page.getByRole("button", { name: "Save park settings" }).click();
      await page.getByText("recallTo: 999 is not in the number plan").waitFor();
      await page.getByLabel(/^Recall destination/).fill("");
      await page.getByLabel("Seconds before a parked call rings back").fill("240");
      await page.getByLabel("Park keys on phones").selectOption("slots");
      await page.getByRole("button", { name: "Save park settings" }).click();
      await page.getByText("Park settings saved.").waitFor();
      await page.getByText(/Recall after 240 s to the extension that parked/).waitFor();
      eq((await pbx.api.get<{ settings: { phoneKeys: string } }>("/api/park")).settings.phoneKeys, "slots");

      await using parked = await phone(pbx, "202", "uas_answer.xml");
      assertOk(
        await runSipp({
          scenario: "uac_refer_blind.xml",
          target: pbx.target,
          user: "201",
          password: EXT["201"],
          service: "202",
          keys: { refer_to: "700" },
          timeoutSec: 40,
        }),
        "201 parks 202",
      );
      const slot = page.locator('#park-table tr[data-slot="701"]');
      await slot.getByRole("cell", { name: "202", exact: true }).waitFor();
      await slot.getByRole("cell", { name: "201", exact: true }).waitFor();
      await page.getByText("1 of 8 in use").waitFor();
      await shoot(page, "park-slots");

      Deno.writeTextFileSync(`${tmp}/retrieve.xml`, pickerScenario("", 200, 1000));
      assertOk(
        await runSipp({
          scenario: `${tmp}/retrieve.xml`,
          target: pbx.target,
          user: "203",
          password: EXT["203"],
          service: "701",
          timeoutSec: 40,
        }),
        "203 retrieves 701",
      );
      await slot.waitFor({ state: "detached" });
      await page.getByText("No call is parked.").waitFor();
      assertOk(await parked.done, "202 got BYE after 203 hung up");
      eq(consoleErrors, []);
    } finally {
      await browser?.close();
      await pbx.app.stop();
      Deno.removeSync(tmp, { recursive: true });
    }
  },
});
