/** Feature modules' web part: routes mounted behind sign-in, numbers in the plan, OpenAPI merged. */
import assert from "node:assert/strict";
import type { FeatureModule } from "../runtime/call/feature.ts";
import { webFixture } from "./_test_fixture.ts";

const rooms: FeatureModule = {
  name: "rooms",
  numbers: () => [{ pattern: "800", owner: { kind: "conference", id: "800", label: "conference room 800" } }],
  web: {
    routes(api, kit) {
      api.get("/rooms", (c) => c.json({ user: c.get("user").username }));
      api.post("/rooms/upload", kit.requireAdmin, async (c) => {
        const body = await kit.readBody(c, 8);
        if (body.length === 0) kit.fail(400, "empty upload");
        kit.audit(c, "rooms.upload", `${body.length} bytes`);
        return c.json({ bytes: body.length });
      });
    },
    openapi: { "/api/rooms": { get: { summary: "Rooms" } } },
  },
};

Deno.test("a feature's routes need sign-in, its guards and limits hold, and its numbers collide with 409", async () => {
  using f = await webFixture({ deps: { features: [rooms] } });
  assert.equal((await f.req("/api/rooms")).status, 401);
  const token = await f.login();
  assert.deepEqual(await (await f.req("/api/rooms", { token })).json(), { user: "admin" });
  const big = await f.req("/api/rooms/upload", { token, method: "POST", body: "123456789" });
  assert.equal(big.status, 413);
  const empty = await f.req("/api/rooms/upload", { token, method: "POST", body: "" });
  assert.equal(empty.status, 400);
  assert.match((await empty.json()).error, /empty upload/);
  const ok = await f.req("/api/rooms/upload", { token, method: "POST", body: "1234" });
  assert.deepEqual(await ok.json(), { bytes: 4 });
  assert.ok(f.storage.audit.list({ action: "rooms.upload" }).length === 1);
  const ext = await f.req("/api/extensions", {
    token,
    method: "POST",
    json: { number: "800", name: "X", password: "good-pass-123" },
  });
  assert.equal(ext.status, 409);
  assert.match((await ext.json()).error, /conference room 800/);
  const spec = await (await f.req("/api/openapi.json")).json();
  assert.ok(spec.paths["/api/rooms"]);
  assert.ok(spec.paths["/api/extensions"]);
});
