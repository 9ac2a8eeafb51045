/**
 * Page modules in chromium against an in-process server: the System page's factory reset asks for
 * its typed confirmation and only then calls POST /api/system/factory-reset (a recording
 * HostControl stands in for the OS), and a feature module's page (server-rendered shell plus its
 * own script importing the shared /static/lib helpers) runs under the strict CSP.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import type { Browser, Page } from "playwright-core";
import type { FeatureModule } from "../../runtime/call/feature.ts";
import type { HostControl, HostState } from "../../web/types.ts";
import { hasChromium, launchChromium, openPage, shoot, startUiServer } from "./_browser.ts";

const PASSWORD = "admin-password-1";

/** A HostControl in systemd mode that records what it is asked to do and touches nothing. */
function recordingHost(): HostControl & { calls: string[] } {
  const calls: string[] = [];
  const state: HostState = {
    mode: "systemd",
    hostname: "pbx",
    timezone: "Europe/Berlin",
    ntp: { servers: [], synchronized: true },
    interfaces: [{
      name: "eth0",
      mac: null,
      addresses: [{ address: "192.168.1.20", prefix: 24, dynamic: true }],
    }],
    bootId: null,
    pendingNetwork: null,
  };
  const at = () => Date.now() + 1000;
  return {
    calls,
    mode: "systemd",
    state: () => Promise.resolve(state),
    applyNetwork: () => Promise.reject(new Error("not in this test")),
    confirmNetwork: () => Promise.resolve(null),
    applyTime: () => Promise.resolve(),
    reboot: () => (calls.push("reboot"), { at: at() }),
    restartService: () => (calls.push("restart"), { at: at() }),
    factoryReset: () => (calls.push("factory-reset"), { at: at() }),
  };
}

async function signIn(page: Page, base: string): Promise<void> {
  const r = await fetch(`${base}/api/setup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ password: PASSWORD }),
  });
  eq(r.status < 300, true, `setup answered ${r.status}`);
  await r.body?.cancel();
  await page.goto(`${base}/login`);
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(`${base}/`);
}

Deno.test({
  name: "System page: factory reset asks for the typed confirmation, then calls the API once",
  ignore: !hasChromium(),
  // playwright-core's Node-compat internals keep timers/sockets of their own between steps.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const host = recordingHost();
    const server = startUiServer({ host });
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const { context, page, consoleErrors } = await openPage(browser);
      const resets: { body: string | null; csrf: string | undefined }[] = [];
      page.on("request", (r) => {
        if (r.url().endsWith("/api/system/factory-reset")) {
          resets.push({ body: r.postData(), csrf: r.headers()["x-csrf-token"] });
        }
      });
      await signIn(page, server.url);
      await page.goto(`${server.url}/system`);
      const button = page.getByRole("button", { name: "Erase everything and reboot" });
      // Enabled once the page knows the host applies settings (systemd mode).
      await page.locator("#reset-form button:not([disabled])").waitFor();

      await t.step("without the typed word nothing is sent", async () => {
        await button.click(); // the field is required: the browser refuses to submit it empty
        await page.getByLabel("To confirm, type factory-reset").fill("yes");
        await button.click();
        await page.getByRole("alert").getByText(/Nothing was erased: type factory-reset/).waitFor();
        eq(resets.length, 0);
        eq(host.calls, []);
        eq(
          await page.evaluate(() => document.activeElement?.id),
          "reset-confirm",
          "focus goes back to the confirmation field",
        );
        await shoot(page, "system-factory-reset", page.locator("#reset-h"));
      });

      await t.step(
        "typing factory-reset confirms: the API is called once, the box says it reboots",
        async () => {
          await page.getByLabel("To confirm, type factory-reset").fill("factory-reset");
          await button.click();
          await page.getByText(/The box is erasing its data and rebooting/).waitFor();
          eq(host.calls, ["factory-reset"]);
          eq(resets.length, 1);
          eq(JSON.parse(resets[0]!.body ?? "null"), { confirm: "factory-reset" });
          ok(resets[0]!.csrf !== undefined && resets[0]!.csrf.length > 20, "the CSRF token is sent");
          ok(await page.locator("#reset-form").isHidden(), "the form goes away once the reset is under way");
          const audit = server.storage.audit.list({ action: "system.factory-reset" });
          eq(audit.length, 1);
          eq(audit[0]!.actor, "admin");
        },
      );
      eq(consoleErrors, []);
      await context.close();
    } finally {
      await browser?.close();
      await server.close();
    }
  },
});

Deno.test({
  name:
    "a feature module's page: its shell in the menu, its script fills it with the shared helpers under the CSP",
  ignore: !hasChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "pbx-feature-ui-" });
    Deno.writeTextFileSync(
      `${dir}/rooms.js`,
      `import { api } from "/static/lib/api.js";
import { $ } from "/static/lib/dom.js";
import { onSubmit } from "/static/lib/forms.js";
import { startPage } from "/static/lib/page.js";
import { fillTable, row } from "/static/lib/tables.js";
import { deleteButton } from "/static/lib/crud.js";

startPage(() => {
  const load = async () => {
    const d = await api("GET", "/api/rooms");
    fillTable("#rooms-table", "#rooms-empty", d.items.map((r) =>
      row({ "data-room": r }, [r, { actions: [
        deleteButton("Delete room " + r, "Delete room " + r + "?", () => api("DELETE", "/api/rooms/" + r), load, "Room " + r + " deleted."),
      ] }])
    ));
  };
  onSubmit($("#room-add"), async (v, form) => {
    await api("POST", "/api/rooms", { name: v.name });
    form.reset();
    await load();
    return "Room " + v.name + " added.";
  });
  return load();
});
`,
    );
    const rooms = new Set<string>(["800"]);
    const feature: FeatureModule = {
      name: "rooms",
      web: {
        routes(api, kit) {
          api.get("/rooms", (c) => c.json({ items: [...rooms].sort() }));
          api.post("/rooms", kit.requireAdmin, async (c) => {
            const { name } = await c.req.json() as { name: string };
            if (!/^[0-9]{3}$/.test(name)) kit.fail(400, "name: three digits");
            rooms.add(name);
            return c.json({ name }, 201);
          });
          api.delete("/rooms/:name", kit.requireAdmin, (c) => {
            rooms.delete(c.req.param("name"));
            return c.body(null, 204);
          });
        },
        pages: [{
          path: "/rooms",
          title: "Rooms",
          script: new URL(`file://${dir}/rooms.js`),
          render: ({ html, dataTable }) =>
            html`${
              dataTable("rooms-table", ["Room", "Actions"])
            }<p class="empty" id="rooms-empty" hidden>No rooms.</p>
            <form id="room-add" class="stack card"><label for="room-name">Room number</label>
            <input id="room-name" name="name" required><button type="submit">Add room</button></form>`,
        }],
      },
    };
    const server = startUiServer({ features: [feature] });
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const { context, page, consoleErrors } = await openPage(browser);
      await signIn(page, server.url);
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Rooms" }).click();
      await page.waitForURL(`${server.url}/rooms`);
      await page.locator('#rooms-table tr[data-room="800"]').waitFor();
      await page.getByLabel("Room number").fill("12");
      await page.getByRole("button", { name: "Add room" }).click();
      await page.getByRole("alert").getByText("name: three digits").waitFor();
      await page.getByLabel("Room number").fill("801");
      await page.getByRole("button", { name: "Add room" }).click();
      await page.getByText("Room 801 added.").waitFor();
      await page.locator('#rooms-table tr[data-room="801"]').waitFor();
      page.once("dialog", (d) => d.accept());
      await page.getByRole("button", { name: "Delete room 800" }).click();
      await page.getByText("Room 800 deleted.").waitFor();
      eq([...rooms], ["801"]);
      eq(consoleErrors, [], "no CSP violation or script error");
      await context.close();
    } finally {
      await browser?.close();
      await server.close();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
