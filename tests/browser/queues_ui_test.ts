/**
 * The queue wallboard (runtime/features/queue) in chromium against an in-process server: agents'
 * states and waiting callers follow the queue live over SSE; pausing and logging out an agent
 * from the page changes its state (audited). Callers are stand-ins here: the real calls are in
 * tests/queue.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import type { Browser } from "playwright-core";
import type { CallLeg, Calls } from "../../runtime/call/mod.ts";
import { realClock } from "../../runtime/clock/mod.ts";
import { checkQueue, queueFeature } from "../../runtime/features/queue/mod.ts";
import { nullLogger } from "../../runtime/log/mod.ts";
import { hasChromium, launchChromium, openPage, shoot, startUiServer } from "./_browser.ts";

const PASSWORD = "admin-password-1";

Deno.test({
  name: "Queue wallboard: live agents and waiting callers; pause and log out an agent from the page",
  ignore: !hasChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let q: ReturnType<typeof queueFeature> | undefined;
    const server = startUiServer((storage) => {
      q = queueFeature({
        db: storage.db,
        clock: realClock,
        log: nullLogger,
        prompts: { say: () => Promise.reject(new Error("no speech here")) },
      });
      return { features: [q] };
    });
    let browser: Browser | undefined;
    try {
      q!.store.put(
        checkQueue({ number: "600", name: "Support", strategy: "least-recent", members: ["201"] }),
      );
      q!.runtime.setAgent("600", "202", { loggedIn: true });
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
      await page.getByRole("link", { name: "Queues" }).click();
      await page.getByText("Live.").waitFor();
      const board = page.locator('section[data-queue="600"]');
      await board.getByRole("heading", { name: "600 Support (least-recent)" }).waitFor();
      await board.locator('tr[data-agent="201"]').getByText("free").waitFor();
      q!.runtime.join("600", "1001");
      await board.getByText(/Waiting: 1/).waitFor();
      await board.getByRole("table", { name: "Callers waiting in 600" }).getByText("1001").waitFor();
      await shoot(page, "queues-wallboard");
      await page.getByRole("button", { name: "Pause 201 in 600" }).click();
      await page.getByText("201 paused.").waitFor();
      await board.locator('tr[data-agent="201"]').getByText("paused").waitFor();
      await page.getByRole("button", { name: "Log out 202 in 600" }).click();
      await page.getByText("202 logged out.").waitFor();
      await board.locator('tr[data-agent="202"]').waitFor({ state: "detached" });
      eq(q!.store.agents("600").map((a) => [a.extension, a.paused]), [["201", true]]);
      eq(consoleErrors, []);
      ok(server.storage.audit.list({ actionPrefix: "queue." }).length >= 2, "agent changes audited");
    } finally {
      await browser?.close();
      await server.close();
    }
  },
});

Deno.test({
  name:
    "Queue wallboard: an agent on a queue call gets Listen/Whisper/Barge; Listen rings the chosen supervisor",
  ignore: !hasChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let q: ReturnType<typeof queueFeature> | undefined;
    const rung: { to: string; callerId: string }[] = [];
    const server = startUiServer((storage) => {
      q = queueFeature({
        db: storage.db,
        clock: realClock,
        log: nullLogger,
        prompts: { say: () => Promise.reject(new Error("no speech here")) },
      });
      // A call-control stand-in: originate records whom it rings; the phone never answers.
      q.useCalls!({
        originate: (o: { to: string; callerId: string }) => {
          rung.push({ to: o.to, callerId: o.callerId });
          return Promise.resolve({ answered: new Promise(() => {}), hangup() {} });
        },
      } as unknown as Calls);
      return { features: [q] };
    });
    let browser: Browser | undefined;
    try {
      q!.store.put(
        checkQueue({ number: "600", name: "Support", members: ["201"], supervisors: ["1003", "1004"] }),
      );
      const leg = { ended: new Promise(() => {}) } as unknown as CallLeg;
      q!.supervision.register("600", "201", leg, leg);
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
      await page.getByRole("link", { name: "Queues" }).click();
      await page.getByText("Live.").waitFor();
      const board = page.locator('section[data-queue="600"]');
      await board.locator('tr[data-agent="201"]').getByText(/queue call/).waitFor();
      await board.getByLabel("Supervisor for 600").selectOption("1004");
      await page.getByRole("button", { name: "Listen to 201's call" }).click();
      await page.getByText("Ringing 1004 to listen 201's call.").waitFor();
      eq(rung, [{ to: "1004", callerId: "201" }]);
      await shoot(page, "queues-supervise");
      eq(consoleErrors, []);
      ok(server.storage.audit.list({ actionPrefix: "queue.supervise" }).length === 1, "audited");
    } finally {
      await browser?.close();
      await server.close();
    }
  },
});
