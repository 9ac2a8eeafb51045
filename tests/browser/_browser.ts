/**
 * Browser-test helpers: an in-process web UI (createApp on Deno.serve, 127.0.0.1, port 0, temp
 * storage, fake live status) and Debian's chromium driven by playwright-core.
 */
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { openStorage, type Storage } from "../../runtime/storage/mod.ts";
import { createApp } from "../../web/mod.ts";
import type { AppDeps, LiveCall, LiveChange } from "../../web/mod.ts";

/** Where Debian installs chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** True when chromium is installed; browser tests skip otherwise. */
export function hasChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

/** Launch headless chromium without sandbox or background network chatter. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * A desktop-sized page in a new context (15 s default timeout) and the script errors it logs
 * (CSP violations included). Chromium's "Failed to load resource" lines for non-2xx answers are
 * left out: tests provoke refusals on purpose.
 */
export async function openPage(
  browser: Browser,
): Promise<{ context: BrowserContext; page: Page; consoleErrors: string[] }> {
  const context = await browser.newContext({ viewport: DESKTOP });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text());
  });
  return { context, page, consoleErrors };
}

/** A LiveStatus whose changes the test fires. */
export class FakeLive {
  calls: LiveCall[] = [];
  #listeners = new Set<(c: LiveChange) => void>();
  onChange(listener: (c: LiveChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  emit(change: LiveChange): void {
    for (const l of this.#listeners) l(change);
  }
}

/** A running in-process UI server. */
export interface UiServer {
  url: string;
  storage: Storage;
  live: FakeLive;
  close(): Promise<void>;
}

/**
 * Serve createApp on 127.0.0.1:0 with fresh storage in a temp directory. `deps` may be a function
 * of that storage, for dependencies built on it (provisioning's template services).
 */
export function startUiServer(
  deps: Partial<AppDeps> | ((storage: Storage, dataDir: string) => Partial<AppDeps>) = {},
): UiServer {
  const dataDir = Deno.makeTempDirSync({ prefix: "pbx-browser-test-" });
  const storage = openStorage({ dataDir, pbkdf2Iterations: 1000 });
  const extra = typeof deps === "function" ? deps(storage, dataDir) : deps;
  const live = new FakeLive();
  const app = createApp({
    storage,
    live: { calls: () => live.calls, onChange: (l) => live.onChange(l) },
    health: () => ({ ok: true, listeners: { sip: true, http: true, tftp: true } }),
    boxInfo: () => ({ addresses: ["192.168.1.20"], sipPort: 5060, httpPort: 80, tftpPort: 69 }),
    logs: () => ["2026-01-01T00:00:00Z INFO pbx started", "2026-01-01T00:00:01Z INFO sip listening on :5060"],
    eventsCoalesceMs: 50,
    ...extra,
  });
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    (req, info) => app.fetch(req, info),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    storage,
    live,
    async close() {
      ac.abort();
      // SSE streams stay open until the browser goes; the caller closes the browser first.
      await server.finished;
      storage.close();
      Deno.removeSync(dataDir, { recursive: true });
    },
  };
}

/** Where the tests save their screenshots (artifacts, not committed). */
export const SHOTS = new URL("../artifacts/screenshots/", import.meta.url);
/** The desktop viewport of the screenshots. */
export const DESKTOP = { width: 1280, height: 800 };
/** The phone viewport of the screenshots. */
export const PHONE = { width: 390, height: 844 };

/**
 * Save `<name>-desktop.png` and `<name>-phone.png` of the page (whole page, or from `at` scrolled to the
 * top of the viewport), then go back to the desktop size.
 */
export async function shoot(page: Page, name: string, at?: Locator): Promise<void> {
  Deno.mkdirSync(SHOTS, { recursive: true });
  for (const [size, suffix] of [[DESKTOP, "desktop"], [PHONE, "phone"]] as const) {
    await page.setViewportSize(size);
    if (at !== undefined) {
      await at.evaluate((el) => el.scrollIntoView({ block: "start" }));
      // Let the compositor paint the newly scrolled-in area before the capture.
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    }
    await page.screenshot({
      path: new URL(`${name}-${suffix}.png`, SHOTS).pathname,
      fullPage: at === undefined,
    });
  }
  await page.setViewportSize(DESKTOP);
}
