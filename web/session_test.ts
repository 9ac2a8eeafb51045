import assert from "node:assert/strict";
import { csrfMatches, csrfTokenFor } from "./_session.ts";
import { ADMIN_PW, errorOf, webFixture } from "./_test_fixture.ts";

Deno.test("cookie login sets an HttpOnly SameSite=Strict session cookie and returns a CSRF token, not the token", async () => {
  using f = await webFixture();
  const res = await f.req("/api/auth/login", {
    method: "POST",
    json: { username: "admin", password: ADMIN_PW, cookie: true },
  });
  assert.equal(res.status, 200);
  const setCookie = res.headers.get("set-cookie") ?? "";
  assert.match(setCookie, /^pbx_session=[A-Za-z0-9_-]{43};/);
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);
  assert.match(setCookie, /Path=\//);
  assert.match(setCookie, /Max-Age=43200/);
  assert.doesNotMatch(setCookie, /Secure/, "plain HTTP: no Secure flag or the browser drops the cookie");
  const body = await res.json() as Record<string, unknown>;
  assert.equal(body.token, undefined, "the session token stays in the HttpOnly cookie");
  assert.equal(typeof body.csrfToken, "string");
  const token = /pbx_session=([^;]+)/.exec(setCookie)![1]!;
  assert.equal(body.csrfToken, csrfTokenFor(token));
});

Deno.test("over HTTPS the session cookie is Secure", async () => {
  using f = await webFixture();
  const res = await f.app.request("https://pbx.example/api/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: ADMIN_PW, cookie: true }),
  }, { remoteAddr: { hostname: "192.0.2.1" } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("set-cookie") ?? "", /; Secure/);
  await res.body?.cancel();
});

Deno.test("a session cookie authorises GETs; state changes need the matching CSRF header or get 403", async () => {
  using f = await webFixture();
  const s = await f.cookieLogin();
  let res = await f.req("/api/auth/me", { session: s });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { username: "admin", role: "admin" });
  const ext = { number: "201", name: "A", password: "secret-pass-1" };
  res = await f.req("/api/extensions", { method: "POST", session: s, json: ext });
  assert.equal(res.status, 403);
  assert.match(await errorOf(res), /CSRF/);
  res = await f.req("/api/extensions", { method: "POST", session: s, csrf: "x".repeat(43), json: ext });
  assert.equal(res.status, 403);
  assert.match(await errorOf(res), /CSRF/);
  const other = await f.cookieLogin();
  res = await f.req("/api/extensions", { method: "POST", session: s, csrf: other.csrf, json: ext });
  assert.equal(res.status, 403, "another session's CSRF token does not work");
  await res.body?.cancel();
  res = await f.req("/api/extensions/201", { method: "DELETE", session: s });
  assert.equal(res.status, 403);
  await res.body?.cancel();
  assert.equal(f.storage.extensions.count(), 0);
  res = await f.req("/api/extensions", { method: "POST", session: s, csrf: s.csrf, json: ext });
  assert.equal(res.status, 201);
  await res.body?.cancel();
});

Deno.test("bearer requests need no CSRF token (not sent by browsers automatically)", async () => {
  using f = await webFixture();
  const token = await f.login();
  const res = await f.req("/api/extensions", {
    method: "POST",
    token,
    json: { number: "201", name: "A", password: "secret-pass-1" },
  });
  assert.equal(res.status, 201);
  await res.body?.cancel();
});

Deno.test("a bearer token is not accepted as a cookie and a cookie token is not accepted as bearer", async () => {
  using f = await webFixture();
  const bearer = await f.login();
  const s = await f.cookieLogin();
  let res = await f.req("/api/auth/me", { headers: { cookie: `pbx_session=${bearer}` } });
  assert.equal(res.status, 401);
  assert.match(await errorOf(res), /invalid or expired session/);
  const cookieToken = s.cookie.slice("pbx_session=".length);
  res = await f.req("/api/auth/me", { token: cookieToken });
  assert.equal(res.status, 401);
  assert.match(await errorOf(res), /invalid or expired token/);
});

Deno.test("forged, garbage and expired session cookies get 401", async () => {
  using f = await webFixture();
  const s = await f.cookieLogin();
  for (
    const cookie of ["pbx_session=" + "A".repeat(43), "pbx_session=' OR 1=1 --", "pbx_session=", "other=1"]
  ) {
    const res = await f.req("/api/auth/me", { headers: { cookie } });
    assert.equal(res.status, 401, cookie);
    await res.body?.cancel();
  }
  f.clock.advance(12 * 3600_000);
  const res = await f.req("/api/auth/me", { session: s });
  assert.equal(res.status, 401);
  assert.match(await errorOf(res), /expired/);
});

Deno.test("cookie logout needs CSRF, revokes the session and clears the cookie", async () => {
  using f = await webFixture();
  const s = await f.cookieLogin();
  let res = await f.req("/api/auth/logout", { method: "POST", session: s });
  assert.equal(res.status, 403, "logout without CSRF is refused (no forced logout from other sites)");
  await res.body?.cancel();
  res = await f.req("/api/auth/logout", { method: "POST", session: s, csrf: s.csrf });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("set-cookie") ?? "", /pbx_session=; Max-Age=0/);
  await res.body?.cancel();
  res = await f.req("/api/auth/me", { session: s });
  assert.equal(res.status, 401);
  await res.body?.cancel();
});

Deno.test("login validation: cookie must be a boolean", async () => {
  using f = await webFixture();
  const res = await f.req("/api/auth/login", {
    method: "POST",
    json: { username: "admin", password: ADMIN_PW, cookie: "yes" },
  });
  assert.equal(res.status, 400);
  assert.match(await errorOf(res), /cookie: must be a boolean/);
});

Deno.test("csrfMatches is true only for the session's own token", () => {
  const t = "a".repeat(43);
  assert.equal(csrfMatches(t, csrfTokenFor(t)), true);
  assert.equal(csrfMatches(t, csrfTokenFor("b".repeat(43))), false);
  assert.equal(csrfMatches(t, undefined), false);
  assert.equal(csrfMatches(t, ""), false);
});

Deno.test("GET /api/setup tells whether first boot is pending and shows box addresses only then", async () => {
  using f = await webFixture({ setup: false });
  let res = await f.req("/api/setup");
  assert.deepEqual(await res.json(), {
    needed: true,
    box: { addresses: ["192.0.2.10"], sipPort: 5060, httpPort: 8080, tftpPort: 69 },
  });
  res = await f.req("/api/setup", { method: "POST", json: { password: ADMIN_PW } });
  assert.equal(res.status, 201);
  await res.body?.cancel();
  res = await f.req("/api/setup");
  assert.deepEqual(await res.json(), { needed: false });
});
