import { deepStrictEqual as eq, ok, throws } from "node:assert";
import { VirtualClock } from "../../clock/mod.ts";
import { createLogger } from "../../log/mod.ts";
import { createSecretBox, openStorage } from "../../storage/mod.ts";
import { tempStorage } from "../../storage/_testing.ts";
import { checkFraud, DEFAULT_FRAUD, FraudGuard, isNight } from "./fraud.ts";
import { checkRoute, checkTrunk, trunksFeature } from "./mod.ts";

const noon = Date.UTC(2026, 11, 3, 12, 0);

Deno.test("hourly limit per extension in virtual time: blocked at the limit, free again an hour later", () => {
  const clock = new VirtualClock({ wallStart: noon });
  const g = new FraudGuard(clock);
  const s = { ...DEFAULT_FRAUD, maxPerHourPerExtension: 3 };
  for (let i = 0; i < 3; i++) {
    ok(g.check("201", "national", [], s).ok);
    clock.advance(60_000);
  }
  const refused = g.check("201", "national", [], s);
  ok(!refused.ok && refused.alert && /3 outside calls this hour/.test(refused.reason));
  const again = g.check("201", "national", [], s);
  ok(!again.ok && !again.alert, "one alert per hour");
  ok(g.check("202", "national", [], s).ok, "another extension is not affected");
  clock.advance(58 * 60_000);
  ok(g.check("201", "national", [], s).ok, "the first call left the window");
});

Deno.test("concurrent limits per extension and for the box", () => {
  const g = new FraudGuard(new VirtualClock({ wallStart: noon }));
  const s = { ...DEFAULT_FRAUD, maxConcurrentPerExtension: 2, maxConcurrentBox: 3 };
  ok(g.check("201", "national", ["201"], s).ok);
  ok(!g.check("201", "national", ["201", "201"], s).ok);
  const box = g.check("202", "national", ["201", "203", "204"], s);
  ok(!box.ok && /the box has 3/.test(box.reason));
});

Deno.test("international at night needs permission; night wraps midnight in the configured zone", () => {
  const s = { ...DEFAULT_FRAUD, nightStart: "20:00", nightEnd: "07:00", timeZone: "America/Chicago" };
  eq(isNight(Date.UTC(2026, 11, 3, 18, 0), s), false, "noon in Chicago");
  ok(isNight(Date.UTC(2026, 11, 3, 12, 0), s), "06:00 in Chicago");
  ok(isNight(Date.UTC(2026, 11, 3, 3, 0), s), "21:00 in Chicago");
  const clock = new VirtualClock({ wallStart: Date.UTC(2026, 11, 3, 3, 0) });
  const g = new FraudGuard(clock);
  const r = g.check("201", "international", [], s);
  ok(!r.ok && /at night need permission/.test(r.reason));
  ok(g.check("201", "national", [], s).ok);
  ok(g.check("201", "international", [], { ...s, nightInternational: ["201"] }).ok);
});

Deno.test("bad fraud settings are refused with what is wrong", () => {
  throws(() => checkFraud({ maxPerHourBox: -1 }), /maxPerHourBox/);
  throws(() => checkFraud({ nightStart: "25:00" }), /nightStart/);
  throws(() => checkFraud({ timeZone: "Mars/Olympus" }), /time zone/);
  throws(() => checkFraud({ email: ["x"] }), /email\[0\]/);
  throws(() => checkFraud([]), /JSON object/);
});

Deno.test("the service refuses the call over the limit with 403, alerts once, emergency calls pass", async () => {
  const storage = tempStorage();
  const clock = new VirtualClock({ wallStart: noon });
  const alerts: unknown[] = [];
  try {
    const { service } = trunksFeature({
      db: storage.db,
      secrets: createSecretBox(storage.dataDir),
      settings: storage.settings,
      clock,
      log: createLogger("t", { level: "error", sink: () => {} }),
      activeCalls: () => 0,
      isExtension: (n) => n === "201",
      boxAddress: "127.0.0.1",
      onFraud: (a) => alerts.push(a),
    });
    service.store.putTrunk(
      checkTrunk({ kind: "peer", host: "127.0.0.1", addresses: ["127.0.0.9"] }, "c").trunk,
      undefined,
    );
    service.store.putRoute(checkRoute({ patterns: ["9N."], trunks: ["c"] }, "r"));
    service.setFraud(checkFraud({ maxPerHourPerExtension: 1, email: ["sec@example.test"] }));
    const req = (callId: string, route = "r") => ({
      trunk: "c",
      number: "5",
      route,
      caller: "201",
      callId,
      dialled: "95",
    });
    ok((await service.prepare(req("a"))).ok);
    ok((await service.prepare(req("a"))).ok, "failover of the same call is not counted again");
    const r = await service.prepare(req("b"));
    ok(!r.ok && r.status === 403 && r.reason.includes("fraud guard"));
    await service.prepare(req("c"));
    eq(alerts.length, 1);
    eq((alerts[0] as { email: string[] }).email, ["sec@example.test"]);
    ok((await service.prepare(req("e", "emergency"))).ok, "911 is never limited");
    eq(service.alerts().filter((a) => a.kind === "fraud").length, 1);
  } finally {
    storage.dispose();
  }
});

Deno.test("the hourly counters persist in SQLite across a restart; the hour still ends on the clock", async () => {
  const dataDir = Deno.makeTempDirSync({ prefix: "pbx-fraud-test-" });
  const clock = new VirtualClock({ wallStart: noon });
  const boot = () => {
    const storage = openStorage({ dataDir, pbkdf2Iterations: 1000 });
    const { service } = trunksFeature({
      db: storage.db,
      secrets: createSecretBox(dataDir),
      settings: storage.settings,
      clock,
      log: createLogger("t", { level: "error", sink: () => {} }),
      activeCalls: () => 0,
      isExtension: (n) => n === "201" || n === "202",
      boxAddress: "127.0.0.1",
    });
    return { storage, service };
  };
  const req = (callId: string, caller = "201") => ({
    trunk: "c",
    number: "5",
    route: "r",
    caller,
    callId,
    dialled: "95",
  });
  try {
    let { storage, service } = boot();
    service.store.putTrunk(
      checkTrunk({ kind: "peer", host: "127.0.0.1", addresses: ["127.0.0.9"] }, "c").trunk,
      undefined,
    );
    service.store.putRoute(checkRoute({ patterns: ["9N."], trunks: ["c"] }, "r"));
    service.setFraud(checkFraud({ maxPerHourPerExtension: 2, maxPerHourBox: 3 }));
    ok((await service.prepare(req("a"))).ok);
    clock.advance(60_000);
    ok((await service.prepare(req("b"))).ok);
    storage.close();
    // The box restarts: the two calls of 201 are still counted.
    ({ storage, service } = boot());
    const r = await service.prepare(req("c"));
    ok(!r.ok && r.status === 403 && /made 2 outside calls this hour/.test(r.reason), JSON.stringify(r));
    ok((await service.prepare(req("d", "202"))).ok, "the box limit counts the calls from before too");
    const box = await service.prepare(req("e", "202"));
    ok(!box.ok && /the box made 3 outside calls this hour/.test(box.reason), JSON.stringify(box));
    storage.close();
    clock.advance(60 * 60_000);
    ({ storage, service } = boot());
    ok((await service.prepare(req("f"))).ok, "an hour later the old calls no longer count");
    const left = storage.db.prepare("SELECT COUNT(*) AS n FROM fraud_calls").get() as { n: number };
    eq(left.n, 1, "rows older than an hour are pruned");
    storage.close();
  } finally {
    Deno.removeSync(dataDir, { recursive: true });
  }
});
