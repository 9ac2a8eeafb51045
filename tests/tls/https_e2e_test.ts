/**
 * HTTPS end to end: the real appliance makes its certificate on first start, hands out its CA at
 * /prov/ca.crt, and serves the web app, the API and the /prov files over HTTPS to clients that
 * trust only that CA (Deno's fetch and curl), while plain HTTP keeps working.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { hasBinary, startAppliance } from "../_harness/mod.ts";

const MAC = "805ec0a1b2c3";
const UA = "Yealink SIP-T46S 66.86.0.15 80:5e:c0:a1:b2:c3";

async function curl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command("curl", {
    args: ["-sS", "--max-time", "10", ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const d = new TextDecoder();
  return { code: r.code, out: d.decode(r.stdout), err: d.decode(r.stderr) };
}

Deno.test({
  name:
    "the box serves web, API and /prov over HTTPS to clients trusting only its downloaded CA; HTTP still works",
  ignore: !hasBinary("openssl"),
  async fn() {
    await using app = await startAppliance();
    assert.ok(app.httpsUrl, "harness gave an HTTPS port");
    const https = app.httpsUrl;

    // The CA, fetched over plain HTTP the way a phone or a first-time browser gets it.
    const caRes = await fetch(`${app.baseUrl}/prov/ca.crt`);
    assert.equal(caRes.status, 200);
    assert.equal(caRes.headers.get("content-type"), "application/x-x509-ca-cert");
    const caPem = await caRes.text();
    assert.ok(!caPem.includes("PRIVATE"), "no key in the CA download");
    const ca = new X509Certificate(caPem);
    assert.ok(ca.ca);
    assert.equal(caPem, await Deno.readTextFile(`${app.dataDir}/tls/ca/rootCA.pem`));
    const der = new Uint8Array(await (await fetch(`${app.baseUrl}/prov/ca.der`)).arrayBuffer());
    assert.deepEqual(new Uint8Array(ca.raw), der);

    const client = Deno.createHttpClient({ caCerts: [caPem] });
    const dir = await Deno.makeTempDir({ prefix: "pbx-tls-e2e-" });
    try {
      const health = await fetch(`${https}/api/health`, { client });
      assert.equal(health.status, 200);
      const h = await health.json() as { listeners: Record<string, boolean> };
      assert.equal(h.listeners.https, true);
      assert.equal(h.listeners.http, true);
      // HSTS over HTTPS only (a browser would ignore it over HTTP anyway).
      assert.equal(health.headers.get("strict-transport-security"), "max-age=31536000");
      const plainHealth = await fetch(`${app.baseUrl}/api/health`);
      await plainHealth.body?.cancel();
      assert.equal(plainHealth.headers.get("strict-transport-security"), null);

      // A phone with per-device HTTP credentials gets the same file over HTTP and HTTPS.
      const admin = await app.adminApi();
      await admin.createExtension({ number: "1001", name: "Alice", password: "sip-secret-alice-7" });
      await admin.post("/api/phones", {
        mac: MAC,
        vendor: "yealink",
        extension: "1001",
        httpUser: "phone",
        httpPassword: "prov-pw-1",
      });
      const file = `/prov/${MAC}.cfg`;
      const basic = `Basic ${btoa("phone:prov-pw-1")}`;
      const noAuth = await fetch(`${https}${file}`, { client, headers: { "user-agent": UA } });
      assert.equal(noAuth.status, 401);
      await noAuth.body?.cancel();
      const overHttps = await fetch(`${https}${file}`, {
        client,
        headers: { "user-agent": UA, authorization: basic },
      });
      assert.equal(overHttps.status, 200);
      const httpsBody = await overHttps.text();
      assert.ok(httpsBody.includes("sip-secret-alice-7"), "the file carries the account");
      const overHttp = await fetch(`${app.baseUrl}${file}`, {
        headers: { "user-agent": UA, authorization: basic },
      });
      assert.equal(overHttp.status, 200);
      assert.equal(await overHttp.text(), httpsBody);

      // The web UI itself over HTTPS.
      const page = await fetch(`${https}/`, { client, redirect: "manual" });
      assert.ok(page.status < 400, `GET / over HTTPS -> ${page.status}`);
      await page.body?.cancel();

      // curl trusting only the CA file: health, and the phone file with Digest (how phones log in).
      if (hasBinary("curl")) {
        const caFile = `${dir}/ca.pem`;
        await Deno.writeTextFile(caFile, caPem);
        const c1 = await curl(["--cacert", caFile, `${https}/api/health`]);
        assert.equal(c1.code, 0, c1.err);
        assert.match(c1.out, /"https":true/);
        const c2 = await curl([
          "--cacert",
          caFile,
          "--digest",
          "-u",
          "phone:prov-pw-1",
          "-A",
          UA,
          "-w",
          "\n%{http_code}",
          `${https}${file}`,
        ]);
        assert.equal(c2.code, 0, c2.err);
        assert.equal(c2.out, `${httpsBody}\n200`);
        // Without the CA the certificate is not trusted: it is the box's own, not a public one.
        const c3 = await curl([`${https}/api/health`]);
        assert.equal(c3.code, 60, `curl without --cacert should fail verification: ${c3.err}`);
      }

      // A browser login over HTTPS gets a Secure session cookie; over HTTP it cannot (no TLS).
      const login = (base: string, init: { client?: Deno.HttpClient } = {}) =>
        fetch(`${base}/api/auth/login`, {
          ...init,
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: "admin", password: app.adminPassword, cookie: true }),
        });
      const secure = await login(https, { client });
      assert.equal(secure.status, 200, await secure.clone().text());
      await secure.body?.cancel();
      const secureCookie = secure.headers.get("set-cookie") ?? "";
      assert.match(secureCookie, /pbx_session=/);
      assert.match(secureCookie, /;\s*Secure/i, `cookie over HTTPS: ${secureCookie}`);
      assert.match(secureCookie, /HttpOnly/i);
      const plain = await login(app.baseUrl);
      assert.equal(plain.status, 200);
      await plain.body?.cancel();
      assert.doesNotMatch(plain.headers.get("set-cookie") ?? "", /;\s*Secure/i);
    } finally {
      client.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "a restart on the same data reuses the certificate; PBX_HTTPS_PORT=off with SIP TLS off runs HTTP only with no CA",
  ignore: !hasBinary("openssl"),
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "pbx-tls-e2e-data-" });
    try {
      let app = await startAppliance({ dataDir });
      const cert1 = await Deno.readTextFile(`${dataDir}/tls/server.crt`);
      const ca1 = await (await fetch(`${app.baseUrl}/prov/ca.crt`)).text();
      await app.stop();

      app = await startAppliance({ dataDir });
      try {
        assert.equal(
          await Deno.readTextFile(`${dataDir}/tls/server.crt`),
          cert1,
          "server certificate reused",
        );
        const client = Deno.createHttpClient({ caCerts: [ca1] });
        try {
          const res = await fetch(`${app.httpsUrl}/api/health`, { client });
          assert.equal(res.status, 200);
          await res.body?.cancel();
        } finally {
          client.close();
        }
      } finally {
        await app.stop();
      }

      // SIP over TLS uses the same certificate, so it is off too for "no CA".
      app = await startAppliance({ dataDir, env: { PBX_HTTPS_PORT: "off", PBX_SIP_TLS_PORT: "off" } });
      try {
        assert.equal(app.httpsPort, null);
        const health = await (await fetch(`${app.baseUrl}/api/health`)).json() as {
          ok: boolean;
          listeners: Record<string, boolean>;
        };
        assert.equal(health.ok, true);
        assert.equal(health.listeners.https, undefined);
        const ca = await fetch(`${app.baseUrl}/prov/ca.crt`);
        assert.equal(ca.status, 404);
        await ca.body?.cancel();
        assert.match(app.logs(), /https=off|https="off"/);
      } finally {
        await app.stop();
      }
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
