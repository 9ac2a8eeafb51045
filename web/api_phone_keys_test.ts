/**
 * Phone keys through the REST API: key lists are checked against the number plan and against
 * what the phone's make and model can take, and the accepted keys reach the phone's file.
 */
import assert from "node:assert/strict";
import { VirtualClock } from "../runtime/clock/mod.ts";
import { openStorage, type Storage } from "../runtime/storage/mod.ts";
import { DEFAULTS } from "../appliance/config.ts";
import { createPhoneProvisioning, createProvisioningData } from "../appliance/_provisioning.ts";
import { createApp } from "./app.ts";

async function fixture() {
  const dataDir = Deno.makeTempDirSync({ prefix: "pbx-phone-keys-test-" });
  const clock = new VirtualClock();
  const storage: Storage = openStorage({ dataDir, clock, pbkdf2Iterations: 1000 });
  const config = { ...DEFAULTS, dataDir, publicAddress: "192.0.2.10" };
  const data = createProvisioningData(storage, { config, clock });
  const app = createApp({
    storage,
    clock,
    live: { calls: () => [] },
    health: () => ({ ok: true, listeners: {} }),
    phones: createPhoneProvisioning(data),
  });
  await storage.users.create({ username: "admin", role: "admin", password: "admin-password-1" });
  storage.extensions.create({ number: "201", name: "Alice", password: "alice-sip-pw1" }, "pbx");
  storage.extensions.create({ number: "202", name: "Bob", password: "bob-sip-pw-12" }, "pbx");
  storage.paging.createZone({ number: "71", name: "Yard" });
  let token = "";
  const req = (path: string, init: { method?: string; json?: unknown } = {}) =>
    Promise.resolve(app.request(path, {
      method: init.method ?? "GET",
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(init.json !== undefined ? { "content-type": "application/json" } : {}),
      },
      body: init.json === undefined ? null : JSON.stringify(init.json),
    }, { remoteAddr: { hostname: "192.0.2.1" } }));
  const login = await req("/api/auth/login", {
    method: "POST",
    json: { username: "admin", password: "admin-password-1" },
  });
  token = ((await login.json()) as { token: string }).token;
  return {
    storage,
    req,
    [Symbol.dispose]() {
      storage.close();
      Deno.removeSync(dataDir, { recursive: true });
    },
  };
}

async function expect(res: Response, status: number): Promise<Record<string, unknown>> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return text === "" ? {} : JSON.parse(text);
}

const message = (body: Record<string, unknown>) => JSON.stringify(body);

Deno.test("BLF, speed-dial and park keys are stored and reach the Yealink file with MWI", async () => {
  using f = await fixture();
  const keys = [
    { type: "blf", value: "202", label: "Bob" },
    { type: "speeddial", value: "*97", label: "Voicemail" },
    { type: "park", value: "701", label: "Park 1" },
  ];
  const created = await expect(
    await f.req("/api/phones", {
      method: "POST",
      json: { mac: "80:5e:c0:12:34:56", vendor: "yealink", model: "T46U", extension: "201", lineKeys: keys },
    }),
    201,
  );
  assert.deepEqual(created.lineKeys, keys);
  const preview = await expect(
    await f.req("/api/templates/yealink.device/preview", { method: "POST", json: { mac: "805ec0123456" } }),
    200,
  );
  const body = String(preview.body);
  for (
    const line of [
      "linekey.2.type = 16",
      "linekey.2.value = 202",
      "linekey.3.type = 13",
      "linekey.3.value = *97",
      "linekey.4.type = 10",
      "linekey.4.value = 701",
      "account.1.subscribe_mwi = 1",
      "voice_mail.number.1 = *97",
      "features.pickup.direct_pickup_code = **",
    ]
  ) assert.ok(body.includes(`${line}\n`), `${line} missing in:\n${body}`);
});

Deno.test("edited feature codes change the voicemail number and pickup code phones get", async () => {
  using f = await fixture();
  await expect(
    await f.req("/api/feature-codes/voicemail.own", { method: "PUT", json: { pattern: "*50" } }),
    200,
  );
  await expect(
    await f.req("/api/feature-codes/pickup.directed", { method: "PUT", json: { pattern: "_*21XX!" } }),
    200,
  );
  await expect(
    await f.req("/api/phones", {
      method: "POST",
      json: { mac: "805ec0123456", vendor: "yealink", extension: "201" },
    }),
    201,
  );
  const preview = await expect(
    await f.req("/api/templates/yealink.device/preview", { method: "POST", json: { mac: "805ec0123456" } }),
    200,
  );
  assert.ok(String(preview.body).includes("voice_mail.number.1 = *50\n"), String(preview.body));
  assert.ok(String(preview.body).includes("features.pickup.direct_pickup_code = *21\n"));
});

Deno.test("keys for numbers outside the number plan, or of the wrong kind, get 409 naming the number", async () => {
  using f = await fixture();
  const post = (lineKeys: unknown) =>
    f.req("/api/phones", { method: "POST", json: { mac: "805ec0123456", vendor: "yealink", lineKeys } });
  let r = await expect(await post([{ type: "blf", value: "299", label: "Nobody" }]), 409);
  assert.match(message(r), /key 1 \(blf 299\): 299 is not in the number plan/);
  r = await expect(await post([{ type: "blf", value: "71", label: "Yard" }]), 409);
  assert.match(message(r), /BLF keys watch extensions; 71 is paging zone 71/);
  r = await expect(await post([{ type: "blf", value: "202" }, { type: "speeddial", value: "555" }]), 409);
  assert.match(message(r), /key 2 \(speeddial 555\): 555 is not in the number plan/);
  r = await expect(await post([{ type: "park", value: "201", label: "P" }]), 409);
  assert.match(message(r), /201 is extension 201/);
  // Nothing was stored by the refused requests.
  assert.equal(f.storage.devices.get("805ec0123456"), undefined);
  // A PUT is checked against the same plan.
  await expect(await post([]), 201);
  r = await expect(
    await f.req("/api/phones/805ec0123456", {
      method: "PUT",
      json: { lineKeys: [{ type: "speeddial", value: "**999" }, { type: "blf", value: "203" }] },
    }),
    409,
  );
  assert.match(message(r), /key 2 \(blf 203\)/);
  // Bad key shapes stay 400.
  await expect(
    await f.req("/api/phones/805ec0123456", {
      method: "PUT",
      json: { lineKeys: [{ type: "bogus", value: "1" }] },
    }),
    400,
  );
});

Deno.test("more keys than the model has, or a type its vendor cannot carry, get 400", async () => {
  using f = await fixture();
  const blf = (n: number) => Array.from({ length: n }, () => ({ type: "blf", value: "202", label: "Bob" }));
  let r = await expect(
    await f.req("/api/phones", {
      method: "POST",
      json: { mac: "c074ad000001", vendor: "grandstream", model: "GRP2612", lineKeys: blf(17) },
    }),
    400,
  );
  assert.match(message(r), /too many keys for Grandstream GRP2612: 17 given, at most 16/);
  await expect(
    await f.req("/api/phones", {
      method: "POST",
      json: { mac: "c074ad000001", vendor: "grandstream", model: "GRP2612", lineKeys: blf(16) },
    }),
    201,
  );
  // Changing the model re-checks the stored keys.
  await expect(
    await f.req("/api/phones/c074ad000001", { method: "PUT", json: { model: "GRP2614" } }),
    200,
  );
  r = await expect(
    await f.req("/api/phones/c074ad000001", { method: "PUT", json: { lineKeys: blf(41) } }),
    400,
  );
  assert.match(message(r), /at most 40/);
  r = await expect(
    await f.req("/api/phones", {
      method: "POST",
      json: { mac: "0004f2aabbcc", vendor: "polycom", lineKeys: [{ type: "speeddial", value: "202" }] },
    }),
    400,
  );
  assert.match(message(r), /Polycom .* cannot take speeddial keys/);
  r = await expect(
    await f.req("/api/phones", {
      method: "POST",
      json: { mac: "000bea000001", vendor: "zultys", lineKeys: blf(1) },
    }),
    400,
  );
  assert.match(message(r), /Zultys phones take no programmable keys/);
  await expect(
    await f.req("/api/phones", { method: "POST", json: { mac: "001565000001", lineKeys: blf(65) } }),
    400,
  );
});
