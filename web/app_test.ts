import assert from "node:assert/strict";
import { VirtualClock } from "../runtime/clock/mod.ts";
import { openStorage, type Storage } from "../runtime/storage/mod.ts";
import { createApp } from "./app.ts";
import type { Health, LiveCall } from "./types.ts";
import { webFixture } from "./_test_fixture.ts";

const ADMIN_PW = "admin-password-1";

interface Fixture {
  app: ReturnType<typeof createApp>;
  storage: Storage;
  clock: VirtualClock;
  health: Health;
  calls: LiveCall[];
  /** Request as if from `ip` (default 192.0.2.1). */
  req(path: string, init?: RequestInit & { ip?: string; token?: string; json?: unknown }): Promise<Response>;
  login(username?: string, password?: string): Promise<string>;
  [Symbol.dispose](): void;
}

async function fixture(options: { setup?: boolean } = {}): Promise<Fixture> {
  const dataDir = Deno.makeTempDirSync({ prefix: "pbx-web-test-" });
  const clock = new VirtualClock();
  const storage = openStorage({ dataDir, clock, pbkdf2Iterations: 1000 });
  const health: Health = { ok: true, listeners: { sipUdp: true, web: true } };
  const calls: LiveCall[] = [];
  const app = createApp({ storage, clock, live: { calls: () => calls }, health: () => health });
  const f: Fixture = {
    app,
    storage,
    clock,
    health,
    calls,
    req(path, init = {}) {
      const { ip = "192.0.2.1", token, json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token !== undefined) headers.set("authorization", `Bearer ${token}`);
      if (json !== undefined) headers.set("content-type", "application/json");
      const body = json === undefined ? rest.body ?? null : JSON.stringify(json);
      return Promise.resolve(app.request(path, { ...rest, headers, body }, { remoteAddr: { hostname: ip } }));
    },
    async login(username = "admin", password = ADMIN_PW) {
      const res = await f.req("/api/auth/login", { method: "POST", json: { username, password } });
      assert.equal(res.status, 200, await res.clone().text());
      return ((await res.json()) as { token: string }).token;
    },
    [Symbol.dispose]() {
      storage.close();
      Deno.removeSync(dataDir, { recursive: true });
    },
  };
  if (options.setup !== false) {
    await storage.users.create({ username: "admin", role: "admin", password: ADMIN_PW });
  }
  return f;
}

async function errorOf(res: Response): Promise<string> {
  const body = await res.json() as { error?: unknown };
  assert.equal(typeof body.error, "string", `expected {error} body, got ${JSON.stringify(body)}`);
  return body.error as string;
}

Deno.test("health is 200 when every listener is up and 503 otherwise, without auth", async () => {
  using f = await fixture();
  let res = await f.req("/api/health");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true, listeners: { sipUdp: true, web: true } });
  f.health.listeners.sipUdp = false;
  res = await f.req("/api/health");
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), { ok: false, listeners: { sipUdp: false, web: true } });
});

Deno.test("every response carries the security headers, errors and 404s included", async () => {
  using f = await fixture();
  for (
    const res of [
      await f.req("/api/health"),
      await f.req("/api/nope"),
      await f.req("/api/extensions"),
      await f.req("/"),
    ]
  ) {
    const csp = res.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(res.headers.get("x-frame-options"), "DENY");
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("referrer-policy"), "no-referrer");
    await res.body?.cancel();
  }
});

Deno.test("unknown routes answer 404 JSON; under /api only once authenticated (no route probing)", async () => {
  using f = await fixture();
  let res = await f.req("/api/does-not-exist");
  assert.equal(res.status, 401);
  await res.body?.cancel();
  res = await f.req("/api/does-not-exist", { token: await f.login() });
  assert.equal(res.status, 404);
  assert.match(await errorOf(res), /not found: GET \/api\/does-not-exist/);
  res = await f.req("/nowhere");
  assert.equal(res.status, 404);
  assert.match(await errorOf(res), /not found: GET \/nowhere/);
});

Deno.test("before setup, login answers 409 and setup sets the first admin password exactly once", async () => {
  using f = await fixture({ setup: false });
  let res = await f.req("/api/auth/login", {
    method: "POST",
    json: { username: "admin", password: "whatever-pw" },
  });
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /^no admin password set: /);
  res = await f.req("/api/setup", { method: "POST", json: { password: "short" } });
  assert.equal(res.status, 400);
  assert.match(await errorOf(res), /password: must be at least 10 characters/);
  res = await f.req("/api/setup", { method: "POST", json: { password: ADMIN_PW } });
  assert.equal(res.status, 201);
  await res.body?.cancel();
  res = await f.req("/api/setup", { method: "POST", json: { password: "attacker-password" } });
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /already set/);
  const token = await f.login();
  assert.equal(typeof token, "string");
  assert.deepEqual(f.storage.audit.list({ action: "setup.admin-password" }).length, 1);
});

Deno.test("login returns a token that authorises API calls; logout revokes it", async () => {
  using f = await fixture();
  const res = await f.req("/api/auth/login", {
    method: "POST",
    json: { username: "admin", password: ADMIN_PW },
  });
  assert.equal(res.status, 200);
  const body = await res.json() as { token: string; expiresAt: number; role: string };
  assert.equal(body.expiresAt, f.clock.wallNow() + 12 * 3600_000);
  assert.equal(body.role, "admin");
  const me = await f.req("/api/auth/me", { token: body.token });
  assert.deepEqual(await me.json(), { username: "admin", role: "admin" });
  const out = await f.req("/api/auth/logout", { method: "POST", token: body.token });
  assert.equal(out.status, 200);
  await out.body?.cancel();
  const after = await f.req("/api/auth/me", { token: body.token });
  assert.equal(after.status, 401);
  assert.match(await errorOf(after), /invalid or expired token/);
  assert.deepEqual(f.storage.audit.list().map((e) => e.action), ["logout", "login"]);
});

Deno.test("wrong credentials get 401 and an audit entry, without saying which part was wrong", async () => {
  using f = await fixture();
  for (
    const json of [{ username: "admin", password: "wrong-password" }, {
      username: "ghost",
      password: ADMIN_PW,
    }]
  ) {
    const res = await f.req("/api/auth/login", { method: "POST", json });
    assert.equal(res.status, 401);
    assert.equal(await errorOf(res), "wrong username or password");
  }
  assert.equal(f.storage.audit.list({ action: "login.failed" }).length, 2);
  assert.ok(
    !JSON.stringify(f.storage.audit.list()).includes("wrong-password"),
    "passwords never reach the audit log",
  );
});

Deno.test("repeated wrong passwords lock the address out with 429 and Retry-After, other addresses unaffected", async () => {
  using f = await fixture();
  const attempt = (password: string, ip = "198.51.100.7") =>
    f.req("/api/auth/login", { method: "POST", ip, json: { username: "admin", password } });
  for (let i = 0; i < 5; i++) {
    const res = await attempt("wrong-password");
    assert.equal(res.status, 401);
    await res.body?.cancel();
  }
  let res = await attempt(ADMIN_PW);
  assert.equal(res.status, 429, "even the right password is refused while locked out");
  assert.equal(res.headers.get("retry-after"), "900");
  assert.match(await errorOf(res), /too many failed logins/);
  res = await attempt(ADMIN_PW, "198.51.100.8");
  assert.equal(res.status, 200);
  await res.body?.cancel();
  f.clock.advance(15 * 60_000);
  res = await attempt(ADMIN_PW);
  assert.equal(res.status, 200, "lockout ends");
  await res.body?.cancel();
});

Deno.test("parallel login attempts cannot exceed the failure limit", async () => {
  using f = await fixture();
  const results = await Promise.all(
    Array.from(
      { length: 20 },
      () =>
        f.req("/api/auth/login", { method: "POST", json: { username: "admin", password: "wrong-password" } }),
    ),
  );
  const statuses = results.map((r) => r.status);
  await Promise.all(results.map((r) => r.body?.cancel()));
  assert.equal(statuses.filter((s) => s === 401).length, 5);
  assert.equal(statuses.filter((s) => s === 429).length, 15);
});

Deno.test("missing, malformed, forged and expired tokens get 401", async () => {
  using f = await fixture();
  const token = await f.login();
  const cases: [Record<string, string>, RegExp][] = [
    [{}, /missing Authorization/],
    [{ authorization: "Basic YWRtaW46eA==" }, /malformed Authorization/],
    [{ authorization: "Bearer " }, /malformed/],
    [{ authorization: `Bearer ${"A".repeat(43)}` }, /invalid or expired/],
    [
      { authorization: `Bearer ${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}` },
      /invalid or expired/,
    ],
    [{ authorization: "Bearer ' OR 1=1 --" }, /malformed/],
  ];
  for (const [headers, re] of cases) {
    const res = await f.req("/api/extensions", { headers });
    assert.equal(res.status, 401, JSON.stringify(headers));
    assert.ok(res.headers.get("www-authenticate")?.startsWith("Bearer"));
    assert.match(await errorOf(res), re);
  }
  f.clock.advance(12 * 3600_000);
  const res = await f.req("/api/extensions", { token });
  assert.equal(res.status, 401);
  assert.match(await errorOf(res), /expired/);
});

Deno.test("a user-role token gets 403 on admin routes and sees only its own CDRs", async () => {
  using f = await fixture();
  f.storage.extensions.create({ number: "201", name: "A", password: "good-pass-1" }, "pbx");
  await f.storage.users.create({
    username: "alice",
    role: "user",
    extension: "201",
    password: "alice-password",
  });
  f.storage.cdr.insert({
    callId: "a",
    caller: "201",
    callee: "202",
    startedAt: 1,
    endedAt: 2,
    disposition: "busy",
  });
  f.storage.cdr.insert({
    callId: "b",
    caller: "203",
    callee: "202",
    startedAt: 1,
    endedAt: 2,
    disposition: "busy",
  });
  const token = await f.login("alice", "alice-password");
  for (
    const [method, path] of [
      ["GET", "/api/extensions"],
      ["POST", "/api/extensions"],
      ["GET", "/api/extensions/201"],
      ["DELETE", "/api/extensions/201"],
      ["GET", "/api/registrations"],
      ["GET", "/api/calls"],
    ]
  ) {
    const res = await f.req(path!, { method: method!, token, ...(method === "POST" ? { json: {} } : {}) });
    assert.equal(res.status, 403, `${method} ${path}`);
    assert.match(await errorOf(res), /admin role/);
  }
  let res = await f.req("/api/cdr", { token });
  assert.deepEqual(((await res.json()) as { items: { callId: string }[] }).items.map((r) => r.callId), ["a"]);
  res = await f.req("/api/cdr?extension=203", { token });
  assert.equal(res.status, 403);
  await res.body?.cancel();
});

Deno.test("extensions: create 201, list, get, update, delete; passwords and HA1 never returned", async () => {
  using f = await fixture();
  const token = await f.login();
  let res = await f.req("/api/extensions", {
    method: "POST",
    token,
    json: { number: "201", name: "Reception", password: "secret-pass-1" },
  });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get("location"), "/api/extensions/201");
  const created = await res.json() as Record<string, unknown>;
  assert.equal(created.number, "201");
  assert.equal(created.realm, "pbx");
  res = await f.req("/api/extensions", {
    method: "POST",
    token,
    json: { number: "202", name: "Office", password: "secret-pass-2" },
  });
  await res.body?.cancel();
  res = await f.req("/api/extensions?search=Off", { token });
  const list = await res.json() as { items: { number: string }[]; total: number };
  assert.deepEqual(list.items.map((e) => e.number), ["202"]);
  assert.equal(list.total, 1);
  res = await f.req("/api/extensions/201", { token });
  const one = await res.text();
  assert.equal(res.status, 200);
  for (const secret of ["secret-pass-1", "ha1", "password", "sip_password"]) {
    assert.ok(!one.includes(secret), secret);
  }
  res = await f.req("/api/extensions/201", {
    method: "PUT",
    token,
    json: { name: "Front desk", password: "new-secret-9" },
  });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { name: string }).name, "Front desk");
  assert.equal(f.storage.extensions.getSipPassword("201"), "new-secret-9");
  res = await f.req("/api/extensions/201", { method: "DELETE", token });
  assert.equal(res.status, 204);
  res = await f.req("/api/extensions/201", { token });
  assert.equal(res.status, 404);
  assert.match(await errorOf(res), /extension 201 not found/);
  res = await f.req("/api/extensions/201", { method: "DELETE", token });
  assert.equal(res.status, 404);
  await res.body?.cancel();
  res = await f.req("/api/extensions/999", { method: "PUT", token, json: { name: "x" } });
  assert.equal(res.status, 404);
  await res.body?.cancel();
  const audit = f.storage.audit.list().map((e) => e.action);
  assert.deepEqual(audit.slice(0, 4), [
    "extension.delete",
    "extension.update",
    "extension.create",
    "extension.create",
  ]);
  assert.ok(!JSON.stringify(f.storage.audit.list()).includes("secret-pass"), "no passwords in the audit log");
});

Deno.test("extension creation errors: duplicate 409, invalid fields 400 with the field named", async () => {
  using f = await fixture();
  const token = await f.login();
  const post = (json: unknown) => f.req("/api/extensions", { method: "POST", token, json });
  let res = await post({ number: "201", name: "A", password: "secret-pass-1" });
  await res.body?.cancel();
  res = await post({ number: "201", name: "B", password: "secret-pass-2" });
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /extension 201 already exists/);
  const bad: [unknown, RegExp][] = [
    [{ name: "A", password: "secret-pass-1" }, /number: /],
    [{ number: 201, name: "A", password: "secret-pass-1" }, /number: must be a string/],
    [{ number: "2x1", name: "A", password: "secret-pass-1" }, /number: must be 2-8 digits/],
    [{ number: "../../etc", name: "A", password: "secret-pass-1" }, /number: must be 2-8 digits/],
    [{ number: "203", name: "", password: "secret-pass-1" }, /name: must not be empty/],
    [{ number: "203", name: "A", password: "short" }, /password: must be at least 8/],
    [{ number: "203", name: "A", password: "xx203xxyz!" }, /must not contain the extension number/],
    [{ number: "203", name: "A", password: "secret-pass-1", options: [1] }, /options: must be an object/],
    [[], /invalid body/],
    [null, /invalid body/],
    ["string", /invalid body/],
  ];
  for (const [json, re] of bad) {
    res = await post(json);
    assert.equal(res.status, 400, JSON.stringify(json));
    assert.match(await errorOf(res), re);
  }
  assert.equal(f.storage.extensions.count(), 1);
});

Deno.test("bad JSON is 400, a non-JSON content type is 415, a huge body is 413", async () => {
  using f = await fixture();
  const token = await f.login();
  let res = await f.req("/api/extensions", {
    method: "POST",
    token,
    headers: { "content-type": "application/json" },
    body: "{not json",
  });
  assert.equal(res.status, 400);
  assert.match(await errorOf(res), /^invalid JSON body: /);
  res = await f.req("/api/extensions", {
    method: "POST",
    token,
    headers: { "content-type": "text/plain" },
    body: "{}",
  });
  assert.equal(res.status, 415);
  assert.match(await errorOf(res), /application\/json/);
  const huge = JSON.stringify({ number: "201", name: "A", password: "x".repeat(100_000) });
  res = await f.req("/api/extensions", {
    method: "POST",
    token,
    headers: { "content-type": "application/json" },
    body: huge,
  });
  assert.equal(res.status, 413);
  assert.match(await errorOf(res), /larger than 65536 bytes/);
  // A streamed body without Content-Length is counted too.
  const stream = new ReadableStream<Uint8Array>({
    start(ctl) {
      for (let i = 0; i < 10; i++) ctl.enqueue(new Uint8Array(10_000).fill(32));
      ctl.close();
    },
  });
  res = await f.req("/api/extensions", {
    method: "POST",
    token,
    headers: { "content-type": "application/json" },
    body: stream,
  });
  assert.equal(res.status, 413);
  await res.body?.cancel();
  res = await f.req("/api/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: huge,
  });
  assert.equal(res.status, 413);
  await res.body?.cancel();
});

Deno.test("hostile path numbers are rejected with 400 and SQL-ish names are stored literally", async () => {
  using f = await fixture();
  const token = await f.login();
  for (
    const path of [
      "/api/extensions/..%2F..%2Fetc%2Fpasswd",
      "/api/extensions/201%27%20OR%201=1",
      "/api/extensions/1",
      "/api/extensions/%00",
    ]
  ) {
    const res = await f.req(path, { token });
    assert.equal(res.status, 400, path);
    assert.match(await errorOf(res), /extension number must be 2-8 digits/);
  }
  const evil = "x'); DROP TABLE extensions; --";
  let res = await f.req("/api/extensions", {
    method: "POST",
    token,
    json: { number: "201", name: evil, password: "secret-pass-1" },
  });
  assert.equal(res.status, 201);
  await res.body?.cancel();
  res = await f.req("/api/extensions/201", { token });
  assert.equal(((await res.json()) as { name: string }).name, evil);
  res = await f.req(`/api/extensions?search=${encodeURIComponent("%' OR 1=1 --")}`, { token });
  assert.deepEqual(((await res.json()) as { items: unknown[] }).items, []);
});

Deno.test("registrations list live bindings with contact, expiry, source and user agent", async () => {
  using f = await fixture();
  const token = await f.login();
  f.storage.extensions.create({ number: "201", name: "A", password: "good-pass-1" }, "pbx");
  const now = f.clock.wallNow();
  f.storage.locations.upsert({
    extension: "201",
    contactUri: "sip:201@192.0.2.50:5060",
    expiresAt: now + 60_000,
    callId: "x",
    cseq: 1,
    sourceTransport: "udp",
    sourceAddress: "192.0.2.50",
    sourcePort: 5060,
    userAgent: "Yealink T46U",
  });
  f.storage.locations.upsert({
    extension: "201",
    contactUri: "sip:old@192.0.2.50",
    expiresAt: now - 1,
    callId: "y",
    cseq: 1,
    sourceTransport: "udp",
    sourceAddress: "192.0.2.50",
    sourcePort: 5060,
  });
  const res = await f.req("/api/registrations", { token });
  const body = await res.json() as { items: Record<string, unknown>[] };
  assert.equal(body.items.length, 1);
  assert.deepEqual({ ...body.items[0], updatedAt: undefined }, {
    extension: "201",
    contact: "sip:201@192.0.2.50:5060",
    expiresAt: now + 60_000,
    expiresInSec: 60,
    source: { transport: "udp", address: "192.0.2.50", port: 5060 },
    userAgent: "Yealink T46U",
    updatedAt: undefined,
  });
});

Deno.test("calls lists the live calls from the LiveStatus dependency", async () => {
  using f = await fixture();
  const token = await f.login();
  f.calls.push({ id: "c1", caller: "201", callee: "202", state: "ringing", startedAt: 5 });
  const res = await f.req("/api/calls", { token });
  assert.deepEqual(await res.json(), {
    items: [{ id: "c1", caller: "201", callee: "202", state: "ringing", startedAt: 5 }],
  });
});

Deno.test("CDR list filters by query and CSV export downloads; bad filters are 400", async () => {
  using f = await fixture();
  const token = await f.login();
  const t0 = Date.UTC(2026, 0, 2);
  f.storage.cdr.insert({
    callId: "a",
    caller: "201",
    callee: "202",
    startedAt: t0,
    answeredAt: t0 + 1000,
    endedAt: t0 + 5000,
    disposition: "answered",
  });
  f.storage.cdr.insert({
    callId: "b",
    caller: "203",
    callee: "204",
    startedAt: t0 + 86_400_000,
    endedAt: t0 + 86_401_000,
    disposition: "no-answer",
  });
  let res = await f.req("/api/cdr", { token });
  let body = await res.json() as { items: { callId: string; billsecMs: number }[]; total: number };
  assert.deepEqual(body.items.map((r) => r.callId), ["b", "a"]);
  assert.equal(body.total, 2);
  res = await f.req(
    `/api/cdr?from=2026-01-02T00:00:00Z&to=${t0 + 3600_000}&extension=202&disposition=answered`,
    { token },
  );
  body = await res.json() as typeof body;
  assert.deepEqual(body.items.map((r) => [r.callId, r.billsecMs]), [["a", 4000]]);
  res = await f.req("/api/cdr.csv?disposition=no-answer", { token });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/csv/);
  assert.match(res.headers.get("content-disposition") ?? "", /attachment/);
  const csv = await res.text();
  assert.equal(csv.trim().split("\r\n").length, 2);
  assert.match(csv, /,no-answer,/);
  for (const q of ["from=yesterday", "disposition=lost", "extension=abc", "limit=0", "limit=-5"]) {
    res = await f.req(`/api/cdr?${q}`, { token });
    assert.equal(res.status, 400, q);
    assert.match(await errorOf(res), /^invalid query: /);
  }
});

Deno.test("sound uploads get their own size limit only after authentication and CSRF", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "pbx-web-sounds-" });
  try {
    using f = await webFixture({
      deps: {
        soundsDir: `${dir}/sounds`,
        inspectWav: (b) => ({ sampleRate: 8000, channels: 1, durationMs: Math.round((b.length - 44) / 16) }),
        maxSoundBytes: 256 * 1024,
      },
    });
    const big = new Uint8Array(100 * 1024); // over the 64 KiB API limit, under the sound limit
    const upload = (init: Parameters<typeof f.req>[1] = {}) =>
      f.req("/api/paging/sounds?name=bell.wav", {
        method: "POST",
        headers: { "content-type": "audio/wav" },
        body: big,
        ...init,
      });
    assert.equal((await upload()).status, 401);
    const s = await f.cookieLogin();
    assert.equal((await upload({ session: s })).status, 403, "cookie upload without CSRF token");
    const token = await f.login();
    const res = await upload({ token });
    assert.equal(res.status, 201, await res.clone().text());
    assert.equal(Deno.statSync(`${dir}/sounds/bell.wav`).size, big.length);
    const tooBig = await f.req("/api/paging/sounds?name=huge.wav", {
      method: "POST",
      token,
      headers: { "content-type": "audio/wav" },
      body: new Uint8Array(300 * 1024),
    });
    assert.equal(tooBig.status, 413);
    const other = await f.req("/api/extensions", {
      method: "POST",
      token,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ number: "201", name: "x".repeat(100 * 1024), password: "good-pass-1" }),
    });
    assert.equal(other.status, 413, "other routes keep the 64 KiB limit");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
