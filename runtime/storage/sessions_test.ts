import assert from "node:assert/strict";
import { VirtualClock } from "../clock/mod.ts";
import { assertThrows, tempStorage } from "./_testing.ts";

Deno.test("sessions: token looks up until it expires, is stored only as a hash, and can be revoked", async () => {
  const clock = new VirtualClock();
  const s = tempStorage({ clock });
  try {
    await s.users.create({ username: "admin", role: "admin", password: "long-enough-pw" });
    const { token, expiresAt } = s.sessions.create("admin", 60_000);
    assert.equal(expiresAt, clock.wallNow() + 60_000);
    assert.equal(s.sessions.lookup(token)?.username, "admin");
    assert.equal(s.sessions.lookup(token)?.kind, "bearer");
    const raw = JSON.stringify(s.db.prepare("SELECT * FROM sessions").all());
    assert.ok(!raw.includes(token));
    clock.advance(60_000);
    assert.equal(s.sessions.lookup(token), undefined);
    assert.equal(s.sessions.purgeExpired(), 1);
    const second = s.sessions.create("admin", 60_000, { kind: "cookie" });
    assert.equal(s.sessions.lookup(second.token)?.kind, "cookie");
    assert.equal(s.sessions.revoke(second.token), true);
    assert.equal(s.sessions.lookup(second.token), undefined);
    s.sessions.create("admin", 1000);
    s.sessions.create("admin", 1000);
    assert.equal(s.sessions.revokeAll("admin"), 2);
  } finally {
    s.dispose();
  }
});

Deno.test("sessions: forged, malformed and unknown tokens find nothing; bad ttl is refused", () => {
  const s = tempStorage();
  try {
    for (const t of ["", "x", "A".repeat(43), "' OR 1=1 --", "A".repeat(10_000)]) {
      assert.equal(s.sessions.lookup(t), undefined);
      assert.equal(s.sessions.revoke(t), false);
    }
    assertThrows(() => s.sessions.create("admin", 0), RangeError, "ttlMs");
    assert.throws(() => s.sessions.create("ghost", 1000), /FOREIGN KEY/);
  } finally {
    s.dispose();
  }
});
