/**
 * Issue 18 section 3 and the nested-{{#each}} item: provisioning windows, per-source blocks of
 * failed fetches, phone book access and template render bounds, over the in-memory data.
 */
import { assert, assertEquals, assertIncludes, assertNotIncludes, assertThrows } from "./_test_assert.ts";
import { provisioningRoutes } from "./http.ts";
import { tftpResolver } from "./files.ts";
import { addressInNetworks, FetchGuard } from "./guard.ts";
import { validateTemplateSource } from "./templates/custom.ts";
import { compileTemplate } from "./templates/engine.ts";
import { generateFile, routeRequest } from "./templates/generate.ts";
import { VIEW_SCHEMA } from "./templates/view.ts";
import { fakeData } from "./_test_data.ts";

const NOW = Date.UTC(2026, 0, 15);
const client = { address: "192.0.2.50", port: 1234 };
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

function windowData() {
  const f = fakeData();
  f.data.policy = () => ({ requireOpenWindow: true, phonebookNetworks: [] });
  return f;
}

Deno.test("outside its window an assigned MAC's file is refused over TFTP and plain HTTP; common files still served", async () => {
  const f = windowData();
  const resolve = tftpResolver(f.data, { now: () => NOW });
  assertEquals(resolve("001565aabbcc.cfg", client), null, "no SIP password over TFTP outside the window");
  assertIncludes(dec(resolve("y000000000000.cfg", client))!, "#!version");
  const app = provisioningRoutes(f.data, { now: () => NOW });
  const res = await app.request("/prov/001565aabbcc.cfg");
  assertEquals(res.status, 403);
  assertIncludes(await res.text(), "provisioning window");
  // Opened: the file with the password goes out over either protocol.
  f.devices.get("001565aabbcc")!.provisioningOpenUntil = NOW + 60_000;
  assertIncludes(dec(resolve("001565aabbcc.cfg", client))!, "account.1.password = s3cr3t&pw");
  const open = await app.request("/prov/001565aabbcc.cfg");
  assertIncludes(await open.text(), "account.1.password = s3cr3t&pw");
});

Deno.test("outside the window per-device credentials get the file over HTTPS only", async () => {
  const f = windowData();
  Object.assign(f.devices.get("001565aabbcc")!, { httpUser: "ph1", httpPassword: "pw1" });
  const app = provisioningRoutes(f.data, { now: () => NOW, authScheme: "basic" });
  const auth = { Authorization: `Basic ${btoa("ph1:pw1")}` };
  const plain = await app.request("http://box/prov/001565aabbcc.cfg", { headers: auth });
  assertEquals(plain.status, 403);
  assertIncludes(await plain.text(), "HTTPS");
  const tls = await app.request("https://box/prov/001565aabbcc.cfg", { headers: auth });
  assertEquals(tls.status, 200);
  assertIncludes(await tls.text(), "account.1.password = s3cr3t&pw");
  const none = await app.request("https://box/prov/001565aabbcc.cfg");
  assertEquals(none.status, 401);
  await none.body?.cancel();
});

Deno.test("a source guessing MACs is blocked after N misses with one log line; a good phone is not hurt", async () => {
  const f = windowData();
  f.devices.get("001565aabbcc")!.provisioningOpenUntil = NOW + 86_400_000;
  const lines: string[] = [];
  let now = NOW;
  const guard = new FetchGuard({
    maxMisses: 5,
    now: () => now,
    log: (m, x) => lines.push(`${m} ${x.address}`),
  });
  const app = provisioningRoutes(f.data, {
    now: () => now,
    guard,
    clientAddress: (c) => c.req.header("x-test-ip") ?? null,
  });
  const get = async (file: string, ip: string) => {
    const r = await app.request(`/prov/${file}`, { headers: { "x-test-ip": ip } });
    await r.body?.cancel();
    return r.status;
  };
  for (let i = 0; i < 5; i++) assertEquals(await get(`0015650000${10 + i}.cfg`, "192.0.2.66"), 200);
  for (let i = 0; i < 20; i++) assertEquals(await get(`0015650001${10 + i}.cfg`, "192.0.2.66"), 429);
  assertEquals(await get("001565aabbcc.cfg", "192.0.2.66"), 429, "a blocked source gets nothing");
  // The real phone fetching its own files again and again is never blocked.
  for (let i = 0; i < 30; i++) {
    assertEquals(await get("001565aabbcc.cfg", "192.0.2.50"), 200);
    assertEquals(await get("y000000000000.cfg", "192.0.2.50"), 200);
  }
  assertEquals(lines.filter((l) => l.includes("blocked after")).length, 1, lines.join("\n"));
  assert(lines.filter((l) => l.includes("refused")).length <= 1, "repeats are rate-limited");
  assertEquals(guard.blocks().map((b) => b.address), ["192.0.2.66"]);
  assertEquals(f.discovered.length, 5, "blocked fetches do not discover devices");
  // TFTP shares the guard.
  assertEquals(
    tftpResolver(f.data, { guard, now: () => now })("001565aabbcc.cfg", { ...client, address: "192.0.2.66" }),
    null,
  );
  now += guard.blockMs + 1;
  assertEquals(await get("001565aabbcc.cfg", "192.0.2.66"), 200, "the block ends");
});

Deno.test("the phone book needs credentials or an allowed network", async () => {
  const f = windowData();
  Object.assign(f.devices.get("001565aabbcc")!, { httpUser: "ph1", httpPassword: "pw1" });
  f.data.deviceByHttpUser = (u) => [...f.devices.values()].find((d) => d.httpUser === u);
  const app = provisioningRoutes(f.data, {
    now: () => NOW,
    authScheme: "basic",
    clientAddress: () => "192.0.2.77",
  });
  const denied = await app.request("/prov/phonebook/yealink");
  assertEquals(denied.status, 401);
  assertNotIncludes(await denied.text(), "Alice");
  const poly = await app.request("/prov/000000000000-directory.xml");
  assert(poly.status === 401 || poly.status === 403, `directory -> ${poly.status}`);
  await poly.body?.cancel();
  const bad = await app.request("/prov/phonebook/yealink", {
    headers: { Authorization: `Basic ${btoa("ph1:no")}` },
  });
  assertEquals(bad.status, 401);
  await bad.body?.cancel();
  const ok = await app.request("/prov/phonebook/yealink", {
    headers: { Authorization: `Basic ${btoa("ph1:pw1")}` },
  });
  assertEquals(ok.status, 200);
  assertIncludes(await ok.text(), "Alice");
  f.data.policy = () => ({ requireOpenWindow: true, phonebookNetworks: ["192.0.2.0/24"] });
  const lan = await app.request("/prov/phonebook/yealink");
  assertEquals(lan.status, 200);
  await lan.body?.cancel();
  assert(addressInNetworks("10.1.2.3", ["10.0.0.0/8"]) && !addressInNetworks("11.1.2.3", ["10.0.0.0/8"]));
  assert(addressInNetworks("::ffff:192.168.1.9", ["192.168.1.0/24"]));
});

const nested = (depth: number) =>
  "{{#each blfKeys}}".repeat(depth) + "{{ value }}" + "{{/each}}".repeat(depth);

Deno.test("a nested {{#each}} template is refused on save and bounded at render", () => {
  const e = assertThrows(() => validateTemplateSource("yealink.device", nested(15)), RangeError);
  assertIncludes(e.message, "yealink.device");
  validateTemplateSource("yealink.device", nested(1)); // one loop is fine
  const t = compileTemplate(nested(15), { escape: "ini", schema: VIEW_SCHEMA, name: "t" });
  const keys = Array.from({ length: 4 }, (_, i) => ({ value: String(i) }));
  assertThrows(() => t.render({ blfKeys: keys }), RangeError, "budget");
  // A stored override that blows the budget is refused for that phone with a log line, not rendered.
  const f = fakeData();
  const logs: string[] = [];
  f.data.templateSource = (k) => (k === "yealink.device" ? nested(15) : undefined);
  f.data.log = (m) => logs.push(m);
  f.devices.get("001565aabbcc")!.lineKeys = Array.from(
    { length: 4 },
    () => ({ type: "blf", value: "202", label: "B" }),
  );
  const r = generateFile(routeRequest("001565aabbcc.cfg")!, f.data, { now: NOW });
  assert("status" in r && r.status === 500, JSON.stringify(r).slice(0, 200));
  assertEquals(logs.length, 1);
});
