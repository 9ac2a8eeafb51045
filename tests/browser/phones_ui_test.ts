/**
 * The Phones page's template editor, re-provisioning, an extension's SIP password reset, and
 * restoring a backup on the System page, in chromium against an in-process server with the real
 * provisioning template services (appliance/_provisioning.ts). Screenshots of the editor at desktop
 * and phone width go to tests/artifacts/screenshots/.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Browser } from "playwright-core";
import { DEFAULTS } from "../../appliance/config.ts";
import { createPhoneProvisioning, createProvisioningData } from "../../appliance/_provisioning.ts";
import { DESKTOP, hasChromium, launchChromium, shoot, startUiServer, type UiServer } from "./_browser.ts";

const ADMIN_PW = "phones-admin-password";
const MAC = "001565aabbcc";

/** Full-page screenshots at both widths; with `at`, only the viewport scrolled to that element. */

Deno.test({
  name:
    "phones page in chromium: template edit with a line:col error, fix, preview for a MAC, reset; re-provision; SIP password reset; backup restore staged and cancelled",
  ignore: !hasChromium(),
  // playwright-core's Node-compat internals keep timers/sockets of their own between steps.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    let server: UiServer | undefined;
    let browser: Browser | undefined;
    const reprovisioned: string[] = [];
    try {
      server = startUiServer((storage, dataDir) => ({
        phones: createPhoneProvisioning(
          createProvisioningData(storage, {
            config: { ...DEFAULTS, dataDir, publicAddress: "192.168.1.20" },
          }),
        ),
        reprovision: (mac) => {
          reprovisioned.push(mac);
          return Promise.resolve({ sent: 1, detail: "NOTIFY check-sync sent to 192.168.1.50:5060" });
        },
      }));
      const { url: base, storage } = server;
      await storage.users.create({ username: "admin", role: "admin", password: ADMIN_PW });
      storage.extensions.create({ number: "201", name: "Reception", password: "alice-sip-pw1" }, "pbx");
      storage.devices.create({ mac: MAC, vendor: "yealink", model: "T46U", extension: "201" });
      storage.devices.create({ mac: "0004f2000001", vendor: "polycom" });

      browser = await launchChromium();
      const context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();
      const consoleErrors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") consoleErrors.push(m.text());
      });
      await page.goto(`${base}/login`);
      await page.getByLabel("User name").fill("admin");
      await page.getByLabel("Password").fill(ADMIN_PW);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL(`${base}/`);

      await t.step("re-provision: a button on assigned phones only; the outcome is shown", async () => {
        await page.getByRole("link", { name: "Phones" }).click();
        await page.waitForURL(`${base}/phones`);
        await page.locator(`#phones-table tr[data-mac="${MAC}"]`).waitFor();
        assert.equal(
          await page.locator('#phones-table tr[data-mac="0004f2000001"] button').count(),
          0,
          "a discovered phone has no extension to re-provision",
        );
        await page.getByRole("button", { name: `Re-provision phone ${MAC}` }).click();
        await page.getByText(`Phone ${MAC} was asked to fetch its configuration now`).waitFor();
        assert.deepEqual(reprovisioned, [MAC]);
        assert.equal(storage.audit.list({ action: "phone.reprovision" }).length, 1);
      });

      await t.step(
        "provisioning window: shown per phone, opened with a button; security settings saved",
        async () => {
          storage.devices.openWindow(MAC, 1); // closed (long ago)
          await page.reload();
          const row = page.locator(`#phones-table tr[data-mac="${MAC}"]`);
          await row.getByText("closed").waitFor();
          await page.getByRole("button", { name: `Open provisioning window for phone ${MAC}` }).click();
          await row.getByText(/open until/).waitFor();
          assert.ok(storage.devices.get(MAC)!.provisioningOpenUntil! > Date.now());
          await page.getByLabel("Window length (minutes)").fill("20");
          await page.getByLabel(/Networks that may read the phone book/).fill("192.168.1.0/24");
          await page.locator("#prov-security").getByRole("button", { name: "Save" }).click();
          await page.getByText("Provisioning security saved.").waitFor();
          assert.deepEqual(storage.settings.get("provisioning.security"), {
            requireWindow: true,
            windowMinutes: 20,
            phonebookNetworks: ["192.168.1.0/24"],
          });
          await page.getByText("No address is blocked.").waitFor();
        },
      );

      await t.step("open a template: the editor shows it with focus in the text", async () => {
        await page.locator('#tpl-table tr[data-key="yealink.device"]').waitFor();
        await page.getByRole("button", { name: "Edit template yealink.device" }).click();
        const text = page.getByLabel("Template text for yealink.device");
        await text.waitFor();
        assert.match(await text.inputValue(), /account\.1\.password/);
        assert.equal(await page.evaluate(() => document.activeElement?.id), "tpl-body");
        const font = await text.evaluate((el) => getComputedStyle(el).fontFamily);
        assert.match(font, /mono/i, "monospace editor");
        await shoot(page, "phones-template-editor");
      });

      await t.step("a bad edit is refused with line:col next to the editor and the caret on it", async () => {
        const text = page.locator("#tpl-body");
        await text.fill("# edited\n  {{ acount.number }}\n");
        await page.getByRole("button", { name: "Save template" }).click();
        const err = page.locator("#tpl-error");
        await err.getByText("Line 2, column 3:").waitFor();
        assert.match(await err.innerText(), /unknown variable "acount\.number"/);
        assert.equal(await text.getAttribute("aria-invalid"), "true");
        const caret = await text.evaluate((el) => [
          document.activeElement === el,
          (el as HTMLTextAreaElement).selectionStart,
        ]);
        assert.deepEqual(caret, [true, "# edited\n".length + 2], "caret at line 2, column 3");
        assert.equal(storage.templates.get("yealink.device"), undefined, "nothing saved");
        await shoot(page, "phones-template-error", page.locator("#tpl-editor"));
      });

      await t.step("the fixed template saves and previews for a MAC, masked, then with secrets", async () => {
        await page.locator("#tpl-body").fill(
          "user={{ account.number }} pw={{ account.password }} host={{ server.host }}\n",
        );
        await page.getByRole("button", { name: "Save template" }).click();
        await page.getByText("Template yealink.device saved").waitFor();
        assert.equal(await page.locator("#tpl-error").isVisible(), false);
        assert.match(storage.templates.get("yealink.device")?.body ?? "", /^user=/);
        await page.locator('#tpl-table tr[data-key="yealink.device"]').getByText("edited").waitFor();

        await page.getByLabel("Phone to preview for").fill("00:15:65:AA:BB:CC");
        await page.getByRole("button", { name: "Preview", exact: true }).click();
        const preview = page.locator("#tpl-preview");
        await preview.getByText("user=201 pw=******** host=192.168.1.20").waitFor();
        assert.match(await page.locator("#tpl-preview-note").innerText(), /SIP passwords are masked/);
        assert.equal(storage.audit.list({ action: "template.preview-secrets" }).length, 0);
        await page.getByLabel("Show SIP passwords (recorded in the audit log)").check();
        await page.getByRole("button", { name: "Preview", exact: true }).click();
        await preview.getByText("user=201 pw=alice-sip-pw1").waitFor();
        assert.equal(storage.audit.list({ action: "template.preview-secrets" }).length, 1);
        await shoot(page, "phones-template-preview", page.locator("#tpl-preview-form"));
      });

      await t.step("reset to shipped asks first; cancelling keeps the edit, accepting resets", async () => {
        page.once("dialog", (d) => void d.dismiss());
        await page.getByRole("button", { name: "Reset to shipped" }).click();
        assert.match(storage.templates.get("yealink.device")?.body ?? "", /^user=/, "dismissed: kept");
        page.once("dialog", (d) => {
          assert.match(d.message(), /Reset yealink\.device to the shipped template\?/);
          void d.accept();
        });
        await page.getByRole("button", { name: "Reset to shipped" }).click();
        await page.getByText("Template yealink.device reset to the shipped version.").waitFor();
        assert.equal(storage.templates.get("yealink.device"), undefined);
        assert.match(await page.locator("#tpl-body").inputValue(), /account\.1\.password/);
        assert.equal(await page.getByRole("button", { name: "Reset to shipped" }).isDisabled(), true);
      });

      await t.step("Escape closes the editor and gives focus back to its Edit button", async () => {
        await page.locator("#tpl-body").focus();
        await page.keyboard.press("Escape");
        await page.locator("#tpl-editor").waitFor({ state: "hidden" });
        assert.equal(
          await page.evaluate(() => document.activeElement?.getAttribute("aria-label")),
          "Edit template yealink.device",
        );
      });

      await t.step(
        "keyboard: Enter on an Edit button opens the editor; Tab leaves the text for Save",
        async () => {
          await page.getByRole("button", { name: "Edit template polycom.common" }).focus();
          await page.keyboard.press("Enter");
          await page.getByLabel("Template text for polycom.common").waitFor();
          await page.waitForFunction(() => document.activeElement?.id === "tpl-body");
          await page.keyboard.press("Tab");
          assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Save template");
          await page.keyboard.press("Escape");
          await page.locator("#tpl-editor").waitFor({ state: "hidden" });
          assert.equal(
            await page.evaluate(() => document.activeElement?.getAttribute("aria-label")),
            "Edit template polycom.common",
          );
        },
      );

      await t.step("extensions: an admin resets a SIP password; it is stored and never shown", async () => {
        await page.getByRole("link", { name: "Extensions" }).click();
        await page.getByRole("button", { name: "Edit extension 201" }).click();
        await page.getByLabel("New SIP password (leave empty to keep)").fill("short");
        await page.getByRole("button", { name: "Save" }).click();
        assert.equal(storage.extensions.getSipPassword("201"), "alice-sip-pw1", "too short: browser refuses");
        await page.getByLabel("New SIP password (leave empty to keep)").fill("brand-new-sip-9");
        await page.getByRole("button", { name: "Save" }).click();
        await page.getByText("Extension 201 saved (new SIP password set).").waitFor();
        assert.equal(storage.extensions.getSipPassword("201"), "brand-new-sip-9");
        await page.getByRole("button", { name: "Edit extension 201" }).click();
        // The panel refills from the API, which never returns the password: the field comes back empty.
        await page.waitForFunction(() =>
          (document.querySelector("#edit-password") as HTMLInputElement | null)?.value === ""
        );
        assert.equal((await page.content()).includes("brand-new-sip-9"), false);
      });

      await t.step("system: a downloaded backup uploads, shows as staged, and is cancelled", async () => {
        await page.getByRole("link", { name: "System" }).click();
        await page.waitForURL(`${base}/system`);
        await page.getByText("No restore is staged.").waitFor();
        const [download] = await Promise.all([
          page.waitForEvent("download"),
          page.getByRole("link", { name: "Download backup" }).click(),
        ]);
        const file = `${Deno.makeTempDirSync({ prefix: "pbx-restore-ui-" })}/${download.suggestedFilename()}`;
        await download.saveAs(file);
        assert.equal(new TextDecoder().decode(Deno.readFileSync(file).subarray(0, 15)), "SQLite format 3");
        // A file that is not a database is refused with the server's reason.
        await page.getByLabel("Backup file (.sqlite)").setInputFiles({
          name: "notes.sqlite",
          mimeType: "application/octet-stream",
          buffer: Buffer.from("these are my notes, not a database ".repeat(10)),
        });
        await page.getByRole("button", { name: "Upload and stage restore" }).click();
        await page.getByText(/not an SQLite database/).waitFor();
        await page.getByLabel("Backup file (.sqlite)").setInputFiles(file);
        await page.getByRole("button", { name: "Upload and stage restore" }).click();
        await page.getByText(
          /^Backup pbx-backup-\d{8}T\d{6}\.sqlite staged; it is restored at the next start/,
        ).waitFor();
        await page.getByText(/A restore is staged: .* by admin/).waitFor();
        const dataDir = storage.dataDir;
        assert.deepEqual(Deno.readFileSync(`${dataDir}/restore/pbx.sqlite`), Deno.readFileSync(file));
        await page.getByRole("button", { name: "Cancel staged restore" }).waitFor();
        await shoot(page, "system-restore-staged");
        page.once("dialog", (d) => void d.accept());
        await page.getByRole("button", { name: "Cancel staged restore" }).click();
        await page.getByText("The staged restore was cancelled.").waitFor();
        await page.getByText("No restore is staged.").waitFor();
        assert.equal(await page.getByRole("button", { name: "Cancel staged restore" }).isVisible(), false);
        assert.throws(() => Deno.statSync(`${dataDir}/restore/pbx.sqlite`));
        const actions = storage.audit.list({}).map((a) => a.action);
        for (
          const a of [
            "system.backup",
            "system.restore-refused",
            "system.restore-stage",
            "system.restore-cancel",
          ]
        ) {
          assert.ok(actions.includes(a), a);
        }
        Deno.removeSync(file.slice(0, file.lastIndexOf("/")), { recursive: true });
      });

      assert.deepEqual(
        consoleErrors.filter((e) => !/status of 4\d\d|Failed to load resource/.test(e)),
        [],
        "no script errors (CSP violations show up here)",
      );
    } finally {
      await browser?.close();
      await server?.close();
    }
  },
});

if (!hasChromium()) console.warn("SKIP tests/browser/phones_ui_test.ts: /usr/bin/chromium is not installed");
