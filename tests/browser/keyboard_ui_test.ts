/**
 * Keyboard-only use of the admin UI in chromium: every page can be tabbed through with a visible
 * focus ring on each stop and no trap; on the Extensions page an extension is added with Tab, typing
 * and Enter only, and the edit panel closes with Escape, giving focus back to its opener.
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { hasChromium, launchChromium, startUiServer, type UiServer } from "./_browser.ts";

const ADMIN_PW = "keyboard-admin-password";

/** What has focus: its id/label and whether a focus ring is drawn and on screen. */
function focusInfo(page: Page) {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (el === null || el === document.body) return null;
    const st = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return {
      id: el.id,
      tag: el.tagName.toLowerCase(),
      label: el.getAttribute("aria-label") ?? el.textContent?.trim().slice(0, 40) ?? "",
      // A date/time input's own picker button (UA shadow DOM) takes a Tab stop and draws its own
      // ring; the input itself then does not match :focus.
      ring: (st.outlineStyle !== "none" && parseFloat(st.outlineWidth) >= 2) ||
        (/^(date|time)$/.test((el as HTMLInputElement).type ?? "") && !el.matches(":focus")),
      outline: `${st.outlineStyle} ${st.outlineWidth} focus=${el.matches(":focus")} fv=${
        el.matches(":focus-visible")
      }`,
      visible: r.width > 0 && r.height > 0,
    };
  });
}

/** Press Tab until `done(info)` holds; fails after `max` presses. */
async function tabUntil(
  page: Page,
  done: (f: NonNullable<Awaited<ReturnType<typeof focusInfo>>>) => boolean,
  max = 80,
) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const f = await focusInfo(page);
    if (f !== null) {
      assert.ok(f.ring, `focus ring missing on ${f.tag}#${f.id} "${f.label}"`);
      assert.ok(f.visible, `focus went to an invisible ${f.tag}#${f.id} "${f.label}"`);
      if (done(f)) return f;
    }
  }
  throw new Error(`not reached after ${max} Tab presses`);
}

Deno.test({
  name:
    "keyboard only: every page tabs through with visible focus; add an extension with Tab/Enter; Escape closes the edit panel",
  ignore: !hasChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    let server: UiServer | undefined;
    let browser: Browser | undefined;
    try {
      server = startUiServer();
      const { url: base, storage } = server;
      await storage.users.create({ username: "admin", role: "admin", password: ADMIN_PW });
      storage.extensions.create({ number: "201", name: "Reception", password: "secret-pass-1" }, "pbx");
      browser = await launchChromium();
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();

      await t.step("log in with the keyboard: type, Tab, type, Enter", async () => {
        await page.goto(`${base}/login`);
        // The login page focuses the user name field itself.
        await page.waitForFunction(() => document.activeElement?.id === "login-username");
        await page.keyboard.type("admin");
        await page.keyboard.press("Tab");
        await page.keyboard.type(ADMIN_PW);
        await page.keyboard.press("Enter");
        await page.waitForURL(`${base}/`);
      });

      await t.step("every page: the skip link comes first and moves focus to main; no trap", async () => {
        for (
          const path of [
            "/",
            "/extensions",
            "/phones",
            "/paging",
            "/cdr",
            "/voicemail",
            "/users",
            "/system",
            "/audit",
          ]
        ) {
          await page.goto(`${base}${path}`);
          await page.waitForLoadState("networkidle").catch(() => {});
          await page.keyboard.press("Tab");
          const first = await focusInfo(page);
          assert.equal(first?.label, "Skip to main content", `${path}: first Tab stop`);
          assert.ok(first?.ring, `${path}: skip link has a focus ring`);
          // Walk every stop: each has a visible ring; the walk wraps around (no focus trap).
          let stops = 0;
          for (;;) {
            await page.keyboard.press("Tab");
            const f = await focusInfo(page);
            if (f === null || f.label === "Skip to main content") break;
            assert.ok(f.ring, `${path}: focus ring missing on ${f.tag}#${f.id} "${f.label}" (${f.outline})`);
            assert.ok(f.visible, `${path}: focus on invisible ${f.tag}#${f.id} "${f.label}"`);
            assert.ok(++stops < 250, `${path}: focus never leaves the page (trap?)`);
          }
          assert.ok(stops >= 10, `${path}: only ${stops} tab stops`);
          await page.goto(`${base}${path}`);
          await page.keyboard.press("Tab");
          await page.keyboard.press("Enter");
          assert.equal(
            await page.evaluate(() => document.activeElement?.id),
            "main",
            `${path}: skip link target`,
          );
        }
      });

      await t.step("extensions: add one with the keyboard only", async () => {
        await page.goto(`${base}/extensions`);
        await page.locator('#ext-table tr[data-number="201"]').waitFor();
        await tabUntil(page, (f) => f.id === "add-number");
        await page.keyboard.type("301");
        await page.keyboard.press("Tab");
        assert.equal((await focusInfo(page))?.id, "add-name");
        await page.keyboard.type("Lobby");
        await page.keyboard.press("Tab");
        assert.equal((await focusInfo(page))?.id, "add-password");
        await page.keyboard.type("lobby-pass-1");
        await page.keyboard.press("Enter");
        await page.getByText("Extension 301 (Lobby) added.").waitFor();
        await page.locator('#ext-table tr[data-number="301"]').waitFor();
        assert.equal(storage.extensions.get("301")?.name, "Lobby");
        const f = await focusInfo(page);
        assert.ok(f !== null, "focus stays on the page after submitting");
      });

      await t.step(
        "edit panel: Enter opens it with focus on Name; Escape closes it and returns focus",
        async () => {
          await page.goto(`${base}/extensions`);
          await page.locator('#ext-table tr[data-number="301"]').waitFor();
          await tabUntil(page, (f) => f.label === "Edit extension 301");
          await page.keyboard.press("Enter");
          await page.waitForFunction(() => document.activeElement?.id === "edit-name");
          assert.equal(await page.locator("#ext-edit-card").isVisible(), true);
          await page.keyboard.press("Escape");
          await page.locator("#ext-edit-card").waitFor({ state: "hidden" });
          assert.equal((await focusInfo(page))?.label, "Edit extension 301");
          // Open again, rename with the keyboard and save with Enter.
          await page.keyboard.press("Enter");
          await page.waitForFunction(() => document.activeElement?.id === "edit-name");
          await page.keyboard.press("Control+A");
          await page.keyboard.type("Front lobby");
          await page.keyboard.press("Enter");
          await page.getByText("Extension 301 saved.").waitFor();
          assert.equal(storage.extensions.get("301")?.name, "Front lobby");
          assert.equal((await focusInfo(page))?.label, "Edit extension 301");
        },
      );
    } finally {
      await browser?.close();
      await server?.close();
    }
  },
});
