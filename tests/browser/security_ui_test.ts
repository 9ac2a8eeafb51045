/**
 * The Security page in chromium against the real appliance: a SIP source blocked by sipp with a
 * wrong password and a web address locked by failed logins are listed and unblocked with the
 * buttons; the allow-list is saved, and a malformed network is refused with a message.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import type { Browser } from "playwright-core";
import { runSipp, startAppliance } from "../_harness/mod.ts";
import { DESKTOP, hasChromium, launchChromium, shoot } from "./_browser.ts";

Deno.test({
  name: "Security page: SIP and web blocks listed and unblocked, allow-list saved and validated",
  ignore: !hasChromium(),
  // playwright-core's Node-compat internals keep timers/sockets of their own between steps.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using app = await startAppliance({ env: { PBX_AUTH_BLOCK_AFTER: "2" } });
    const base = app.baseUrl;
    const admin = await app.adminApi();
    await admin.createExtension({ number: "201", name: "A", password: "Tiger-Lake-91" });
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const context = await browser.newContext({ viewport: DESKTOP });
      context.setDefaultTimeout(15_000);
      const page = await context.newPage();
      const consoleErrors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") consoleErrors.push(m.text());
      });
      await page.goto(`${base}/login`);
      await page.getByLabel("User name").fill("admin");
      await page.getByLabel("Password").fill(app.adminPassword);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL(`${base}/`);

      // Now block 127.0.0.1 for SIP (wrong password twice) and for web logins (5 failures).
      for (let i = 0; i < 2; i++) {
        await runSipp({
          scenario: "register_wrong_password.xml",
          target: `127.0.0.1:${app.sipPort}`,
          user: "201",
          password: "bad",
        });
      }
      for (let i = 0; i < 5; i++) {
        const r = await fetch(`${base}/api/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: "admin", password: "wrong-password" }),
        });
        await r.body?.cancel();
      }

      await t.step("both blocks are listed and each is lifted with its button", async () => {
        await page.goto(`${base}/security`);
        await page.getByRole("button", { name: "Unblock 127.0.0.1" }).first().waitFor();
        eq(await page.locator("#blocks-table tbody tr").count(), 2);
        await shoot(page, "security-blocks");
        await page.getByRole("button", { name: "Unblock 127.0.0.1" }).first().click();
        await page.getByText("127.0.0.1 unblocked.").waitFor();
        await page.waitForFunction(() => document.querySelectorAll("#blocks-table tbody tr").length === 1);
        await page.getByRole("button", { name: "Unblock 127.0.0.1" }).click();
        await page.locator("#blocks-empty").waitFor();
        const { items } = await admin.get<{ items: unknown[] }>("/api/security/blocks");
        eq(items, []);
        await page.locator("#security-events").getByText("security.unblock").first().waitFor();
        await page.locator("#security-events").getByText("security.sip.source-blocked").waitFor();
      });

      await t.step("the allow-list is saved; a malformed network is refused with a message", async () => {
        await page.getByLabel("Networks (CIDR)").fill("192.168.10.0/24\n10.0.0.0/8");
        await page.getByRole("button", { name: "Save allow-list" }).click();
        await page.getByText("Allow-list saved (2 networks).").waitFor();
        eq((await admin.get<{ networks: string[] }>("/api/security/allow-list")).networks, [
          "192.168.10.0/24",
          "10.0.0.0/8",
        ]);
        await page.getByLabel("Networks (CIDR)").fill("10.0.0.0/33");
        await page.getByRole("button", { name: "Save allow-list" }).click();
        await page.getByText(/prefix of "10.0.0.0\/33" must be at most 32/).waitFor();
        eq((await admin.get<{ networks: string[] }>("/api/security/allow-list")).networks.length, 2);
      });
      ok(consoleErrors.filter((e) => !e.includes("400")).length === 0, consoleErrors.join("\n"));
    } finally {
      await browser?.close();
    }
  },
});
