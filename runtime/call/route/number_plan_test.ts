import { deepStrictEqual as eq, ok, throws } from "node:assert";
import { NumberCollision, NumberPlan } from "./number_plan.ts";
import { claimsOf, extensionClaims, firstCollision, pagingClaims, planOf, storeLookup } from "./claims.ts";
import { DEFAULT_FEATURE_CODES, featureCodes } from "./feature_codes.ts";

Deno.test("a claim on a taken number is refused with a NumberCollision naming both owners", () => {
  const plan = new NumberPlan();
  plan.claim(extensionClaims({ number: "201", name: "Reception" })[0]!);
  const e = throws(
    () => plan.claim(pagingClaims("paging-zone", { number: "201", name: "Yard" })[0]!),
    (err: unknown) => {
      ok(err instanceof NumberCollision);
      eq(err.existing.owner, { kind: "extension", id: "201", label: 'extension 201 "Reception"' });
      eq(err.refused.owner.kind, "paging-zone");
      ok(err.message.includes('paging zone 201 "Yard"'), err.message);
      ok(err.message.includes('extension 201 "Reception"'), err.message);
      return true;
    },
  );
  void e;
  eq(plan.entries().length, 1, "the refused claim is not in the plan");
});

Deno.test("an owner may claim several numbers; release frees them all", () => {
  const plan = new NumberPlan();
  for (const c of pagingClaims("paging-zone", { number: "71" })) plan.claim(c);
  eq(plan.entries().length, 2);
  plan.claim({ pattern: "71", owner: { kind: "paging-zone", id: "71" } }); // own number again: fine
  throws(() => plan.claim({ pattern: "*71", owner: { kind: "feature-code", id: "x" } }), NumberCollision);
  eq(plan.release({ kind: "paging-zone", id: "71" }), 3);
  plan.claim({ pattern: "*71", owner: { kind: "feature-code", id: "x" } });
});

Deno.test("a paging zone's emergency number collides with a feature code (*72 forward, *8 pickup)", () => {
  const plan = planOf({ extensions: [] });
  const hit = firstCollision(plan, pagingClaims("paging-group", { number: "72", name: "All" }));
  ok(hit);
  eq(hit.existing.owner.id, "forward.on");
  ok(/emergency page \*72/.test(hit.message), hit.message);
  ok(firstCollision(plan, pagingClaims("paging-zone", { number: "8" })));
  ok(firstCollision(plan, pagingClaims("paging-zone", { number: "8020" })), "*8020 is intercom to 20");
  eq(firstCollision(plan, pagingClaims("paging-zone", { number: "802" })), undefined);
  eq(
    firstCollision(plan, pagingClaims("paging-zone", { number: "72" }, "")),
    undefined,
    "no emergency prefix",
  );
});

Deno.test("prefix patterns: an outside-line prefix 9 collides with extension 901 but not 801", () => {
  const plan = planOf({ extensions: [{ number: "901" }] });
  const route = { pattern: "_9|.", owner: { kind: "outbound-route" as const, id: "local" } };
  ok(plan.check(route));
  const other = planOf({ extensions: [{ number: "801" }] });
  eq(other.check(route), undefined);
});

Deno.test("inbound DIDs and internal numbers are separate scopes", () => {
  const plan = planOf({ extensions: [{ number: "5551234" }] });
  plan.claim({ pattern: "5551234", owner: { kind: "trunk-did", id: "did1" }, scope: "inbound" });
  eq(plan.lookup("5551234")?.claim.owner.kind, "extension");
  eq(plan.lookup("5551234", "inbound")?.claim.owner.kind, "trunk-did");
  throws(
    () => plan.claim({ pattern: "_555XXXX", owner: { kind: "trunk-did", id: "block" }, scope: "inbound" }),
    /trunk-did block .* collides with trunk-did did1/,
  );
});

Deno.test("lookup gives the owner, a feature code's argument and a trunk's stripped number", () => {
  const plan = planOf({ extensions: [{ number: "201" }] });
  plan.claim({ pattern: "_9|NXXNXXXXXX", owner: { kind: "outbound-route", id: "local" } });
  const intercom = plan.lookup("*80201");
  eq(intercom?.claim.owner.id, "intercom");
  eq(intercom?.suffix, "201");
  eq(plan.lookup("**201")?.claim.owner.id, "pickup.directed");
  eq(plan.lookup("**201")?.suffix, "201");
  eq(plan.lookup("*8")?.claim.owner.id, "pickup.group");
  eq(plan.lookup("92125551234")?.stripped, "2125551234");
  eq(plan.lookup("201")?.claim.owner.kind, "extension");
  eq(plan.lookup("202"), undefined);
});

Deno.test("stored rows that already collide: the first keeps the number, the rest are reported", () => {
  const reported: string[] = [];
  const plan = planOf(
    { extensions: [{ number: "71" }], pagingZones: [{ number: "71" }, { number: "79" }] },
    { onCollision: (c) => reported.push(`${c.refused.pattern}:${c.existing.owner.id}`) },
  );
  eq(reported, ["71:71", "*79:79"], "the feature code, not the stored zone, loses *79");
  eq(plan.lookup("71")?.claim.owner.kind, "extension");
  eq(plan.lookup("*71")?.claim.owner.kind, "paging-zone", "its other number still works");
});

Deno.test("feature codes: defaults claim their numbers, overrides replace them, bad overrides are refused", () => {
  const claims = claimsOf({ extensions: [] });
  eq(claims.map((c) => c.pattern), DEFAULT_FEATURE_CODES.map((f) => f.pattern));
  const moved = featureCodes({ "dnd.on": "*76" });
  eq(moved.find((f) => f.name === "dnd.on")?.pattern, "*76");
  const plan = planOf({ extensions: [], featureCodeOverrides: { "dnd.on": "*76" } });
  eq(plan.lookup("*78"), undefined);
  eq(plan.lookup("*76")?.claim.owner.id, "dnd.on");
  throws(() => featureCodes({ "no.such": "*1" }), /unknown feature code "no.such"/);
  throws(() => featureCodes({ "dnd.on": "_*7[" }), RangeError);
  const clash: string[] = [];
  planOf({ extensions: [], featureCodeOverrides: { "dnd.on": "*72" } }, {
    onCollision: (c) => clash.push(c.message),
  });
  eq(clash.length, 1);
  ok(/feature code dnd.on .* collides with feature code forward.on/.test(clash[0]!), clash[0]);
});

Deno.test("a malformed claim is a SyntaxError, not a collision", () => {
  const plan = new NumberPlan();
  throws(() => plan.claim({ pattern: "_9.X", owner: { kind: "outbound-route", id: "x" } }), SyntaxError);
});

Deno.test("storeLookup answers like the whole plan from point reads (owners, precedence, emergency numbers)", () => {
  const rows = (xs: string[]) => new Map(xs.map((n) => [n, { number: n, name: `N${n}` }]));
  const extensions = rows(["201", "71", "8020"]);
  const zones = rows(["71", "72", "802", "9"]);
  const groups = rows(["70"]);
  const settings = new Map<string, unknown>([["dialplan.featureCodes", { "dnd.on": "*76" }]]);
  const stores = {
    extensions: { get: (n: string) => extensions.get(n) },
    paging: { getZone: (n: string) => zones.get(n), getGroup: (n: string) => groups.get(n) },
    settings: { get: <T>(k: string) => settings.get(k) as T | undefined },
  };
  const whole = planOf({
    extensions: [...extensions.values()],
    pagingZones: [...zones.values()],
    pagingGroups: [...groups.values()],
    featureCodeOverrides: { "dnd.on": "*76" },
  });
  const point = storeLookup(stores);
  for (
    const d of [
      "201",
      "71",
      "*71",
      "72",
      "*72",
      "*802",
      "802",
      "*9",
      "70",
      "*70",
      "*76",
      "*78",
      "*8020",
      "**201",
      "*8",
      "999",
      "*",
      "",
    ]
  ) {
    const a = whole.lookup(d);
    const b = point.lookup(d);
    eq(
      b && [b.claim.owner.kind, b.claim.owner.id, b.suffix],
      a && [a.claim.owner.kind, a.claim.owner.id, a.suffix],
      d,
    );
  }
  eq(point.lookup("71")?.claim.owner.kind, "extension", "extension 71 wins over the old zone 71");
  eq(point.lookup("*72")?.claim.owner.kind, "paging-zone", "a stored zone keeps *72 over the default code");
  eq(point.lookup("201", "inbound"), undefined);
});
