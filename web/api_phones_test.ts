import assert from "node:assert/strict";
import { VirtualClock } from "../runtime/clock/mod.ts";
import { openStorage, type Storage } from "../runtime/storage/mod.ts";
import { DEFAULTS } from "../appliance/config.ts";
import { createPhoneProvisioning, createProvisioningData } from "../appliance/_provisioning.ts";
import { createApp } from "./app.ts";
import { errorOf, webFixture } from "./_test_fixture.ts";

const ADMIN_PW = "admin-password-1";
const USER_PW = "user-password-1";

async function fixture(options: { withProvisioning?: boolean } = {}) {
  const dataDir = Deno.makeTempDirSync({ prefix: "pbx-phones-test-" });
  const clock = new VirtualClock();
  const storage: Storage = openStorage({ dataDir, clock, pbkdf2Iterations: 1000 });
  const config = { ...DEFAULTS, dataDir, publicAddress: "192.0.2.10" };
  const data = createProvisioningData(storage, { config, clock });
  const app = createApp({
    storage,
    clock,
    live: { calls: () => [] },
    health: () => ({ ok: true, listeners: {} }),
    ...(options.withProvisioning === false ? {} : { phones: createPhoneProvisioning(data) }),
  });
  await storage.users.create({ username: "admin", role: "admin", password: ADMIN_PW });
  await storage.users.create({ username: "bob", role: "user", password: USER_PW });
  storage.extensions.create({ number: "201", name: "Alice", password: "alice-sip-pw1" }, "pbx");
  const req = (
    path: string,
    init: { method?: string; token?: string; json?: unknown; body?: string; type?: string } = {},
  ) => {
    const headers = new Headers();
    if (init.token) headers.set("authorization", `Bearer ${init.token}`);
    if (init.json !== undefined || init.type) headers.set("content-type", init.type ?? "application/json");
    const body = init.json !== undefined ? JSON.stringify(init.json) : init.body ?? null;
    return Promise.resolve(
      app.request(path, { method: init.method ?? "GET", headers, body }, {
        remoteAddr: { hostname: "192.0.2.1" },
      }),
    );
  };
  const login = async (username: string, password: string) => {
    const res = await req("/api/auth/login", { method: "POST", json: { username, password } });
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { token: string }).token;
  };
  return {
    storage,
    clock,
    req,
    token: await login("admin", ADMIN_PW),
    userToken: await login("bob", USER_PW),
    [Symbol.dispose]() {
      storage.close();
      Deno.removeSync(dataDir, { recursive: true });
    },
  };
}

async function json(res: Response, status: number): Promise<Record<string, unknown>> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return text === "" ? {} : JSON.parse(text);
}

Deno.test("POST /api/phones normalizes any MAC spelling and GET lists it as assigned", async () => {
  using f = await fixture();
  const created = await json(
    await f.req("/api/phones", {
      method: "POST",
      token: f.token,
      json: { mac: "80-5E-C0-12-34-56", vendor: "yealink", model: "T46S", extension: "201" },
    }),
    201,
  );
  assert.equal(created.mac, "805ec0123456");
  assert.equal(created.status, "assigned");
  const list = await json(await f.req("/api/phones", { token: f.token }), 200);
  assert.equal(list.total, 1);
  const one = await json(await f.req("/api/phones/80:5e:c0:12:34:56", { token: f.token }), 200);
  assert.equal(one.extension, "201");
  await json(
    await f.req("/api/phones", { method: "POST", token: f.token, json: { mac: "805ec0123456" } }),
    409,
  );
});

Deno.test("phone routes refuse bad MACs, unknown extensions, bad vendors, bad JSON and non-admins", async () => {
  using f = await fixture();
  const post = (json: unknown) => f.req("/api/phones", { method: "POST", token: f.token, json });
  assert.match(String((await json(await post({ mac: "80:5e:c0" }), 400)).error), /MAC address/);
  assert.match(
    String((await json(await post({ mac: "805ec0123456", extension: "999" }), 400)).error),
    /extension 999 does not exist/,
  );
  assert.match(
    String((await json(await post({ mac: "805ec0123456", vendor: "nokia" }), 400)).error),
    /vendor/,
  );
  assert.match(String((await json(await post({ mac: 12 }), 400)).error), /mac/);
  await json(
    await f.req("/api/phones", { method: "POST", token: f.token, body: "{", type: "application/json" }),
    400,
  );
  await json(
    await f.req("/api/phones", { method: "POST", token: f.token, body: "x", type: "text/plain" }),
    415,
  );
  await json(await f.req("/api/phones/zzzz", { token: f.token }), 400);
  await json(await f.req("/api/phones/805ec0123456", { token: f.token }), 404);
  await json(await f.req("/api/phones", { token: f.userToken }), 403);
  await json(await f.req("/api/templates", { token: f.userToken }), 403);
  await json(await f.req("/api/contacts", { token: f.userToken }), 403);
  await json(await f.req("/api/phones"), 401);
});

Deno.test("assign, update, open-window and delete a phone", async () => {
  using f = await fixture();
  const assigned = await json(
    await f.req("/api/phones/0004F2AABBCC/assign", {
      method: "POST",
      token: f.token,
      json: { extension: "201" },
    }),
    200,
  );
  assert.equal(assigned.status, "assigned");
  const updated = await json(
    await f.req("/api/phones/0004f2aabbcc", {
      method: "PUT",
      token: f.token,
      json: {
        vendor: "polycom",
        lineKeys: [{ type: "blf", value: "201", label: "Alice" }],
        httpUser: "p",
        httpPassword: "secret-pw",
      },
    }),
    200,
  );
  assert.equal(updated.vendor, "polycom");
  assert.equal(updated.hasHttpPassword, true);
  assert.equal(JSON.stringify(updated).includes("secret-pw"), false);
  await json(
    await f.req("/api/phones/0004f2aabbcc", { method: "PUT", token: f.token, json: { bogus: 1 } }),
    400,
  );
  const win = await json(
    await f.req("/api/phones/0004f2aabbcc/open-window", {
      method: "POST",
      token: f.token,
      json: { minutes: 30 },
    }),
    200,
  );
  assert.equal(win.provisioningOpenUntil, f.clock.wallNow() + 30 * 60_000);
  await json(
    await f.req("/api/phones/0004f2aabbcc/open-window", {
      method: "POST",
      token: f.token,
      json: { minutes: 5000 },
    }),
    400,
  );
  const un = await json(
    await f.req("/api/phones/0004f2aabbcc/assign", {
      method: "POST",
      token: f.token,
      json: { extension: null },
    }),
    200,
  );
  assert.equal(un.status, "discovered");
  await json(await f.req("/api/phones/0004f2aabbcc", { method: "DELETE", token: f.token }), 204);
  await json(await f.req("/api/phones/0004f2aabbcc", { method: "DELETE", token: f.token }), 404);
});

Deno.test("templates: list, save a valid edit, refuse an invalid one with line:col, preview and reset", async () => {
  using f = await fixture();
  const list = await json(await f.req("/api/templates", { token: f.token }), 200);
  const keys = (list.items as { key: string }[]).map((i) => i.key);
  assert.ok(keys.includes("yealink.device") && keys.includes("polycom.common"));
  const bad = await json(
    await f.req("/api/templates/yealink.device", {
      method: "PUT",
      token: f.token,
      json: { body: "x\n  {{ acount.number }}" },
    }),
    400,
  );
  assert.match(String(bad.error), /yealink\.device:2:3: unknown variable "acount\.number"/);
  // Issue 18: nested loops that would render exponentially are refused with a clear message.
  const nested = "{{#each blfKeys}}".repeat(15) + "{{ value }}" + "{{/each}}".repeat(15);
  const bomb = await json(
    await f.req("/api/templates/yealink.device", { method: "PUT", token: f.token, json: { body: nested } }),
    400,
  );
  assert.match(String(bomb.error), /invalid template: yealink\.device: template exceeds its render budget/);
  const good = await json(
    await f.req("/api/templates/yealink.device", {
      method: "PUT",
      token: f.token,
      json: { body: "user={{ account.number }} pw={{ account.password }} host={{ server.host }}\n" },
    }),
    200,
  );
  assert.equal(good.overridden, true);
  await f.req("/api/phones/001565aabbcc/assign", {
    method: "POST",
    token: f.token,
    json: { extension: "201" },
  });
  const masked = await json(
    await f.req("/api/templates/yealink.device/preview", {
      method: "POST",
      token: f.token,
      json: { mac: "00:15:65:aa:bb:cc" },
    }),
    200,
  );
  assert.equal(masked.body, "user=201 pw=******** host=192.0.2.10\n");
  const clear = await json(
    await f.req("/api/templates/yealink.device/preview", {
      method: "POST",
      token: f.token,
      json: { mac: "001565aabbcc", showSecrets: true },
    }),
    200,
  );
  assert.equal(clear.body, "user=201 pw=alice-sip-pw1 host=192.0.2.10\n");
  assert.ok(f.storage.audit.list({}).some((a) => a.action === "template.preview-secrets"));
  await json(
    await f.req("/api/templates/yealink.device/preview", { method: "POST", token: f.token, json: {} }),
    400,
  );
  const reset = await json(
    await f.req("/api/templates/yealink.device/reset", { method: "POST", token: f.token }),
    200,
  );
  assert.equal(reset.overridden, false);
  assert.match(String(reset.body), /account\.1\.password/);
  await json(await f.req("/api/templates/nokia.device", { token: f.token }), 404);
});

Deno.test("without provisioning wired in, template routes answer 503 and phone routes still work", async () => {
  using f = await fixture({ withProvisioning: false });
  await json(await f.req("/api/templates", { token: f.token }), 503);
  await json(await f.req("/api/phones", { token: f.token }), 200);
});

Deno.test("contacts: create, list, delete; bad numbers and ids are refused", async () => {
  using f = await fixture();
  const c = await json(
    await f.req("/api/contacts", {
      method: "POST",
      token: f.token,
      json: { name: "Pizza", number: "+49301234", group: "Food" },
    }),
    201,
  );
  await json(
    await f.req("/api/contacts", { method: "POST", token: f.token, json: { name: "X", number: "12ab" } }),
    400,
  );
  await json(
    await f.req("/api/contacts", { method: "POST", token: f.token, json: { name: "", number: "1" } }),
    400,
  );
  const list = await json(await f.req("/api/contacts", { token: f.token }), 200);
  assert.equal((list.items as unknown[]).length, 1);
  await json(await f.req("/api/contacts/abc", { method: "DELETE", token: f.token }), 400);
  await json(await f.req(`/api/contacts/${c.id}`, { method: "DELETE", token: f.token }), 204);
  await json(await f.req(`/api/contacts/${c.id}`, { method: "DELETE", token: f.token }), 404);
});

Deno.test("re-provision asks the box to notify a registered phone; 404 unknown, 409 not registered, 503 without the dep", async () => {
  const asked: string[] = [];
  using f = await webFixture({
    deps: {
      reprovision: (mac) => {
        asked.push(mac);
        return Promise.resolve(
          mac === "001565aabbcc"
            ? { sent: 1, detail: "NOTIFY check-sync sent to 192.0.2.50:5060" }
            : { sent: 0, detail: "no registered contact" },
        );
      },
    },
  });
  const token = await f.login();
  f.storage.extensions.create({ number: "201", name: "A", password: "good-pass-1" }, "pbx");
  f.storage.devices.create({ mac: "001565aabbcc", extension: "201" });
  f.storage.devices.create({ mac: "001565ddeeff", extension: "201" });
  const post = (mac: string, init: Parameters<typeof f.req>[1] = { token }) =>
    f.req(`/api/phones/${mac}/reprovision`, { method: "POST", ...init });
  let res = await post("00:15:65:AA:BB:CC");
  assert.equal(res.status, 200, await res.clone().text());
  assert.deepEqual(await res.json(), {
    mac: "001565aabbcc",
    sent: 1,
    detail: "NOTIFY check-sync sent to 192.0.2.50:5060",
  });
  res = await post("001565ddeeff");
  assert.equal(res.status, 409);
  assert.match(await errorOf(res), /phone 001565ddeeff is not registered.*no registered contact/);
  res = await post("001565000000");
  assert.equal(res.status, 404);
  assert.match(await errorOf(res), /phone 001565000000 not found/);
  res = await post("not-a-mac");
  assert.equal(res.status, 400);
  await res.body?.cancel();
  assert.deepEqual(asked, ["001565aabbcc", "001565ddeeff"], "unknown and bad MACs never reach the dep");
  const audited = f.storage.audit.list({ action: "phone.reprovision" });
  assert.equal(audited.length, 2);
  // Cookie sessions need the CSRF token; users are refused.
  const s = await f.cookieLogin();
  res = await post("001565aabbcc", { session: s });
  assert.equal(res.status, 403);
  await res.body?.cancel();
  res = await post("001565aabbcc", { session: s, csrf: s.csrf });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  await f.addUser("bob", "202");
  res = await post("001565aabbcc", { token: await f.login("bob", "user-password-1") });
  assert.equal(res.status, 403);
  await res.body?.cancel();
});

Deno.test("re-provision answers 503 without the dependency and when sending fails", async () => {
  {
    using f = await webFixture();
    const token = await f.login();
    f.storage.devices.create({ mac: "001565aabbcc" });
    const res = await f.req("/api/phones/001565aabbcc/reprovision", { method: "POST", token });
    assert.equal(res.status, 503);
    assert.match(await errorOf(res), /re-provisioning is not available/);
  }
  using f = await webFixture({ deps: { reprovision: () => Promise.reject(new Error("socket closed")) } });
  const token = await f.login();
  f.storage.devices.create({ mac: "001565aabbcc" });
  const res = await f.req("/api/phones/001565aabbcc/reprovision", { method: "POST", token });
  assert.equal(res.status, 503);
  assert.match(await errorOf(res), /could not ask phone 001565aabbcc to re-provision: socket closed/);
});

Deno.test("assigning or re-provisioning opens the provisioning window; security settings validate", async () => {
  using f = await fixture();
  const s = await json(await f.req("/api/phones/security", { token: f.token }), 200);
  assert.deepEqual(s, { requireWindow: true, windowMinutes: 60, phonebookNetworks: [] });
  const a = await json(
    await f.req("/api/phones/001565000111/assign", {
      method: "POST",
      token: f.token,
      json: { extension: "201" },
    }),
    200,
  );
  assert.equal(a.provisioningOpenUntil, f.clock.wallNow() + 60 * 60_000, "assigning opens the window");
  const c = await json(
    await f.req("/api/phones", {
      method: "POST",
      token: f.token,
      json: { mac: "001565000112", extension: "201" },
    }),
    201,
  );
  assert.equal(c.provisioningOpenUntil, f.clock.wallNow() + 60 * 60_000, "creating assigned opens it too");
  const put = await json(
    await f.req("/api/phones/security", {
      method: "PUT",
      token: f.token,
      json: { windowMinutes: 15, phonebookNetworks: ["192.168.1.0/24", "10.0.0.5"] },
    }),
    200,
  );
  assert.deepEqual(put, {
    requireWindow: true,
    windowMinutes: 15,
    phonebookNetworks: ["192.168.1.0/24", "10.0.0.5"],
  });
  const bad = await f.req("/api/phones/security", {
    method: "PUT",
    token: f.token,
    json: { phonebookNetworks: ["192.168.1.0/33"] },
  });
  assert.equal(bad.status, 400);
  assert.match(await errorOf(bad), /network/);
  const zero = await f.req("/api/phones/security", {
    method: "PUT",
    token: f.token,
    json: { windowMinutes: 0 },
  });
  assert.equal(zero.status, 400);
  await zero.body?.cancel();
  f.clock.advance(1000);
  const re = await json(
    await f.req("/api/phones/001565000111/assign", {
      method: "POST",
      token: f.token,
      json: { extension: "201" },
    }),
    200,
  );
  assert.equal(re.provisioningOpenUntil, f.clock.wallNow() + 15 * 60_000, "re-assigning reopens it");
  const blocks = await json(await f.req("/api/phones/blocks", { token: f.token }), 200);
  assert.deepEqual(blocks, { items: [] });
  const un = await f.req("/api/phones/blocks/192.0.2.99", { method: "DELETE", token: f.token });
  assert.equal(un.status, 404);
  await un.body?.cancel();
  const user = await f.req("/api/phones/security", { token: f.userToken });
  assert.equal(user.status, 403);
  await user.body?.cancel();
});
