/**
 * The trunk feature's REST API in-process (`app.request`): bad input gets a 4xx with an `{error}`
 * naming what is wrong, the password and the STIR key are write-only, deletes that would break a
 * route are refused, and every change is in the audit log without the secret.
 */
import { deepStrictEqual as eq, match, ok } from "node:assert";
import { realClock } from "../../runtime/clock/mod.ts";
import { nullLogger } from "../../runtime/log/mod.ts";
import { createSecretBox, openStorage } from "../../runtime/storage/mod.ts";
import { trunksFeature } from "../../runtime/features/trunks/mod.ts";
import { createApp } from "../../web/mod.ts";

Deno.test("trunk API: bad input is refused with what is wrong; secrets are write-only and not audited", async () => {
  const dataDir = Deno.makeTempDirSync({ prefix: "pbx-trunk-api-" });
  const storage = openStorage({ dataDir, pbkdf2Iterations: 1000 });
  try {
    const t = trunksFeature({
      db: storage.db,
      secrets: createSecretBox(dataDir),
      settings: storage.settings,
      clock: realClock,
      log: nullLogger,
      activeCalls: () => 0,
      isExtension: (n) => n === "201",
      boxAddress: "127.0.0.1",
      numberExists: (n) => n === "201",
    });
    const app = createApp({
      storage,
      live: { calls: () => [], onChange: () => () => {} },
      health: () => ({ ok: true, listeners: { sip: true } }),
      boxInfo: () => ({ addresses: ["127.0.0.1"], sipPort: 5060, httpPort: 80, tftpPort: 69 }),
      logs: () => [],
      features: [t.feature],
    });
    await app.request("/api/setup", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ password: "admin-password-1" }),
    });
    const login = await app.request("/api/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: "admin-password-1" }),
    });
    const { token } = await login.json();
    const call = async (method: string, path: string, body?: unknown, raw?: string) => {
      const res = await app.request(path, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body !== undefined || raw !== undefined ? { body: raw ?? JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text === "" ? undefined : JSON.parse(text) };
    };
    const bad = async (
      method: string,
      path: string,
      body: unknown,
      status: number,
      re: RegExp,
      raw?: string,
    ) => {
      const r = await call(method, path, body, raw);
      eq(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
      match(r.body.error, re);
    };
    await bad("PUT", "/api/trunks/c1", undefined, 400, /JSON/, "{not json");
    await bad("PUT", "/api/trunks/c1", [], 400, /JSON object/);
    await bad(
      "PUT",
      "/api/trunks/Bad%20Id",
      { kind: "peer", host: "h", addresses: ["1.2.3.4"] },
      400,
      /trunk id/,
    );
    await bad(
      "PUT",
      "/api/trunks/c1",
      { kind: "register", host: "h", username: "u" },
      400,
      /needs a password/,
    );
    await bad(
      "PUT",
      "/api/trunks/c1",
      { kind: "peer", host: "h", addresses: ["10.0.0.0/33"] },
      400,
      /prefix length/,
    );
    await bad(
      "PUT",
      "/api/trunks/c1",
      { kind: "peer", host: "h", addresses: ["1.2.3.4"], maxChannels: -1 },
      400,
      /maxChannels/,
    );
    const put = await call("PUT", "/api/trunks/c1", {
      kind: "register",
      host: "127.0.0.1",
      username: "u",
      password: "Secret-Trunk-1",
    });
    eq([put.status, put.body.hasPassword, "password" in put.body], [200, true, false]);
    ok(!JSON.stringify((await call("GET", "/api/trunks")).body).includes("Secret-Trunk-1"));
    await bad("PUT", "/api/dids/5551000", { destination: "999" }, 400, /no number of this box/);
    await bad("PUT", "/api/dids/5551000", { destination: "201", trunk: "nope" }, 400, /no trunk nope/);
    eq((await call("PUT", "/api/dids/5551000", { destination: "201" })).status, 200);
    await bad(
      "PUT",
      "/api/outbound-routes/us",
      { patterns: ["9|NXX"], trunks: ["nope"] },
      400,
      /no such trunk: nope/,
    );
    await bad(
      "PUT",
      "/api/outbound-routes/us",
      { patterns: ["9|[9-1]"], trunks: ["c1"] },
      400,
      /empty range/,
    );
    eq(
      (await call("PUT", "/api/outbound-routes/us", { patterns: ["9|NXXNXXXXXX"], trunks: ["c1"] })).status,
      200,
    );
    await bad("DELETE", "/api/trunks/c1", undefined, 409, /used by outbound routes us/);
    await bad("PUT", "/api/outbound-permissions/999", { classes: [] }, 404, /no extension 999/);
    await bad("PUT", "/api/outbound-permissions/201", { classes: ["everything"] }, 400, /classes\[0\]/);
    await bad("PUT", "/api/e911", { testNumber: "911" }, 400, /testNumber must differ/);
    await bad("PUT", "/api/e911/locations/extension/201", { floor: "2" }, 400, /address is required/);
    await bad("PUT", "/api/e911/locations/room/201", { address: "x" }, 404, /per extension or per device/);
    await bad("PUT", "/api/stir", { sign: { enabled: true } }, 400, /keyPem is needed/);
    await bad("PUT", "/api/stir", { verify: { policy: "drop" } }, 400, /policy/);
    await bad("PUT", "/api/fraud-guard", { timeZone: "Nowhere/Else" }, 400, /time zone/);
    const audit = JSON.stringify(storage.audit.list({}));
    ok(audit.includes("trunk.put") && !audit.includes("Secret-Trunk-1"), "audited without the password");
    const noauth = await app.request("/api/trunks");
    eq(noauth.status, 401);
    await noauth.body?.cancel();
  } finally {
    storage.close();
    Deno.removeSync(dataDir, { recursive: true });
  }
});
