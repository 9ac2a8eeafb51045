/**
 * Test-only PKI for the STIR/SHAKEN tests: a test CA, a leaf signed by it, and a rogue CA + leaf
 * not in the trust store, all made with the openssl CLI in a temp directory. Plus a raw PASSporT
 * signer so tests can craft bad header/claims combinations.
 *
 * @module
 */

import { createPrivateKey } from "node:crypto";
import { CompactSign, importJWK, type JWK } from "jose";

/** PEM material of one test run. */
export interface TestPki {
  dir: string;
  caPem: string;
  leafPem: string;
  leafKey: string;
  rogueCaPem: string;
  rogueLeafPem: string;
  rogueLeafKey: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-out",
    `${name}.key`,
  ]);
  await openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-key",
    `${name}.key`,
    "-subj",
    `/CN=${name} STIR test CA`,
    "-days",
    "30",
    "-out",
    `${name}.pem`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

/**
 * Make `name.key` + `name.pem` in `dir`, issued by `ca` (`ca.pem`/`ca.key` in `dir`); a CA itself
 * (intermediate) when `isCa`.
 */
export async function makeLeaf(dir: string, name: string, ca: string, isCa = false): Promise<void> {
  await openssl(dir, [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-out",
    `${name}.key`,
  ]);
  await openssl(dir, [
    "req",
    "-new",
    "-key",
    `${name}.key`,
    "-subj",
    `/CN=${name} SP`,
    "-out",
    `${name}.csr`,
  ]);
  await Deno.writeTextFile(
    `${dir}/leaf.ext`,
    isCa
      ? "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
      : "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n",
  );
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-days",
    "10",
    "-out",
    `${name}.pem`,
    "-extfile",
    "leaf.ext",
  ]);
}

/** Make the test PKI in a fresh temp dir (remove `dir` when done). */
export async function makeTestPki(): Promise<TestPki> {
  const dir = await Deno.makeTempDir({ prefix: "stir-pki-" });
  await makeCa(dir, "ca");
  await makeLeaf(dir, "leaf", "ca");
  await makeCa(dir, "rogue");
  await makeLeaf(dir, "rogueleaf", "rogue");
  const r = (f: string) => Deno.readTextFile(`${dir}/${f}`);
  return {
    dir,
    caPem: await r("ca.pem"),
    leafPem: await r("leaf.pem"),
    leafKey: await r("leaf.key"),
    rogueCaPem: await r("rogue.pem"),
    rogueLeafPem: await r("rogueleaf.pem"),
    rogueLeafKey: await r("rogueleaf.key"),
  };
}

/** Sign arbitrary header/claims with an EC P-256 PEM key (ES256), for crafting test PASSporTs. */
export async function signRaw(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  keyPem: string,
): Promise<string> {
  const jwk = createPrivateKey(keyPem).export({ format: "jwk" }) as JWK;
  const key = await importJWK(jwk, "ES256");
  return await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ ...header, alg: "ES256" })
    .sign(key);
}

/** Replace the protected header of a signed JWS (signature no longer matches). */
export function withHeader(jws: string, header: Record<string, unknown>): string {
  const [, p, s] = jws.split(".");
  const h = btoa(JSON.stringify(header)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `${h}.${p}.${s}`;
}

/** Replace the payload of a signed JWS (signature no longer matches). */
export function withPayload(jws: string, claims: Record<string, unknown>): string {
  const [h, , s] = jws.split(".");
  const p = btoa(JSON.stringify(claims)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `${h}.${p}.${s}`;
}
