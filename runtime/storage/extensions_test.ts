import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { VirtualClock } from "../clock/mod.ts";
import { assertThrows, tempStorage } from "./_testing.ts";
import { ConflictError, NotFoundError } from "./errors.ts";

const md5 = (s: string) => createHash("md5").update(s).digest("hex");
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

Deno.test("extension create, get, list, update and delete round-trip", () => {
  const clock = new VirtualClock();
  const s = tempStorage({ clock });
  try {
    const e = s.extensions.create(
      { number: "201", name: " Reception ", password: "good-pass-1" },
      "pbx.local",
    );
    assert.deepEqual(e, {
      number: "201",
      name: "Reception",
      realm: "pbx.local",
      options: {},
      createdAt: clock.wallNow(),
      updatedAt: clock.wallNow(),
    });
    s.extensions.create({ number: "1000", name: "Sales", password: "good-pass-2" }, "pbx.local");
    s.extensions.create(
      { number: "202", name: "Office", password: "good-pass-3", options: { vm: true } },
      "pbx.local",
    );
    assert.deepEqual(s.extensions.list().map((x) => x.number), ["201", "202", "1000"]);
    assert.deepEqual(s.extensions.list({ limit: 1, offset: 1 }).map((x) => x.number), ["202"]);
    assert.equal(s.extensions.count(), 3);
    assert.deepEqual(s.extensions.get("202")?.options, { vm: true });
    clock.advance(1000);
    const u = s.extensions.update("201", { name: "Front desk" });
    assert.equal(u.name, "Front desk");
    assert.equal(u.updatedAt, clock.wallNow());
    assert.equal(s.extensions.getSipPassword("201"), "good-pass-1");
    assert.equal(s.extensions.delete("201"), true);
    assert.equal(s.extensions.delete("201"), false);
    assert.equal(s.extensions.get("201"), undefined);
  } finally {
    s.dispose();
  }
});

Deno.test("HA1 for MD5 and SHA-256 is H(number:realm:password) and follows password changes", () => {
  const s = tempStorage();
  try {
    s.extensions.create({ number: "201", name: "A", password: "good-pass-1" }, "pbx.local");
    assert.equal(s.extensions.ha1("201", "MD5"), md5("201:pbx.local:good-pass-1"));
    assert.equal(s.extensions.ha1("201", "SHA-256"), sha256("201:pbx.local:good-pass-1"));
    s.extensions.update("201", { password: "other-pass-2" });
    assert.equal(s.extensions.ha1("201", "MD5"), md5("201:pbx.local:other-pass-2"));
    assert.equal(s.extensions.getSipPassword("201"), "other-pass-2");
    assert.equal(s.extensions.ha1("999", "MD5"), undefined);
    assertThrows(() => s.extensions.ha1("201", "SHA-512" as "MD5"), RangeError, "SHA-512");
  } finally {
    s.dispose();
  }
});

Deno.test("setRealm recomputes every HA1 from the sealed passwords", () => {
  const s = tempStorage();
  try {
    s.extensions.create({ number: "201", name: "A", password: "good-pass-1" }, "old");
    s.extensions.create({ number: "202", name: "B", password: "good-pass-2" }, "old");
    assert.equal(s.extensions.setRealm("new.realm"), 2);
    assert.equal(s.extensions.ha1("202", "SHA-256"), sha256("202:new.realm:good-pass-2"));
    assert.equal(s.extensions.get("202")?.realm, "new.realm");
  } finally {
    s.dispose();
  }
});

Deno.test("the SIP password is encrypted at rest, not stored in clear", () => {
  const s = tempStorage();
  try {
    s.extensions.create({ number: "201", name: "A", password: "very-secret-pw" }, "pbx");
    const row = s.db.prepare("SELECT * FROM extensions WHERE number = '201'").get()!;
    assert.ok(!JSON.stringify(row).includes("very-secret-pw"));
    assert.match(String(row.sip_password), /^v1:/);
    // Bound to its row: copying the ciphertext to another extension does not decrypt.
    s.extensions.create({ number: "202", name: "B", password: "other-secret" }, "pbx");
    s.db.prepare("UPDATE extensions SET sip_password = ? WHERE number = '202'").run(
      row.sip_password as string,
    );
    assert.throws(() => s.extensions.getSipPassword("202"));
  } finally {
    s.dispose();
  }
});

Deno.test("duplicate extension number throws ConflictError", () => {
  const s = tempStorage();
  try {
    s.extensions.create({ number: "201", name: "A", password: "good-pass-1" }, "pbx");
    assertThrows(
      () => s.extensions.create({ number: "201", name: "B", password: "good-pass-2" }, "pbx"),
      ConflictError,
      "extension 201 already exists",
    );
  } finally {
    s.dispose();
  }
});

Deno.test("invalid extension input is rejected with messages naming the problem", () => {
  const s = tempStorage();
  try {
    const c = (number: unknown, name: unknown, password: unknown) => () =>
      s.extensions.create({ number, name, password } as never, "pbx");
    assertThrows(c("2a1", "A", "good-pass-1"), RangeError, "2-8 digits");
    assertThrows(c("1", "A", "good-pass-1"), RangeError, "2-8 digits");
    assertThrows(c("123456789", "A", "good-pass-1"), RangeError, "2-8 digits");
    assertThrows(c("../201", "A", "good-pass-1"), RangeError, "2-8 digits");
    assertThrows(c(201, "A", "good-pass-1"), TypeError, "must be a string");
    assertThrows(c("201", "", "good-pass-1"), RangeError, "name must be 1-64");
    assertThrows(c("201", "x".repeat(65), "good-pass-1"), RangeError, "name must be 1-64");
    assertThrows(c("201", "A\nB", "good-pass-1"), RangeError, "control characters");
    assertThrows(c("201", "A", "short"), RangeError, "8-64 characters");
    assertThrows(c("201", "A", "xx201xxyz"), RangeError, "must not contain the extension number");
    assertThrows(c("201", "A", "aaaaaaaa"), RangeError, "4 different characters");
    assertThrows(c("201", "A", null), TypeError, "password must be a string");
    assertThrows(() => s.extensions.update("999", { name: "x" }), NotFoundError, "999");
    assertThrows(() => s.extensions.list({ limit: 0 }), RangeError, "limit");
    assert.equal(s.extensions.count(), 0);
  } finally {
    s.dispose();
  }
});

Deno.test("SQL-ish names are stored literally and search wildcards match literally", () => {
  const s = tempStorage();
  try {
    const evil = "Robert'); DROP TABLE extensions;--";
    s.extensions.create({ number: "201", name: evil, password: "good-pass-1" }, "pbx");
    s.extensions.create({ number: "202", name: "100% sure_thing", password: "good-pass-2" }, "pbx");
    s.extensions.create({ number: "203", name: "plain", password: "good-pass-3" }, "pbx");
    assert.equal(s.extensions.get("201")?.name, evil);
    assert.deepEqual(s.extensions.list({ search: "%" }).map((e) => e.number), ["202"]);
    assert.deepEqual(s.extensions.list({ search: "_" }).map((e) => e.number), ["202"]);
    assert.deepEqual(s.extensions.list({ search: "20" }).map((e) => e.number), ["201", "202", "203"]);
    assert.deepEqual(s.extensions.list({ search: "DROP" }).map((e) => e.number), ["201"]);
    assert.equal(s.extensions.count("plain"), 1);
  } finally {
    s.dispose();
  }
});
