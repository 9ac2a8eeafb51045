import assert from "node:assert/strict";
import { tempStorage } from "./_testing.ts";
import { ConflictError, NotFoundError } from "./errors.ts";

Deno.test("paging zones round-trip with defaults and validated multicast", () => {
  const s = tempStorage();
  try {
    assert.ok(s.schemaVersion() >= 3);
    const z = s.paging.createZone({ number: "71", name: "Hall", alsaDevice: "dac", channels: [2, 2] });
    assert.deepEqual(z.channels, [2]);
    assert.equal(z.volume, 100);
    assert.equal(z.enabled, true);
    const u = s.paging.updateZone("71", {
      multicast: { address: "224.0.2.60", port: 50000, format: "rtp", codec: "PCMU", ttl: 1 },
      leadMs: 300,
    });
    assert.equal(u.multicast?.port, 50000);
    assert.equal(u.leadMs, 300);
    assert.throws(() => s.paging.createZone({ number: "71", name: "Dup" }), ConflictError);
    assert.throws(() => s.paging.createZone({ number: "7a", name: "Bad" }), RangeError);
    assert.throws(
      () =>
        s.paging.updateZone("71", {
          multicast: { address: "10.0.0.1", port: 5000, format: "rtp", codec: "PCMU", ttl: 1 },
        }),
      /neither 224/,
    );
    assert.throws(() => s.paging.updateZone("99", { name: "x" }), NotFoundError);
  } finally {
    s.dispose();
  }
});

Deno.test("paging groups share the zone number space and follow zone deletion", () => {
  const s = tempStorage();
  try {
    s.paging.createZone({ number: "71", name: "A" });
    s.paging.createZone({ number: "72", name: "B" });
    s.paging.createGroup({ number: "79", name: "Both", zones: ["71", "72"] });
    s.paging.createGroup({ number: "70", name: "All call", zones: ["*"] });
    assert.throws(() => s.paging.createGroup({ number: "71", name: "x", zones: ["72"] }), ConflictError);
    assert.throws(() => s.paging.createZone({ number: "79", name: "x" }), ConflictError);
    assert.throws(() => s.paging.createGroup({ number: "78", name: "x", zones: ["99"] }), /does not exist/);
    assert.equal(s.paging.deleteZone("72"), true);
    assert.deepEqual(s.paging.getGroup("79")?.zones, ["71"]);
  } finally {
    s.dispose();
  }
});

Deno.test("paging permissions, schedules and the page log", () => {
  const s = tempStorage();
  try {
    s.paging.setPermissions("201", ["71", "79"]);
    s.paging.setPermissions("202", ["*"]);
    assert.deepEqual(s.paging.permissions("201"), ["71", "79"]);
    assert.deepEqual(s.paging.allPermissions(), { "201": ["71", "79"], "202": ["*"] });
    const sch = s.paging.createSchedule({
      name: "Morning bell",
      target: "71",
      wavPath: "/var/lib/pbx/bell.wav",
      weekdays: [5, 1, 2],
      time: "08:00",
      exceptions: ["2026-12-25"],
    });
    assert.deepEqual(sch.weekdays, [1, 2, 5]);
    assert.throws(() => s.paging.updateSchedule(sch.id, { time: "24:00" }), /HH:MM/);
    assert.throws(() => s.paging.updateSchedule(sch.id, { exceptions: ["2026-13-01"] }), /YYYY-MM-DD/);
    const id = s.paging.logStart({ origin: "201", targets: ["71"], priority: "page", atStart: 1000 });
    s.paging.logEnd(id, { outcome: "completed", atEnd: 2000 });
    const [entry] = s.paging.log();
    assert.equal(entry?.outcome, "completed");
    assert.deepEqual(entry?.targets, ["71"]);
    assert.equal(entry?.atEnd, 2000);
  } finally {
    s.dispose();
  }
});
