import assert from "node:assert/strict";
import { compareVersions, importPublicKey, loadTrustedKeys, verifyBundle } from "./_bundle.ts";
import { bundle, craft, manifestFor, members, rawTarGz, workspace } from "./_test_util.ts";
import { writeOuterTar } from "./make_bundle.ts";

Deno.test("a bundle built by make_bundle verifies with the trusted key and locates its payload", async () => {
  using ws = await workspace();
  const path = await bundle(ws, "ok.pbxfw", { version: "0.3.0" });
  const keys = await loadTrustedKeys(ws.keysDir);
  const v = await verifyBundle(path, { keys });
  assert.equal(v.manifest.version, "0.3.0");
  assert.equal(v.manifest.product, "pbx-appliance");
  assert.equal(v.manifest.arch, "any");
  assert.equal(v.signer, "release.pub");
  assert.equal(v.payloadSize, v.manifest.payload.size);
  const m = await members(path);
  assert.deepEqual([...m.keys()], ["manifest.json", "manifest.sig", "payload.tar.gz"]);
  const bytes = Deno.readFileSync(path).subarray(v.payloadOffset, v.payloadOffset + v.payloadSize);
  assert.deepEqual(bytes, m.get("payload.tar.gz"));
});

async function refusal(path: string, keysDir: string, options: { arch?: "x86_64" | "aarch64" } = {}) {
  const keys = await loadTrustedKeys(keysDir);
  const e = await verifyBundle(path, { keys, ...options }).then(() => null, (e) => e as Error);
  assert.ok(e !== null, "expected the bundle to be refused");
  assert.ok(e instanceof RangeError || e instanceof SyntaxError, `expected Range/SyntaxError, got ${e}`);
  return e.message;
}

Deno.test("a bundle signed by an unknown key is refused as a bad signature naming the trusted keys", async () => {
  using ws = await workspace();
  const path = await bundle(ws, "other.pbxfw", { version: "0.3.0", key: ws.otherKey });
  assert.match(await refusal(path, ws.keysDir), /bad signature: .*release\.pub/);
});

Deno.test("a manifest changed after signing and a flipped signature byte are refused", async () => {
  using ws = await workspace();
  const path = await bundle(ws, "ok.pbxfw", { version: "0.3.0" });
  const m = await members(path);
  const manifest = new TextDecoder().decode(m.get("manifest.json")).replace('"0.3.0"', '"9.9.9"');
  const edited = `${ws.dir}/edited.pbxfw`;
  await writeOuterTar(edited, [
    { name: "manifest.json", bytes: new TextEncoder().encode(manifest) },
    { name: "manifest.sig", bytes: m.get("manifest.sig")! },
    { name: "payload.tar.gz", bytes: m.get("payload.tar.gz")! },
  ]);
  assert.match(await refusal(edited, ws.keysDir), /bad signature/);
  const sig = atob(new TextDecoder().decode(m.get("manifest.sig")).trim());
  const flipped = btoa(String.fromCharCode(sig.charCodeAt(0) ^ 1) + sig.slice(1));
  await writeOuterTar(edited, [
    { name: "manifest.json", bytes: m.get("manifest.json")! },
    { name: "manifest.sig", bytes: new TextEncoder().encode(flipped) },
    { name: "payload.tar.gz", bytes: m.get("payload.tar.gz")! },
  ]);
  assert.match(await refusal(edited, ws.keysDir), /bad signature/);
  await writeOuterTar(edited, [
    { name: "manifest.json", bytes: m.get("manifest.json")! },
    { name: "manifest.sig", bytes: new TextEncoder().encode("not base64!") },
    { name: "payload.tar.gz", bytes: m.get("payload.tar.gz")! },
  ]);
  assert.match(await refusal(edited, ws.keysDir), /manifest\.sig is not base64/);
});

Deno.test("a tampered payload fails the SHA-256 check", async () => {
  using ws = await workspace();
  const path = await bundle(ws, "ok.pbxfw", { version: "0.3.0" });
  const keys = await loadTrustedKeys(ws.keysDir);
  const v = await verifyBundle(path, { keys });
  const bytes = Deno.readFileSync(path);
  bytes[v.payloadOffset + 20]! ^= 0xff;
  Deno.writeFileSync(path, bytes);
  assert.match(await refusal(path, ws.keysDir), /payload SHA-256 [0-9a-f]{64} does not match the manifest's/);
});

Deno.test("a truncated bundle is refused as truncated, wherever it is cut", async () => {
  using ws = await workspace();
  const path = await bundle(ws, "ok.pbxfw", { version: "0.3.0" });
  const bytes = Deno.readFileSync(path);
  for (const cut of [0, 100, 700, 1536, bytes.length - 1024 - 7, bytes.length - 1024]) {
    Deno.writeFileSync(`${ws.dir}/cut.pbxfw`, bytes.subarray(0, cut));
    assert.match(await refusal(`${ws.dir}/cut.pbxfw`, ws.keysDir), /truncated/, `cut at ${cut}`);
  }
});

Deno.test("a bundle with an extra member, a duplicate or a missing member is refused", async () => {
  using ws = await workspace();
  const payload = await rawTarGz([{ name: "mod.ts", flag: "0", body: "x" }]);
  const manifest = await manifestFor(payload);
  const extra = await craft(`${ws.dir}/extra.pbxfw`, {
    manifest,
    key: ws.key,
    payload,
    extra: [{ name: "install.sh", bytes: new TextEncoder().encode("rm -rf /") }],
  });
  assert.match(await refusal(extra, ws.keysDir), /unexpected member "install\.sh"/);
  const dup = await craft(`${ws.dir}/dup.pbxfw`, {
    manifest,
    key: ws.key,
    payload,
    extra: [{ name: "manifest.json", bytes: new TextEncoder().encode("{}") }],
  });
  assert.match(await refusal(dup, ws.keysDir), /unexpected member "manifest\.json".*once each/);
  await writeOuterTar(`${ws.dir}/missing.pbxfw`, [{ name: "payload.tar.gz", bytes: payload }]);
  assert.match(await refusal(`${ws.dir}/missing.pbxfw`, ws.keysDir), /missing manifest\.json, manifest\.sig/);
});

Deno.test("a non-regular member (symlink) in the outer tar is refused", async () => {
  using ws = await workspace();
  const gz = await rawTarGz([{ name: "manifest.json", flag: "2", linkName: "/etc/passwd" }]);
  const tar = new Uint8Array(
    await new Response(new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer(),
  );
  Deno.writeFileSync(`${ws.dir}/link.pbxfw`, tar);
  assert.match(await refusal(`${ws.dir}/link.pbxfw`, ws.keysDir), /not a regular file \(type symlink\)/);
});

Deno.test("wrong product, wrong arch, bad format and bad version are refused after the signature checks", async () => {
  using ws = await workspace();
  const payload = await rawTarGz([{ name: "mod.ts", flag: "0", body: "x" }]);
  const cases: [Record<string, unknown>, RegExp, { arch?: "x86_64" | "aarch64" }?][] = [
    [{ product: "toaster" }, /product "toaster", not pbx-appliance/],
    [{ arch: "aarch64" }, /built for aarch64; this box is x86_64/, { arch: "x86_64" }],
    [{ arch: "x86_64" }, /built for x86_64; this box is aarch64/, { arch: "aarch64" }],
    [{ arch: "mips" }, /arch "mips" must be any, x86_64 or aarch64/],
    [{ format: 2 }, /format 2 is not supported/],
    [{ version: "latest" }, /version "latest" is not a version/],
  ];
  for (const [patch, re, opts] of cases) {
    const path = await craft(`${ws.dir}/case.pbxfw`, {
      manifest: await manifestFor(payload, patch),
      key: ws.key,
      payload,
    });
    assert.match(await refusal(path, ws.keysDir, opts ?? {}), re);
  }
  const sized = await manifestFor(payload);
  sized.payload.size += 1;
  const path = await craft(`${ws.dir}/size.pbxfw`, { manifest: sized, key: ws.key, payload });
  assert.match(await refusal(path, ws.keysDir), /payload is \d+ bytes; the manifest says \d+/);
});

Deno.test("not a tar at all, and no trusted keys, are clear refusals", async () => {
  using ws = await workspace();
  Deno.writeTextFileSync(`${ws.dir}/junk.pbxfw`, "hello ".repeat(200));
  assert.match(await refusal(`${ws.dir}/junk.pbxfw`, ws.keysDir), /not a ustar archive/);
  const path = await bundle(ws, "ok.pbxfw", { version: "0.3.0" });
  assert.match(await refusal(path, `${ws.dir}/no-such-dir`), /no trusted update keys are installed/);
});

Deno.test("trusted keys load from base64 raw and PEM SPKI files; a bad key file is skipped and reported", async () => {
  using ws = await workspace();
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const pem = `-----BEGIN PUBLIC KEY-----\n${btoa(String.fromCharCode(...spki))}\n-----END PUBLIC KEY-----\n`;
  Deno.writeTextFileSync(`${ws.keysDir}/pem.pub`, pem);
  Deno.writeTextFileSync(`${ws.keysDir}/broken.pub`, "AAAA\n");
  Deno.writeTextFileSync(`${ws.keysDir}/readme.txt`, "ignored");
  const bad: string[] = [];
  const keys = await loadTrustedKeys(ws.keysDir, { onBadKey: (id, e) => bad.push(`${id}: ${e.message}`) });
  assert.deepEqual(keys.map((k) => k.id), ["pem.pub", "release.pub"]);
  assert.equal(bad.length, 1);
  assert.match(bad[0]!, /broken\.pub: key broken\.pub must be 32 raw bytes .* got 3/);
  // The PEM key verifies what its private half signs.
  const data = new TextEncoder().encode("manifest");
  const sig = await crypto.subtle.sign("Ed25519", pair.privateKey, data);
  assert.ok(await crypto.subtle.verify("Ed25519", keys[0]!.key, sig, data));
  await assert.rejects(
    importPublicKey("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "x.pub"),
    SyntaxError,
  );
});

Deno.test("versions compare numerically, part by part, pre-releases first", () => {
  assert.ok(compareVersions("0.10.0", "0.9.9") > 0);
  assert.ok(compareVersions("0.2.0", "0.2") === 0);
  assert.ok(compareVersions("1.0.0-rc1", "1.0.0") < 0);
  assert.ok(compareVersions("0.2.1", "0.2.0") > 0);
  assert.ok(compareVersions("0.1.9", "0.2.0") < 0);
});
