/**
 * Connection exhaustion (issue 18, sections 1 and 5): floods past the open-file limit and per-source
 * SIP TCP floods must not take the box down, and calls and API requests must work afterwards.
 */
import { ok } from "node:assert/strict";
import net from "node:net";
import { hasBinary, runSipp } from "../_harness/mod.ts";
import { assertOk, call, EXT, phone, startPbx, withLogs } from "../sip/_setup.ts";

/** Open up to `count` TCP connections to 127.0.0.1:port from `localAddress`; failures just stop. */
async function openMany(port: number, count: number, localAddress = "127.0.0.1"): Promise<net.Socket[]> {
  const out: net.Socket[] = [];
  for (let i = 0; i < count; i++) {
    const s = net.connect({ host: "127.0.0.1", port, localAddress });
    s.on("error", () => {});
    const okay = await new Promise<boolean>((resolve) => {
      s.once("connect", () => resolve(true));
      s.once("error", () => resolve(false));
    });
    if (!okay) {
      s.destroy();
      continue; // the box refused this one: keep trying, the point is to go past its limit
    }
    out.push(s);
  }
  return out;
}

async function eventually<T>(fn: () => Promise<T>, what: string, tries = 100): Promise<T> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      return await fn();
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`${what}: ${last}`);
}

Deno.test({
  name: "connections past the open-file limit leave the box alive: afterwards an API request and a call work",
  ignore: !hasBinary("sipp") || !hasBinary("prlimit"),
  async fn() {
    // Per-source caps off here, so one test host can really exhaust the descriptors.
    const pbx = await startPbx({ PBX_SIP_TCP_MAX_PER_SOURCE: "100000", PBX_HTTP_MAX_PER_SOURCE: "100000" });
    try {
      await withLogs(pbx, async () => {
        const limit = 300;
        const p = await new Deno.Command("prlimit", {
          args: ["--pid", String(pbx.app.pid), `--nofile=${limit}:${limit}`],
        }).output();
        ok(p.success, new TextDecoder().decode(p.stderr));
        const http = await openMany(pbx.app.httpPort, 400);
        const sip = await openMany(pbx.app.sipPort, 400);
        await new Promise((r) => setTimeout(r, 1000));
        ok(pbx.app.status() === undefined, "the appliance exited under the flood");
        for (const s of [...http, ...sip]) s.destroy();
        await pbx.app.waitForLog(/out of file descriptors/, 10_000);
        // The web listener is started again; the API answers and reports the limit.
        const status = await eventually(
          () =>
            pbx.api.get<{ health: { files?: { limit: number | null; open: number | null } } }>(
              "/api/system/status",
            ),
          "GET /api/system/status after the flood",
        );
        ok(status.health.files?.limit === limit, JSON.stringify(status.health.files));
        // And SIP works: a call from 201 to 202.
        await using uas = await phone(pbx, "202", "uas_answer.xml");
        assertOk(await call(pbx, "201", "202", "uac_short_call.xml"), "caller after the flood");
        assertOk(await uas.done, "callee after the flood");
        // SIP over TCP is accepted again too.
        const reg = await runSipp({
          scenario: "register_auth.xml",
          target: pbx.target,
          user: "203",
          password: EXT["203"],
          transport: "t1",
        });
        assertOk(reg, "REGISTER over TCP after the flood");
        ok(pbx.app.status() === undefined, "the appliance is alive");
      })();
    } finally {
      await pbx.app.stop();
    }
  },
});

Deno.test({
  name: "one host holding many idle SIP TCP and HTTP connections does not lock another host out",
  ignore: !hasBinary("sipp"),
  async fn() {
    const pbx = await startPbx({
      PBX_SIP_TCP_MAX_PER_SOURCE: "20",
      PBX_SIP_TCP_MAX_CONNECTIONS: "60",
      PBX_HTTP_MAX_PER_SOURCE: "20",
      PBX_HTTP_MAX_CONNECTIONS: "60",
    });
    try {
      await withLogs(pbx, async () => {
        // 127.0.0.2 opens 200 idle connections: before the per-source cap it took the global cap.
        const flood = await openMany(pbx.app.sipPort, 200, "127.0.0.2");
        await pbx.app.waitForLog(/per-source connection limit reached/, 10_000);
        ok(flood.length >= 20, `only ${flood.length} connections opened`);
        // 127.0.0.1 registers over TCP and calls.
        const reg = await runSipp({
          scenario: "register_auth.xml",
          target: pbx.target,
          user: "203",
          password: EXT["203"],
          transport: "t1",
        });
        assertOk(reg, "REGISTER over TCP from another host");
        await using uas = await phone(pbx, "202", "uas_answer.xml");
        assertOk(await call(pbx, "201", "202", "uac_short_call.xml"), "caller");
        assertOk(await uas.done, "callee");
        // The same for the web: 127.0.0.2 holds idle connections, 127.0.0.1 uses the API.
        const web = await openMany(pbx.app.httpPort, 200, "127.0.0.2");
        await pbx.app.waitForLog(/http per-source connection limit reached/, 10_000);
        const status = await pbx.api.get<{ health: { ok: boolean } }>("/api/system/status");
        ok(status.health.ok);
        for (const s of [...flood, ...web]) s.destroy();
      })();
    } finally {
      await pbx.app.stop();
    }
  },
});
