import { deepStrictEqual as eq, ok, throws } from "node:assert";
import { VirtualClock } from "../../clock/mod.ts";
import { createLogger } from "../../log/mod.ts";
import { fakeLeg } from "../../../tests/voicemail/_fake_leg.ts";
import { tempStorage } from "../../storage/_testing.ts";
import {
  extensionRoute,
  featureCodeClaims,
  featureCodes,
  NumberPlan,
  type PlanMatch,
  resolve,
  type Route,
  type RouteContext,
} from "../../call/route/mod.ts";
import { withVoicemail } from "../voicemail/mod.ts";
import {
  callFeaturesFeature,
  FeatureRefusal,
  forwardLoop,
  localTime,
  type TimeCondition,
  timeState,
} from "./mod.ts";

const lines: string[] = [];
const log = createLogger("test", { level: "info", sink: (l) => void lines.push(l) });
const EXTS = ["201", "202", "203"];

function setup(wallStart = Date.UTC(2026, 0, 5, 10, 0)) { // Monday 5 January 2026, 10:00 UTC
  const storage = tempStorage();
  const clock = new VirtualClock({ wallStart });
  const dnd: [string, boolean][] = [];
  // deno-lint-ignore prefer-const -- the plan includes the feature's own claims
  let cf: ReturnType<typeof callFeaturesFeature>;
  const plan = (): NumberPlan =>
    NumberPlan.from([
      ...EXTS.map((n) => ({ pattern: n, owner: { kind: "extension" as const, id: n } })),
      ...cf.numbers!(),
      ...featureCodeClaims(featureCodes()),
    ]);
  cf = callFeaturesFeature({
    db: storage.db,
    clock,
    log,
    exists: (n) => EXTS.includes(n),
    extensions: () => EXTS,
    lookup: (n) => plan().lookup(n),
    collision: (c) => plan().check(c)?.message,
    onDnd: (e, on) => void dnd.push([e, on]),
  });
  // The appliance's routeWith: extensions get voicemail (for 203) then call features; others the feature's own.
  const routeFor = (m: PlanMatch): Route | undefined => {
    if (m.claim.owner.kind === "extension") {
      const base = extensionRoute(m.claim.owner.id);
      const vm = m.claim.owner.id === "203" ? withVoicemail("203", base) : base;
      return cf.routing!.extensionRoute!(m.claim.owner.id, vm);
    }
    return cf.routing!.routeFor!(m);
  };
  const context: RouteContext = { plan: { lookup: (n) => plan().lookup(n) }, routeFor };
  return { storage, clock, cf, dnd, context, dispose: () => storage.dispose() };
}

Deno.test("forward always: a call to 201 rings 202; off again rings 201", () => {
  const t = setup();
  try {
    t.cf.setFeatures("201", { forwardAlways: "202" });
    const n = resolve("201", t.context);
    ok(n.kind === "step");
    eq(n.step.destination, { kind: "extension", number: "202" });
    eq(n.cursor.visited, ["201", "202"]);
    t.cf.setFeatures("201", { forwardAlways: null });
    const back = resolve("201", t.context);
    ok(back.kind === "step");
    eq(back.step.destination, { kind: "extension", number: "201" });
  } finally {
    t.dispose();
  }
});

Deno.test("forward busy and no answer: continuations dial the targets; the ring time applies", () => {
  const t = setup();
  try {
    t.cf.setFeatures("201", { forwardBusy: "202", forwardNoAnswer: "203", noAnswerSeconds: 12 });
    const n = resolve("201", t.context);
    ok(n.kind === "step");
    eq(n.step.ringSeconds, 12);
    eq(n.step.on?.busy, { dial: "202" });
    eq(n.step.on?.noAnswer, { dial: "203" });
    eq(n.step.on?.unavailable, { dial: "203" });
  } finally {
    t.dispose();
  }
});

Deno.test("DND: 486 without voicemail; voicemail's busy greeting with it; the busy forward first", () => {
  const t = setup();
  try {
    t.cf.setFeatures("201", { dnd: true });
    const plain = resolve("201", t.context);
    ok(plain.kind === "end");
    eq([plain.cause, plain.status], ["hangup", 486]);
    ok(/do not disturb/.test(plain.reason));
    t.cf.setFeatures("203", { dnd: true });
    const vm = resolve("203", t.context);
    ok(vm.kind === "step");
    eq(vm.step.destination.kind, "application");
    eq((vm.step.destination as { args?: Record<string, unknown> }).args?.reason, "busy");
    t.cf.setFeatures("201", { forwardBusy: "202" });
    const fwd = resolve("201", t.context);
    ok(fwd.kind === "step");
    eq(fwd.step.destination, { kind: "extension", number: "202" });
    eq(t.dnd, [["201", true], ["203", true]], "presence is told of each change");
  } finally {
    t.dispose();
  }
});

Deno.test("forward targets are checked when set: missing 404, itself 400, an always-loop 409", () => {
  const t = setup();
  try {
    const refused = (f: () => unknown, status: number, re: RegExp) =>
      throws(f, (e) => e instanceof FeatureRefusal && e.status === status && re.test(e.message));
    refused(() => t.cf.setFeatures("201", { forwardAlways: "299" }), 404, /299 is not in the number plan/);
    refused(() => t.cf.setFeatures("201", { forwardBusy: "201" }), 400, /cannot forward to itself/);
    refused(() => t.cf.setFeatures("299", { dnd: true }), 404, /extension 299 does not exist/);
    refused(() => t.cf.setFeatures("201", { noAnswerSeconds: 0 }), 400, /1-300/);
    t.cf.setFeatures("202", { forwardAlways: "203" });
    t.cf.setFeatures("203", { forwardAlways: "201" });
    refused(
      () => t.cf.setFeatures("201", { forwardAlways: "202" }),
      409,
      /forward loop: 201 -> 202 -> 203 -> 201/,
    );
    eq(t.cf.store.get("201").forwardAlways, null, "nothing was stored");
  } finally {
    t.dispose();
  }
});

Deno.test("a forward loop that got stored anyway ends in the dialplan with 482, not a storm", () => {
  const t = setup();
  try {
    // Written around the check (an old database, a restore): the dialplan's visited set still ends it.
    t.cf.store.set("201", { forwardAlways: "202" });
    t.cf.store.set("202", { forwardAlways: "201" });
    const n = resolve("201", t.context);
    ok(n.kind === "end");
    eq([n.cause, n.status], ["loop", 482]);
    ok(/201 -> 202 -> 201/.test(n.reason), n.reason);
    eq(forwardLoop("203", "201", (e) => t.cf.store.get(e).forwardAlways), undefined, "their loop, not 203's");
  } finally {
    t.dispose();
  }
});

Deno.test("feature codes: *72202 sets, *73 clears, *78/*79 DND, *90/*52 variants; a wrong target is 404", async () => {
  const t = setup();
  try {
    const run = async (dialled: string, caller = "201") => {
      const match = { lookup: t.context.plan.lookup }.lookup(dialled);
      ok(match, `${dialled} is in the plan`);
      const route = t.cf.routing!.routeFor!(match);
      const d = route!.steps[0]!.destination;
      ok(d.kind === "application");
      const { leg, state } = fakeLeg({ caller });
      await t.cf.applications![0]!.run(leg, d.args);
      return state;
    };
    const ok1 = await run("*72202");
    eq([ok1.answered, ok1.rejected], [true, 0]);
    eq(t.cf.store.get("201").forwardAlways, "202");
    await run("*73");
    eq(t.cf.store.get("201").forwardAlways, null);
    await run("*90203");
    await run("*52202");
    eq([t.cf.store.get("201").forwardBusy, t.cf.store.get("201").forwardNoAnswer], ["203", "202"]);
    await run("*91");
    await run("*53");
    eq([t.cf.store.get("201").forwardBusy, t.cf.store.get("201").forwardNoAnswer], [null, null]);
    await run("*78");
    eq(t.cf.store.get("201").dnd, true);
    await run("*79");
    eq(t.cf.store.get("201").dnd, false);
    lines.length = 0;
    const bad = await run("*72999");
    eq([bad.answered, bad.rejected], [false, 404]);
    ok(lines.some((l) => /feature code refused.*999 is not in the number plan/.test(l)), lines.join("\n"));
    // *72 alone asks for the number by DTMF.
    const t72 = setup();
    try {
      const m = t72.context.plan.lookup("*72")!;
      const d = t72.cf.routing!.routeFor!(m)!.steps[0]!.destination as { args: unknown };
      const { leg } = fakeLeg({ caller: "202", digits: ["203"] });
      await t72.cf.applications![0]!.run(leg, d.args as never);
      eq(t72.cf.store.get("202").forwardAlways, "203");
    } finally {
      t72.dispose();
    }
  } finally {
    t.dispose();
  }
});

const tc = (over: Partial<TimeCondition> = {}): TimeCondition => ({
  number: "500",
  name: "Front desk",
  openDestination: "201",
  closedDestination: "203",
  hours: [{ days: [1, 2, 3, 4, 5], from: "09:00", to: "17:00" }],
  holidays: [{ date: "2026-12-25", name: "Christmas" }],
  timeZone: "Europe/Berlin",
  mode: "auto",
  ...over,
});

Deno.test("time condition on a virtual clock: hours in its own zone, holidays, night mode", () => {
  const at = (iso: string) => Date.parse(iso);
  const c = tc();
  eq(localTime(at("2026-01-05T08:30:00Z"), "Europe/Berlin"), {
    date: "2026-01-05",
    weekday: 1,
    time: "09:30",
  });
  eq(timeState(c, at("2026-01-05T07:59:00Z")).open, false, "08:59 Berlin: not yet");
  eq(timeState(c, at("2026-01-05T08:00:00Z")), { open: true, why: "in hours" });
  eq(timeState(c, at("2026-01-05T16:00:00Z")).open, false, "17:00 Berlin: closed");
  eq(timeState(c, at("2026-01-05T07:30:00Z")).open, false, "07:30 UTC is 08:30 in winter (CET)");
  eq(timeState(c, at("2026-07-06T07:30:00Z")).open, true, "07:30 UTC is 09:30 in summer (CEST)");
  eq(timeState(c, at("2026-01-10T10:00:00Z")), { open: false, why: "out of hours" }, "Saturday");
  eq(timeState(c, at("2026-12-25T10:00:00Z")), { open: false, why: "holiday", holiday: "Christmas" });
  eq(timeState({ ...c, mode: "closed" }, at("2026-01-05T10:00:00Z")), { open: false, why: "night mode" });
  eq(timeState({ ...c, mode: "open" }, at("2026-01-10T10:00:00Z")).open, true);
});

Deno.test("time condition as a number: routeFor follows the clock; *28 toggles night mode", async () => {
  const t = setup(Date.UTC(2026, 0, 5, 9, 0)); // Monday 10:00 in Berlin
  try {
    t.cf.store.putTimeCondition(tc());
    // claims are read from the store when a time condition changes through the API; reload them here
    const fresh = callFeaturesFeature({
      db: t.storage.db,
      clock: t.clock,
      log,
      exists: (n) => EXTS.includes(n),
      lookup: (n) => t.context.plan.lookup(n),
    });
    const claim = fresh.numbers!()[0]!;
    eq(claim.owner, { kind: "time-condition", id: "500", label: 'time condition 500 "Front desk"' });
    const match = { claim, dialled: "500", suffix: "", stripped: "500" };
    eq(fresh.routing!.routeFor!(match)!.steps[0]!.destination, { kind: "dial", number: "201" });
    t.clock.advance(8 * 3600_000); // 18:00 Berlin
    eq(fresh.routing!.routeFor!(match)!.steps[0]!.destination, { kind: "dial", number: "203" });
    t.clock.advance(16 * 3600_000); // Tuesday 10:00
    eq(fresh.routing!.routeFor!(match)!.steps[0]!.destination, { kind: "dial", number: "201" });
    const { leg, state } = fakeLeg({ caller: "201" });
    await fresh.applications![0]!.run(leg, { code: "nightmode.toggle", suffix: "500" });
    eq(state.answered, true);
    eq(fresh.store.timeCondition("500")?.mode, "closed");
    eq(fresh.routing!.routeFor!(match)!.steps[0]!.destination, { kind: "dial", number: "203" }, "night mode");
    fresh.setMode(undefined, "toggle"); // *28 alone: every time condition
    eq(fresh.store.timeCondition("500")?.mode, "auto");
    const { leg: l2, state: s2 } = fakeLeg({ caller: "201" });
    await fresh.applications![0]!.run(l2, { code: "nightmode.toggle", suffix: "599" });
    eq(s2.rejected, 404);
  } finally {
    t.dispose();
  }
});

Deno.test("intercom route: the vendor's auto-answer header, 486 in a call or on DND, 404 for no extension", () => {
  const storage = tempStorage();
  try {
    const busy = new Set<string>();
    const cf = callFeaturesFeature({
      db: storage.db,
      clock: new VirtualClock(),
      log,
      exists: (n) => EXTS.includes(n),
      lookup: () => undefined,
      inCall: (e) => busy.has(e),
      vendorOf: (e) => (e === "202" ? "grandstream" : e === "203" ? "yealink" : null),
      boxUri: "sip:192.0.2.10",
    });
    const route = (n: string) =>
      cf.routing!.routeFor!({
        claim: { pattern: "_*80XX!", owner: { kind: "feature-code", id: "intercom" } },
        dialled: `*80${n}`,
        suffix: n,
        stripped: `*80${n}`,
      })!.steps[0]!;
    const gs = route("202");
    eq(gs.destination, {
      kind: "extension",
      number: "202",
      headers: [{ name: "Call-Info", value: "<sip:192.0.2.10>;answer-after=0" }],
    });
    eq(
      gs.on,
      { busy: "end", noAnswer: "end", unavailable: "end", failed: "end" },
      "no forward, no voicemail",
    );
    const yl = route("203").destination as unknown as { headers: { name: string; value: string }[] };
    eq(yl.headers.map((h) => h.value), [
      "<sip:192.0.2.10>;answer-after=0",
      "<sip:192.0.2.10>;info=alert-autoanswer;delay=0",
    ]);
    busy.add("202");
    eq(route("202").destination, {
      kind: "hangup",
      status: 486,
      reason: "Busy Here (intercom: 202 is on a call)",
    });
    cf.setFeatures("203", { dnd: true });
    eq((route("203").destination as { status: number }).status, 486);
    eq((route("299").destination as { status: number }).status, 404);
  } finally {
    storage.dispose();
  }
});

Deno.test("features of an extension deleted while the box was off are removed at start", () => {
  const storage = tempStorage();
  try {
    const make = (exts: string[]) =>
      callFeaturesFeature({
        db: storage.db,
        clock: new VirtualClock(),
        log,
        exists: (n) => exts.includes(n),
        lookup: () => undefined,
      });
    make(["201"]).store.set("201", { dnd: true });
    const after = make(["202"]);
    eq(after.store.list(), []);
    eq(after.store.get("201").dnd, false);
  } finally {
    storage.dispose();
  }
});

Deno.test("forwarding to an outside number an outbound route takes is accepted; to an emergency number refused", () => {
  const storage = tempStorage();
  try {
    const plan = NumberPlan.from([
      { pattern: "201", owner: { kind: "extension", id: "201" } },
      { pattern: "_9|NXXNXXXXXX", owner: { kind: "outbound-route", id: "local" } },
      { pattern: "911", owner: { kind: "outbound-route", id: "emergency" } },
    ]);
    const cf = callFeaturesFeature({
      db: storage.db,
      clock: new VirtualClock(),
      log,
      exists: (n) => n === "201",
      lookup: (n) => plan.lookup(n),
    });
    eq(cf.setFeatures("201", { forwardNoAnswer: "92125551234" }).forwardNoAnswer, "92125551234");
    throws(
      () => cf.setFeatures("201", { forwardAlways: "911" }),
      (e) => e instanceof FeatureRefusal && e.status === 400 && /emergency number/.test(e.message),
    );
  } finally {
    storage.dispose();
  }
});
