import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert";
import { VirtualClock } from "../../clock/mod.ts";
import { parseIdentityHeader } from "./identity.ts";
import { chooseAttestation, StirSigner } from "./sign.ts";
import { StirVerifier } from "./verify.ts";
import { makeTestPki, withPayload } from "./_test_pki.ts";

/**
 * Independent check with PyJWT + cryptography (Debian python3-jwt, python3-cryptography):
 * verifies the ES256 signature with the certificate's public key, checks the certificate was
 * issued by the test CA, and prints header and claims as JSON.
 */
/** Debian's interpreter: the python3-jwt/python3-cryptography packages live there, not in a pyenv. */
const PYTHON = "/usr/bin/python3";

const PY_VERIFY = `
import json, sys, jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
token, cert_path, ca_path = sys.argv[1], sys.argv[2], sys.argv[3]
cert = x509.load_pem_x509_certificate(open(cert_path, "rb").read())
ca = x509.load_pem_x509_certificate(open(ca_path, "rb").read())
ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
header = jwt.get_unverified_header(token)
claims = jwt.decode(token, key=cert.public_key(), algorithms=["ES256"], options={"verify_aud": False})
print(json.dumps({"header": header, "claims": claims}))
`;

Deno.test("chooseAttestation: A for an owned number, B for a known caller, C for forwarded/unknown", () => {
  assertEquals(chooseAttestation({ knownCaller: true, numberOwnedOnTrunk: true }), "A");
  assertEquals(chooseAttestation({ knownCaller: true, numberOwnedOnTrunk: false }), "B");
  assertEquals(chooseAttestation({ knownCaller: true, numberOwnedOnTrunk: true, forwarded: true }), "C");
  assertEquals(chooseAttestation({ knownCaller: false, numberOwnedOnTrunk: true }), "C");
});

Deno.test("sign: the PASSporT verifies with PyJWT/cryptography and with our own verifier", async () => {
  const pki = await makeTestPki();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(pki.leafPem, { headers: { "content-type": "application/x-pem-file" } }),
  );
  try {
    const x5u = `http://127.0.0.1:${server.addr.port}/sp.pem`;
    const clock = new VirtualClock({ wallStart: Date.now() });
    const signer = await StirSigner.create({ certPem: pki.leafPem, keyPem: pki.leafKey, x5u, clock });
    const attest = chooseAttestation({ knownCaller: true, numberOwnedOnTrunk: true });
    const s = await signer.sign({ origTn: "+1 (215) 555-1212", destTns: ["+1-215-555-1213"], attest });
    assertEquals(s.claims.orig, { tn: "12155551212" });
    assertEquals(s.claims.dest, { tn: ["12155551213"] });
    const ih = parseIdentityHeader(s.identity);
    assertEquals([ih.passport, ih.info, ih.alg, ih.ppt], [s.passport, x5u, "ES256", "shaken"]);

    await Deno.writeTextFile(`${pki.dir}/leaf.pem`, pki.leafPem);
    await Deno.writeTextFile(`${pki.dir}/ca.pem`, pki.caPem);
    const out = await new Deno.Command(PYTHON, {
      args: ["-c", PY_VERIFY, s.passport, `${pki.dir}/leaf.pem`, `${pki.dir}/ca.pem`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const py = JSON.parse(new TextDecoder().decode(out.stdout));
    assertEquals(py.header, { alg: "ES256", ppt: "shaken", typ: "passport", x5u });
    assertEquals(py.claims, {
      attest: "A",
      dest: { tn: ["12155551213"] },
      iat: Math.floor(clock.wallNow() / 1000),
      orig: { tn: "12155551212" },
      origid: s.claims.origid,
    });
    assert(/^[0-9a-f-]{36}$/.test(s.claims.origid));

    // Python refuses the token with its claims changed, and the right token under another certificate.
    const python = async (token: string, cert: string) =>
      (await new Deno.Command(PYTHON, {
        args: ["-c", PY_VERIFY, token, cert, `${pki.dir}/ca.pem`],
        stdout: "null",
        stderr: "null",
      }).output()).success;
    const tampered = withPayload(s.passport, { ...s.claims, orig: { tn: "19995550000" } });
    assert(!(await python(tampered, `${pki.dir}/leaf.pem`)), "python accepted a tampered token");
    await Deno.writeTextFile(`${pki.dir}/rogue_leaf.pem`, pki.rogueLeafPem);
    assert(!(await python(s.passport, `${pki.dir}/rogue_leaf.pem`)), "python accepted another certificate");
    assert(await python(s.passport, `${pki.dir}/leaf.pem`));

    const verifier = new StirVerifier({
      trustRoots: pki.caPem,
      clock,
      fetch: { allowHttp: true, allowPrivateHosts: true },
    });
    const r = await verifier.verify({
      identity: s.identity,
      from: "<sip:+12155551212@pbx.example>",
      to: "<sip:12155551213@carrier.example>",
    });
    assertEquals([r.verstat, r.attest], ["TN-Validation-Passed", "A"], r.reason);
  } finally {
    await server.shutdown();
    await Deno.remove(pki.dir, { recursive: true });
  }
});

Deno.test("sign: bad configuration and bad numbers are refused with a reason", async () => {
  const pki = await makeTestPki();
  try {
    const x5u = "https://cert.example/sp.pem";
    await rejects(
      StirSigner.create({ certPem: pki.leafPem, keyPem: pki.rogueLeafKey, x5u }),
      { name: "TypeError", message: /does not match the certificate/ },
    );
    await rejects(StirSigner.create({ certPem: "junk", keyPem: pki.leafKey, x5u }), {
      name: "TypeError",
      message: /certificate does not parse/,
    });
    await rejects(StirSigner.create({ certPem: pki.leafPem, keyPem: "junk", x5u }), {
      name: "TypeError",
      message: /private key does not parse/,
    });
    await rejects(StirSigner.create({ certPem: pki.leafPem, keyPem: pki.leafKey, x5u: "nope" }), {
      name: "TypeError",
      message: /x5u is not a URL/,
    });
    const later = new VirtualClock({ wallStart: Date.now() + 30 * 86_400_000 });
    await rejects(StirSigner.create({ certPem: pki.leafPem, keyPem: pki.leafKey, x5u, clock: later }), {
      name: "TypeError",
      message: /expired/,
    });
    const signer = await StirSigner.create({ certPem: pki.leafPem, keyPem: pki.leafKey, x5u });
    await rejects(signer.sign({ origTn: "alice", destTns: "12155551213", attest: "B" }), {
      name: "TypeError",
      message: /orig is not a telephone number/,
    });
    await rejects(signer.sign({ origTn: "12155551212", destTns: [], attest: "B" }), {
      name: "TypeError",
      message: /no dest/,
    });
  } finally {
    await Deno.remove(pki.dir, { recursive: true });
  }
});
