/**
 * STIR/SHAKEN through the running box: PASSporTs made by the test with its own test CA arrive on a
 * peer trunk's INVITE (sipp); the phone (a sipp UAS) sees the verstat in the caller's From and the
 * call record keeps it: valid, stale `iat`, tampered, wrong `dest`, a certificate not chained to
 * the trust store, an x5u that cannot be fetched; with the reject policy a failed one is refused.
 * An outbound call through the trunk is signed, and an independent implementation (Python PyJWT +
 * cryptography, Debian packages) verifies the Identity header the far end received.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { createPrivateKey } from "node:crypto";
import { CompactSign, importJWK, type JWK } from "jose";
import { describeSipp, hasBinary, runSipp, startSipp } from "../_harness/mod.ts";
import { assertOk, call, type Cdr, cdrs, phone, startPbx, withLogs } from "../sip/_setup.ts";
import { makePki } from "./_pki.ts";

const HERE = new URL("./", import.meta.url).pathname;
const PYTHON = "/usr/bin/python3";

function hasPyJwt(): boolean {
  try {
    return new Deno.Command(PYTHON, {
      args: ["-c", "import jwt, cryptography"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync().success;
  } catch {
    return false;
  }
}

const PY_VERIFY = `
import json, sys, jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
token, cert_path, ca_path = sys.argv[1], sys.argv[2], sys.argv[3]
cert = x509.load_pem_x509_certificate(open(cert_path, "rb").read())
ca = x509.load_pem_x509_certificate(open(ca_path, "rb").read())
ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
print(json.dumps({"header": jwt.get_unverified_header(token),
  "claims": jwt.decode(token, key=cert.public_key(), algorithms=["ES256"])}))
`;

async function passport(keyPem: string, x5u: string, claims: Record<string, unknown>): Promise<string> {
  const key = await importJWK(createPrivateKey(keyPem).export({ format: "jwk" }) as JWK, "ES256");
  return await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: "ES256", ppt: "shaken", typ: "passport", x5u })
    .sign(key);
}

Deno.test({
  name: "STIR/SHAKEN: inbound verstat to the phone and the call record; outbound signing checked by PyJWT",
  ignore: !hasBinary("sipp") || !hasBinary("openssl") || !hasPyJwt(),
  async fn(t) {
    const pki = await makePki();
    const x5uServer = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/sp.pem") return new Response(pki.leafPem);
      if (path === "/rogue.pem") return new Response(pki.rogueLeafPem);
      return new Response("no", { status: 404 });
    });
    const base = `http://127.0.0.1:${x5uServer.addr.port}`;
    const pbx = await startPbx();
    const far = await startSipp({ scenario: "uas_answer.xml", calls: 1, timeoutSec: 120 });
    try {
      await withLogs(pbx, async () => {
        await pbx.api.put("/api/trunks/carrier", {
          kind: "peer",
          host: "127.0.0.1",
          port: far.localPort,
          addresses: ["127.0.0.5"],
          callerId: "15550001000",
        });
        await pbx.api.put("/api/dids/5551000", { destination: "203" });
        const bad = await fetch(`${pbx.app.baseUrl}/api/stir`, {
          method: "PUT",
          headers: {
            authorization: `Bearer ${await pbx.app.adminToken()}`,
            "content-type": "application/json",
          },
          body: JSON.stringify({ verify: { enabled: true, trustRoots: "not a certificate" } }),
        });
        eq(bad.status, 400);
        ok(/trustRoots/.test((await bad.json()).error));
        const view = await pbx.api.put<{ sign: { hasKey: boolean } }>("/api/stir", {
          verify: { enabled: true, trustRoots: pki.caPem, allowHttp: true, allowPrivateHosts: true },
          sign: { enabled: true, certPem: pki.leafPem, keyPem: pki.leafKey, x5u: `${base}/sp.pem` },
        });
        eq(view.sign.hasKey, true);
        ok(!JSON.stringify(view).includes("PRIVATE KEY"), "the key is never returned");

        const now = () => Math.floor(Date.now() / 1000);
        const claims = (o: Record<string, unknown> = {}) => ({
          attest: "A",
          dest: { tn: ["5551000"] },
          iat: now(),
          orig: { tn: "15557654321" },
          origid: crypto.randomUUID(),
          ...o,
        });
        const identity = (jws: string, x5u = `${base}/sp.pem`) => `${jws};info=<${x5u}>;alg=ES256;ppt=shaken`;
        const inbound = (ident: string) =>
          runSipp({
            scenario: `${HERE}uac_peer_identity.xml`,
            target: pbx.target,
            user: "15557654321",
            service: "5551000",
            args: ["-i", "127.0.0.5"],
            vars: { identity: ident },
            timeoutSec: 15,
          });
        const valid = await passport(pki.leafKey, `${base}/sp.pem`, claims());
        const [h, , s] = valid.split(".");
        const tampered = `${h}.${btoa(JSON.stringify(claims({ attest: "B" }))).replace(/=+$/, "")}.${s}`;
        const cases: [string, string, string, string][] = [
          ["valid", identity(valid), "TN-Validation-Passed", ""],
          [
            "stale iat",
            identity(await passport(pki.leafKey, `${base}/sp.pem`, claims({ iat: now() - 3600 }))),
            "TN-Validation-Failed",
            "stale",
          ],
          ["tampered", identity(tampered), "TN-Validation-Failed", "bad-signature"],
          [
            "wrong dest",
            identity(await passport(pki.leafKey, `${base}/sp.pem`, claims({ dest: { tn: ["5550000"] } }))),
            "TN-Validation-Failed",
            "dest-mismatch",
          ],
          [
            "not chained",
            identity(await passport(pki.rogueLeafKey, `${base}/rogue.pem`, claims()), `${base}/rogue.pem`),
            "TN-Validation-Failed",
            "untrusted",
          ],
          [
            "unreachable x5u",
            identity(
              await passport(pki.leafKey, "http://127.0.0.1:9/sp.pem", claims()),
              "http://127.0.0.1:9/sp.pem",
            ),
            "TN-Validation-Failed",
            "x5u-fetch",
          ],
          ["no Identity", "", "No-TN-Validation", "no-identity"],
        ];
        for (const [what, ident, verstat, failure] of cases) {
          await t.step(`inbound ${what}: ${verstat} to the phone and in the call record`, async () => {
            const uas = await phone(pbx, "203", "uas_answer.xml", { timeoutSec: 20 });
            const before = (await pbx.api.get<{ items: Cdr[] }>("/api/cdr")).items.length;
            assertOk(await inbound(ident), what);
            const r = await uas.stop();
            ok(
              new RegExp(`From: <sip:15557654321@[^>]*;verstat=${verstat}>`).test(r.messages),
              describeSipp(r),
            );
            const [last] = await cdrs(pbx, before + 1) as (Cdr & { verstat?: string; trunk?: string })[];
            eq([last?.verstat, last?.trunk], [verstat, "carrier"]);
            // The log line says why (the verifier's stable failure code).
            const line = pbx.app.logs().split("\n").filter((l) => l.includes("STIR/SHAKEN")).at(-1) ?? "";
            ok(failure === "" ? !line.includes("failure") : line.includes(failure), line);
          });
        }

        await t.step("reject policy: a failed verification is refused with its RFC 8224 code", async () => {
          await pbx.api.put("/api/stir", { verify: { policy: "reject" } });
          const stale = await passport(pki.leafKey, `${base}/sp.pem`, claims({ iat: now() - 3600 }));
          const r = await inbound(identity(stale));
          ok(!r.ok && /SIP\/2\.0 403/.test(r.messages), describeSipp(r));
          await pbx.api.put("/api/stir", { verify: { policy: "mark" } });
        });

        await t.step(
          "outbound: the Identity header verifies with PyJWT and chains to the test CA",
          async () => {
            await pbx.api.put("/api/outbound-routes/us", {
              patterns: ["9|NXXNXXXXXX"],
              prepend: "1",
              trunks: ["carrier"],
            });
            assertOk(await call(pbx, "202", "95552345678", "uac_short_call.xml"), "outbound call");
            const r = await far.stop();
            const m =
              /Identity: ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+);info=<([^>]+)>;alg=ES256;ppt=shaken/
                .exec(
                  r.messages,
                );
            ok(m !== null, describeSipp(r));
            eq(m[2], `${base}/sp.pem`);
            await Deno.writeTextFile(`${pki.dir}/leaf-check.pem`, pki.leafPem);
            const out = await new Deno.Command(PYTHON, {
              args: ["-c", PY_VERIFY, m[1]!, `${pki.dir}/leaf-check.pem`, `${pki.dir}/ca.pem`],
              stdout: "piped",
              stderr: "piped",
            }).output();
            ok(out.success, new TextDecoder().decode(out.stderr));
            const py = JSON.parse(new TextDecoder().decode(out.stdout));
            eq(py.header, { alg: "ES256", ppt: "shaken", typ: "passport", x5u: `${base}/sp.pem` });
            eq([py.claims.orig, py.claims.dest, py.claims.attest], [{ tn: "15550001000" }, {
              tn: ["15552345678"],
            }, "B"]);
          },
        );
      })();
    } finally {
      await far.stop().catch(() => {});
      await pbx.app.stop();
      await x5uServer.shutdown();
      await Deno.remove(pki.dir, { recursive: true }).catch(() => {});
    }
  },
});
