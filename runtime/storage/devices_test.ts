import assert from "node:assert/strict";
import { VirtualClock } from "../clock/mod.ts";
import { assertThrows, tempStorage } from "./_testing.ts";
import { MAX_DISCOVERED_DEVICES, normalizeMac } from "./devices.ts";
import { ConflictError, NotFoundError } from "./errors.ts";

function setup() {
  const clock = new VirtualClock();
  const s = tempStorage({ clock });
  s.extensions.create({ number: "201", name: "Alice", password: "alice-pass-1" }, "pbx");
  s.extensions.create({ number: "202", name: "Bob", password: "bob-pass-22" }, "pbx");
  return { s, clock };
}

Deno.test("MACs in colon, dash, dot and bare spellings normalize to 12 lower-case hex digits", () => {
  for (
    const m of ["80:5E:C0:12:34:56", "80-5e-c0-12-34-56", "805E.C012.3456", "805ec0123456", " 805EC0123456 "]
  ) {
    assert.equal(normalizeMac(m), "805ec0123456");
  }
  for (const bad of ["80:5e:c0:12:34", "80:5e-c0:12:34:56", "zz5ec0123456", "", "805ec01234567"]) {
    assertThrows(() => normalizeMac(bad), RangeError, "MAC address");
  }
  assertThrows(() => normalizeMac(42), TypeError);
});

Deno.test("a device is created, assigned in one step, listed assigned-first and deleted", () => {
  const { s } = setup();
  try {
    const d = s.devices.create({ mac: "00:15:65:AA:BB:CC", vendor: "yealink", model: "T46S" });
    assert.equal(d.mac, "001565aabbcc");
    assert.equal(d.status, "discovered");
    assertThrows(() => s.devices.create({ mac: "001565aabbcc" }), ConflictError);
    const a = s.devices.assign("001565AABBCC", "201");
    assert.equal(a.status, "assigned");
    assert.equal(a.extension, "201");
    assert.equal(a.vendor, "yealink", "assign keeps what was known");
    const fresh = s.devices.assign("0004f2000001", "202", { vendor: "polycom" });
    assert.equal(fresh.vendor, "polycom");
    s.devices.recordFetch({
      mac: "c074ad000001",
      at: 5,
      ip: "10.0.0.9",
      file: "cfgc074ad000001.xml",
      vendor: "grandstream",
    });
    assert.deepEqual(s.devices.list().map((x) => [x.mac, x.status]), [
      ["0004f2000001", "assigned"],
      ["001565aabbcc", "assigned"],
      ["c074ad000001", "discovered"],
    ]);
    assert.equal(s.devices.count("discovered"), 1);
    assert.deepEqual(s.devices.byExtension("201").map((x) => x.mac), ["001565aabbcc"]);
    assert.equal(s.devices.delete("00-15-65-aa-bb-cc"), true);
    assert.equal(s.devices.get("001565aabbcc"), undefined);
    assert.equal(s.devices.delete("not a mac"), false);
  } finally {
    s.dispose();
  }
});

Deno.test("assigning a missing extension or a bad vendor is a RangeError and changes nothing", () => {
  const { s } = setup();
  try {
    assertThrows(() => s.devices.assign("001565aabbcc", "999"), RangeError, "extension 999 does not exist");
    assert.equal(s.devices.get("001565aabbcc"), undefined, "the transaction rolled back the new row");
    assertThrows(
      () => s.devices.create({ mac: "001565aabbcc", vendor: "nokia" as never }),
      RangeError,
      "vendor",
    );
    assertThrows(
      () => s.devices.create({ mac: "001565aabbcc", lineKeys: [{ type: "blf", value: "x;y", label: "" }] }),
      RangeError,
      "line key 0 value",
    );
    assertThrows(() => s.devices.update("001565aabbcc", { model: "x" }), NotFoundError);
  } finally {
    s.dispose();
  }
});

Deno.test("deleting an extension unassigns its phones (ON DELETE SET NULL)", () => {
  const { s } = setup();
  try {
    s.devices.assign("001565aabbcc", "201");
    s.extensions.delete("201");
    const d = s.devices.get("001565aabbcc")!;
    assert.equal(d.extension, null);
    assert.equal(d.status, "discovered");
    const raw = s.db.prepare("SELECT status FROM devices WHERE mac = ?").get("001565aabbcc") as {
      status: string;
    };
    assert.equal(raw.status, "discovered", "the trigger keeps the column in step");
  } finally {
    s.dispose();
  }
});

Deno.test("the HTTP password is sealed at rest and read back in clear only through httpPassword", () => {
  const { s } = setup();
  try {
    const d = s.devices.create({ mac: "001565aabbcc", httpUser: "prov", httpPassword: "hunter2-prov" });
    assert.equal(d.hasHttpPassword, true);
    assert.equal(JSON.stringify(d).includes("hunter2"), false);
    const raw = s.db.prepare("SELECT http_password FROM devices").get() as { http_password: string };
    assert.equal(raw.http_password.startsWith("v1:"), true);
    assert.equal(s.devices.httpPassword("00:15:65:aa:bb:cc"), "hunter2-prov");
    s.devices.update("001565aabbcc", { httpPassword: null });
    assert.equal(s.devices.httpPassword("001565aabbcc"), undefined);
  } finally {
    s.dispose();
  }
});

Deno.test("fetches upsert discovered rows; registrations update only known MACs", () => {
  const { s } = setup();
  try {
    s.devices.recordFetch({
      mac: "001565aabbcc",
      at: 10,
      ip: "10.0.0.5",
      userAgent: "Yealink\nT46S",
      file: "a.cfg",
    });
    s.devices.recordFetch({ mac: "001565aabbcc", at: 20, ip: "10.0.0.6", file: "b.cfg", vendor: "yealink" });
    const d = s.devices.get("001565aabbcc")!;
    assert.deepEqual(d.lastFetch, { at: 20, ip: "10.0.0.6", userAgent: null, file: "b.cfg" });
    assert.equal(d.vendor, "yealink", "vendor filled in on a later fetch when unknown");
    assert.equal(
      s.devices.recordRegistration("001565aabbcc", { at: 30, contact: "<sip:201@10.0.0.6>", userAgent: "Y" }),
      true,
    );
    assert.deepEqual(s.devices.get("001565aabbcc")!.lastRegister, {
      at: 30,
      contact: "<sip:201@10.0.0.6>",
      userAgent: "Y",
    });
    assert.equal(s.devices.recordRegistration("0004f2000000", { at: 30 }), false);
  } finally {
    s.dispose();
  }
});

Deno.test("provisioning window is stored; invalid times are refused", () => {
  const { s } = setup();
  try {
    s.devices.create({ mac: "001565aabbcc" });
    assert.equal(s.devices.openWindow("001565aabbcc", 123456).provisioningOpenUntil, 123456);
    assertThrows(() => s.devices.openWindow("001565aabbcc", -1), RangeError);
  } finally {
    s.dispose();
  }
});

Deno.test("template overrides are stored, listed and reset; bad keys are RangeErrors", () => {
  const { s } = setup();
  try {
    const h = "a".repeat(64);
    assert.equal(s.templates.set("yealink.device", "body {{ mac }}", h).body, "body {{ mac }}");
    assert.deepEqual(s.templates.list().map((t) => t.key), ["yealink.device"]);
    assert.equal(s.templates.reset("yealink.device"), true);
    assert.equal(s.templates.reset("yealink.device"), false);
    assertThrows(() => s.templates.set("../etc", "x", h), RangeError, "template key");
    assertThrows(() => s.templates.set("yealink.device", "x".repeat(70000), h), RangeError, "at most");
    assert.equal(s.templates.get("nope"), undefined);
  } finally {
    s.dispose();
  }
});

Deno.test("contacts are validated, listed by name and deleted by id", () => {
  const { s } = setup();
  try {
    const b = s.contacts.create({ name: "Pizza", number: "+49301234", group: "Food" });
    s.contacts.create({ name: "Ambulance", number: "112" });
    assert.deepEqual(s.contacts.list().map((c) => c.name), ["Ambulance", "Pizza"]);
    assert.equal(s.contacts.get(b.id)?.group, "Food");
    assertThrows(() => s.contacts.create({ name: "X", number: "12ab" }), RangeError, "contact number");
    assertThrows(() => s.contacts.create({ name: "", number: "1" }), RangeError, "contact name");
    assert.equal(s.contacts.delete(b.id), true);
    assert.equal(s.contacts.delete(b.id), false);
  } finally {
    s.dispose();
  }
});

Deno.test("discovered devices are capped and expire; assigned and admin-made devices stay", () => {
  const { s, clock } = setup();
  try {
    s.devices.assign("001565000001", "201");
    s.devices.create({ mac: "001565000002", vendor: "yealink" }); // made by the admin, unassigned
    const limits = { maxDiscovered: 10, discoveredTtlMs: 86_400_000 };
    let evicted = 0;
    for (let i = 0; i < 1000; i++) {
      clock.advance(1);
      const mac = `00156510${i.toString(16).padStart(4, "0")}`;
      evicted += s.devices.recordFetch({ mac, at: clock.wallNow(), file: `${mac}.cfg` }, limits).evicted;
    }
    assert.equal(s.devices.count("discovered"), 11, "10 discovered + the admin's unassigned one");
    assert.equal(evicted, 990);
    assert.ok(s.devices.get("00156510" + (999).toString(16).padStart(4, "0")), "the newest are kept");
    assert.ok(s.devices.get("001565000001") && s.devices.get("001565000002"));
    // A sighting of a known discovered MAC does not evict anything.
    assert.equal(s.devices.recordFetch({ mac: "0015651003e7", at: clock.wallNow() }, limits).evicted, 0);
    // Older than the TTL: gone at the next new sighting.
    clock.advance(86_400_001);
    s.devices.recordFetch({ mac: "0015652fffff", at: clock.wallNow() }, limits);
    assert.equal(s.devices.count("discovered"), 2);
    // Without explicit limits the defaults bound the table too.
    assert.ok(MAX_DISCOVERED_DEVICES >= 100 && MAX_DISCOVERED_DEVICES <= 10_000);
  } finally {
    s.close();
  }
});

Deno.test("a device is found by its HTTP user", () => {
  const { s } = setup();
  try {
    s.devices.create({ mac: "001565000003", httpUser: "desk3", httpPassword: "pw-desk3" });
    assert.equal(s.devices.byHttpUser("desk3")?.mac, "001565000003");
    assert.equal(s.devices.byHttpUser("nobody"), undefined);
  } finally {
    s.close();
  }
});
