import assert from "node:assert/strict";
import { cli, listSourceFiles, parseArgs, writeSlotTree } from "./make_bundle.ts";
import { loadTrustedKeys, verifyBundle } from "./_bundle.ts";
import { LONG_PATH, workspace } from "./_test_util.ts";

Deno.test("--genkey writes a 0600 PKCS8 private key and a base64 public key the box trusts", async () => {
  using ws = await workspace();
  assert.equal(await cli(["--genkey", `${ws.dir}/k`]), 0);
  assert.equal(Deno.statSync(`${ws.dir}/k.key`).mode! & 0o777, 0o600);
  assert.match(Deno.readTextFileSync(`${ws.dir}/k.key`), /^-----BEGIN PRIVATE KEY-----\n/);
  assert.match(Deno.readTextFileSync(`${ws.dir}/k.pub`), /^[A-Za-z0-9+/]{43}=\n$/);
  assert.equal(await cli(["--genkey", `${ws.dir}/k`]), 1, "never overwrites a key");
});

Deno.test("the CLI builds a bundle that verifies, with the version replaced and tests/ left out", async () => {
  using ws = await workspace();
  const out = `${ws.dir}/x.pbxfw`;
  assert.equal(
    await cli(["--key", ws.key, "--out", out, "--version", "1.2.3", "--src", ws.src, "--no-cache"]),
    0,
  );
  const v = await verifyBundle(out, { keys: await loadTrustedKeys(ws.keysDir) });
  assert.equal(v.manifest.version, "1.2.3");
  assert.equal(
    await cli(["--key", ws.key, "--out", out, "--version", "one", "--src", ws.src, "--no-cache"]),
    1,
  );
  assert.equal(
    await cli(["--key", ws.key, "--out", out, "--arch", "sparc", "--src", ws.src, "--no-cache"]),
    1,
  );
  assert.equal(await cli(["--bogus"]), 2);
  assert.throws(() => parseArgs(["--key"]), /--key needs a value/);
});

Deno.test("--slot-dir writes the slot tree with .deno_dir filled by deno cache and bin/deno", async () => {
  using ws = await workspace();
  const slot = `${ws.dir}/slot-a`;
  Deno.writeTextFileSync(`${ws.dir}/fake-deno`, "#!/bin/sh\n");
  assert.equal(
    await cli([
      "--slot-dir",
      slot,
      "--src",
      ws.src,
      "--version",
      "0.4.0",
      "--deno-binary",
      `${ws.dir}/fake-deno`,
    ]),
    0,
  );
  assert.equal(JSON.parse(Deno.readTextFileSync(`${slot}/deno.json`)).version, "0.4.0");
  assert.ok(Deno.statSync(`${slot}/.deno_dir`).isDirectory, "deno cache made the DENO_DIR");
  assert.equal(Deno.statSync(`${slot}/bin/deno`).mode! & 0o777, 0o755);
  assert.equal(Deno.statSync(`${slot}/appliance/tool.sh`).mode! & 0o111, 0o111);
  assert.ok(Deno.statSync(`${slot}/${LONG_PATH}`).isFile);
  assert.throws(() => Deno.statSync(`${slot}/tests`), Deno.errors.NotFound);
});

Deno.test("listSourceFiles takes git's list in a git tree (tracked and untracked, not ignored)", async () => {
  using ws = await workspace();
  const git = (...args: string[]) =>
    new Deno.Command("git", { args, cwd: ws.src, stdout: "null", stderr: "null" }).outputSync();
  if (!git("init", "-q").success) return; // no git on this machine: the walk covers it
  Deno.writeTextFileSync(`${ws.src}/.gitignore`, "ignored.txt\n");
  Deno.writeTextFileSync(`${ws.src}/ignored.txt`, "x");
  const files = await listSourceFiles(ws.src);
  assert.ok(files.includes("mod.ts") && files.includes(".gitignore") && files.includes(LONG_PATH));
  assert.ok(!files.includes("ignored.txt"));
  assert.ok(!files.some((f) => f.startsWith("tests/") || f.startsWith("os-image/")));
  await writeSlotTree(`${ws.dir}/slot`, { src: ws.src, cache: false });
  assert.throws(() => Deno.statSync(`${ws.dir}/slot/ignored.txt`), Deno.errors.NotFound);
});
