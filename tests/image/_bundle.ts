/**
 * Firmware bundles for the image test, signed by the test key that build.sh trusts in the image
 * (os-image/build/keys/test-update.pem). Uses appliance/update/make_bundle.ts (the product's
 * writer); the slot tree is this checkout with its version bumped and, for the rollback test, a
 * mod.ts that throws.
 *
 * @module
 */

const REPO = new URL("../../", import.meta.url).pathname;
const KEY_PEM = `${REPO}os-image/build/keys/test-update.pem`;
const DENO = Deno.execPath();

/** Options for {@linkcode makeTestBundle}. */
export interface TestBundleOptions {
  /** Version written into the tree's deno.json and the manifest. */
  version: string;
  /** Replaces mod.ts (e.g. one that throws, to exercise rollback). */
  modTs?: string;
}

async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
) {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", ...options }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed (code ${out.code}):\n${text.slice(-3000)}`);
  }
  return text;
}

/** Builds a signed .pbxfw in a temp dir and returns its bytes (the temp dir is removed). */
export async function makeTestBundle(options: TestBundleOptions): Promise<Uint8Array<ArrayBuffer>> {
  const dir = await Deno.makeTempDir({ prefix: "pbx-image-bundle-" });
  try {
    let src = REPO;
    if (options.modTs !== undefined) {
      // A copy of the app files with mod.ts replaced; make_bundle walks a folder outside git.
      src = `${dir}/tree`;
      await Deno.mkdir(src, { recursive: true });
      const copy = "git ls-files -co --exclude-standard -z | grep -zv -e '^tests/' -e '^os-image/' |" +
        ` tar --null -T - -cf - | tar -C '${src}' -xf -`;
      await run("bash", ["-c", copy], { cwd: REPO });
      await Deno.writeTextFile(`${src}/mod.ts`, options.modTs);
    }
    const out = `${dir}/test-${options.version}.pbxfw`;
    await run(DENO, [
      "run",
      "--allow-all",
      `${REPO}appliance/update/make_bundle.ts`,
      "--src",
      src,
      "--version",
      options.version,
      "--key",
      KEY_PEM,
      "--out",
      out,
      // A mod.ts that throws imports nothing: no DENO_DIR needed.
      ...(options.modTs !== undefined ? ["--no-cache"] : []),
    ]);
    return await Deno.readFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
