/**
 * Call and pickup groups on the Extensions page in chromium against an in-process server: the edit
 * panel shows the default group 1, a malformed group name is refused with the server's reason, and
 * the saved groups are stored in the extension's options beside its SRTP policy. (The groups at
 * work on calls: tests/sip/pickup_groups_e2e_test.ts.)
 */
import { deepStrictEqual as eq } from "node:assert";
import type { Browser } from "playwright-core";
import { hasChromium, launchChromium, openPage, startUiServer } from "./_browser.ts";

const PASSWORD = "admin-password-1";

Deno.test({
  name: "Extensions page: call and pickup groups edited, refused when malformed, stored in the options",
  ignore: !hasChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = startUiServer();
    let browser: Browser | undefined;
    try {
      server.storage.extensions.create(
        { number: "201", name: "Reception", password: "Tiger-Lake-91" },
        "pbx",
      );
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
      await page.goto(`${server.url}/extensions`);
      await page.locator('#ext-table tr[data-number="201"] button', { hasText: "Edit" }).click();
      const callGroups = page.getByLabel(/^Call groups/);
      const pickupGroups = page.getByLabel(/^Pickup groups/);
      // The panel is filled once the extension's GET answers: wait for it, not for the click.
      await page.waitForFunction(() =>
        (document.querySelector("#edit-number-input") as HTMLInputElement | null)?.value === "201"
      );
      eq(await callGroups.inputValue(), "1");
      eq(await pickupGroups.inputValue(), "1");
      await pickupGroups.fill("sales, bad group");
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByText(/pickupGroups must be a list/).waitFor();
      await callGroups.fill("sales, night");
      await pickupGroups.fill("sales");
      await page.getByLabel("Encrypted media (SRTP; keys only over TLS)").selectOption("required");
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByText("Extension 201 saved.").waitFor();
      eq(server.storage.extensions.get("201")?.options, {
        srtp: "required",
        sipTransport: "udp",
        srtpKeying: "sdes",
        callGroups: ["sales", "night"],
        pickupGroups: ["sales"],
      });
      await page.locator('#ext-table tr[data-number="201"] button', { hasText: "Edit" }).click();
      eq(await callGroups.inputValue(), "sales, night");
      eq(consoleErrors, []);
    } finally {
      await browser?.close();
      await server.close();
    }
  },
});
