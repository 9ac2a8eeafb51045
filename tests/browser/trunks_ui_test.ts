/**
 * The Trunks page (runtime/features/trunks) in chromium: the trunks with their live registration
 * and keepalive state, DIDs, routes, alerts, and the banner while E911 test mode is on (none after
 * it is turned off).
 */
import { ok } from "node:assert";
import type { Browser } from "playwright-core";
import { realClock } from "../../runtime/clock/mod.ts";
import { nullLogger } from "../../runtime/log/mod.ts";
import { createSecretBox } from "../../runtime/storage/mod.ts";
import {
  checkDid,
  checkE911,
  checkRoute,
  checkTrunk,
  type TrunkService,
  trunksFeature,
} from "../../runtime/features/trunks/mod.ts";
import { hasChromium, launchChromium, openPage, shoot, startUiServer } from "./_browser.ts";

const PASSWORD = "admin-password-1";

Deno.test({
  name: "Trunks page: registration and keepalive state, DIDs and routes, and the E911 test-mode banner",
  ignore: !hasChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let service: TrunkService | undefined;
    const server = startUiServer((storage, dataDir) => {
      const t = trunksFeature({
        db: storage.db,
        secrets: createSecretBox(dataDir),
        settings: storage.settings,
        clock: realClock,
        log: nullLogger,
        activeCalls: () => 1,
        isExtension: () => true,
        numberExists: () => true,
        boxAddress: "192.168.1.20",
      });
      service = t.service;
      const s = t.service.store;
      s.putTrunk(
        checkTrunk({ kind: "register", host: "sip.carrier.test", username: "box1" }, "carrier").trunk,
        "Pw-never-shown-1",
      );
      s.putDid(checkDid({ destination: "201", name: "Main line" }, "5551000"));
      s.putRoute(checkRoute({ patterns: ["9|NXXNXXXXXX"], prepend: "1", trunks: ["carrier"] }, "us"));
      t.service.setState("carrier", {
        registration: { status: "registered", detail: "registered for 300 s" },
        keepalive: { status: "up", lastStatus: 200 },
      });
      t.service.setE911(checkE911({ testMode: true }));
      return { features: [t.feature] };
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
      await page.getByRole("link", { name: "Trunks" }).click();
      const row = page.locator('#trunks-table tr[data-trunk="carrier"]');
      await row.waitFor();
      const text = await row.innerText();
      ok(text.includes("registered: registered for 300 s") && text.includes("up (200)"), text);
      ok(!(await page.content()).includes("Pw-never-shown-1"), "the password is not on the page");
      await page.locator('#dids-table tr[data-did="5551000"]').waitFor();
      ok((await page.locator('#routes-table tr[data-route="us"]').innerText()).includes("9|NXXNXXXXXX"));
      ok(await page.locator("#e911-test-banner").isVisible(), "test-mode banner shown");
      await shoot(page, "trunks");
      await page.getByRole("button", { name: "Turn emergency test mode off" }).click();
      await page.locator("#e911-test-banner").waitFor({ state: "hidden" });
      ok(service!.e911().testMode === false, "test mode off on the server");

      // A peer trunk without addresses: the server's words for what is wrong.
      const form = page.locator("#trunk-form");
      await form.getByLabel(/^Id/).fill("peer1");
      await form.getByLabel("Kind").selectOption("peer");
      await form.getByLabel("Carrier host").fill("192.0.2.10");
      await form.getByRole("button", { name: "Save trunk" }).click();
      await page.locator("#message").getByText(/peer trunk needs addresses/).waitFor();
      await form.getByLabel(/^Addresses calls come from/).fill("192.0.2.10, 198.51.100.0/24");
      await form.getByRole("button", { name: "Save trunk" }).click();
      await page.locator('#trunks-table tr[data-trunk="peer1"]').waitFor();
      ok(service!.store.trunk("peer1")?.addresses.length === 2);
      const did = page.locator("#did-form");
      await did.getByLabel(/^DID/).fill("5552000");
      await did.getByLabel(/^Destination/).fill("202");
      await did.getByRole("button", { name: "Save DID" }).click();
      await page.locator('#dids-table tr[data-did="5552000"]').waitFor();
      ok(consoleErrors.length === 0, consoleErrors.join("\n"));
    } finally {
      await browser?.close();
      await server.close();
    }
  },
});
