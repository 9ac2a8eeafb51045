import assert from "node:assert/strict";
import { assertRejects, assertThrows, tempStorage } from "./_testing.ts";
import type { Binding } from "./location.ts";

function binding(over: Partial<Binding> = {}): Binding {
  return {
    extension: "201",
    contactUri: "sip:201@192.0.2.10:5060",
    expiresAt: 10_000,
    callId: "abc@host",
    cseq: 1,
    sourceTransport: "udp",
    sourceAddress: "192.0.2.10",
    sourcePort: 5060,
    ...over,
  };
}

function withExtensions() {
  const s = tempStorage();
  s.extensions.create({ number: "201", name: "A", password: "good-pass-1" }, "pbx");
  s.extensions.create({ number: "202", name: "B", password: "good-pass-2" }, "pbx");
  return s;
}

Deno.test("upsert stores a binding and a second upsert of the same contact replaces it", () => {
  const s = withExtensions();
  try {
    s.locations.upsert(
      binding({ userAgent: "Yealink", path: ["<sip:edge>"], instanceId: "<urn:uuid:1>", regId: 1 }),
    );
    s.locations.upsert(binding({ cseq: 2, expiresAt: 20_000, q: 0.5 }));
    const got = s.locations.getBindings("201", 0);
    assert.equal(got.length, 1);
    const b = got[0]!;
    assert.equal(b.cseq, 2);
    assert.equal(b.expiresAt, 20_000);
    assert.equal(b.q, 0.5);
    assert.equal(b.userAgent, undefined);
    assert.equal(typeof b.updatedAt, "number");
  } finally {
    s.dispose();
  }
});

Deno.test("getBindings hides expired bindings and orders by q, purgeExpired deletes them", () => {
  const s = withExtensions();
  try {
    s.locations.upsert(binding({ contactUri: "sip:a@h", q: 0.1, expiresAt: 5000 }));
    s.locations.upsert(binding({ contactUri: "sip:b@h", q: 0.9, expiresAt: 5000 }));
    s.locations.upsert(binding({ contactUri: "sip:c@h", expiresAt: 1000 }));
    s.locations.upsert(binding({ extension: "202", contactUri: "sip:d@h", expiresAt: 5000 }));
    assert.deepEqual(s.locations.getBindings("201", 2000).map((b) => b.contactUri), ["sip:b@h", "sip:a@h"]);
    assert.deepEqual(s.locations.listAll(2000).map((b) => b.contactUri), ["sip:a@h", "sip:b@h", "sip:d@h"]);
    assert.equal(s.locations.purgeExpired(2000), 1);
    assert.equal(s.locations.purgeExpired(2000), 0);
    assert.equal(s.locations.remove("201", "sip:a@h"), true);
    assert.equal(s.locations.remove("201", "sip:a@h"), false);
    assert.equal(s.locations.removeAll("201"), 1);
    assert.deepEqual(s.locations.listAll(0).map((b) => b.extension), ["202"]);
  } finally {
    s.dispose();
  }
});

Deno.test("deleting an extension removes its bindings; a binding for an unknown extension is refused", () => {
  const s = withExtensions();
  try {
    s.locations.upsert(binding());
    s.extensions.delete("201");
    assert.deepEqual(s.locations.listAll(0), []);
    assert.throws(() => s.locations.upsert(binding({ extension: "999" })), /FOREIGN KEY/);
  } finally {
    s.dispose();
  }
});

Deno.test("invalid bindings are rejected before touching the database", async () => {
  const s = withExtensions();
  try {
    assertThrows(() => s.locations.upsert(binding({ sourcePort: 70000 })), RangeError, "sourcePort");
    assertThrows(() => s.locations.upsert(binding({ q: 2 })), RangeError, "q must be 0..1");
    assertThrows(() => s.locations.upsert(binding({ sourceTransport: "sctp" as "udp" })), RangeError, "sctp");
    assertThrows(() => s.locations.upsert(binding({ expiresAt: 1.5 })), TypeError, "expiresAt");
    await assertRejects(s.locations.upsertDurable(binding({ contactUri: "" })), RangeError, "contactUri");
  } finally {
    s.dispose();
  }
});

Deno.test("upsertDurable group-commits concurrent writes and resolves each after commit", async () => {
  const s = withExtensions();
  try {
    const writes = Array.from(
      { length: 500 },
      (_, i) => s.locations.upsertDurable(binding({ contactUri: `sip:${i}@h` })),
    );
    // One bad row fails alone; the rest of its batch still commits.
    const bad = s.locations.upsertDurable(binding({ extension: "999", contactUri: "sip:x@h" }));
    await Promise.all(writes);
    await assertRejects(bad, Error, "FOREIGN KEY");
    assert.equal(s.locations.listAll(0).length, 500);
    assert.equal(s.db.isTransaction, false);
    assert.equal(await s.locations.removeDurable("201", "sip:0@h"), true);
    assert.equal(await s.locations.removeDurable("201", "sip:0@h"), false);
  } finally {
    s.dispose();
  }
});

Deno.test("close() commits durable writes still waiting for their window", async () => {
  const s = withExtensions();
  const dir = s.dataDir;
  const p = s.locations.upsertDurable(binding());
  s.close();
  await p;
  const { openStorage } = await import("./storage.ts");
  const again = openStorage({ dataDir: dir });
  try {
    assert.equal(again.locations.listAll(0).length, 1);
  } finally {
    again.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
