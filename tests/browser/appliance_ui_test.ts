/**
 * The admin UI in chromium against the REAL appliance (mod.ts started by the harness): log in with
 * the admin password, add an extension through the UI, then a sipp phone registers and a sipp call
 * runs through the box, and the dashboard shows both without a reload (SSE from the real registrar
 * and B2BUA). The call then shows up in the call-record CSV, and a user-role account is kept out of
 * admin pages and API. Screenshots of the dashboard with a live call go to tests/artifacts/screenshots/.
 */
import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import { api, hasBinary, login as apiLogin, runSipp, startAppliance, startSipp } from "../_harness/mod.ts";
import type { SippResult } from "../_harness/mod.ts";
import { DESKTOP, hasChromium, launchChromium, shoot } from "./_browser.ts";

const PW_201 = "Tiger-Lake-91";
const PW_202 = "Otter-Pond-57";

function assertSipp(r: SippResult, what: string): void {
  if (!r.ok) {
    throw new Error(`${what}: sipp exit ${r.code}\n${r.output.slice(-1500)}\n${r.errors.slice(-1500)}`);
  }
}

const ready = hasChromium() && hasBinary("sipp");

Deno.test({
  name:
    "real appliance in chromium: UI login, sipp registration and call appear live, CDR CSV, user kept out",
  ignore: !ready,
  // playwright-core's Node-compat internals keep timers/sockets of their own between steps.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using app = await startAppliance();
    const base = app.baseUrl;
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
      context.setDefaultTimeout(15_000);
      const page = await context.newPage();
      const consoleErrors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") consoleErrors.push(m.text());
      });
      const step = (name: string, fn: () => Promise<void>) =>
        t.step(name, async () => {
          try {
            await fn();
          } catch (e) {
            (e as Error).message += `\n--- appliance log (last 40 lines) ---\n${
              app.logs().split("\n").slice(-40).join("\n")
            }`;
            throw e;
          }
        });

      await step("log in through the UI with the admin password", async () => {
        await page.goto(`${base}/`);
        assert.equal(new URL(page.url()).pathname, "/login");
        await page.getByLabel("User name").fill("admin");
        await page.getByLabel("Password").fill(app.adminPassword);
        await page.getByRole("button", { name: "Log in" }).click();
        await page.waitForURL(`${base}/`);
        await page.getByText("Live: updates appear as they happen.").waitFor();
      });

      await step("add extension 201 through the UI", async () => {
        await page.getByRole("link", { name: "Extensions" }).click();
        await page.waitForURL(`${base}/extensions`);
        const add = page.locator("#ext-add");
        await add.getByLabel("Number (2-8 digits)").fill("201");
        await add.getByLabel("Name", { exact: true }).fill("Reception");
        await add.getByLabel("SIP password (8-64 characters)").fill(PW_201);
        await page.getByRole("button", { name: "Add extension" }).click();
        await page.getByText("Extension 201 (Reception) added.").waitFor();
        // The SRTP policy is set in the edit panel and kept in the extension's options.
        await page.locator('#ext-table tr[data-number="201"] button', { hasText: "Edit" }).click();
        await page.getByLabel("Encrypted media (SRTP; keys only over TLS)").selectOption("required");
        await page.getByLabel("Provisioned phones connect over").selectOption("tls");
        await page.getByRole("button", { name: "Save" }).click();
        await page.getByText("Extension 201 saved.").waitFor();
        const ext = await (await app.adminApi()).get<{ options: { srtp?: string; sipTransport?: string } }>(
          "/api/extensions/201",
        );
        assert.equal(ext.options.srtp, "required");
        assert.equal(ext.options.sipTransport, "tls");
        const bad = await (await app.adminApi()).request("PUT", "/api/extensions/201", {
          options: { sipTransport: "sctp" },
        });
        assert.equal(bad.status, 400);
        assert.match(String((bad.body as { error?: string }).error), /sipTransport must be/);
        // Back to the default: the later steps call from 201 over plain UDP.
        await (await app.adminApi()).put("/api/extensions/201", {
          options: { ...ext.options, srtp: "offered" },
        });
      });

      await step("a sipp phone registers and appears on the dashboard without a reload", async () => {
        await page.getByRole("link", { name: "Dashboard" }).click();
        await page.waitForURL(`${base}/`);
        await page.getByText("Live: updates appear as they happen.").waitFor();
        await page.getByText("No phones registered.").waitFor();
        await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));
        const r = await runSipp({
          scenario: "register_auth.xml",
          target: `127.0.0.1:${app.sipPort}`,
          user: "201",
          password: PW_201,
          keys: { contact_port: "5999" },
        });
        assertSipp(r, "register 201");
        await page.locator('#regs-table tr[data-extension="201"]').waitFor();
        assert.match(await page.locator("#regs-table tbody").innerText(), /127\.0\.0\.1/);
        assert.equal(await page.evaluate(() => (globalThis as unknown as { marker: number }).marker), 42);
      });

      await step("a sipp call appears live on the dashboard and disappears when it ends", async () => {
        const admin = await app.adminApi();
        await admin.createExtension({ number: "202", name: "Office", password: PW_202 });
        await using uas = await startSipp({ scenario: "uas_answer.xml", timeoutSec: 40 });
        assertSipp(
          await runSipp({
            scenario: "register_auth.xml",
            target: `127.0.0.1:${app.sipPort}`,
            user: "202",
            password: PW_202,
            keys: { contact_port: String(uas.localPort) },
          }),
          "register 202",
        );
        await page.locator('#regs-table tr[data-extension="202"]').waitFor();
        const calling = runSipp({
          scenario: "uac_call_pcap.xml",
          target: `127.0.0.1:${app.sipPort}`,
          user: "201",
          password: PW_201,
          service: "202",
          timeoutSec: 40,
        });
        try {
          const row = page.locator("#calls-table tbody tr").filter({ hasText: "202" });
          await row.waitFor();
          assert.match(await row.innerText(), /201/);
          await page.locator("#calls-table tbody tr").filter({ hasText: "answered" }).waitFor();
          await page.locator("#health dd").first().waitFor();
          await shoot(page, "appliance-dashboard-live-call");
        } finally {
          assertSipp(await calling, "call 201 -> 202");
        }
        await page.getByText("No calls right now.").waitFor();
        assert.equal(await page.locator("#calls-table tbody tr").count(), 0);
        assert.equal(await page.evaluate(() => (globalThis as unknown as { marker: number }).marker), 42);
        await uas.stop();
      });

      await step("the call is in the call-record CSV downloaded from the UI", async () => {
        await page.getByRole("link", { name: "Call records" }).click();
        await page.waitForURL(`${base}/cdr`);
        await page.locator("#cdr-table tbody tr").first().waitFor();
        const [download] = await Promise.all([
          page.waitForEvent("download"),
          page.getByRole("link", { name: "Download CSV" }).click(),
        ]);
        const csv = Deno.readTextFileSync(await download.path());
        const lines = csv.trim().split(/\r?\n/);
        assert.ok(lines.length >= 2, csv);
        assert.ok(lines.slice(1).some((l) => /201/.test(l) && /202/.test(l) && /answered/.test(l)), csv);
      });

      await step("a user-role account cannot reach admin pages or API", async () => {
        const admin = await app.adminApi();
        await admin.post("/api/users", {
          username: "alice",
          role: "user",
          extension: "201",
          password: "alice-password",
        });
        const userContext = await browser!.newContext({ viewport: DESKTOP });
        userContext.setDefaultTimeout(15_000);
        const userPage = await userContext.newPage();
        await userPage.goto(`${base}/login`);
        await userPage.getByLabel("User name").fill("alice");
        await userPage.getByLabel("Password").fill("alice-password");
        await userPage.getByRole("button", { name: "Log in" }).click();
        await userPage.waitForURL(`${base}/me`);
        await userPage.getByText("Reception").waitFor();
        for (const path of ["/extensions", "/users", "/system", "/paging", "/audit"]) {
          const res = await userPage.goto(`${base}${path}`);
          assert.equal(res?.status(), 403, path);
        }
        await userPage.goto(`${base}/me`);
        const statuses = await userPage.evaluate(async () => {
          const csrf = document.querySelector('meta[name="csrf-token"]')!.getAttribute("content")!;
          const out: number[] = [];
          for (
            const p of [
              "/api/extensions",
              "/api/users",
              "/api/registrations",
              "/api/events",
              "/api/paging/zones",
            ]
          ) {
            out.push((await fetch(p)).status);
          }
          const w = await fetch("/api/extensions", {
            method: "POST",
            headers: { "content-type": "application/json", "x-csrf-token": csrf },
            body: JSON.stringify({ number: "299", name: "Sneaky", password: "sneaky-pass-1" }),
          });
          out.push(w.status);
          return out;
        });
        assert.deepEqual(statuses, [403, 403, 403, 403, 403, 403]);
        // A bearer token of the same user is refused too.
        const token = await apiLogin(base, "alice", "alice-password");
        assert.equal((await api(base, token).request("GET", "/api/users")).status, 403);
        await userContext.close();
      });

      assert.deepEqual(
        consoleErrors.filter((e) => !/status of 40[13]|Failed to load resource/.test(e)),
        [],
        "no script errors (CSP violations show up here)",
      );
    } finally {
      await browser?.close();
    }
  },
});

if (!ready) console.warn("SKIP tests/browser/appliance_ui_test.ts: needs /usr/bin/chromium and sipp");
