import { deepStrictEqual as eq } from "node:assert";
import { tempStorage } from "../runtime/storage/_testing.ts";
import type { Application, FeatureModule, LocalCallHandler } from "../runtime/call/mod.ts";
import { VirtualClock } from "../runtime/clock/mod.ts";
import { nullLogger } from "../runtime/log/mod.ts";
import { createRouter, groupsOf, mayPickUp } from "./_dialplan.ts";

const handler: LocalCallHandler = { accept: () => ({ status: 486, reason: "test" }) };

Deno.test("the router rings extensions, pages zones and groups (and their *NN numbers), 404s the rest", () => {
  const storage = tempStorage();
  try {
    storage.extensions.create({ number: "201", name: "Desk", password: "good-pass-123" }, "pbx");
    storage.paging.createZone({ number: "71", name: "Hall" });
    storage.paging.createGroup({ number: "70", name: "All", zones: ["71"] });
    const paged: string[] = [];
    const route = createRouter({
      storage,
      paging: (n) => {
        paged.push(n);
        return handler;
      },
    });
    const ext = (n: string) => {
      const t = route(n);
      return t.kind === "extension" ? { kind: t.kind, number: t.number } : t;
    };
    eq(ext("201"), { kind: "extension", number: "201" });
    for (const n of ["71", "*71", "70", "*70"]) eq(route(n).kind, "local", n);
    eq(paged, ["71", "*71", "70", "*70"]);
    for (const n of ["202", "*72", "*80201", "", "*"]) eq(route(n), { kind: "none" }, n);
    // Rows stored before numbers were checked: the extension keeps the number, as before.
    storage.paging.createZone({ number: "201", name: "Old" });
    eq(ext("201"), { kind: "extension", number: "201" });
    eq(route("*201").kind, "local");
  } finally {
    storage.dispose();
  }
});

Deno.test("a paging number the paging service does not take is not found", () => {
  const storage = tempStorage();
  try {
    storage.paging.createZone({ number: "71", name: "Hall" });
    const route = createRouter({ storage, paging: () => undefined });
    eq(route("71"), { kind: "none" });
  } finally {
    storage.dispose();
  }
});

Deno.test("feature modules: their numbers route to their applications, extension routes go through their rewrites", async () => {
  const storage = tempStorage();
  try {
    storage.extensions.create({ number: "201", name: "Desk", password: "good-pass-123" }, "pbx");
    const seen: unknown[] = [];
    const echo: Application<{ room?: string; dialled: string }> = {
      name: "echo",
      run: (leg, args) => (seen.push(args), leg.reject(486, "seen")),
    };
    const rooms: FeatureModule = {
      name: "rooms",
      applications: [echo],
      numbers: () => [{ pattern: "800", owner: { kind: "conference", id: "800" } }],
      routing: {
        routeFor: (m) =>
          m.claim.owner.kind === "conference"
            ? {
              steps: [{
                destination: { kind: "application", name: "echo", args: { room: m.claim.owner.id } },
              }],
            }
            : undefined,
        // "forward always" to the room: the first step the dispatcher takes is the room's.
        extensionRoute: (ext, r) =>
          ext === "201" ? { steps: [{ destination: { kind: "dial", number: "800" } }, ...r.steps] } : r,
      },
    };
    const route = createRouter({
      storage,
      paging: () => undefined,
      features: [rooms],
      applicationDeps: { media: {}, clock: new VirtualClock(), log: nullLogger },
    });
    for (const n of ["800", "201"]) {
      const t = route(n);
      if (t.kind !== "local") throw new Error(`${n}: ${t.kind}`);
      eq(await t.handler.accept({ caller: "202", dialled: n, receivedAt: 0, codec: "PCMU/8000" }), {
        status: 486,
        reason: "seen",
      });
    }
    eq(seen, [{ room: "800", dialled: "800" }, { room: "800", dialled: "201" }]);
    eq(route("801"), { kind: "none" });
  } finally {
    storage.dispose();
  }
});

Deno.test("a ringing target's next follows the route's continuations: busy -> application, the end -> the outcome's status", async () => {
  const storage = tempStorage();
  try {
    storage.extensions.create({ number: "201", name: "Desk", password: "good-pass-123" }, "pbx");
    const seen: unknown[] = [];
    const vm: Application<{ box: string; dialled: string }> = {
      name: "vm",
      run: (leg, args) => (seen.push(args), leg.reject(486, "vm")),
    };
    const then: FeatureModule = {
      name: "then-vm",
      applications: [vm],
      routing: {
        extensionRoute: (ext, r) => ({
          steps: [
            { ...r.steps[0]!, ringSeconds: 7, on: { noAnswer: "end" } },
            { destination: { kind: "application", name: "vm", args: { box: ext } } },
          ],
        }),
      },
    };
    const route = createRouter({
      storage,
      paging: () => undefined,
      features: [then],
      applicationDeps: { media: {}, clock: new VirtualClock(), log: nullLogger },
    });
    const first = route("201");
    if (first.kind !== "extension" || first.next === undefined) throw new Error(first.kind);
    eq(first.ringSeconds, 7);
    const after = first.next({ kind: "busy", status: 486 });
    if (after.kind !== "local") throw new Error(after.kind);
    await after.handler.accept({ caller: "202", dialled: "201", receivedAt: 0, codec: "PCMU/8000" });
    eq(seen, [{ box: "201", dialled: "201" }]);
    eq(first.next({ kind: "noAnswer", status: 480, reason: "No Answer" }), {
      kind: "none",
      status: 480,
      reason: "No Answer",
    });
  } finally {
    storage.dispose();
  }
});

Deno.test("group pickup: a callee's call groups against the picker's pickup groups (absent: group 1)", () => {
  const opts: Record<string, Record<string, unknown>> = {
    "201": { callGroups: ["sales"] },
    "202": {},
    "203": { pickupGroups: ["support", "sales"] },
    "204": { pickupGroups: [] },
  };
  const storage = {
    extensions: { get: (n: string) => (n in opts ? { options: opts[n] } : undefined) },
  } as unknown as Parameters<typeof mayPickUp>[0];
  eq(mayPickUp(storage, "203", "201"), true, "sales in both");
  eq(mayPickUp(storage, "203", "202"), false, "202 is in call group 1 only");
  eq(mayPickUp(storage, "202", "202"), true, "the defaults share group 1");
  eq(mayPickUp(storage, "202", "201"), false);
  eq(mayPickUp(storage, "204", "202"), false, "in no pickup group: nothing");
  eq(groupsOf(undefined, "callGroups"), ["1"]);
});
