import assert from "node:assert/strict";
import { webFixture } from "./_test_fixture.ts";

Deno.test("GET /api/openapi.json is an OpenAPI 3.1 document served without auth", async () => {
  using f = await webFixture();
  const res = await f.req("/api/openapi.json");
  assert.equal(res.status, 200);
  const doc = await res.json() as { openapi: string; paths: Record<string, unknown> };
  assert.equal(doc.openapi, "3.1.0");
  assert.ok(Object.keys(doc.paths).length > 20);
});

Deno.test("the OpenAPI document lists exactly the API routes the app has", async () => {
  using f = await webFixture();
  const doc = await (await f.req("/api/openapi.json")).json() as {
    paths: Record<string, Record<string, unknown>>;
  };
  const methods = ["get", "post", "put", "patch", "delete"];
  const documented = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const m of methods) if (item[m] !== undefined) documented.add(`${m.toUpperCase()} ${path}`);
  }
  const actual = new Set(
    f.app.routes
      .filter((r) => r.method !== "ALL" && r.path.startsWith("/api/"))
      .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z_]+)/g, "{$1}")}`),
  );
  const missing = [...actual].filter((r) => !documented.has(r));
  const extra = [...documented].filter((r) => !actual.has(r));
  assert.deepEqual(missing, [], "routes missing from web/openapi.ts");
  assert.deepEqual(extra, [], "documented routes that do not exist");
});
