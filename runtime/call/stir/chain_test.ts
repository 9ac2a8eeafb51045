import { deepStrictEqual as assertEquals, throws } from "node:assert";
import { ChainError, parsePemBundle, TrustStore } from "./chain.ts";
import { makeLeaf, makeTestPki } from "./_test_pki.ts";

Deno.test("TrustStore: leaf -> intermediate -> root, the intermediate served with the leaf", async () => {
  const pki = await makeTestPki();
  try {
    const d = pki.dir;
    await makeLeaf(d, "inter", "ca", true);
    await makeLeaf(d, "sub", "inter");
    await makeLeaf(d, "fakeinter", "ca", false); // not a CA
    await makeLeaf(d, "fakesub", "fakeinter");
    const r = (f: string) => Deno.readTextFile(`${d}/${f}`);
    const store = new TrustStore([pki.caPem]);
    const now = Date.now();

    const chain = parsePemBundle((await r("sub.pem")) + (await r("inter.pem")));
    assertEquals(store.verify(chain, now).subject, parsePemBundle(await r("sub.pem"))[0]!.subject);

    // Without the intermediate the leaf does not reach the root.
    throws(() => store.verify(parsePemBundle(pki.leafPem.replace(/[\s\S]*/, "")), now), {
      code: "bad-certificate",
    });
    const subOnly = parsePemBundle(await r("sub.pem"));
    throws(() => store.verify(subOnly, now), {
      name: "ChainError",
      code: "untrusted",
    });

    // An end-entity certificate (CA:FALSE, no keyCertSign) cannot act as an issuer: OpenSSL's
    // issuer check already refuses it, and the CA flag is checked on top.
    const fake = parsePemBundle((await r("fakesub.pem")) + (await r("fakeinter.pem")));
    throws(
      () => store.verify(fake, now),
      (e: unknown) => e instanceof ChainError && (e.code === "untrusted" || e.code === "not-ca"),
    );

    // Dates: not yet valid, expired.
    throws(() => store.verify(chain, now - 2 * 86_400_000), { code: "not-yet-valid" });
    throws(() => store.verify(chain, now + 40 * 86_400_000), { code: "expired" });

    // A pinned leaf in the store is trusted as is.
    assertEquals(
      new TrustStore(pki.leafPem).verify(parsePemBundle(pki.leafPem), now).subject.includes("leaf"),
      true,
    );

    // Garbage inside PEM armour is a clear error.
    throws(() => parsePemBundle("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"), {
      name: "ChainError",
      code: "bad-certificate",
    });
  } finally {
    await Deno.remove(pki.dir, { recursive: true });
  }
});
