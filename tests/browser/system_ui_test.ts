/**
 * The System page in chromium against the real appliance, run from an A/B slot with host
 * integration on: what the OS reports, a network change with its confirm banner, the time zone, a
 * firmware bundle uploaded, staged and cancelled, a tampered bundle refused, and the restart and
 * reboot buttons. The OS is a temp root and the commands (networkctl, hostname, systemctl, ip,
 * timedatectl) are stub scripts that log their arguments: the real systemd run is
 * tests/image/image_e2e_test.ts.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import type { Browser } from "playwright-core";
import { startAppliance } from "../_harness/mod.ts";
import { DESKTOP, hasChromium, launchChromium, shoot } from "./_browser.ts";
import { buildBundle, generateSigningKey, writeSlotTree } from "../../appliance/update/mod.ts";

const REPO_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** Stub OS commands in `bin`, each appending its argv to `bin/calls.log`. */
function stubCommands(bin: string): void {
  const ip = [{
    ifname: "eth0",
    link_type: "ether",
    address: "52:54:00:12:34:56",
    addr_info: [{ family: "inet", local: "10.0.2.15", prefixlen: 24, dynamic: true }],
  }];
  Deno.writeTextFileSync(`${bin}/ip.json`, JSON.stringify(ip));
  const replies: Record<string, string> = {
    networkctl: ":",
    hostname: ":",
    systemctl: ":",
    ip: `cat "${bin}/ip.json"`,
    timedatectl: "echo no",
  };
  for (const [name, reply] of Object.entries(replies)) {
    Deno.writeTextFileSync(
      `${bin}/${name}`,
      `#!/bin/sh\necho "${name} $*" >> "${bin}/calls.log"\n${reply}\n`,
      {
        mode: 0o755,
      },
    );
  }
}

function readOr(path: string, fallback = ""): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return fallback;
  }
}

Deno.test({
  name: "System page: OS facts, network confirm banner, time zone, firmware staged and cancelled, restart",
  ignore: !hasChromium(),
  // playwright-core's Node-compat internals keep timers/sockets of their own between steps.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const work = Deno.makeTempDirSync({ prefix: "pbx-system-ui-" });
    const bin = `${work}/bin`;
    const root = `${work}/root`;
    const appRoot = `${work}/opt`;
    const keys = `${work}/keys`;
    const dataDir = `${work}/data`;
    for (const d of [bin, `${root}/usr/share/zoneinfo/Europe`, `${appRoot}/slots`, keys, dataDir]) {
      Deno.mkdirSync(d, { recursive: true });
    }
    stubCommands(bin);
    Deno.writeTextFileSync(`${root}/usr/share/zoneinfo/Europe/Berlin`, "TZif");
    // The box runs from slot A; a signed bundle of the same tree, one version up, is the update.
    const { version } = await writeSlotTree(`${appRoot}/slots/a`, { src: REPO_ROOT, cache: false });
    Deno.symlinkSync("slots/a", `${appRoot}/current`);
    const key = await generateSigningKey(`${work}/release`);
    Deno.copyFileSync(key.pubPath, `${keys}/release.pub`);
    const next = version.replace(/(\d+)$/, (n) => String(Number(n) + 1));
    const bundlePath = `${work}/update.pbxfw`;
    await buildBundle({ key: key.keyPath, out: bundlePath, version: next, src: REPO_ROOT, cache: false });
    // The same bundle with one payload byte flipped: the signature holds, the payload hash does not.
    const tampered = Deno.readFileSync(bundlePath);
    tampered[tampered.length - 4096] = tampered[tampered.length - 4096]! ^ 0xff;
    Deno.writeFileSync(`${work}/tampered.pbxfw`, tampered);

    let browser: Browser | undefined;
    try {
      await using app = await startAppliance({
        entry: `${appRoot}/slots/a/mod.ts`,
        dataDir,
        env: {
          PBX_HOST: "systemd",
          PBX_HOST_ROOT: root,
          PBX_HOST_IFACE: "eth0",
          PBX_APP_ROOT: appRoot,
          PBX_UPDATE_KEYS_DIR: keys,
          PATH: `${bin}:${Deno.env.get("PATH")}`,
        },
      });
      browser = await launchChromium();
      const context = await browser.newContext({ viewport: DESKTOP });
      context.setDefaultTimeout(15_000);
      const page = await context.newPage();
      const base = app.baseUrl;

      await t.step("the page shows what the OS reports and the running firmware", async () => {
        await page.goto(`${base}/login`);
        await page.getByLabel("User name").fill("admin");
        await page.getByLabel("Password").fill(app.adminPassword);
        await page.getByRole("button", { name: "Log in" }).click();
        await page.waitForURL(`${base}/`);
        await page.goto(`${base}/system`);
        await page.getByText("10.0.2.15/24 (DHCP)").waitFor();
        await page.locator("#fw-facts").getByText(version, { exact: true }).waitFor();
        await page.getByText("No update is staged.").waitFor();
        // The open-file limit and the descriptors in use (connection exhaustion, docs/security.md).
        await page.locator("#health").getByText(/\d+ of \d+ allowed \(hard limit \d+\)/).waitFor();
        await shoot(page, "system");
      });

      await t.step("a network change is checked, applied, and kept with the confirm button", async () => {
        await page.locator("#net-mode").selectOption("static");
        await page.getByLabel("IPv4 address").fill("10.0.2.20");
        await page.getByLabel("Prefix length").fill("24");
        await page.getByLabel("Gateway").fill("10.0.3.1");
        await page.getByRole("button", { name: "Save network settings" }).click();
        await page.getByText(/outside the subnet/).waitFor();
        await page.getByLabel("Gateway").fill("10.0.2.2");
        await page.getByRole("button", { name: "Save network settings" }).click();
        await page.getByText(/Confirm within \d+ s/).waitFor();
        await shoot(page, "system-network-confirm");
        const file = readOr(`${root}/etc/systemd/network/20-pbx-lan.network`);
        ok(file.includes("Address=10.0.2.20/24") && file.includes("Gateway=10.0.2.2"), file);
        await page.getByRole("button", { name: "Keep the new network settings" }).click();
        await page.getByText("Network settings confirmed.").waitFor();
        ok(await page.locator("#net-pending").isHidden());
        ok(readOr(`${bin}/calls.log`).includes("networkctl reload"));
      });

      await t.step("the time zone is applied to the OS", async () => {
        await page.getByLabel("Time zone").fill("Europe/Berlin");
        await page.getByRole("button", { name: "Save time settings" }).click();
        await page.getByText("Time settings saved and applied.").waitFor();
        eq(readOr(`${root}/etc/timezone`).trim(), "Europe/Berlin");
        eq(Deno.readLinkSync(`${root}/etc/localtime`), "/usr/share/zoneinfo/Europe/Berlin");
      });

      await t.step("a signed bundle is uploaded and staged in slot B, then cancelled", async () => {
        await page.locator("#fw-file").setInputFiles(bundlePath);
        await page.getByRole("button", { name: "Upload and stage update" }).click();
        await page.getByText(`Version ${next} is staged in slot B`, { exact: false }).waitFor();
        ok(readOr(`${dataDir}/update/staged`).includes(`version=${next}`));
        ok(Deno.statSync(`${appRoot}/slots/b/mod.ts`).isFile);
        await shoot(page, "system-firmware-staged");
        page.once("dialog", (d) => d.accept());
        await page.getByRole("button", { name: "Cancel staged update" }).click();
        await page.getByText("No update is staged.").waitFor();
        eq(readOr(`${dataDir}/update/staged`, "none"), "none");
      });

      await t.step("a tampered bundle is refused with a message and nothing is staged", async () => {
        await page.locator("#fw-file").setInputFiles(`${work}/tampered.pbxfw`);
        await page.getByRole("button", { name: "Upload and stage update" }).click();
        const alert = page.getByRole("alert");
        await alert.waitFor();
        ok(/sha-?256|payload|size/i.test(await alert.innerText()), await alert.innerText());
        eq(readOr(`${dataDir}/update/staged`, "none"), "none");
      });

      await t.step("restart asks first, then asks systemd to restart the service", async () => {
        page.once("dialog", (d) => d.dismiss());
        await page.getByRole("button", { name: "Restart PBX service" }).click();
        ok(!readOr(`${bin}/calls.log`).includes("restart pbx.service"));
        page.once("dialog", (d) => d.accept());
        await page.getByRole("button", { name: "Restart PBX service" }).click();
        await page.getByText(/The PBX service is restarting/).waitFor();
        // The command runs ~1 s after the answer.
        for (let i = 0; i < 50 && !readOr(`${bin}/calls.log`).includes("restart pbx.service"); i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
        ok(readOr(`${bin}/calls.log`).includes("systemctl --no-block restart pbx.service"));
      });
      await context.close();
    } finally {
      await browser?.close();
      Deno.removeSync(work, { recursive: true });
    }
  },
});
