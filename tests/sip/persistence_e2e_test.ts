/**
 * What the box acknowledged survives a restart and a kill -9: extensions created through the API,
 * registrations (the phone need not re-register to be reachable), and call records.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { startAppliance } from "../_harness/mod.ts";
import { assertOk, call, EXT, type Pbx, register } from "./_setup.ts";
import { startSipp } from "../_harness/mod.ts";

Deno.test("a registration survives a restart and the phone is still called", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "pbx-persist-" });
  try {
    let app = await startAppliance({ dataDir });
    let pbx: Pbx;
    await using uas = await startSipp({ scenario: "uas_answer.xml", timeoutSec: 60 });
    try {
      const api = await app.adminApi();
      for (const [number, password] of Object.entries(EXT)) {
        await api.createExtension({ number, name: `Phone ${number}`, password });
      }
      pbx = { app, api, target: `127.0.0.1:${app.sipPort}` };
      assertOk(await register(pbx, "202", uas.localPort), "register");
    } finally {
      await app.stop();
    }
    app = await startAppliance({ dataDir });
    try {
      pbx = { app, api: await app.adminApi(), target: `127.0.0.1:${app.sipPort}` };
      const { items } = await pbx.api.get<{ items: { extension: string }[] }>("/api/registrations");
      ok(items.some((r) => r.extension === "202"), "the binding was restored");
      assertOk(await call(pbx, "201", "202", "uac_short_call.xml"), "call after restart");
      assertOk(await uas.done, "callee answered after the restart without re-registering");
    } finally {
      await app.stop();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("kill -9 loses nothing the API or the registrar acknowledged", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "pbx-kill9-" });
  try {
    let app = await startAppliance({ dataDir });
    const acknowledged: string[] = [];
    try {
      const api = await app.adminApi();
      await api.createExtension({ number: "201", name: "Phone 201", password: EXT["201"] });
      const pbx: Pbx = { app, api, target: `127.0.0.1:${app.sipPort}` };
      assertOk(await register(pbx, "201", 5990), "register");
      // Create extensions as fast as the API answers, and pull the plug in the middle of it.
      const writer = (async () => {
        for (let n = 300; n < 400; n++) {
          const r = await api.request("POST", "/api/extensions", {
            number: String(n),
            name: `Load ${n}`,
            password: "Granite-Fox-q",
          });
          if (r.status === 201) acknowledged.push(String(n));
          else break;
        }
      })().catch(() => {});
      while (acknowledged.length < 20) await new Promise((r) => setTimeout(r, 5));
      await app.kill9();
      await writer;
    } catch (e) {
      await app.stop();
      throw e;
    }
    ok(acknowledged.length >= 20);
    app = await startAppliance({ dataDir });
    try {
      const api = await app.adminApi();
      const { items } = await api.get<{ items: { number: string }[] }>("/api/extensions?limit=500");
      const present = new Set(items.map((e) => e.number));
      const lost = acknowledged.filter((n) => !present.has(n));
      eq(lost, [], "acknowledged extensions lost by kill -9");
      const regs = await api.get<{ items: { extension: string }[] }>("/api/registrations");
      ok(regs.items.some((r) => r.extension === "201"), "the acknowledged registration is still there");
    } finally {
      await app.stop();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
