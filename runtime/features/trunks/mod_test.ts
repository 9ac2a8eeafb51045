import { deepStrictEqual as eq, ok, throws } from "node:assert";
import { createLogger } from "../../log/mod.ts";
import { createSecretBox } from "../../storage/mod.ts";
import { tempStorage } from "../../storage/_testing.ts";
import { realClock } from "../../clock/mod.ts";
import { NumberPlan, resolve } from "../../call/route/mod.ts";
import type { OutboundLeg } from "../../call/mod.ts";
import { checkDid, checkRoute, checkTrunk, trunksFeature } from "./mod.ts";
import { checkE911 } from "./e911.ts";

const quiet = createLogger("test", { level: "error", sink: () => {} });

function setup() {
  const storage = tempStorage();
  let active = 0;
  const emergencies: unknown[] = [];
  const { feature, service } = trunksFeature({
    db: storage.db,
    secrets: createSecretBox(storage.dataDir),
    settings: storage.settings,
    clock: realClock,
    log: quiet,
    activeCalls: () => active,
    isExtension: (n) => ["201", "202"].includes(n),
    boxAddress: "127.0.0.1",
    onEmergency: (c) => emergencies.push(c),
  });
  const store = service.store;
  store.putTrunk(
    checkTrunk({
      kind: "register",
      host: "127.0.0.1",
      port: 5070,
      username: "box1",
      callerId: "15550001000",
      maxChannels: 2,
    }, "carrier").trunk,
    "trunk-Secret-9",
  );
  store.putTrunk(
    checkTrunk({ kind: "peer", host: "127.0.0.5", addresses: ["127.0.0.5/32"] }, "peer").trunk,
    undefined,
  );
  store.putRoute(
    checkRoute(
      { patterns: ["9|NXXNXXXXXX"], prepend: "1", class: "national", trunks: ["carrier", "peer"] },
      "us",
    ),
  );
  store.putRoute(checkRoute({ patterns: ["9011."], class: "international", trunks: ["carrier"] }, "intl"));
  store.putDid(checkDid({ destination: "201" }, "5551000"));
  const plan = () => NumberPlan.from(feature.numbers!());
  return {
    storage,
    service,
    feature,
    plan,
    emergencies,
    setActive: (n: number) => active = n,
    dispose: () => storage.dispose(),
  };
}

Deno.test("an outbound route strips at | and prepends, one failover step per trunk in order", () => {
  const t = setup();
  try {
    const n = resolve("95552345678", { plan: t.plan(), routeFor: (m) => t.feature.routing!.routeFor!(m) });
    ok(n.kind === "step");
    eq(n.cursor.steps.map((s) => s.destination), [
      { kind: "trunk", trunk: "carrier", number: "15552345678", route: "us" },
      { kind: "trunk", trunk: "peer", number: "15552345678", route: "us" },
    ]);
    eq(n.step.on, { failed: "next", busy: "end", unavailable: "end", noAnswer: "end" });
  } finally {
    t.dispose();
  }
});

Deno.test("permissions: national allowed by default, international refused until granted", async () => {
  const t = setup();
  try {
    const base = { trunk: "carrier", caller: "201", callId: "c1", dialled: "x" };
    const nat = await t.service.prepare({ ...base, number: "15551234567", route: "us" });
    ok(nat.ok);
    const intl = await t.service.prepare({ ...base, number: "011441234", route: "intl" });
    eq(intl.ok, false);
    ok(!intl.ok && intl.status === 403 && intl.reason.includes("international"));
    t.service.store.setClasses("201", ["internal", "local", "national", "international"]);
    ok((await t.service.prepare({ ...base, number: "011441234", route: "intl" })).ok);
    // Not an extension: refused.
    eq((await t.service.prepare({ ...base, caller: "5559999", number: "1555", route: "us" })).ok, false);
  } finally {
    t.dispose();
  }
});

Deno.test("caller ID: From and P-Asserted-Identity from the trunk's caller ID; channel limit fails over", async () => {
  const t = setup();
  try {
    const d = await t.service.prepare({
      trunk: "carrier",
      caller: "201",
      callId: "c",
      dialled: "9",
      number: "15551234567",
      route: "us",
    });
    ok(d.ok);
    const leg = d.leg as OutboundLeg;
    eq(leg.uri, "sip:15551234567@127.0.0.1:5070");
    eq(leg.from, "<sip:15550001000@127.0.0.1>");
    eq(leg.headers.find((h) => h.name === "P-Asserted-Identity")?.value, "<sip:15550001000@127.0.0.1>");
    eq(leg.target, { transport: "udp", address: "127.0.0.1", port: 5070 });
    t.setActive(2);
    const full = await t.service.prepare({
      trunk: "carrier",
      caller: "201",
      callId: "c",
      dialled: "9",
      number: "1",
      route: "us",
    });
    ok(!full.ok && full.status === 503 && full.failover === true);
  } finally {
    t.dispose();
  }
});

Deno.test("PAI-only presentation sends an anonymous From and Privacy: id (RFC 3325)", async () => {
  const t = setup();
  try {
    t.service.store.putTrunk(
      checkTrunk({
        kind: "peer",
        host: "127.0.0.5",
        addresses: ["127.0.0.5"],
        callerIdMode: "pai",
        callerId: "15550002000",
      }, "peer")
        .trunk,
      undefined,
    );
    const d = await t.service.prepare({
      trunk: "peer",
      caller: "201",
      callId: "c",
      dialled: "9",
      number: "1555",
      route: "us",
    });
    ok(d.ok);
    ok(d.leg.from.includes("anonymous@anonymous.invalid"));
    eq(d.leg.headers.find((h) => h.name === "Privacy")?.value, "id");
  } finally {
    t.dispose();
  }
});

Deno.test("911 and 9911 route to the trunks with PIDF-LO and Geolocation, ignoring permissions and limits", async () => {
  const t = setup();
  try {
    t.service.store.setClasses("202", []); // no outside permission at all
    t.service.store.setLocation("extension", "202", {
      address: "100 Main St, Springfield",
      country: "US",
      floor: "2",
      room: "201 & <b>",
    });
    t.setActive(99);
    for (const dialled of ["911", "9911"]) {
      const n = resolve(dialled, { plan: t.plan(), routeFor: (m) => t.feature.routing!.routeFor!(m) });
      ok(n.kind === "step", dialled);
      eq(n.step.destination, { kind: "trunk", trunk: "carrier", number: "911", route: "emergency" });
    }
    const d = await t.service.prepare({
      trunk: "carrier",
      caller: "202",
      callId: "e1",
      dialled: "9911",
      number: "911",
      route: "emergency",
    });
    ok(d.ok);
    const geo = d.leg.headers.find((h) => h.name === "Geolocation")?.value ?? "";
    const part = d.leg.parts?.[0];
    ok(part !== undefined && geo === `<cid:${part.contentId}>`);
    eq(part.contentType, "application/pidf+xml");
    ok(part.body.includes("<ca:FLR>2</ca:FLR>") && part.body.includes("201 &amp; &lt;b&gt;"), part.body);
    ok(t.service.isEmergency("9911") && !t.service.isEmergency("9912"));
    // Notified once per call, even when the call fails over to another trunk.
    await t.service.prepare({
      trunk: "peer",
      caller: "202",
      callId: "e1",
      dialled: "9911",
      number: "911",
      route: "emergency",
    });
    eq(t.emergencies.length, 1);
  } finally {
    t.dispose();
  }
});

Deno.test("test mode: 933 goes to the carrier, 911 is refused", () => {
  const t = setup();
  try {
    t.service.setE911(checkE911({ testMode: true }));
    const ctx = {
      plan: t.plan(),
      routeFor: (m: Parameters<NonNullable<typeof t.feature.routing>["routeFor"] & object>[0]) =>
        t.feature.routing!.routeFor!(m),
    };
    const blocked = resolve("911", ctx);
    ok(blocked.kind === "end" && blocked.status === 403, JSON.stringify(blocked));
    const test = resolve("9933", ctx);
    ok(test.kind === "step");
    eq(test.step.destination, { kind: "trunk", trunk: "carrier", number: "933", route: "emergency" });
  } finally {
    t.dispose();
  }
});

Deno.test("inbound: accepted only from a trunk's address, its DID routed, no DID refused 404", () => {
  const t = setup();
  try {
    const from = (address: string, port: number, toUser: string) =>
      t.service.inbound({ source: { address, port }, fromUser: "15557654321", toUser, requestUser: "box1" });
    eq(from("127.0.0.1", 5070, "5551000"), {
      kind: "accept",
      trunk: "carrier",
      caller: "15557654321",
      dialled: "5551000",
      dtmf: "rfc4733",
    });
    const none = from("127.0.0.1", 5070, "5559999");
    ok(none?.kind === "refuse" && none.status === 404);
    // Another port of the registrar's host, another loopback address: not the trunk.
    eq(from("127.0.0.1", 5099, "5551000"), undefined);
    eq(from("127.0.0.6", 5060, "5551000"), undefined);
    // The peer trunk takes its DID from the Request-URI.
    const peer = t.service.inbound({
      source: { address: "127.0.0.5", port: 5060 },
      fromUser: "x",
      requestUser: "5551000",
    });
    eq(peer?.kind, "accept");
  } finally {
    t.dispose();
  }
});

Deno.test("bad trunk, route, DID and E911 input is refused with what is wrong", () => {
  throws(() => checkTrunk({ kind: "peer", host: "x" }, "p"), /peer trunk needs addresses/);
  throws(() => checkTrunk({ kind: "peer", host: "x", addresses: ["300.1.1.1"] }, "p"), /address range/);
  throws(() => checkTrunk({ kind: "register", host: "h" }, "r"), /needs a username/);
  throws(() => checkTrunk({ kind: "peer", host: "h h", addresses: ["1.2.3.4"] }, "p"), /host/);
  throws(() => checkTrunk({ kind: "peer", host: "h", addresses: ["1.2.3.4"], port: 70000 }, "p"), /port/);
  throws(
    () => checkTrunk({ kind: "peer", host: "h", addresses: ["1.2.3.4"], codecs: ["MP3"] }, "p"),
    /codecs/,
  );
  throws(() => checkTrunk({ kind: "peer", host: "h", addresses: ["1.2.3.4"] }, "Bad Id"), /trunk id/);
  throws(() => checkRoute({ patterns: ["9|[1-"], trunks: ["a"] }, "r"), /patterns\[0\]/);
  throws(() => checkRoute({ patterns: ["9N."], trunks: [] }, "r"), /at least one trunk/);
  throws(() => checkRoute({ patterns: ["9N."], trunks: ["a"], class: "free" }, "r"), /class/);
  throws(() => checkDid({}, "5551000"), /destination is required/);
  throws(() => checkDid({ destination: "201" }, "55 51"), /number/);
  throws(() => checkE911({ numbers: [] }), /numbers must not be empty/);
  throws(() => checkE911({ testNumber: "911" }), /testNumber must differ/);
  throws(() => checkE911({ email: ["not-an-address"] }), /email\[0\]/);
});

Deno.test("the trunk password is stored sealed: never in the config column or a view", () => {
  const t = setup();
  try {
    const rows = t.storage.db.prepare("SELECT config, secret FROM trunks").all() as {
      config: string;
      secret: string | null;
    }[];
    ok(
      rows.every((r) => !r.config.includes("trunk-Secret-9") && !(r.secret ?? "").includes("trunk-Secret-9")),
    );
    eq(t.service.store.password("carrier"), "trunk-Secret-9");
    const view = t.service.store.view(t.service.store.trunk("carrier")!);
    eq(view.hasPassword, true);
    ok(!JSON.stringify(view).includes("trunk-Secret-9"));
  } finally {
    t.dispose();
  }
});

Deno.test("a phone registering from another network is flagged moved and uses its device's location", async () => {
  const storage = tempStorage();
  try {
    const { service } = trunksFeature({
      db: storage.db,
      secrets: createSecretBox(storage.dataDir),
      settings: storage.settings,
      clock: realClock,
      log: quiet,
      activeCalls: () => 0,
      isExtension: (n) => n === "202",
      boxAddress: "127.0.0.1",
      device: () => ({ mac: "001122334455" }),
    });
    service.store.putTrunk(
      checkTrunk({ kind: "peer", host: "127.0.0.1", addresses: ["127.0.0.9"] }, "c").trunk,
      undefined,
    );
    service.store.setLocation("extension", "202", { address: "HQ, floor 2", country: "US" });
    service.store.setLocation("device", "001122334455", { address: "Warehouse dock 4", country: "US" });
    service.registered("202", "10.1.2.3");
    service.registered("202", "10.1.2.77"); // same network: not moved
    eq(service.locationOf("202").moved, false);
    eq(service.locationOf("202").location?.address, "HQ, floor 2");
    service.registered("202", "192.168.9.5");
    eq(service.locationOf("202"), { location: { address: "Warehouse dock 4", country: "US" }, moved: true });
    const d = await service.prepare({
      trunk: "c",
      caller: "202",
      callId: "m1",
      dialled: "911",
      number: "911",
      route: "emergency",
    });
    ok(d.ok && d.leg.parts?.[0]?.body.includes("Warehouse dock 4"));
    // Confirming the extension's location where the phone is now clears the flag.
    service.store.confirm("202", "192.168.9.5");
    eq(service.locationOf("202").moved, false);
  } finally {
    storage.dispose();
  }
});

Deno.test("a forwarded or application call goes out for the extension it is placed for (onBehalfOf)", async () => {
  const t = setup();
  try {
    t.service.store.setClasses("202", ["internal"]);
    const req = { trunk: "carrier", number: "15552345678", route: "us", callId: "x", dialled: "95552345678" };
    const own = await t.service.prepare({ ...req, caller: "202" });
    ok(!own.ok && own.status === 403 && /extension 202 may not make national/.test(own.reason));
    ok((await t.service.prepare({ ...req, caller: "202", onBehalfOf: "201", callId: "y" })).ok, "201 may");
    const outside = await t.service.prepare({
      ...req,
      caller: "15557654321",
      onBehalfOf: "201",
      callId: "z",
    });
    ok(outside.ok, "a trunk caller forwarded out by 201 goes out for 201");
    const none = await t.service.prepare({ ...req, caller: "15557654321", callId: "w" });
    ok(!none.ok && none.status === 403 && /only extensions/.test(none.reason));
    const notExt = await t.service.prepare({ ...req, caller: "202", onBehalfOf: "999", callId: "v" });
    ok(!notExt.ok && notExt.status === 403, "an onBehalfOf that is no extension falls back to the caller");
  } finally {
    t.dispose();
  }
});
