import assert from "node:assert/strict";
import { Hono } from "hono";
import { openStorage } from "../runtime/storage/mod.ts";
import { type PagingControl, registerPagingRoutes } from "./api_paging.ts";
import { HttpError } from "./_http.ts";
import type { AppEnv } from "./_env.ts";

function fixture(options: { paging?: boolean } = {}) {
  const dataDir = Deno.makeTempDirSync({ prefix: "pbx-web-paging-" });
  const storage = openStorage({ dataDir, pbkdf2Iterations: 1000 });
  const calls: string[] = [];
  const control: PagingControl = {
    status: () => [{ number: "71", name: "Hall", state: "idle" }],
    nextBells: () => ({}),
    reloadSchedules: () => calls.push("reload"),
    testTone: (zone, o) => {
      calls.push(`tone ${zone} ${o.durationMs ?? "-"}`);
      return Promise.resolve({ outcome: "completed", detail: "" });
    },
  };
  let role: "admin" | "user" = "admin";
  const api = new Hono<AppEnv>();
  // Stands in for requireAuth: the app mounts these routes behind it.
  api.use("*", async (c, next) => {
    c.set("user", { username: "t", role: role as never });
    await next();
  });
  registerPagingRoutes(api, { storage, paging: options.paging === false ? undefined : control });
  api.onError((err, c) => {
    if (err instanceof HttpError) return c.json({ error: err.message }, err.status);
    return c.json({ error: String(err) }, 500);
  });
  const req = (path: string, method = "GET", json?: unknown) =>
    Promise.resolve(api.request(path, {
      method,
      ...(json === undefined
        ? {}
        : { headers: { "content-type": "application/json" }, body: JSON.stringify(json) }),
    }));
  return {
    storage,
    calls,
    req,
    asUser: () => (role = "user"),
    [Symbol.dispose]() {
      storage.close();
      Deno.removeSync(dataDir, { recursive: true });
    },
  };
}

Deno.test("paging zone CRUD validates input and answers 4xx with messages", async () => {
  using f = fixture();
  let res = await f.req("/paging/zones", "POST", {
    number: "71",
    name: "Hall",
    alsaDevice: "dac",
    channels: [2],
  });
  assert.equal(res.status, 201);
  assert.equal(((await res.json()) as { channels: number[] }).channels[0], 2);
  res = await f.req("/paging/zones", "POST", { number: "71", name: "Again" });
  assert.equal(res.status, 409);
  res = await f.req("/paging/zones", "POST", { number: "x1", name: "Bad", volume: 300 });
  assert.equal(res.status, 400);
  const msg = ((await res.json()) as { error: string }).error;
  assert.match(msg, /number: must be 1-8 digits/);
  assert.match(msg, /volume: must be <= 100/);
  res = await f.req("/paging/zones/71", "PATCH", {
    multicast: { address: "224.0.2.60", port: 50000, format: "polycom", codec: "PCMU", channel: 24 },
  });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { multicast: { ttl: number } }).multicast.ttl, 1);
  res = await f.req("/paging/zones/71", "PATCH", { ampLine: "relay" });
  assert.equal(res.status, 400);
  res = await f.req("/paging/zones/99");
  assert.equal(res.status, 404);
  res = await f.req("/paging/zones/71", "DELETE");
  assert.equal(res.status, 204);
});

Deno.test("paging groups, permissions and schedules; schedule edits re-arm the timers", async () => {
  using f = fixture();
  await f.req("/paging/zones", "POST", { number: "71", name: "Hall" });
  let res = await f.req("/paging/groups", "POST", { number: "79", name: "All", zones: ["71", "72"] });
  assert.equal(res.status, 400);
  assert.match(((await res.json()) as { error: string }).error, /72 does not exist/);
  res = await f.req("/paging/groups", "POST", { number: "79", name: "All", zones: ["71"] });
  assert.equal(res.status, 201);
  res = await f.req("/paging/permissions/201", "PUT", { targets: ["79", "55"] });
  assert.equal(res.status, 400);
  res = await f.req("/paging/permissions/201", "PUT", { targets: ["79", "71"] });
  assert.deepEqual(await res.json(), { extension: "201", targets: ["71", "79"] });
  res = await f.req("/paging/schedules", "POST", {
    name: "Bell",
    target: "79",
    wavPath: "/var/lib/pbx/bell.wav",
    weekdays: [1, 2, 3, 4, 5],
    time: "08:00",
  });
  assert.equal(res.status, 201);
  const { id } = (await res.json()) as { id: number };
  res = await f.req(`/paging/schedules/${id}`, "PATCH", { time: "8am" });
  assert.equal(res.status, 400);
  res = await f.req(`/paging/schedules/${id}`, "PATCH", { exceptions: ["2026-12-25"] });
  assert.equal(res.status, 200);
  assert.deepEqual(f.calls, ["reload", "reload"]);
  res = await f.req("/paging/log?limit=10");
  assert.deepEqual(await res.json(), { entries: [] });
});

Deno.test("test tone plays on one zone; status needs the running service; non-admins get 403", async () => {
  using f = fixture();
  await f.req("/paging/zones", "POST", { number: "71", name: "Hall" });
  let res = await f.req("/paging/zones/71/test-tone", "POST", { durationMs: 500 });
  assert.equal(res.status, 200);
  assert.deepEqual(f.calls, ["tone 71 500"]);
  res = await f.req("/paging/zones/71/test-tone", "POST", { durationMs: 5 });
  assert.equal(res.status, 400);
  res = await f.req("/paging/zones/72/test-tone", "POST");
  assert.equal(res.status, 404);
  res = await f.req("/paging/status");
  assert.equal(res.status, 200);
  f.asUser();
  res = await f.req("/paging/zones");
  assert.equal(res.status, 403);
});

Deno.test("paging status answers 503 when the paging service is not running", async () => {
  using f = fixture({ paging: false });
  const res = await f.req("/paging/status");
  assert.equal(res.status, 503);
  assert.match(((await res.json()) as { error: string }).error, /not running/);
});
