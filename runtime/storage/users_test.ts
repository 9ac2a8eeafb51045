import assert from "node:assert/strict";
import { VirtualClock } from "../clock/mod.ts";
import { assertRejects, tempStorage } from "./_testing.ts";
import { ConflictError, NotFoundError } from "./errors.ts";
import { hashPassword, PBKDF2_MIN_ITERATIONS, verifyPassword } from "./users.ts";

Deno.test("PBKDF2 hash uses 210000 iterations by default and verifies the right password only", async () => {
  const h = await hashPassword("correct horse battery");
  const [scheme, iter, salt, hash] = h.split("$");
  assert.equal(scheme, "pbkdf2-sha256");
  assert.equal(Number(iter), PBKDF2_MIN_ITERATIONS);
  assert.equal(atob(salt!).length, 16);
  assert.equal(atob(hash!).length, 32);
  assert.equal(await verifyPassword("correct horse battery", h), true);
  assert.equal(await verifyPassword("correct horse batterY", h), false);
  assert.notEqual(await hashPassword("correct horse battery"), h, "salt is per hash");
});

Deno.test("verifyPassword returns false for malformed stored hashes instead of throwing", async () => {
  for (
    const bad of [
      "",
      "plain",
      "pbkdf2-sha256$x$y$z",
      "pbkdf2-sha256$10$AAAA$AAAA",
      "md5$1000$AA$AA",
      "pbkdf2-sha256$1000$!!$!!",
    ]
  ) {
    assert.equal(await verifyPassword("whatever", bad), false, bad);
  }
});

Deno.test("users: create, verify, setPassword, hasAdmin, conflicts and delete", async () => {
  const clock = new VirtualClock();
  const s = tempStorage({ clock });
  try {
    assert.equal(s.users.hasAdmin(), false);
    await s.users.create({ username: "admin", role: "admin" });
    assert.equal(s.users.hasAdmin(), false, "an admin without a password does not count");
    await s.users.setPassword("Admin", "long-enough-pw");
    assert.equal(s.users.hasAdmin(), true);
    assert.equal((await s.users.verify("ADMIN", "long-enough-pw"))?.role, "admin");
    assert.equal(await s.users.verify("admin", "wrong-password"), undefined);
    assert.equal(await s.users.verify("nobody", "long-enough-pw"), undefined);
    assert.equal(await s.users.verify("../etc", "long-enough-pw"), undefined);
    await assertRejects(
      s.users.create({ username: "admin", role: "user" }),
      ConflictError,
      "admin already exists",
    );
    await assertRejects(
      s.users.create({ username: "bob", role: "user", password: "short" }),
      RangeError,
      "10-1024",
    );
    await assertRejects(s.users.create({ username: "b o b", role: "user" }), RangeError, "username");
    await assertRejects(s.users.create({ username: "bob", role: "root" as "user" }), RangeError, "root");
    await assertRejects(s.users.setPassword("ghost", "long-enough-pw"), NotFoundError, "ghost");
    s.extensions.create({ number: "201", name: "A", password: "good-pass-1" }, "pbx");
    const bob = await s.users.create({
      username: "bob",
      role: "user",
      extension: "201",
      password: "bobs-password",
    });
    assert.equal(bob.extension, "201");
    assert.equal(bob.passwordChangedAt, clock.wallNow());
    assert.deepEqual(s.users.list().map((u) => u.username), ["admin", "bob"]);
    assert.ok(!JSON.stringify(s.users.get("bob")).includes("pbkdf2"));
    assert.equal(s.users.delete("bob"), true);
    assert.equal(s.users.get("bob"), undefined);
  } finally {
    s.dispose();
  }
});
