import { deepStrictEqual as assertEquals, ok } from "node:assert";
import { X509Certificate } from "node:crypto";
import { caRoutes, ensureCertificate, normalizeHostnames, pemToDer, which } from "./_tls.ts";
import { createLogger } from "../runtime/log/mod.ts";

const OPENSSL = which("openssl");
const ignore = OPENSSL === null;
const NO_MKCERT = { mkcert: null, openssl: OPENSSL };

function logs() {
  const lines: string[] = [];
  return { lines, log: createLogger("tls", { level: "debug", sink: (l) => lines.push(l) }) };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "pbx-tls-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const mode = (p: string) => Deno.statSync(p).mode! & 0o777;

Deno.test({
  name: "first start makes a CA and a server certificate naming every address, keys 0600, CA signs it",
  ignore,
  fn: () =>
    withDir(async (dir) => {
      const t = await ensureCertificate({
        dataDir: dir,
        hostnames: ["192.0.2.10", "localhost", "pbx-box", "127.0.0.1", "::1", "LOCALHOST"],
        tools: NO_MKCERT,
      });
      ok(t);
      assertEquals(t.issuer, "openssl");
      assertEquals(t.caPath, `${dir}/tls/ca/rootCA.pem`);
      const cert = new X509Certificate(t.certPem);
      const ca = new X509Certificate(t.caPem);
      ok(cert.verify(ca.publicKey), "server certificate is signed by the CA");
      ok(ca.ca && !cert.ca, "CA is a CA, server certificate is not");
      for (const n of ["IP Address:192.0.2.10", "IP Address:127.0.0.1", "DNS:localhost", "DNS:pbx-box"]) {
        ok(cert.subjectAltName?.includes(n), `${n} in ${cert.subjectAltName}`);
      }
      ok(/IP Address:0:0:0:0:0:0:0:1|IP Address:::1/i.test(cert.subjectAltName ?? ""), cert.subjectAltName);
      const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
      ok(days > 700 && days < 826, `server certificate valid ${days} days`);
      ok((Date.parse(ca.validTo) - Date.now()) / 86_400_000 > 3600, "CA valid ~10 years");
      assertEquals(mode(`${dir}/tls/server.key`), 0o600);
      assertEquals(mode(`${dir}/tls/ca/rootCA-key.pem`), 0o600);
      assertEquals(mode(`${dir}/tls`), 0o700);
      ok(!t.caPem.includes("PRIVATE KEY"));
      assertEquals(
        JSON.parse(await Deno.readTextFile(`${dir}/tls/server.json`)).hostnames,
        ["127.0.0.1", "192.0.2.10", "::1", "localhost", "pbx-box"],
      );
    }),
});

Deno.test({
  name: "a restart with the same names reuses the certificate and makes nothing",
  ignore,
  fn: () =>
    withDir(async (dir) => {
      const first = await ensureCertificate({
        dataDir: dir,
        hostnames: ["10.0.0.2", "box"],
        tools: NO_MKCERT,
      });
      const { lines, log } = logs();
      // No tools at all: reuse must not need them.
      const again = await ensureCertificate({
        dataDir: dir,
        hostnames: ["box", "10.0.0.2"],
        tools: { mkcert: null, openssl: null },
        log,
      });
      ok(first && again);
      assertEquals(again.certPem, first.certPem);
      assertEquals(again.keyPem, first.keyPem);
      assertEquals(again.caPem, first.caPem);
      assertEquals(lines, []);
    }),
});

Deno.test({
  name: "changed addresses remake the server certificate but keep the CA phones already trust",
  ignore,
  fn: () =>
    withDir(async (dir) => {
      const first = await ensureCertificate({ dataDir: dir, hostnames: ["10.0.0.2"], tools: NO_MKCERT });
      const { lines, log } = logs();
      const moved = await ensureCertificate({ dataDir: dir, hostnames: ["10.0.0.3"], tools: NO_MKCERT, log });
      ok(first && moved);
      assertEquals(moved.caPem, first.caPem);
      ok(moved.certPem !== first.certPem);
      const cert = new X509Certificate(moved.certPem);
      ok(cert.subjectAltName?.includes("IP Address:10.0.0.3") && !cert.subjectAltName.includes("10.0.0.2"));
      ok(cert.verify(new X509Certificate(first.caPem).publicKey));
      ok(lines.some((l) => l.includes("addresses changed")), lines.join("\n"));
      assertEquals(mode(`${dir}/tls/server.key`), 0o600);
    }),
});

Deno.test({
  name: "a certificate within 30 days of expiry is remade, one with more left is kept",
  ignore,
  fn: () =>
    withDir(async (dir) => {
      const first = await ensureCertificate({ dataDir: dir, hostnames: ["box"], tools: NO_MKCERT });
      ok(first);
      const kept = await ensureCertificate({
        dataDir: dir,
        hostnames: ["box"],
        tools: NO_MKCERT,
        now: () => first.notAfter - 31 * 86_400_000,
      });
      assertEquals(kept?.certPem, first.certPem);
      const { lines, log } = logs();
      const renewed = await ensureCertificate({
        dataDir: dir,
        hostnames: ["box"],
        tools: NO_MKCERT,
        now: () => first.notAfter - 29 * 86_400_000,
        log,
      });
      ok(renewed && renewed.certPem !== first.certPem && renewed.caPem === first.caPem);
      ok(lines.some((l) => l.includes("expires within 30 days")), lines.join("\n"));
    }),
});

Deno.test({
  name: "a key that does not match its certificate is remade; a lost CA key is replaced only when signing",
  ignore,
  fn: () =>
    withDir(async (dir) => {
      const first = await ensureCertificate({ dataDir: dir, hostnames: ["box"], tools: NO_MKCERT });
      ok(first);
      await Deno.copyFile(`${dir}/tls/ca/rootCA-key.pem`, `${dir}/tls/server.key`);
      const fixed = await ensureCertificate({ dataDir: dir, hostnames: ["box"], tools: NO_MKCERT });
      ok(fixed && fixed.certPem !== first.certPem && fixed.caPem === first.caPem);
      ok(
        new X509Certificate(fixed.certPem).checkPrivateKey(
          (await import("node:crypto")).createPrivateKey(fixed.keyPem),
        ),
      );
      // Without the CA key the valid server certificate is still served (phones trust its CA)...
      await Deno.remove(`${dir}/tls/ca/rootCA-key.pem`);
      const still = await ensureCertificate({ dataDir: dir, hostnames: ["box"], tools: NO_MKCERT });
      assertEquals(still?.certPem, fixed.certPem);
      // ...and only when a new one must be signed is a new CA made.
      const newCa = await ensureCertificate({ dataDir: dir, hostnames: ["box2"], tools: NO_MKCERT });
      ok(newCa && newCa.caPem !== first.caPem);
      ok(new X509Certificate(newCa.certPem).verify(new X509Certificate(newCa.caPem).publicKey));
    }),
});

Deno.test("with neither mkcert nor openssl there is no certificate and one clear log line", () =>
  withDir(async (dir) => {
    const { lines, log } = logs();
    const t = await ensureCertificate({
      dataDir: dir,
      hostnames: ["box"],
      tools: { mkcert: null, openssl: null },
      log,
    });
    assertEquals(t, null);
    assertEquals(lines.length, 1);
    ok(lines[0]!.includes("HTTPS is off") && lines[0]!.includes("openssl"), lines[0]);
  }));

Deno.test("a failing tool leaves HTTPS off with the tool's error in the log, and no half-made files", () =>
  withDir(async (dir) => {
    const { lines, log } = logs();
    const t = await ensureCertificate({
      dataDir: dir,
      hostnames: ["box"],
      tools: { mkcert: null, openssl: "/bin/false" },
      log,
    });
    assertEquals(t, null);
    ok(lines.some((l) => l.includes("making the TLS certificate failed")), lines.join("\n"));
    const left = [...Deno.readDirSync(`${dir}/tls`)].map((e) => e.name).sort();
    assertEquals(left, ["ca"]);
  }));

Deno.test({
  name: "mkcert, when on PATH, is run with CAROOT in the data dir and the box's names",
  ignore,
  fn: () =>
    withDir(async (dir) => {
      // A stand-in mkcert (the real one is not installed here) that records its call and makes a
      // CA the way mkcert names it, then a certificate signed by it.
      const fake = `${dir}/mkcert`;
      await Deno.writeTextFile(
        fake,
        `#!/bin/sh
set -e
echo "$CAROOT $*" > "${dir}/mkcert.args"
[ -f "$CAROOT/rootCA.pem" ] || ${OPENSSL} req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/O=mkcert development CA/CN=mkcert test" -addext basicConstraints=critical,CA:TRUE -keyout "$CAROOT/rootCA-key.pem" -out "$CAROOT/rootCA.pem" 2>/dev/null
${OPENSSL} req -new -newkey rsa:2048 -nodes -subj /CN=x -keyout "$4" -out "$4.csr" 2>/dev/null
printf "subjectAltName=DNS:$5\\n" > "$4.ext"
${OPENSSL} x509 -req -in "$4.csr" -CA "$CAROOT/rootCA.pem" -CAkey "$CAROOT/rootCA-key.pem" -set_serial 7 -days 800 -extfile "$4.ext" -out "$2" 2>/dev/null
`,
      );
      await Deno.chmod(fake, 0o755);
      const { lines, log } = logs();
      const t = await ensureCertificate({
        dataDir: dir,
        hostnames: ["box"],
        tools: { mkcert: fake, openssl: OPENSSL },
        log,
      });
      ok(t, lines.join("\n"));
      assertEquals(t.issuer, "mkcert");
      const args = (await Deno.readTextFile(`${dir}/mkcert.args`)).trim();
      ok(args.startsWith(`${dir}/tls/ca -cert-file `) && args.endsWith(" box"), args);
      assertEquals(mode(`${dir}/tls/server.key`), 0o600);
      assertEquals(mode(`${dir}/tls/ca/rootCA-key.pem`), 0o600);
    }),
});

Deno.test("host names are normalised, de-duplicated and sorted; junk and wildcard addresses are dropped", () => {
  assertEquals(
    normalizeHostnames([
      " Box.Local ",
      "box.local",
      "[::1]",
      "0.0.0.0",
      "::",
      "a b",
      "x,DNS:evil",
      "10.0.0.1",
    ]),
    {
      valid: ["10.0.0.1", "::1", "box.local"],
      rejected: ["a b", "x,DNS:evil"],
    },
  );
});

Deno.test("the CA routes serve PEM and DER as application/x-x509-ca-cert, and 404 when HTTPS is off", async () => {
  // Any certificate will do for the route test; build a tiny fake PEM around known bytes.
  const der = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05]);
  const pem = `-----BEGIN CERTIFICATE-----\n${
    btoa(String.fromCharCode(...der))
  }\n-----END CERTIFICATE-----\n`;
  assertEquals(pemToDer(pem), der);
  const material = {
    certPem: "",
    keyPem: "SECRET",
    caPem: pem,
    caPath: "/x",
    issuer: "openssl" as const,
    hostnames: [],
    notAfter: 0,
  };
  let on = true;
  const app = caRoutes(() => (on ? material : null));
  const crt = await app.request("/prov/ca.crt");
  assertEquals(crt.status, 200);
  assertEquals(crt.headers.get("content-type"), "application/x-x509-ca-cert");
  assertEquals(await crt.text(), pem);
  const d = await app.request("/prov/ca.der");
  assertEquals(d.headers.get("content-type"), "application/x-x509-ca-cert");
  assertEquals(new Uint8Array(await d.arrayBuffer()), der);
  on = false;
  assertEquals((await app.request("/prov/ca.crt")).status, 404);
  assertEquals((await app.request("/prov/ca.der")).status, 404);
});

Deno.test({
  name: "Deno serves HTTPS with the certificate and a client trusting only the box's CA accepts it",
  ignore,
  fn: () =>
    withDir(async (dir) => {
      const t = await ensureCertificate({
        dataDir: dir,
        hostnames: ["127.0.0.1", "localhost"],
        tools: NO_MKCERT,
      });
      ok(t);
      const ac = new AbortController();
      const server = Deno.serve(
        {
          hostname: "127.0.0.1",
          port: 0,
          cert: t.certPem,
          key: t.keyPem,
          signal: ac.signal,
          onListen: () => {},
        },
        (req) => new Response(new URL(req.url).protocol),
      );
      const client = Deno.createHttpClient({ caCerts: [t.caPem] });
      try {
        for (const host of ["127.0.0.1", "localhost"]) {
          const res = await fetch(`https://${host}:${server.addr.port}/`, { client });
          assertEquals(await res.text(), "https:");
        }
      } finally {
        client.close();
        ac.abort();
        await server.finished;
      }
    }),
});
