import { deepStrictEqual as eq, ok } from "node:assert";
import {
  type Cursor,
  extensionRoute,
  type Next,
  next,
  type Outcome,
  resolve,
  type Route,
  type RouteContext,
} from "./dialplan.ts";
import { planOf } from "./claims.ts";
import type { NumberPlan } from "./number_plan.ts";

/** A context over extensions 201-204 and per-number routes given by the test. */
function context(
  routes: Record<string, Route>,
  extra: Partial<Omit<RouteContext, "plan">> = {},
): RouteContext & { plan: NumberPlan } {
  const plan = planOf({ extensions: ["201", "202", "203", "204"].map((number) => ({ number })) });
  return {
    plan,
    routeFor: (m) =>
      routes[m.claim.owner.id] ??
        (m.claim.owner.kind === "extension" ? extensionRoute(m.claim.owner.id) : undefined),
    ...extra,
  };
}

function step(n: Next): Cursor {
  if (n.kind !== "step") throw new Error(`expected a step, got end ${n.status} ${n.reason}`);
  return n.cursor;
}

const voicemail = (box: string) => ({
  destination: { kind: "application" as const, name: "voicemail", args: { box } },
});

Deno.test("ring 201 for 20 s, then voicemail: no answer and busy both reach voicemail", () => {
  const ctx = context({
    "201": {
      steps: [{ destination: { kind: "extension", number: "201" }, ringSeconds: 20 }, voicemail("201")],
    },
  });
  const first = resolve("201", ctx);
  ok(first.kind === "step");
  eq(first.step.destination, { kind: "extension", number: "201" });
  eq(first.step.ringSeconds, 20);
  eq(first.cursor.match.claim.owner.kind, "extension");
  for (const outcome of [{ kind: "noAnswer" }, { kind: "busy", status: 486 }] as Outcome[]) {
    const vm = next(first.cursor, outcome, ctx);
    ok(vm.kind === "step", outcome.kind);
    eq(vm.step.destination, { kind: "application", name: "voicemail", args: { box: "201" } });
    const done = next(vm.cursor, { kind: "answered" }, ctx);
    eq(done.kind === "end" && [done.cause, done.status], ["answered", 200]);
  }
});

Deno.test("explicit continuations: busy ends with the callee's status, unavailable dials another number", () => {
  const ctx = context({
    "201": {
      steps: [
        {
          destination: { kind: "extension", number: "201" },
          on: { busy: "end", unavailable: { dial: "202" } },
        },
        voicemail("201"),
      ],
    },
  });
  const c = step(resolve("201", ctx));
  const busy = next(c, { kind: "busy", status: 600, reason: "Busy Everywhere" }, ctx);
  eq(busy.kind === "end" && [busy.cause, busy.status, busy.reason], ["busy", 600, "Busy Everywhere"]);
  const away = next(c, { kind: "unavailable" }, ctx);
  ok(away.kind === "step");
  eq(away.step.destination, { kind: "extension", number: "202" });
  eq(away.cursor.visited, ["201", "202"]);
  eq(away.cursor.hops, 1);
});

Deno.test("a failure at the last step ends with the default status for its kind", () => {
  const ctx = context({});
  const c = step(resolve("203", ctx));
  const cases: [Outcome, number][] = [
    [{ kind: "noAnswer" }, 480],
    [{ kind: "busy" }, 486],
    [{ kind: "unavailable" }, 480],
    [{ kind: "failed" }, 500],
    [{ kind: "failed", status: 503 }, 503],
  ];
  for (const [o, status] of cases) {
    const n = next(c, o, ctx);
    eq(n.kind === "end" && [n.cause, n.status], [o.kind, status]);
  }
});

Deno.test("inline steps on a continuation run as their own list", () => {
  const ctx = context({
    "201": {
      steps: [{
        destination: { kind: "extension", number: "201" },
        on: {
          noAnswer: {
            steps: [{
              destination: {
                kind: "group",
                strategy: "hunt",
                members: [{ number: "203", ringSeconds: 10 }, { number: "204" }],
              },
            }, voicemail("201")],
          },
        },
      }],
    },
  });
  const g = next(step(resolve("201", ctx)), { kind: "noAnswer" }, ctx);
  ok(g.kind === "step" && g.step.destination.kind === "group");
  eq(g.step.destination.strategy, "hunt");
  const vm = next(g.cursor, { kind: "noAnswer" }, ctx);
  ok(vm.kind === "step" && vm.step.destination.kind === "application");
});

Deno.test("forward always is a dial step the stepper follows; the engine never sees it", () => {
  const ctx = context({ "201": { steps: [{ destination: { kind: "dial", number: "202" } }] } });
  const n = resolve("201", ctx);
  ok(n.kind === "step");
  eq(n.step.destination, { kind: "extension", number: "202" });
  eq(n.cursor.dialled, "201");
  eq(n.cursor.match.claim.owner.id, "202");
});

Deno.test("a forwarding loop ends with 482 naming the chain", () => {
  const ctx = context({
    "201": { steps: [{ destination: { kind: "dial", number: "202" } }] },
    "202": { steps: [{ destination: { kind: "dial", number: "203" } }] },
    "203": { steps: [{ destination: { kind: "dial", number: "201" } }] },
  });
  const n = resolve("201", ctx);
  eq(n.kind === "end" && [n.cause, n.status, n.reason], [
    "loop",
    482,
    "Loop Detected (201 -> 202 -> 203 -> 201)",
  ]);
});

Deno.test("a no-answer loop (201 -> 202 -> 201) is caught on the way back too", () => {
  const ring = (n: string, then: string): Route => ({
    steps: [{ destination: { kind: "extension", number: n }, on: { noAnswer: { dial: then } } }],
  });
  const ctx = context({ "201": ring("201", "202"), "202": ring("202", "201") });
  const a = step(resolve("201", ctx));
  const b = next(a, { kind: "noAnswer" }, ctx);
  ok(b.kind === "step");
  const back = next(b.cursor, { kind: "noAnswer" }, ctx);
  eq(back.kind === "end" && [back.cause, back.status], ["loop", 482]);
});

Deno.test("the hop limit ends a long chain with 483 even without a loop", () => {
  const routes: Record<string, Route> = {};
  const numbers = ["201", "202", "203", "204"];
  numbers.forEach((n, i) => {
    if (i + 1 < numbers.length) {
      routes[n] = { steps: [{ destination: { kind: "dial", number: numbers[i + 1]! } }] };
    }
  });
  const ok3 = resolve("201", context(routes, { maxHops: 3 }));
  eq(ok3.kind === "step" && ok3.cursor.hops, 3);
  const n = resolve("201", context(routes, { maxHops: 2 }));
  eq(n.kind === "end" && [n.cause, n.status], ["tooManyHops", 483]);
});

Deno.test("unknown numbers, numbers without a route and empty routes end with 404", () => {
  const ctx = context({ "202": { steps: [] } });
  for (const dialled of ["299", "202", "*99"]) {
    const n = resolve(dialled, ctx);
    eq(n.kind === "end" && [n.cause, n.status], ["notFound", 404], dialled);
  }
  const viaDial = context({ "201": { steps: [{ destination: { kind: "dial", number: "299" } }] } });
  const n = resolve("201", viaDial);
  eq(n.kind === "end" && n.status, 404);
});

Deno.test("a hangup step answers the caller with its status", () => {
  const ctx = context({
    "204": { steps: [{ destination: { kind: "hangup", status: 403, reason: "Forbidden (night)" } }] },
  });
  const n = resolve("204", ctx);
  eq(n.kind === "end" && [n.cause, n.status, n.reason], ["hangup", 403, "Forbidden (night)"]);
});

Deno.test("a feature-code number resolves with its argument for the application", () => {
  const ctx = context({
    intercom: { steps: [{ destination: { kind: "application", name: "intercom" } }] },
  });
  const n = resolve("*80202", ctx);
  ok(n.kind === "step");
  eq(n.cursor.match.claim.owner, { kind: "feature-code", id: "intercom", label: "feature code intercom" });
  eq(n.cursor.match.suffix, "202");
});

Deno.test("trunk calls look the DID up in the inbound scope; its route dials internal numbers", () => {
  const ctx = context({ did1: { steps: [{ destination: { kind: "dial", number: "201" } }] } }, {
    scope: "inbound",
  });
  ctx.plan.claim({ pattern: "5551234", owner: { kind: "trunk-did", id: "did1" }, scope: "inbound" });
  const n = resolve("5551234", ctx);
  ok(n.kind === "step");
  eq(n.step.destination, { kind: "extension", number: "201" });
  const internal = resolve("5551234", { ...ctx, scope: "internal" });
  eq(internal.kind === "end" && internal.status, 404, "a phone cannot dial the DID as an internal number");
  const direct = resolve("201", ctx);
  eq(direct.kind === "end" && direct.status, 404, "a trunk cannot reach an extension that is no DID");
});
