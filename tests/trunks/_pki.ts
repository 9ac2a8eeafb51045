/**
 * A throwaway PKI for the STIR/SHAKEN end-to-end test, made with the openssl CLI: a test CA, a
 * P-256 service-provider leaf it issued, and a rogue CA with its own leaf (not in the trust store).
 * @module
 */

/** PEM files of one run (`dir` holds them; remove it when done). */
export interface Pki {
  dir: string;
  caPem: string;
  leafPem: string;
  leafKey: string;
  rogueLeafPem: string;
  rogueLeafKey: string;
}

async function run(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
}

const ecKey = (
  out: string,
) => ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", out];

async function ca(dir: string, name: string): Promise<void> {
  await run(dir, ecKey(`${name}.key`));
  await run(dir, [
    "req",
    "-x509",
    "-new",
    "-key",
    `${name}.key`,
    "-subj",
    `/CN=${name} trunk test CA`,
    "-days",
    "7",
    "-out",
    `${name}.pem`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

async function leaf(dir: string, name: string, issuer: string): Promise<void> {
  await run(dir, ecKey(`${name}.key`));
  await run(dir, ["req", "-new", "-key", `${name}.key`, "-subj", `/CN=${name} SP`, "-out", `${name}.csr`]);
  await Deno.writeTextFile(
    `${dir}/${name}.ext`,
    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n",
  );
  await run(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${issuer}.pem`,
    "-CAkey",
    `${issuer}.key`,
    "-CAcreateserial",
    "-days",
    "3",
    "-out",
    `${name}.pem`,
    "-extfile",
    `${name}.ext`,
  ]);
}

/** Make the PKI in a fresh temp dir. */
export async function makePki(): Promise<Pki> {
  const dir = await Deno.makeTempDir({ prefix: "trunk-stir-pki-" });
  await ca(dir, "ca");
  await leaf(dir, "leaf", "ca");
  await ca(dir, "rogue");
  await leaf(dir, "rogueleaf", "rogue");
  const r = (f: string) => Deno.readTextFile(`${dir}/${f}`);
  return {
    dir,
    caPem: await r("ca.pem"),
    leafPem: await r("leaf.pem"),
    leafKey: await r("leaf.key"),
    rogueLeafPem: await r("rogueleaf.pem"),
    rogueLeafKey: await r("rogueleaf.key"),
  };
}
