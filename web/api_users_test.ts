import assert from "node:assert/strict";
import { errorOf, webFixture } from "./_test_fixture.ts";

Deno.test("admin creates, lists, resets and deletes web users; every change is audited without passwords", async () => {
  using f = await webFixture();
  const token = await f.login();
  f.storage.extensions.create({ number: "201", name: "A", password: "good-pass-1" }, "pbx");
  let res = await f.req("/api/users", {
    method: "POST",
    token,
    json: { username: "alice", role: "user", extension: "201", password: "alice-password" },
  });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get("location"), "/api/users/alice");
  const created = await res.json() as Record<string, unknown>;
  assert.equal(created.role, "user");
  assert.equal(created.extension, "201");
  assert.ok(!JSON.stringify(created).includes("alice-password"));
  res = await f.req("/api/users", { token });
  const list = await res.json() as { items: { username: string }[] };
  assert.deepEqual(list.items.map((u) => u.username), ["admin", "alice"]);
  const aliceToken = await f.login("alice", "alice-password");
  res = await f.req("/api/users/alice/password", {
    method: "PUT",
    token,
    json: { password: "new-alice-pass" },
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  res = await f.req("/api/auth/me", { token: aliceToken });
  assert.equal(res.status, 401, "a password reset ends the user's sessions");
  await res.body?.cancel();
  await f.login("alice", "new-alice-pass");
  res = await f.req("/api/users/alice", { method: "DELETE", token });
  assert.equal(res.status, 204);
  res = await f.req("/api/users/alice", { method: "DELETE", token });
  assert.equal(res.status, 404);
  await res.body?.cancel();
  const actions = f.storage.audit.list().map((e) => e.action);
  for (const a of ["user.create", "user.password-reset", "user.delete"]) assert.ok(actions.includes(a), a);
  assert.ok(!JSON.stringify(f.storage.audit.list()).includes("alice-pass"));
});

Deno.test("user creation errors: bad fields 400, user role without extension 400, unknown extension 400, duplicate 409", async () => {
  using f = await webFixture();
  const token = await f.login();
  f.storage.extensions.create({ number: "201", name: "A", password: "good-pass-1" }, "pbx");
  const post = (json: unknown) => f.req("/api/users", { method: "POST", token, json });
  const bad: [unknown, RegExp][] = [
    [
      { username: "Bob!", role: "user", extension: "201", password: "long-enough-1" },
      /username: must be 1-32/,
    ],
    [
      { username: "bob", role: "root", extension: "201", password: "long-enough-1" },
      /role: must be admin or user/,
    ],
    [{ username: "bob", role: "user", extension: "201", password: "short" }, /password: must be at least 10/],
    [{ username: "bob", role: "user", password: "long-enough-1" }, /needs the extension/],
    [
      { username: "bob", role: "user", extension: "999", password: "long-enough-1" },
      /extension 999 does not exist/,
    ],
    [
      { username: "bob", role: "user", extension: "2x", password: "long-enough-1" },
      /extension: must be 2-8 digits/,
    ],
  ];
  for (const [json, re] of bad) {
    const res = await post(json);
    assert.equal(res.status, 400, JSON.stringify(json));
    assert.match(await errorOf(res), re);
  }
  const res = await post({ username: "admin", role: "admin", password: "long-enough-1" });
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /already exists/);
});

Deno.test("an admin cannot delete their own account or the last admin", async () => {
  using f = await webFixture();
  const token = await f.login();
  let res = await f.req("/api/users/admin", { method: "DELETE", token });
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /your own account/);
  await f.storage.users.create({ username: "boss", role: "admin", password: "boss-password" });
  res = await f.req("/api/users/boss", { method: "DELETE", token });
  assert.equal(res.status, 204);
  res = await f.req("/api/users/BAD..", { method: "DELETE", token });
  assert.equal(res.status, 400);
  await res.body?.cancel();
});

Deno.test("a user sees only their own extension and registrations at /api/me", async () => {
  using f = await webFixture();
  await f.addUser("alice", "201");
  f.storage.extensions.create({ number: "202", name: "Other", password: "good-pass-2" }, "pbx");
  const now = f.clock.wallNow();
  for (const ext of ["201", "202"]) {
    f.storage.locations.upsert({
      extension: ext,
      contactUri: `sip:${ext}@192.0.2.50`,
      expiresAt: now + 60_000,
      callId: ext,
      cseq: 1,
      sourceTransport: "udp",
      sourceAddress: "192.0.2.50",
      sourcePort: 5060,
    });
  }
  const token = await f.login("alice", "user-password-1");
  const res = await f.req("/api/me", { token });
  const me = await res.json() as {
    extension: { number: string };
    registrations: { extension: string }[];
    voicemail: { available: boolean };
  };
  assert.equal(me.extension.number, "201");
  assert.deepEqual(me.registrations.map((r) => r.extension), ["201"]);
  assert.equal(me.voicemail.available, false);
});

Deno.test("role user is denied every admin API with 403", async () => {
  using f = await webFixture();
  await f.addUser("alice", "201");
  const token = await f.login("alice", "user-password-1");
  const s = await f.cookieLogin("alice", "user-password-1");
  const routes: [string, string][] = [
    ["GET", "/api/users"],
    ["POST", "/api/users"],
    ["PUT", "/api/users/admin/password"],
    ["DELETE", "/api/users/admin"],
    ["GET", "/api/audit"],
    ["GET", "/api/events"],
    ["GET", "/api/system/status"],
    ["GET", "/api/system/settings"],
    ["PUT", "/api/system/settings/network"],
    ["PUT", "/api/system/settings/time"],
    ["PUT", "/api/system/settings/smtp"],
    ["GET", "/api/system/backup"],
    ["GET", "/api/system/logs"],
    ["GET", "/api/registrations"],
    ["GET", "/api/extensions"],
  ];
  for (const [method, path] of routes) {
    const json = method === "GET" ? undefined : {};
    for (const auth of [{ token }, { session: s, csrf: s.csrf }]) {
      const res = await f.req(path, { method, ...auth, ...(json === undefined ? {} : { json }) });
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.match(await errorOf(res), /admin role/);
    }
  }
});

Deno.test("changing my own password needs the current one, then ends my sessions and clears the cookie", async () => {
  using f = await webFixture();
  await f.addUser("alice", "201");
  const s = await f.cookieLogin("alice", "user-password-1");
  let res = await f.req("/api/me/password", {
    method: "PUT",
    session: s,
    csrf: s.csrf,
    json: { currentPassword: "wrong-one-here", newPassword: "alice-new-pass" },
  });
  assert.equal(res.status, 403);
  assert.match(await errorOf(res), /current password is wrong/);
  res = await f.req("/api/me/password", {
    method: "PUT",
    session: s,
    csrf: s.csrf,
    json: { currentPassword: "user-password-1", newPassword: "short" },
  });
  assert.equal(res.status, 400);
  assert.match(await errorOf(res), /newPassword: must be at least 10/);
  res = await f.req("/api/me/password", {
    method: "PUT",
    session: s,
    json: { currentPassword: "user-password-1", newPassword: "alice-new-pass" },
  });
  assert.equal(res.status, 403, "CSRF needed");
  await res.body?.cancel();
  res = await f.req("/api/me/password", {
    method: "PUT",
    session: s,
    csrf: s.csrf,
    json: { currentPassword: "user-password-1", newPassword: "alice-new-pass" },
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("set-cookie") ?? "", /Max-Age=0/);
  await res.body?.cancel();
  res = await f.req("/api/me", { session: s });
  assert.equal(res.status, 401);
  await res.body?.cancel();
  await f.login("alice", "alice-new-pass");
});

Deno.test("registrations can be filtered by extension; a bad filter is 400", async () => {
  using f = await webFixture();
  const token = await f.login();
  const now = f.clock.wallNow();
  for (const ext of ["201", "202"]) {
    f.storage.extensions.create({
      number: ext,
      name: ext,
      password: `good-pass-x${ext === "201" ? "a" : "b"}`,
    }, "pbx");
    f.storage.locations.upsert({
      extension: ext,
      contactUri: `sip:${ext}@192.0.2.50`,
      expiresAt: now + 60_000,
      callId: ext,
      cseq: 1,
      sourceTransport: "udp",
      sourceAddress: "192.0.2.50",
      sourcePort: 5060,
    });
  }
  let res = await f.req("/api/registrations?extension=202", { token });
  assert.deepEqual(((await res.json()) as { items: { extension: string }[] }).items.map((r) => r.extension), [
    "202",
  ]);
  res = await f.req("/api/registrations?extension=x", { token });
  assert.equal(res.status, 400);
  assert.match(await errorOf(res), /extension: must be 2-8 digits/);
});
