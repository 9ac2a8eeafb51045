import { assert, assertEquals, assertIncludes, assertNotIncludes } from "./_test_assert.ts";
import { createHash } from "node:crypto";
import { parseAuthParams, provisioningRoutes } from "./http.ts";
import { fakeData } from "./_test_data.ts";

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

Deno.test("GET /prov/<mac>.cfg serves the Yealink file and records the fetch", async () => {
  const f = fakeData();
  const app = provisioningRoutes(f.data, { clientAddress: () => "192.0.2.50" });
  const res = await app.request("/prov/001565aabbcc.cfg", {
    headers: { "User-Agent": "Yealink SIP-T46S 66.86.0.15" },
  });
  assertEquals(res.status, 200);
  assertIncludes(await res.text(), "account.1.password = s3cr3t&pw");
  assertEquals(f.fetches.length, 1);
  assertEquals(f.fetches[0]!.address, "192.0.2.50");
  assertEquals(f.fetches[0]!.userAgent, "Yealink SIP-T46S 66.86.0.15");
  assertEquals(f.fetches[0]!.secrets, true);
  assertEquals(f.fetches[0]!.protocol, "http");
});

Deno.test("User-Agent picks Polycom for an unknown <mac>.cfg", async () => {
  const f = fakeData();
  const app = provisioningRoutes(f.data);
  const res = await app.request("/prov/aabbccddeeff.cfg", {
    headers: { "User-Agent": "FileTransport PolycomVVX-VVX_400-UA/5.9.0.9373" },
  });
  assertIncludes(await res.text(), "<APPLICATION");
  assertEquals(f.discovered[0]?.vendor, "polycom");
});

Deno.test("traversal and unknown names over HTTP are refused", async () => {
  const app = provisioningRoutes(fakeData().data);
  for (
    const p of [
      "/prov/..%2f..%2fetc%2fpasswd",
      "/prov/%2e%2e/x",
      "/prov/a%5cb",
      "/prov/%00",
      "/prov/%E0%A4%A",
    ]
  ) {
    const res = await app.request(p);
    assert(res.status === 400 || res.status === 404, `${p} -> ${res.status}`);
    await res.body?.cancel();
  }
  const unknown = await app.request("/prov/hello.txt");
  assertEquals(unknown.status, 404);
  await unknown.body?.cancel();
});

Deno.test("phone book formats are served (to an allowed network); unknown format is 404", async () => {
  // Issue 18: the phone book is no longer open to anyone; this test allows the client's network.
  const f = fakeData();
  f.data.policy = () => ({ requireOpenWindow: false, phonebookNetworks: ["192.0.2.0/24"] });
  const app = provisioningRoutes(f.data, { clientAddress: () => "192.0.2.50" });
  const y = await app.request("/prov/phonebook/yealink");
  assertEquals(y.status, 200);
  assertIncludes(await y.text(), "<Name>Pizza &lt;&amp;&gt;</Name>");
  const j = await app.request("/prov/phonebook/json");
  assertEquals(j.headers.get("Content-Type"), "application/json");
  await j.body?.cancel();
  const bad = await app.request("/prov/phonebook/vcard");
  assertEquals(bad.status, 404);
  await bad.body?.cancel();
  const poly = await app.request("/prov/000000000000-directory.xml");
  assertIncludes(await poly.text(), "<item_list>");
});

Deno.test("a device with HTTP credentials must pass Digest auth", async () => {
  const f = fakeData();
  f.devices.get("001565aabbcc")!.httpUser = "phone";
  f.devices.get("001565aabbcc")!.httpPassword = "pw";
  const app = provisioningRoutes(f.data);
  const first = await app.request("/prov/001565aabbcc.cfg");
  assertEquals(first.status, 401);
  assertNotIncludes(await first.text(), "s3cr3t");
  const ch = parseAuthParams(first.headers.get("WWW-Authenticate")!.slice(7));
  const uri = "/prov/001565aabbcc.cfg";
  const ha1 = md5(`phone:${ch.realm}:pw`);
  const ha2 = md5(`GET:${uri}`);
  const response = md5(`${ha1}:${ch.nonce}:00000001:abc:auth:${ha2}`);
  const auth =
    `Digest username="phone", realm="${ch.realm}", nonce="${ch.nonce}", uri="${uri}", qop=auth, nc=00000001, cnonce="abc", response="${response}"`;
  const ok = await app.request(uri, { headers: { Authorization: auth } });
  assertEquals(ok.status, 200);
  assertIncludes(await ok.text(), "s3cr3t&pw");
  const wrong = await app.request(uri, {
    headers: { Authorization: auth.replace(response, "0".repeat(32)) },
  });
  assertEquals(wrong.status, 401);
  await wrong.body?.cancel();
  assertEquals(f.fetches.length, 1, "only the authorised fetch is recorded");
});

Deno.test("Basic auth works when configured and stale Digest nonces are refused", async () => {
  const f = fakeData();
  f.devices.get("001565aabbcc")!.httpUser = "phone";
  f.devices.get("001565aabbcc")!.httpPassword = "pw";
  const basic = provisioningRoutes(f.data, { authScheme: "basic" });
  const ch = await basic.request("/prov/001565aabbcc.cfg");
  assertEquals(ch.headers.get("WWW-Authenticate"), 'Basic realm="pbx-provisioning"');
  await ch.body?.cancel();
  const ok = await basic.request("/prov/001565aabbcc.cfg", {
    headers: { Authorization: `Basic ${btoa("phone:pw")}` },
  });
  assertEquals(ok.status, 200);
  await ok.body?.cancel();
  let t = 1_000_000;
  const digest = provisioningRoutes(f.data, { now: () => t });
  const c1 = await digest.request("/prov/001565aabbcc.cfg");
  const p = parseAuthParams(c1.headers.get("WWW-Authenticate")!.slice(7));
  await c1.body?.cancel();
  t += 10 * 60_000;
  const uri = "/prov/001565aabbcc.cfg";
  const resp = md5(`${md5(`phone:${p.realm}:pw`)}:${p.nonce}:${md5(`GET:${uri}`)}`);
  const late = await digest.request(uri, {
    headers: {
      Authorization:
        `Digest username="phone", realm="${p.realm}", nonce="${p.nonce}", uri="${uri}", response="${resp}"`,
    },
  });
  assertEquals(late.status, 401);
  await late.body?.cancel();
});
