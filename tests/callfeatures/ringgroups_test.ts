/**
 * Ring groups: the route (members, DND skipped, final destination; nobody left: 480 with a log
 * line) and the REST API's refusals (no members 400, a member that is no extension 404, a taken
 * number 409 naming both owners, a final destination not in the plan 404).
 */
import assert from "node:assert/strict";
import { ringGroupRoute, ringGroupsFeature } from "../../runtime/features/ringgroups/mod.ts";
import { claimsOf, NumberPlan, sourcesFrom, storeLookup } from "../../runtime/call/route/mod.ts";
import type { FeatureModule } from "../../runtime/call/feature.ts";
import { createLogger } from "../../runtime/log/mod.ts";
import { errorOf, webFixture } from "../../web/_test_fixture.ts";

const lines: string[] = [];
const log = createLogger("test", { level: "info", sink: (l) => void lines.push(l) });

Deno.test("ring group route: members minus DND, then the final destination; nobody: 480", () => {
  const g = {
    number: "600",
    name: "Sales",
    strategy: "hunt" as const,
    ringSeconds: 10,
    members: [{ number: "201" }, { number: "202", ringSeconds: 5 }],
    finalDestination: "203",
  };
  assert.deepEqual(ringGroupRoute(g), {
    steps: [
      { destination: { kind: "group", members: g.members, strategy: "hunt" }, ringSeconds: 10 },
      { destination: { kind: "dial", number: "203" } },
    ],
  });
  const dnd = ringGroupRoute(g, (m) => m === "201");
  assert.ok(!("empty" in dnd));
  assert.deepEqual((dnd.steps[0]!.destination as { members: unknown }).members, [{
    number: "202",
    ringSeconds: 5,
  }]);
  assert.deepEqual(ringGroupRoute({ ...g, finalDestination: null }, () => true), { empty: true });
});

function fixture(skip: (m: string) => boolean = () => false) {
  let rg: ReturnType<typeof ringGroupsFeature> | undefined;
  const f = webFixture({
    features: (s, clock) => {
      const features: FeatureModule[] = [];
      const plan = storeLookup(s, { extraClaims: () => features.flatMap((x) => x.numbers?.() ?? []) });
      rg = ringGroupsFeature({
        db: s.db,
        clock,
        log,
        exists: (n) => s.extensions.get(n) !== undefined,
        lookup: (n) => plan.lookup(n),
        collision: (c) =>
          NumberPlan.from(claimsOf(sourcesFrom(s, features.flatMap((x) => x.numbers?.() ?? [])))).check(c)
            ?.message,
        skip,
      });
      features.push(rg);
      return features;
    },
  });
  return f.then((x) => ({ f: x, rg: rg! }));
}

Deno.test("ring groups by API: made, listed, and refused with 400/404/409 and a message", async () => {
  const { f, rg } = await fixture((m) => m === "201" || m === "202");
  using _ = f;
  for (const n of ["201", "202"]) {
    f.storage.extensions.create({ number: n, name: `Ext ${n}`, password: "good-pass-123" }, "pbx");
  }
  const token = await f.login();
  const put = (n: string, json: unknown) => f.req(`/api/ringgroups/${n}`, { method: "PUT", token, json });
  let res = await put("600", { name: "Sales", members: [] });
  assert.equal(res.status, 400);
  assert.match(await errorOf(res), /at least one member/);
  res = await put("600", { members: ["201", "299"] });
  assert.equal(res.status, 404);
  assert.match(await errorOf(res), /member 299 is not an extension/);
  res = await put("201", { members: ["202"] });
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /extension 201/);
  res = await put("600", { members: ["201"], finalDestination: "699" });
  assert.equal(res.status, 404);
  assert.match(await errorOf(res), /final destination 699 is not in the number plan/);
  res = await put("600", { members: ["201"], strategy: "random" });
  assert.equal(res.status, 400);
  await res.body?.cancel();
  res = await put("600", {
    name: "Sales",
    members: ["201", { number: "202", ringSeconds: 5 }],
    strategy: "hunt",
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  const { items } = await (await f.req("/api/ringgroups", { token })).json();
  assert.deepEqual(items.map((g: { number: string }) => g.number), ["600"]);
  res = await f.req("/api/extensions", {
    method: "POST",
    token,
    json: { number: "600", name: "X", password: "good-pass-123" },
  });
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /ring group 600 "Sales"/);
  // Both members on DND and no final destination: the call gets 480 and a log line.
  const route = rg.routing!.routeFor!({
    claim: { pattern: "600", owner: { kind: "ring-group", id: "600" } },
    dialled: "600",
    suffix: "",
    stripped: "600",
  })!;
  assert.deepEqual((route.steps[0]!.destination as { status: number }).status, 480);
  assert.ok(lines.some((l) => /ring group has no member to ring group=600/.test(l)));
});
