import assert from "node:assert/strict";
import { ADMIN_PW, errorOf, webFixture } from "./_test_fixture.ts";
import type { SipBlock, SipSecurityControl } from "./types.ts";

const login = (f: Awaited<ReturnType<typeof webFixture>>, ip: string, password: string, username = "admin") =>
  f.req("/api/auth/login", { method: "POST", ip, json: { username, password } });

Deno.test("160 guesses from 40 addresses lock the account: at most 10 are answered", async () => {
  using f = await webFixture();
  const statuses: number[] = [];
  for (let a = 0; a < 40; a++) {
    for (let g = 0; g < 4; g++) {
      const res = await login(f, `198.51.100.${a}`, `guess-${a}-${g}`);
      statuses.push(res.status);
      await res.body?.cancel();
    }
  }
  assert.equal(statuses.filter((s) => s === 401).length, 10, "10 failures lock the account");
  assert.equal(statuses.filter((s) => s === 429).length, 150);
  // The right password from a fresh address is refused too while the account is locked.
  const res = await login(f, "192.0.2.50", ADMIN_PW);
  assert.equal(res.status, 429);
  assert.equal(res.headers.get("retry-after"), "900");
  assert.match(await errorOf(res), /too many failed logins for this account/);
  assert.equal(f.storage.audit.list({ action: "security.web-account-locked" }).length, 1);
  // Another account is not affected; the lockout ends by itself.
  await f.addUser("alice", "1001");
  const other = await login(f, "192.0.2.50", "user-password-1", "alice");
  assert.equal(other.status, 200);
  await other.body?.cancel();
  f.clock.advance(15 * 60_000);
  const later = await login(f, "192.0.2.50", ADMIN_PW);
  assert.equal(later.status, 200);
  await later.body?.cancel();
});

Deno.test("the real admin's logins do not wipe a spread-out guesser's count", async () => {
  using f = await webFixture();
  for (let i = 0; i < 9; i++) {
    (await login(f, `203.0.113.${i}`, "guess")).body?.cancel();
    if (i % 3 === 0) (await login(f, "192.0.2.1", ADMIN_PW)).body?.cancel();
  }
  const tenth = await login(f, "203.0.113.200", "guess");
  assert.equal(tenth.status, 401);
  await tenth.body?.cancel();
  const res = await login(f, "192.0.2.1", ADMIN_PW);
  assert.equal(res.status, 429, "10 failures lock the account even with successes in between");
  await res.body?.cancel();
});

class FakeSip implements SipSecurityControl {
  items: SipBlock[] = [
    { kind: "sip-source", key: "203.0.113.9", failures: 30, blockedUntil: 1_700_000_600_000 },
    { kind: "sip-extension", key: "1001", failures: 30, blockedUntil: 1_700_000_900_000 },
  ];
  allow: string[][] = [];
  blocks() {
    return this.items;
  }
  unblock(kind: SipBlock["kind"], key: string) {
    const before = this.items.length;
    this.items = this.items.filter((b) => !(b.kind === kind && b.key === key));
    return this.items.length < before;
  }
  setAllowList(networks: string[]) {
    this.allow.push(networks);
  }
}

Deno.test("GET /api/security/blocks lists SIP and web blocks; DELETE lifts one, audited", async () => {
  const sip = new FakeSip();
  using f = await webFixture({ deps: { sipSecurity: sip } });
  const token = await f.login();
  for (let i = 0; i < 5; i++) (await login(f, "198.51.100.77", "wrong")).body?.cancel();
  const res = await f.req("/api/security/blocks", { token });
  assert.equal(res.status, 200);
  const body = await res.json() as { items: { kind: string; key: string }[] };
  assert.deepEqual(body.items.map((b) => `${b.kind}:${b.key}`).sort(), [
    "sip-extension:1001",
    "sip-source:203.0.113.9",
    "web-address:198.51.100.77",
  ]);
  for (
    const [kind, key] of [["sip-extension", "1001"], ["sip-source", "203.0.113.9"], [
      "web-address",
      "198.51.100.77",
    ]]
  ) {
    const del = await f.req(`/api/security/blocks/${kind}/${encodeURIComponent(key!)}`, {
      method: "DELETE",
      token,
    });
    assert.equal(del.status, 200, await del.clone().text());
    await del.body?.cancel();
  }
  assert.equal(sip.items.length, 0);
  const ok = await login(f, "198.51.100.77", ADMIN_PW);
  assert.equal(ok.status, 200, "the address may log in again");
  await ok.body?.cancel();
  assert.equal(f.storage.audit.list({ action: "security.unblock" }).length, 3);
  const events = await f.req("/api/security/events", { token });
  const { items: audit } = await events.json() as { items: { action: string }[] };
  assert.deepEqual(audit.map((e) => e.action), [
    "security.unblock",
    "security.unblock",
    "security.unblock",
    "security.web-address-locked",
  ]);
  const again = await f.req("/api/security/blocks/sip-source/203.0.113.9", { method: "DELETE", token });
  assert.equal(again.status, 404);
  assert.match(await errorOf(again), /no sip-source block/);
  const bad = await f.req("/api/security/blocks/frob/x", { method: "DELETE", token });
  assert.equal(bad.status, 400);
  assert.match(await errorOf(bad), /kind must be one of/);
});

Deno.test("the allow-list is validated, stored, applied and audited", async () => {
  const sip = new FakeSip();
  using f = await webFixture({ deps: { sipSecurity: sip } });
  const token = await f.login();
  const put = (networks: unknown) =>
    f.req("/api/security/allow-list", { method: "PUT", token, json: { networks } });
  let res = await put(["10.1.0.0/16", "192.168.5.7", "2001:db8::/32"]);
  assert.equal(res.status, 200, await res.clone().text());
  assert.deepEqual(await res.json(), { networks: ["10.1.0.0/16", "192.168.5.7/32", "2001:db8::/32"] });
  assert.deepEqual(sip.allow, [["10.1.0.0/16", "192.168.5.7/32", "2001:db8::/32"]]);
  res = await f.req("/api/security/allow-list", { token });
  assert.deepEqual((await res.json() as { networks: string[] }).networks.length, 3);
  for (const bad of [["10.0.0.0/33"], ["nonsense"], "x", [1]]) {
    res = await put(bad);
    assert.equal(res.status, 400, JSON.stringify(bad));
    assert.match(await errorOf(res), /invalid body/);
  }
  assert.equal(sip.allow.length, 1, "a refused list is not applied");
  assert.equal(f.storage.audit.list({ action: "security.allow-list" }).length, 1);
});

Deno.test("the security API is for admins only", async () => {
  using f = await webFixture({ deps: { sipSecurity: new FakeSip() } });
  await f.addUser("bob", "1002");
  const token = await f.login("bob", "user-password-1");
  const res = await f.req("/api/security/blocks", { token });
  assert.equal(res.status, 403);
  await res.body?.cancel();
  const anon = await f.req("/api/security/blocks");
  assert.equal(anon.status, 401);
  await anon.body?.cancel();
});

Deno.test("the Security page is served to admins with the blocks table and the allow-list form", async () => {
  using f = await webFixture({ deps: { sipSecurity: new FakeSip() } });
  const session = await f.cookieLogin();
  const res = await f.req("/security", { session });
  assert.equal(res.status, 200);
  const page = await res.text();
  for (const id of ['id="blocks-table"', 'id="allow-form"', 'data-page="security"', 'href="/security"']) {
    assert.ok(page.includes(id), id);
  }
  await f.addUser("carol", "1003");
  const user = await f.cookieLogin("carol", "user-password-1");
  const denied = await f.req("/security", { session: user });
  assert.equal(denied.status, 403);
  await denied.body?.cancel();
});
