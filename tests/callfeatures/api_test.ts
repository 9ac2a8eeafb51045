/**
 * The call-features REST API through the web app (in-process): forwarding and DND per extension
 * with their refusals (missing target 404, loop 409, a user only their own extension), and time
 * conditions (number collisions 409 naming both owners, destinations checked, night-mode toggle).
 */
import assert from "node:assert/strict";
import { callFeaturesFeature } from "../../runtime/features/callfeatures/mod.ts";
import { ringGroupsFeature } from "../../runtime/features/ringgroups/mod.ts";
import { claimsOf, NumberPlan, sourcesFrom, storeLookup } from "../../runtime/call/route/mod.ts";
import type { FeatureModule } from "../../runtime/call/feature.ts";
import { createLogger } from "../../runtime/log/mod.ts";
import { errorOf, webFixture } from "../../web/_test_fixture.ts";

const log = createLogger("test", { level: "error", sink: () => {} });

function fixture() {
  return webFixture({
    features: (s, clock) => {
      const features: FeatureModule[] = [];
      const plan = storeLookup(s, { extraClaims: () => features.flatMap((x) => x.numbers?.() ?? []) });
      features.push(callFeaturesFeature({
        db: s.db,
        clock,
        log,
        exists: (n) => s.extensions.get(n) !== undefined,
        extensions: () => sourcesFrom(s).extensions.map((e) => e.number),
        lookup: (n) => plan.lookup(n),
        collision: (c) =>
          NumberPlan.from(claimsOf(sourcesFrom(s, features.flatMap((x) => x.numbers?.() ?? [])))).check(c)
            ?.message,
      }));
      return features;
    },
  });
}

Deno.test("forwarding and DND by API: set, read, and refused with 404/400/409 and a message", async () => {
  using f = await fixture();
  for (const n of ["201", "202", "203"]) {
    f.storage.extensions.create({ number: n, name: `Ext ${n}`, password: "good-pass-123" }, "pbx");
  }
  const token = await f.login();
  const put = (ext: string, json: unknown) =>
    f.req(`/api/callfeatures/extensions/${ext}`, { method: "PUT", token, json });
  let res = await put("201", { forwardAlways: "202", dnd: true });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    extension: "201",
    forwardAlways: "202",
    forwardBusy: null,
    forwardNoAnswer: null,
    noAnswerSeconds: null,
    dnd: true,
  });
  res = await put("201", { forwardNoAnswer: "299" });
  assert.equal(res.status, 404);
  assert.match(await errorOf(res), /forward target 299 is not in the number plan/);
  res = await put("202", { forwardAlways: "201" });
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /forward loop: 202 -> 201 -> 202/);
  res = await put("201", { forwardBusy: 7 });
  assert.equal(res.status, 400);
  res = await put("201", { colour: "red" });
  assert.equal(res.status, 400);
  assert.match(await errorOf(res), /unknown field "colour"/);
  res = await put("299", { dnd: true });
  assert.equal(res.status, 404);
  await res.body?.cancel();
  const list = await (await f.req("/api/callfeatures/extensions", { token })).json();
  assert.deepEqual(list.items.map((x: { extension: string }) => x.extension), ["201", "202", "203"]);
  assert.ok(f.storage.audit.list({ action: "callfeatures.set" }).length >= 1);

  // A user sets only their own extension.
  await f.addUser("bob", "202");
  const bob = await f.login("bob", "user-password-1");
  res = await f.req("/api/callfeatures/extensions/201", { method: "PUT", token: bob, json: { dnd: false } });
  assert.equal(res.status, 403);
  await res.body?.cancel();
  res = await f.req("/api/callfeatures/extensions/202", { method: "PUT", token: bob, json: { dnd: true } });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  const mine = await (await f.req("/api/callfeatures/extensions", { token: bob })).json();
  assert.deepEqual(mine.items.map((x: { extension: string }) => x.extension), ["202"]);
  res = await f.req("/api/callfeatures/time-conditions", { token: bob });
  assert.equal(res.status, 403);
  await res.body?.cancel();
});

Deno.test("time conditions by API: collisions 409 naming both, destinations checked, night mode", async () => {
  using f = await fixture();
  for (const n of ["201", "203"]) {
    f.storage.extensions.create({ number: n, name: `Ext ${n}`, password: "good-pass-123" }, "pbx");
  }
  const token = await f.login();
  const put = (n: string, json: unknown) =>
    f.req(`/api/callfeatures/time-conditions/${n}`, { method: "PUT", token, json });
  const tc = {
    name: "Front desk",
    openDestination: "201",
    closedDestination: "203",
    hours: [{ days: [1, 2, 3, 4, 5], from: "09:00", to: "17:00" }],
    holidays: [{ date: "2026-12-25" }],
  };
  let res = await put("201", tc);
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /extension 201/);
  res = await put("500", { ...tc, closedDestination: "299" });
  assert.equal(res.status, 404);
  assert.match(await errorOf(res), /destination "299" is not in the number plan/);
  res = await put("500", { ...tc, hours: [{ days: [8], from: "09:00", to: "17:00" }] });
  assert.equal(res.status, 400);
  assert.match(await errorOf(res), /days 1 \(Monday\) to 7/);
  res = await put("500", { ...tc, timeZone: "Mars/Olympus" });
  assert.equal(res.status, 400);
  await res.body?.cancel();
  res = await put("500", tc);
  assert.equal(res.status, 200);
  const made = await res.json();
  assert.equal(made.mode, "auto");
  assert.equal(typeof made.state.open, "boolean");
  // The number is taken now: an extension on it is refused, naming the time condition.
  res = await f.req("/api/extensions", {
    method: "POST",
    token,
    json: { number: "500", name: "X", password: "good-pass-123" },
  });
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /time condition 500 "Front desk"/);
  res = await f.req("/api/callfeatures/time-conditions/500/mode", {
    method: "PUT",
    token,
    json: { mode: "toggle" },
  });
  const night = await res.json();
  assert.deepEqual([night.mode, night.state.open, night.state.why], ["closed", false, "night mode"]);
  res = await f.req("/api/callfeatures/time-conditions/500/mode", {
    method: "PUT",
    token,
    json: { mode: "dusk" },
  });
  assert.equal(res.status, 400);
  await res.body?.cancel();
  res = await f.req("/api/callfeatures/time-conditions/500", { method: "DELETE", token });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  res = await f.req("/api/callfeatures/time-conditions/500", { method: "DELETE", token });
  assert.equal(res.status, 404);
  await res.body?.cancel();
  const spec = await (await f.req("/api/openapi.json")).json();
  assert.ok(spec.paths["/api/callfeatures/extensions/{ext}"]);
});

Deno.test("every call-features and ring-group route is in the OpenAPI document, and nothing more", async () => {
  using f = await webFixture({
    features: (s, clock) => [
      callFeaturesFeature({ db: s.db, clock, log, exists: () => true, lookup: () => undefined }),
      ringGroupsFeature({ db: s.db, clock, log, exists: () => true, lookup: () => undefined }),
    ],
  });
  const doc = await (await f.req("/api/openapi.json")).json() as {
    paths: Record<string, Record<string, unknown>>;
  };
  const ours = (p: string) => p.startsWith("/api/callfeatures") || p.startsWith("/api/ringgroups");
  const documented = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!ours(path)) continue;
    for (const m of ["get", "post", "put", "patch", "delete"]) {
      if (item[m] !== undefined) documented.add(`${m.toUpperCase()} ${path}`);
    }
  }
  const actual = new Set(
    f.app.routes
      .filter((r) => r.method !== "ALL" && ours(r.path))
      .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z_]+)/g, "{$1}")}`),
  );
  assert.deepEqual([...actual].filter((r) => !documented.has(r)), [], "undocumented routes");
  assert.deepEqual([...documented].filter((r) => !actual.has(r)), [], "documented routes that do not exist");
});

Deno.test("deleting an extension removes its forwarding and DND: a new 201 starts clean", async () => {
  using f = await fixture();
  for (const n of ["201", "202"]) {
    f.storage.extensions.create({ number: n, name: `Ext ${n}`, password: "good-pass-123" }, "pbx");
  }
  const token = await f.login();
  let res = await f.req("/api/callfeatures/extensions/201", {
    method: "PUT",
    token,
    json: { forwardAlways: "202", dnd: true },
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  res = await f.req("/api/extensions/201", { method: "DELETE", token });
  assert.equal(res.status, 204);
  f.storage.extensions.create({ number: "201", name: "New", password: "good-pass-123" }, "pbx");
  const fresh = await (await f.req("/api/callfeatures/extensions/201", { token })).json();
  assert.deepEqual([fresh.forwardAlways, fresh.dnd], [null, false]);
});
