/** The launcher (pbx-launch, POSIX sh) run against temp dirs with a fake Deno that prints its args. */
import assert from "node:assert/strict";

const LAUNCHER = new URL("./pbx-launch", import.meta.url).pathname;

interface Box {
  root: string;
  appRoot: string;
  dataDir: string;
  state: string;
  env: Record<string, string>;
  [Symbol.dispose](): void;
}

function makeBox(current: "a" | "b" = "a"): Box {
  const root = Deno.makeTempDirSync({ prefix: "pbx-launch-test-" });
  const appRoot = `${root}/opt`;
  const dataDir = `${root}/data`;
  for (const s of ["a", "b"]) {
    Deno.mkdirSync(`${appRoot}/slots/${s}/.deno_dir`, { recursive: true });
    Deno.writeTextFileSync(`${appRoot}/slots/${s}/mod.ts`, "// app\n");
  }
  Deno.symlinkSync(`slots/${current}`, `${appRoot}/current`);
  Deno.mkdirSync(`${dataDir}/update`, { recursive: true });
  const fake = `${root}/fake-deno`;
  Deno.writeTextFileSync(
    fake,
    '#!/bin/sh\necho "DENO_DIR=$DENO_DIR"\nfor a in "$@"; do echo "ARG=$a"; done\n',
  );
  Deno.chmodSync(fake, 0o755);
  return {
    root,
    appRoot,
    dataDir,
    state: `${dataDir}/update`,
    env: {
      PBX_APP_ROOT: appRoot,
      PBX_DATA_DIR: dataDir,
      PBX_DENO: fake,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    },
    [Symbol.dispose]() {
      Deno.removeSync(root, { recursive: true });
    },
  };
}

async function launch(box: Box, args: string[] = [], env: Record<string, string> = {}) {
  const out = await new Deno.Command("/bin/sh", {
    args: [LAUNCHER, ...args],
    env: { ...box.env, ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  return {
    code: out.code,
    stderr: new TextDecoder().decode(out.stderr),
    args: stdout.split("\n").filter((l) => l.startsWith("ARG=")).map((l) => l.slice(4)),
    denoDir: /^DENO_DIR=(.*)$/m.exec(stdout)?.[1],
  };
}

const target = (box: Box) => Deno.readLinkSync(`${box.appRoot}/current`);
const read = (box: Box, name: string) => {
  try {
    return Deno.readTextFileSync(`${box.state}/${name}`);
  } catch {
    return null;
  }
};

Deno.test("pbx-launch without staged update runs the current slot offline with the contract's flags", async () => {
  using box = makeBox("a");
  const r = await launch(box, ["--log-level", "debug"]);
  assert.equal(r.code, 0, r.stderr);
  // One line: which slot and as whom (the image test checks the user on the console).
  assert.match(
    r.stderr,
    /^pbx-launch: starting slot a as user \S+ \(uid \d+\)\npbx-launch: sandbox: NoNewPrivs=\S+ CapEff=\S+ root=(ro|rw) usr=(ro|rw) tmp=\S+ home=\S+ memory.max=\S+\n$/,
  );
  assert.equal(r.denoDir, `${box.appRoot}/slots/a/.deno_dir`);
  assert.deepEqual(r.args, [
    "run",
    "--cached-only",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-ffi",
    "--allow-sys",
    "--allow-run",
    `${box.appRoot}/slots/a/mod.ts`,
    "--log-level",
    "debug",
  ]);
  assert.equal(target(box), "slots/a");
  assert.equal(read(box, "trial"), null);
});

Deno.test("pbx-launch prefers the slot's own bin/deno over PBX_DENO", async () => {
  using box = makeBox("b");
  Deno.mkdirSync(`${box.appRoot}/slots/b/bin`);
  Deno.writeTextFileSync(`${box.appRoot}/slots/b/bin/deno`, '#!/bin/sh\necho "ARG=slot-deno"\n');
  Deno.chmodSync(`${box.appRoot}/slots/b/bin/deno`, 0o755);
  const r = await launch(box);
  assert.deepEqual(r.args, ["slot-deno"]);
});

Deno.test("pbx-launch switches to a staged slot, writes trial attempts=0 and removes staged", async () => {
  using box = makeBox("a");
  Deno.writeTextFileSync(
    `${box.state}/staged`,
    "slot=b\nversion=0.3.0\nstagedAt=1700000000000\nstagedBy=admin\n",
  );
  const r = await launch(box);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(target(box), "slots/b");
  assert.equal(read(box, "staged"), null);
  assert.equal(read(box, "trial"), "slot=b\nprevious=a\nversion=0.3.0\nattempts=0\n");
  assert.ok(r.args.includes(`${box.appRoot}/slots/b/mod.ts`));
  assert.equal(r.denoDir, `${box.appRoot}/slots/b/.deno_dir`);
  assert.match(r.stderr, /switched to slot b \(version 0\.3\.0\) on trial/);
  assert.deepEqual(
    [...Deno.readDirSync(box.appRoot)].map((e) => e.name).sort(),
    ["current", "slots"],
    "no temp link left",
  );
});

Deno.test("pbx-launch counts restarts of a trial slot, then rolls back above the maximum", async () => {
  using box = makeBox("a");
  Deno.writeTextFileSync(`${box.state}/staged`, "slot=b\nversion=0.3.0\n");
  await launch(box, [], { PBX_LAUNCH_MAX_ATTEMPTS: "2" });
  for (const n of [1, 2]) {
    const r = await launch(box, [], { PBX_LAUNCH_MAX_ATTEMPTS: "2" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(read(box, "trial"), `slot=b\nprevious=a\nversion=0.3.0\nattempts=${n}\n`);
    assert.equal(target(box), "slots/b");
  }
  const r = await launch(box, [], { PBX_LAUNCH_MAX_ATTEMPTS: "2" });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(target(box), "slots/a");
  assert.equal(read(box, "trial"), null);
  assert.match(
    read(box, "last-result") ?? "",
    /^result=rolled-back\nversion=0\.3\.0\nat=[0-9]+\ndata=restored\n$/,
  );
  assert.ok(r.args.includes(`${box.appRoot}/slots/a/mod.ts`), "the old slot runs");
  assert.match(r.stderr, /rolled back to slot a/);
});

Deno.test("an update's database migration is undone by the rollback: snapshot at the switch, restore at rollback", async () => {
  using box = makeBox("a");
  Deno.writeTextFileSync(`${box.dataDir}/pbx.sqlite`, "schema v3 with extension 1001");
  Deno.writeTextFileSync(`${box.dataDir}/pbx.sqlite-wal`, "wal of v3");
  Deno.writeTextFileSync(`${box.state}/staged`, "slot=b\nversion=0.4.0\n");
  let r = await launch(box, [], { PBX_LAUNCH_MAX_ATTEMPTS: "1" });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(Deno.readTextFileSync(`${box.state}/snapshot/pbx.sqlite`), "schema v3 with extension 1001");
  assert.equal(Deno.readTextFileSync(`${box.state}/snapshot/pbx.sqlite-wal`), "wal of v3");
  // The new version migrates (and checkpoints the WAL away), then fails to come up.
  Deno.writeTextFileSync(`${box.dataDir}/pbx.sqlite`, "schema v4, extension table rewritten");
  Deno.removeSync(`${box.dataDir}/pbx.sqlite-wal`);
  Deno.writeTextFileSync(`${box.dataDir}/pbx.sqlite-shm`, "shm of v4");
  r = await launch(box, [], { PBX_LAUNCH_MAX_ATTEMPTS: "1" }); // start 1 of 1
  assert.equal(target(box), "slots/b");
  r = await launch(box, [], { PBX_LAUNCH_MAX_ATTEMPTS: "1" }); // over the limit: roll back
  assert.equal(r.code, 0, r.stderr);
  assert.equal(target(box), "slots/a");
  assert.equal(Deno.readTextFileSync(`${box.dataDir}/pbx.sqlite`), "schema v3 with extension 1001");
  assert.equal(Deno.readTextFileSync(`${box.dataDir}/pbx.sqlite-wal`), "wal of v3");
  assert.throws(() => Deno.statSync(`${box.dataDir}/pbx.sqlite-shm`), Deno.errors.NotFound);
  assert.match(read(box, "last-result") ?? "", /data=restored/);
  assert.match(r.stderr, /database restored from the pre-update snapshot/);
});

Deno.test("pbx-launch ignores a garbage staged file (slot=../x) with a log line and runs the current slot", async () => {
  using box = makeBox("a");
  Deno.writeTextFileSync(`${box.state}/staged`, "slot=../x\nversion=$(touch /tmp/pwned)\n");
  const r = await launch(box);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(target(box), "slots/a");
  assert.match(r.stderr, /ignoring staged update: slot '\.\.\/x'/);
  assert.equal(read(box, "staged"), null, "moved aside so it is not retried");
  assert.ok(read(box, "staged.invalid")?.includes("slot=../x"));
  assert.equal(read(box, "trial"), null);
  assert.ok(r.args.includes(`${box.appRoot}/slots/a/mod.ts`));
});

Deno.test("pbx-launch refuses a staged slot without an app and a staged slot equal to the current", async () => {
  using box = makeBox("a");
  Deno.removeSync(`${box.appRoot}/slots/b/mod.ts`);
  Deno.writeTextFileSync(`${box.state}/staged`, "slot=b\nversion=0.3.0\n");
  let r = await launch(box);
  assert.equal(target(box), "slots/a");
  assert.match(r.stderr, /ignoring staged update/);
  Deno.writeTextFileSync(`${box.state}/staged`, "slot=a\nversion=0.3.0\n");
  r = await launch(box);
  assert.equal(target(box), "slots/a");
  assert.match(r.stderr, /ignoring staged update/);
  assert.equal(read(box, "trial"), null);
});

Deno.test("pbx-launch fails clearly when current points nowhere", async () => {
  using box = makeBox("a");
  Deno.removeSync(`${box.appRoot}/current`);
  const r = await launch(box);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /does not point at slots\/a or slots\/b/);
  assert.deepEqual(r.args, []);
});
