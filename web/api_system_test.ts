import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { errorOf, webFixture } from "./_test_fixture.ts";
import type {
  HostControl,
  HostNetworkSettings,
  HostPendingNetwork,
  HostState,
  HostTimeSettings,
} from "./types.ts";

Deno.test("system status reports uptime, load, memory, data-dir size, health and box addresses", async () => {
  using f = await webFixture();
  const token = await f.login();
  const res = await f.req("/api/system/status", { token });
  assert.equal(res.status, 200);
  const s = await res.json() as {
    uptime: { systemSec: unknown };
    loadavg: number[];
    memory: { totalBytes: number };
    dataDir: { bytes: number };
    health: unknown;
    box: { addresses: string[] };
  };
  assert.equal(typeof s.uptime.systemSec, "number");
  assert.equal(s.loadavg.length, 3);
  assert.ok(s.memory.totalBytes > 0);
  assert.ok(s.dataDir.bytes > 0, "the database file counts");
  assert.deepEqual(s.health, { ok: true, listeners: { sip: true, http: true } });
  assert.deepEqual(s.box.addresses, ["192.0.2.10"]);
});

Deno.test("network settings: valid ones are stored and audited, invalid ones get 400 naming the field", async () => {
  using f = await webFixture();
  const token = await f.login();
  const put = (json: unknown) => f.req("/api/system/settings/network", { method: "PUT", token, json });
  const good = {
    mode: "static",
    hostname: "pbx-office",
    address: "192.168.1.10",
    prefix: 24,
    gateway: "192.168.1.1",
    dns: ["192.168.1.1"],
  };
  let res = await put(good);
  assert.equal(res.status, 200);
  const answer = await res.json() as Record<string, unknown>;
  assert.match(String(answer.reason), /not applied to the OS/);
  assert.deepEqual({ ...answer, reason: undefined }, { ...good, applied: false, reason: undefined });
  assert.deepEqual(f.storage.settings.get("system.network"), good);
  assert.equal(f.storage.audit.list({ action: "settings.network" }).length, 1);
  const bad: [unknown, RegExp][] = [
    [{ ...good, mode: "ppp" }, /mode: must be dhcp or static/],
    [{ ...good, address: "192.168.1.256" }, /address: must be an IPv4 address/],
    [{ ...good, address: "10.0.0.1; rm -rf /" }, /address: must be an IPv4 address/],
    [{ ...good, prefix: 33 }, /prefix: must be 1-32/],
    [{ ...good, prefix: "24" }, /prefix: must be a number/],
    [{ ...good, hostname: "bad_host" }, /hostname: must be a host name label/],
    [{ ...good, dns: ["1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"] }, /dns: at most 3/],
    [{ mode: "static", hostname: "pbx" }, /static mode needs address, prefix and gateway/],
    [{ ...good, gateway: "192.168.2.1" }, /gateway 192.168.2.1 is outside the subnet 192.168.1.0\/24/],
    [{ ...good, address: "192.168.1.0" }, /address 192.168.1.0 is the network address of 192.168.1.0\/24/],
    [{ ...good, address: "192.168.1.255" }, /broadcast address/],
    [{ ...good, gateway: "192.168.1.10" }, /the box's own address/],
  ];
  for (const [json, re] of bad) {
    res = await put(json);
    assert.equal(res.status, 400, JSON.stringify(json));
    assert.match(await errorOf(res), re);
  }
  res = await put({ mode: "dhcp", hostname: "pbx" });
  assert.equal(res.status, 200, "dhcp needs no address");
  await res.body?.cancel();
});

Deno.test("time settings validate the IANA zone and NTP host names", async () => {
  using f = await webFixture();
  const token = await f.login();
  const put = (json: unknown) => f.req("/api/system/settings/time", { method: "PUT", token, json });
  let res = await put({ timezone: "Europe/Berlin", ntpServers: ["pool.ntp.org", "192.0.2.5"] });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  res = await put({ timezone: "Mars/Olympus", ntpServers: [] });
  assert.equal(res.status, 400);
  assert.match(await errorOf(res), /timezone: must be an IANA time zone/);
  res = await put({ timezone: "UTC", ntpServers: ["bad host"] });
  assert.equal(res.status, 400);
  assert.match(await errorOf(res), /ntpServers\.0: must be a host name/);
  res = await f.req("/api/system/settings", { token });
  const all = await res.json() as { time: unknown; network: { mode: string }; smtp: unknown };
  assert.deepEqual(all.time, { timezone: "Europe/Berlin", ntpServers: ["pool.ntp.org", "192.0.2.5"] });
  assert.equal(all.network.mode, "dhcp", "defaults before anything is stored");
  assert.equal(all.smtp, null);
});

Deno.test("SMTP password is write-only: never returned or audited, kept when omitted", async () => {
  using f = await webFixture();
  const token = await f.login();
  const put = (json: unknown) => f.req("/api/system/settings/smtp", { method: "PUT", token, json });
  const base = {
    host: "mail.example.com",
    port: 587,
    security: "starttls",
    username: "pbx",
    from: "pbx@example.com",
  };
  let res = await put({ ...base, password: "smtp-secret-1" });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ...base, hasPassword: true });
  res = await put({ ...base, port: 465, security: "tls" });
  await res.body?.cancel();
  res = await f.req("/api/system/settings", { token });
  const text = await res.text();
  assert.ok(!text.includes("smtp-secret-1"));
  assert.equal((JSON.parse(text) as { smtp: { hasPassword: boolean; port: number } }).smtp.hasPassword, true);
  assert.equal((JSON.parse(text) as { smtp: { port: number } }).smtp.port, 465);
  assert.ok(!JSON.stringify(f.storage.audit.list()).includes("smtp-secret-1"));
  for (
    const [json, re] of [
      [{ ...base, port: 0 }, /port: must be 1-65535/],
      [{ ...base, security: "ssl3" }, /security: must be none, starttls or tls/],
      [{ ...base, from: "not-an-address" }, /from: must be an e-mail address/],
      [{ ...base, host: "" }, /host: must be a host name/],
    ] as [unknown, RegExp][]
  ) {
    res = await put(json);
    assert.equal(res.status, 400, JSON.stringify(json));
    assert.match(await errorOf(res), re);
  }
});

Deno.test("backup downloads a consistent SQLite copy with the extensions in it, and leaves no temp file", async () => {
  using f = await webFixture();
  const token = await f.login();
  f.storage.extensions.create({ number: "201", name: "Backed up", password: "good-pass-1" }, "pbx");
  const before =
    [...Deno.readDirSync(Deno.env.get("TMPDIR") ?? "/tmp")].filter((e) => e.name.startsWith("pbx-backup-"))
      .length;
  const res = await f.req("/api/system/backup", { token });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/vnd.sqlite3");
  assert.match(
    res.headers.get("content-disposition") ?? "",
    /attachment; filename="pbx-backup-\d{8}T\d{6}\.sqlite"/,
  );
  const bytes = new Uint8Array(await res.arrayBuffer());
  assert.equal(new TextDecoder().decode(bytes.slice(0, 15)), "SQLite format 3");
  const after =
    [...Deno.readDirSync(Deno.env.get("TMPDIR") ?? "/tmp")].filter((e) => e.name.startsWith("pbx-backup-"))
      .length;
  assert.ok(after <= before, "temp directory removed");
  const copy = Deno.makeTempFileSync({ suffix: ".sqlite" });
  try {
    Deno.writeFileSync(copy, bytes);
    const db = new DatabaseSync(copy);
    const row = db.prepare("SELECT name FROM extensions WHERE number = '201'").get() as { name: string };
    db.close();
    assert.equal(row.name, "Backed up");
  } finally {
    Deno.removeSync(copy);
  }
  assert.equal(f.storage.audit.list({ action: "system.backup" }).length, 1);
});

Deno.test("logs: the last N lines from the logs dependency; without it, available=false; bad N is 400", async () => {
  {
    using f = await webFixture({ deps: { logs: () => ["one", "two", "three"] } });
    const token = await f.login();
    let res = await f.req("/api/system/logs?lines=2", { token });
    assert.deepEqual(await res.json(), { available: true, lines: ["two", "three"] });
    res = await f.req("/api/system/logs?lines=0", { token });
    assert.equal(res.status, 400);
    assert.match(await errorOf(res), /lines: must be 1-5000/);
  }
  using f = await webFixture();
  const token = await f.login();
  const res = await f.req("/api/system/logs", { token });
  const body = await res.json() as { available: boolean; lines: string[] };
  assert.equal(body.available, false);
  assert.deepEqual(body.lines, []);
});

Deno.test("audit log lists logins and admin changes newest first; filters by action; bad query is 400", async () => {
  using f = await webFixture();
  const token = await f.login();
  let res = await f.req("/api/extensions", {
    method: "POST",
    token,
    json: { number: "201", name: "A", password: "secret-pass-1" },
  });
  await res.body?.cancel();
  res = await f.req("/api/audit", { token });
  const body = await res.json() as { items: { action: string; actor: string; sourceIp: string }[] };
  assert.deepEqual(body.items.map((e) => e.action), ["extension.create", "login"]);
  assert.equal(body.items[0]!.sourceIp, "192.0.2.1");
  res = await f.req("/api/audit?action=login", { token });
  assert.deepEqual(((await res.json()) as typeof body).items.map((e) => e.action), ["login"]);
  for (const q of ["limit=0", "action=DROP%20TABLE", "offset=-1"]) {
    res = await f.req(`/api/audit?${q}`, { token });
    assert.equal(res.status, 400, q);
    assert.match(await errorOf(res), /^invalid query: /);
  }
});

/** A deep check like the appliance's: open read-only, read the schema version, refuse other schemas. */
function readOnlySchemaCheck(path: string): { schemaVersion: number } {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const row = db.prepare("PRAGMA user_version").get() as { user_version: number };
    db.prepare("SELECT count(*) FROM extensions").get();
    return { schemaVersion: row.user_version };
  } finally {
    db.close();
  }
}

function restoreFiles(dataDir: string): string[] {
  try {
    return [...Deno.readDirSync(`${dataDir}/restore`)].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

Deno.test("restore: a downloaded backup is staged with 202, reported by GET, cancelled by DELETE; all audited", async () => {
  using f = await webFixture({ deps: { validateBackup: readOnlySchemaCheck } });
  const token = await f.login();
  f.storage.extensions.create({ number: "201", name: "From backup", password: "good-pass-1" }, "pbx");
  const backup = new Uint8Array(await (await f.req("/api/system/backup", { token })).arrayBuffer());
  let res = await f.req("/api/system/restore", { token });
  assert.deepEqual(await res.json(), { staged: false });
  res = await f.req("/api/system/restore", {
    method: "POST",
    token,
    headers: { "content-type": "application/vnd.sqlite3" },
    body: backup,
  });
  assert.equal(res.status, 202, await res.clone().text());
  const staged = await res.json() as Record<string, unknown>;
  assert.equal(staged.staged, true);
  assert.equal(staged.applyOn, "restart");
  assert.equal(staged.bytes, backup.length);
  const readCheck = readOnlySchemaCheck(`${f.storage.dataDir}/restore/pbx.sqlite`);
  assert.equal(staged.schemaVersion, readCheck.schemaVersion);
  assert.deepEqual(Deno.readFileSync(`${f.storage.dataDir}/restore/pbx.sqlite`), backup);
  assert.deepEqual(restoreFiles(f.storage.dataDir), ["info.json", "pbx.sqlite"], "no temp file left");
  res = await f.req("/api/system/restore", { token });
  const got = await res.json() as Record<string, unknown>;
  assert.equal(got.staged, true);
  assert.equal(got.stagedBy, "admin");
  assert.equal(got.schemaVersion, readCheck.schemaVersion);
  assert.equal(got.bytes, backup.length);
  // The running database is untouched until the next start.
  assert.equal(f.storage.extensions.get("201")?.name, "From backup");
  res = await f.req("/api/system/restore", { method: "DELETE", token });
  assert.deepEqual(await res.json(), { staged: false, cancelled: true });
  assert.deepEqual(restoreFiles(f.storage.dataDir), []);
  res = await f.req("/api/system/restore", { method: "DELETE", token });
  assert.deepEqual(await res.json(), { staged: false, cancelled: false });
  const actions = f.storage.audit.list({}).map((a) => a.action);
  assert.equal(actions.filter((a) => a === "system.restore-stage").length, 1);
  assert.equal(
    actions.filter((a) => a === "system.restore-cancel").length,
    1,
    "a no-op cancel is not audited",
  );
});

Deno.test("restore refuses a non-SQLite file, a wrong type, a failing schema check and a body over the limit", async () => {
  using f = await webFixture({
    deps: {
      maxRestoreBytes: 256 * 1024,
      validateBackup: (path) => {
        if (Deno.statSync(path).size === 4096) {
          throw new Error("schema version 99 is newer than this software (5)");
        }
        return { schemaVersion: 5 };
      },
    },
  });
  const token = await f.login();
  const post = (body: BodyInit, type = "application/octet-stream") =>
    f.req("/api/system/restore", { method: "POST", token, headers: { "content-type": type }, body });
  const sqliteLike = (size: number) => {
    const b = new Uint8Array(size);
    b.set(new TextEncoder().encode("SQLite format 3\0"));
    return b;
  };
  const cases: [Promise<Response>, number, RegExp][] = [
    [
      post(new TextEncoder().encode("PK\x03\x04 this is a zip file, not a database".repeat(10))),
      400,
      /not an SQLite database/,
    ],
    [post(new Uint8Array(0)), 400, /not an SQLite database: only 0 bytes/],
    [post(sqliteLike(4096), "application/vnd.sqlite3"), 400, /not a usable backup: schema version 99/],
    [post(sqliteLike(2048), "text/plain"), 415, /application\/octet-stream or application\/vnd\.sqlite3/],
    [post(sqliteLike(300 * 1024)), 413, /larger than 262144 bytes/],
    [
      // No Content-Length: a chunked stream is counted as it arrives.
      post(ReadableStream.from([sqliteLike(200 * 1024), new Uint8Array(200 * 1024)])),
      413,
      /larger than 262144 bytes/,
    ],
  ];
  for (const [pending, status, re] of cases) {
    const res = await pending;
    assert.equal(res.status, status, re.source);
    assert.match(await errorOf(res), re);
  }
  assert.deepEqual(restoreFiles(f.storage.dataDir), [], "nothing staged, no temp files");
  assert.equal(f.storage.audit.list({ action: "system.restore-refused" }).length, cases.length);
  // Over the 64 KiB API limit but under the restore limit is fine after authentication.
  const ok = await post(sqliteLike(100 * 1024));
  assert.equal(ok.status, 202, await ok.clone().text());
  assert.equal((await ok.json() as { schemaVersion: number }).schemaVersion, 5);
});

Deno.test("restore needs an admin and, for cookie sessions, the CSRF token; anonymous uploads never get the big limit", async () => {
  using f = await webFixture();
  const body = new Uint8Array(100 * 1024);
  body.set(new TextEncoder().encode("SQLite format 3\0"));
  const upload = (init: Parameters<typeof f.req>[1] = {}) =>
    f.req("/api/system/restore", {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body,
      ...init,
    });
  let res = await upload();
  assert.equal(res.status, 401);
  await res.body?.cancel();
  await f.addUser("bob", "201");
  res = await upload({ token: await f.login("bob", "user-password-1") });
  assert.equal(res.status, 403);
  await res.body?.cancel();
  res = await f.req("/api/system/restore", { token: await f.login("bob", "user-password-1") });
  assert.equal(res.status, 403, "GET is admin-only too");
  await res.body?.cancel();
  const s = await f.cookieLogin();
  res = await upload({ session: s });
  assert.equal(res.status, 403);
  assert.match(await errorOf(res), /CSRF/);
  res = await f.req("/api/system/restore", { method: "DELETE", session: s });
  assert.equal(res.status, 403, "cancel needs CSRF too");
  await res.body?.cancel();
  assert.deepEqual(restoreFiles(f.storage.dataDir), []);
  res = await upload({ session: s, csrf: s.csrf });
  assert.equal(res.status, 202, await res.clone().text());
  assert.equal((await res.json() as { schemaVersion: unknown }).schemaVersion, null, "no deep check wired");
});

/** A HostControl that records what the routes asked of it. */
class FakeHost implements HostControl {
  calls: unknown[][] = [];
  pending: HostPendingNetwork | null = null;
  fail: Error | null = null;
  constructor(readonly mode: "systemd" | "none" = "systemd") {}
  state(): Promise<HostState> {
    return Promise.resolve({
      mode: this.mode,
      hostname: "pbx-office",
      timezone: "Europe/Berlin",
      ntp: { servers: ["pool.ntp.org"], synchronized: true },
      interfaces: [{
        name: "eth0",
        mac: "52:54:00:12:34:56",
        addresses: [{ address: "192.168.1.10", prefix: 24, dynamic: false }],
      }],
      bootId: "boot-1",
      pendingNetwork: this.pending,
    });
  }
  applyNetwork(settings: HostNetworkSettings, options: { previous?: HostNetworkSettings | null }) {
    this.calls.push(["applyNetwork", settings, options.previous]);
    if (this.fail) return Promise.reject(this.fail);
    this.pending = { confirmBy: 1_900_000_000_000, settings };
    return Promise.resolve({ confirmBy: this.pending.confirmBy });
  }
  confirmNetwork() {
    this.calls.push(["confirmNetwork"]);
    const p = this.pending;
    this.pending = null;
    return Promise.resolve(p);
  }
  applyTime(settings: HostTimeSettings) {
    this.calls.push(["applyTime", settings]);
    return this.fail ? Promise.reject(this.fail) : Promise.resolve();
  }
  reboot() {
    this.calls.push(["reboot"]);
    return { at: 1_900_000_001_000 };
  }
  restartService() {
    this.calls.push(["restartService"]);
    return { at: 1_900_000_002_000 };
  }
  factoryReset() {
    this.calls.push(["factoryReset"]);
    return { at: 1_900_000_003_000 };
  }
}

const STATIC_NET = {
  mode: "static",
  hostname: "pbx-office",
  address: "192.168.1.10",
  prefix: 24,
  gateway: "192.168.1.1",
  dns: ["192.168.1.1"],
};

Deno.test("GET /api/system/host: the HostControl's view, or without one mode none with what Deno can tell", async () => {
  const host = new FakeHost();
  {
    using f = await webFixture({ deps: { host } });
    const res = await f.req("/api/system/host", { token: await f.login() });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), await host.state());
  }
  using f = await webFixture();
  const res = await f.req("/api/system/host", { token: await f.login() });
  const s = await res.json() as HostState;
  assert.equal(s.mode, "none");
  assert.ok(Array.isArray(s.interfaces));
  assert.ok(
    s.interfaces.every((i) => i.addresses.every((a) => a.dynamic === null && !a.address.startsWith("127."))),
  );
  assert.deepEqual(s.ntp, { servers: [], synchronized: null });
  assert.equal(s.pendingNetwork, null);
});

Deno.test("PUT network on a box applies with the stored settings as previous, answers confirmBy; confirm keeps it once", async () => {
  const host = new FakeHost();
  using f = await webFixture({ deps: { host } });
  const token = await f.login();
  let res = await f.req("/api/system/settings/network", { method: "PUT", token, json: STATIC_NET });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ...STATIC_NET, applied: true, confirmBy: 1_900_000_000_000 });
  const second = { mode: "dhcp", hostname: "pbx" };
  res = await f.req("/api/system/settings/network", { method: "PUT", token, json: second });
  await res.body?.cancel();
  assert.deepEqual(host.calls, [["applyNetwork", STATIC_NET, null], ["applyNetwork", second, STATIC_NET]]);
  assert.deepEqual(f.storage.settings.get("system.network"), second);
  res = await f.req("/api/system/host", { token });
  assert.deepEqual((await res.json() as HostState).pendingNetwork?.settings, second);

  res = await f.req("/api/system/settings/network/confirm", { method: "POST", token });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { confirmed: true, settings: second });
  res = await f.req("/api/system/settings/network/confirm", { method: "POST", token });
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /no network change is waiting for confirmation/);
  assert.deepEqual(
    f.storage.audit.list().map((e) => e.action).filter((a) => a.startsWith("settings.")).reverse(),
    ["settings.network", "settings.network", "settings.network-confirm"],
  );
  res = await f.req("/api/system/settings", { token });
  assert.equal((await res.json() as { applied: boolean }).applied, true);
});

Deno.test("PUT network: the OS refusing is 500 (nothing stored), a RangeError from the host is 400; both audited", async () => {
  const host = new FakeHost();
  using f = await webFixture({ deps: { host } });
  const token = await f.login();
  host.fail = new Error("networkctl reload failed (exit 1): Access denied");
  let res = await f.req("/api/system/settings/network", { method: "PUT", token, json: STATIC_NET });
  assert.equal(res.status, 500);
  assert.match(await errorOf(res), /could not be applied \(nothing changed\): networkctl reload failed/);
  host.fail = new RangeError("not an interface name");
  res = await f.req("/api/system/settings/network", { method: "PUT", token, json: STATIC_NET });
  assert.equal(res.status, 400);
  assert.match(await errorOf(res), /not an interface name/);
  assert.equal(f.storage.settings.get("system.network"), undefined);
  assert.equal(f.storage.audit.list({ action: "settings.network-failed" }).length, 2);
  // validation happens before the host is asked
  host.fail = null;
  host.calls.length = 0;
  res = await f.req("/api/system/settings/network", {
    method: "PUT",
    token,
    json: { ...STATIC_NET, gateway: "10.0.0.1" },
  });
  assert.equal(res.status, 400);
  assert.match(await errorOf(res), /outside the subnet/);
  assert.deepEqual(host.calls, []);
});

Deno.test("PUT time on a box applies then stores; a zone the box lacks is 400 and not stored", async () => {
  const host = new FakeHost();
  using f = await webFixture({ deps: { host } });
  const token = await f.login();
  const time = { timezone: "Europe/Berlin", ntpServers: ["pool.ntp.org"] };
  let res = await f.req("/api/system/settings/time", { method: "PUT", token, json: time });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ...time, applied: true });
  assert.deepEqual(host.calls, [["applyTime", time]]);
  host.fail = new RangeError("time zone Asia/Tokyo is not installed on the box");
  res = await f.req("/api/system/settings/time", {
    method: "PUT",
    token,
    json: { timezone: "Asia/Tokyo", ntpServers: [] },
  });
  assert.equal(res.status, 400);
  assert.match(await errorOf(res), /Asia\/Tokyo is not installed/);
  assert.deepEqual(f.storage.settings.get("system.time"), time);
  assert.equal(f.storage.audit.list({ action: "settings.time-failed" }).length, 1);
});

Deno.test("reboot and restart answer 202 and are audited on a box; 409 without a host or in mode none", async () => {
  const host = new FakeHost();
  {
    using f = await webFixture({ deps: { host } });
    const token = await f.login();
    let res = await f.req("/api/system/reboot", { method: "POST", token });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { scheduled: "reboot", at: 1_900_000_001_000 });
    res = await f.req("/api/system/restart", { method: "POST", token });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { scheduled: "restart", at: 1_900_000_002_000 });
    assert.deepEqual(host.calls, [["reboot"], ["restartService"]]);
    assert.equal(f.storage.audit.list({ action: "system.reboot" }).length, 1);
    assert.equal(f.storage.audit.list({ action: "system.restart" }).length, 1);
  }
  for (const deps of [{}, { host: new FakeHost("none") }]) {
    using f = await webFixture({ deps });
    const token = await f.login();
    for (
      const path of ["/api/system/reboot", "/api/system/restart", "/api/system/settings/network/confirm"]
    ) {
      const res = await f.req(path, { method: "POST", token });
      assert.equal(res.status, 409, path);
      assert.match(await errorOf(res), /PBX_HOST is not systemd/);
    }
    const res = await f.req("/api/system/settings/time", {
      method: "PUT",
      token,
      json: { timezone: "UTC", ntpServers: [] },
    });
    const body = await res.json() as { applied: boolean; reason: string };
    assert.equal(body.applied, false);
    assert.match(body.reason, /stored but not applied/);
  }
});

Deno.test("factory reset needs the confirmation body, answers 202 and is audited; 409 off a box", async () => {
  const host = new FakeHost();
  {
    using f = await webFixture({ deps: { host } });
    const token = await f.login();
    let res = await f.req("/api/system/factory-reset", { method: "POST", token });
    assert.equal(res.status, 400);
    assert.match(await errorOf(res), /confirm":"factory-reset"/);
    res = await f.req("/api/system/factory-reset", { method: "POST", token, json: { confirm: "yes" } });
    assert.equal(res.status, 400);
    assert.deepEqual(host.calls, []);
    res = await f.req("/api/system/factory-reset", {
      method: "POST",
      token,
      json: { confirm: "factory-reset" },
    });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { scheduled: "factory-reset", at: 1_900_000_003_000 });
    assert.deepEqual(host.calls, [["factoryReset"]]);
    assert.equal(f.storage.audit.list({ action: "system.factory-reset" }).length, 1);
  }
  using f = await webFixture({ deps: { host: new FakeHost("none") } });
  const token = await f.login();
  const res = await f.req("/api/system/factory-reset", {
    method: "POST",
    token,
    json: { confirm: "factory-reset" },
  });
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /PBX_HOST is not systemd/);
});

Deno.test("host routes are admin-only and cookie sessions need the CSRF token", async () => {
  const host = new FakeHost();
  using f = await webFixture({ deps: { host } });
  await f.addUser("bob", "201");
  const token = await f.login("bob", "user-password-1");
  const routes: [string, string][] = [
    ["GET", "/api/system/host"],
    ["PUT", "/api/system/settings/network"],
    ["POST", "/api/system/settings/network/confirm"],
    ["PUT", "/api/system/settings/time"],
    ["POST", "/api/system/reboot"],
    ["POST", "/api/system/restart"],
  ];
  for (const [method, path] of routes) {
    const res = await f.req(path, { method, token, json: method === "PUT" ? STATIC_NET : undefined });
    assert.equal(res.status, 403, `${method} ${path}`);
    await res.body?.cancel();
  }
  const s = await f.cookieLogin();
  for (const [method, path] of routes.filter(([m]) => m !== "GET")) {
    const res = await f.req(path, { method, session: s, json: method === "PUT" ? STATIC_NET : undefined });
    assert.equal(res.status, 403, `${method} ${path} without CSRF`);
    assert.match(await errorOf(res), /CSRF/);
  }
  assert.deepEqual(host.calls, []);
});
