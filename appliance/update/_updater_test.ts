import assert from "node:assert/strict";
import { VirtualClock } from "../../runtime/clock/mod.ts";
import { type Logger, nullLogger } from "../../runtime/log/mod.ts";
import { detectSlot, Updater } from "./_updater.ts";
import {
  bundle,
  craft,
  LONG_PATH,
  manifestFor,
  type RawEntry,
  rawTarGz,
  type Workspace,
  workspace,
} from "./_test_util.ts";

/** A fake box: /opt/pbx with slots a and b (running from `running`), a data dir, the updater. */
function box(
  ws: Workspace,
  options: { running?: "a" | "b"; version?: string; confirmSec?: number; warmUp?: boolean; logger?: Logger } =
    {},
) {
  const appRoot = `${ws.dir}/opt`;
  const dataDir = `${ws.dir}/data`;
  const running = options.running ?? "a";
  for (const s of ["a", "b"]) {
    Deno.mkdirSync(`${appRoot}/slots/${s}/appliance/update`, { recursive: true });
    Deno.writeTextFileSync(`${appRoot}/slots/${s}/mod.ts`, `// old ${s}\n`);
    Deno.writeTextFileSync(`${appRoot}/slots/${s}/appliance/update/_updater.ts`, "// self\n");
  }
  Deno.symlinkSync(`slots/${running}`, `${appRoot}/current`);
  const clock = new VirtualClock();
  const updater = new Updater({
    appRoot,
    dataDir,
    keysDir: ws.keysDir,
    version: options.version ?? "0.2.0",
    selfPath: `${appRoot}/current/appliance/update/_updater.ts`,
    clock,
    logger: options.logger ?? nullLogger,
    ...(options.confirmSec === undefined ? {} : { confirmSec: options.confirmSec }),
    ...(options.warmUp === undefined ? {} : { warmUp: options.warmUp }),
  });
  return { appRoot, dataDir, state: `${dataDir}/update`, clock, updater };
}

const slotEntries = (appRoot: string) => [...Deno.readDirSync(`${appRoot}/slots`)].map((e) => e.name).sort();

Deno.test("stage unpacks a newer bundle into the inactive slot, keeps exec bits and long names, writes staged last", async () => {
  using ws = await workspace();
  const b = box(ws, { running: "a" });
  const path = await bundle(ws, "up.pbxfw", { version: "0.3.0" });
  b.clock.advance(5000);
  const r = await b.updater.stage(path, { by: "admin", allowDowngrade: false });
  assert.deepEqual(r, {
    ok: true,
    staged: { slot: "b", version: "0.3.0", stagedAt: b.clock.wallNow(), stagedBy: "admin" },
  });
  const slot = `${b.appRoot}/slots/b`;
  assert.equal(Deno.readTextFileSync(`${slot}/mod.ts`), "console.log('pbx');\n");
  assert.equal(JSON.parse(Deno.readTextFileSync(`${slot}/deno.json`)).version, "0.3.0");
  assert.equal(Deno.statSync(`${slot}/appliance/tool.sh`).mode! & 0o777, 0o755);
  assert.equal(Deno.statSync(`${slot}/mod.ts`).mode! & 0o777, 0o644);
  assert.equal(Deno.readTextFileSync(`${slot}/${LONG_PATH}`), "export const x = 1;\n");
  assert.throws(() => Deno.statSync(`${slot}/tests`), Deno.errors.NotFound, "tests/ is not shipped");
  assert.throws(() => Deno.statSync(`${slot}/os-image`), Deno.errors.NotFound, "os-image/ is not shipped");
  assert.throws(
    () => Deno.statSync(`${slot}/appliance/update/_updater.ts`),
    Deno.errors.NotFound,
    "old slot content is gone",
  );
  assert.equal(
    Deno.readTextFileSync(`${b.appRoot}/slots/a/mod.ts`),
    "// old a\n",
    "the running slot is untouched",
  );
  assert.deepEqual(slotEntries(b.appRoot), ["a", "b"], "no temp dir left");
  assert.equal(
    Deno.readTextFileSync(`${b.state}/staged`),
    `slot=b\nversion=0.3.0\nstagedAt=${b.clock.wallNow()}\nstagedBy=admin\n`,
  );
  const info = b.updater.info();
  assert.equal(info.slot, "a");
  assert.equal(info.updatable, true);
  assert.equal(info.reason, undefined);
  assert.deepEqual(info.staged, {
    slot: "b",
    version: "0.3.0",
    stagedAt: b.clock.wallNow(),
    stagedBy: "admin",
  });
});

Deno.test("running from slot b stages into slot a", async () => {
  using ws = await workspace();
  const b = box(ws, { running: "b" });
  const r = await b.updater.stage(await bundle(ws, "up.pbxfw", { version: "0.3.0" }), {
    by: "x",
    allowDowngrade: false,
  });
  assert.equal(r.ok && r.staged.slot, "a");
});

Deno.test("an older or equal version is a conflict unless a downgrade is allowed", async () => {
  using ws = await workspace();
  const b = box(ws, { version: "0.2.0" });
  for (const v of ["0.1.9", "0.2.0"]) {
    const r = await b.updater.stage(await bundle(ws, `${v}.pbxfw`, { version: v }), {
      by: "admin",
      allowDowngrade: false,
    });
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.reason === "conflict");
    assert.match(
      !r.ok ? r.error : "",
      new RegExp(`bundle version ${v.replace(/\./g, "\\.")} is not newer than the running 0\\.2\\.0`),
    );
  }
  assert.equal(b.updater.info().staged, null);
  const r = await b.updater.stage(`${ws.dir}/0.1.9.pbxfw`, { by: "admin", allowDowngrade: true });
  assert.ok(r.ok);
  assert.equal(b.updater.info().staged?.version, "0.1.9");
});

Deno.test("a dev install (not under slots/) is not updatable and says why", async () => {
  using ws = await workspace();
  const updater = new Updater({
    appRoot: `${ws.dir}/opt`,
    dataDir: `${ws.dir}/data`,
    keysDir: ws.keysDir,
    version: "0.2.0",
    clock: new VirtualClock(),
    logger: nullLogger,
  });
  const info = updater.info();
  assert.equal(info.updatable, false);
  assert.equal(info.slot, null);
  assert.match(info.reason ?? "", /development install: .*slots does not exist/);
  const r = await updater.stage(await bundle(ws, "up.pbxfw", { version: "0.3.0" }), {
    by: "a",
    allowDowngrade: false,
  });
  assert.deepEqual(r, { ok: false, reason: "conflict", error: info.reason });
  // With a slots dir that the app does not run from: still a dev install, named.
  Deno.mkdirSync(`${ws.dir}/opt/slots/a`, { recursive: true });
  const found = detectSlot(`${ws.dir}/opt`, `${ws.src}/appliance/update/_updater.ts`);
  assert.equal(found.slot, null);
  assert.match(found.slot === null ? found.reason : "", /runs from .*src.*not from .*slots\/a or \/b/);
});

async function refusedPayload(ws: Workspace, entries: RawEntry[]) {
  const b = box(ws);
  const payload = await rawTarGz(entries);
  const path = await craft(`${ws.dir}/evil.pbxfw`, {
    manifest: await manifestFor(payload),
    key: ws.key,
    payload,
  });
  const r = await b.updater.stage(path, { by: "admin", allowDowngrade: false });
  assert.equal(r.ok, false);
  assert.deepEqual(slotEntries(b.appRoot), ["a", "b"], "no temp dir left");
  assert.equal(
    Deno.readTextFileSync(`${b.appRoot}/slots/b/mod.ts`),
    "// old b\n",
    "the inactive slot is untouched",
  );
  assert.equal(b.updater.info().staged, null);
  Deno.removeSync(`${ws.dir}/opt`, { recursive: true });
  return r.ok ? { reason: "", error: "" } : r;
}

Deno.test("payload path traversal, absolute paths, links and devices are refused as invalid", async () => {
  using ws = await workspace();
  const ok = { name: "mod.ts", flag: "0", body: "x" };
  const cases: [RawEntry, RegExp][] = [
    [{ name: "../escape.ts", flag: "0", body: "x" }, /payload path "\.\.\/escape\.ts" contains \.\./],
    [{ name: "appliance/../../escape.ts", flag: "0", body: "x" }, /contains \.\./],
    [{ name: "/etc/passwd", flag: "0", body: "x" }, /payload path "\/etc\/passwd" is absolute/],
    [
      { name: "evil", flag: "2", linkName: "/etc/shadow" },
      /payload entry "evil" is a symlink; only files and directories/,
    ],
    [{ name: "hard", flag: "1", linkName: "mod.ts" }, /is a hardlink/],
    [{ name: "dev", flag: "3" }, /is a char/],
    [{ name: "fifo", flag: "6" }, /is a fifo/],
  ];
  for (const [entry, re] of cases) {
    const r = await refusedPayload(ws, [ok, entry]);
    assert.equal(r.reason, "invalid", entry.name);
    assert.match(r.error, re);
  }
  Deno.writeTextFileSync(`${ws.dir}/escape.ts`, "");
  assert.throws(() => Deno.statSync(`${ws.dir}/opt/escape.ts`), Deno.errors.NotFound);
});

Deno.test("a payload without mod.ts, with a mismatched deno.json version, or not gzip is invalid", async () => {
  using ws = await workspace();
  let r = await refusedPayload(ws, [{ name: "readme.txt", flag: "0", body: "x" }]);
  assert.match(r.error, /payload has no mod\.ts/);
  r = await refusedPayload(ws, [
    { name: "mod.ts", flag: "0", body: "x" },
    { name: "deno.json", flag: "0", body: '{"version":"0.2.5"}' },
  ]);
  assert.match(r.error, /deno\.json says version "0\.2\.5", the manifest says 0\.3\.0/);
  const b = box(ws);
  const payload = new TextEncoder().encode("this is not gzip at all, just text");
  const path = await craft(`${ws.dir}/nogz.pbxfw`, {
    manifest: await manifestFor(payload),
    key: ws.key,
    payload,
  });
  const res = await b.updater.stage(path, { by: "admin", allowDowngrade: false });
  assert.equal(!res.ok && res.reason, "invalid");
  assert.match(!res.ok ? res.error : "", /gzip|truncated|ustar/);
  assert.deepEqual(slotEntries(b.appRoot), ["a", "b"]);
});

Deno.test("bad signature and wrong arch come back as invalid, never as a throw", async () => {
  using ws = await workspace();
  const b = box(ws);
  let r = await b.updater.stage(await bundle(ws, "o.pbxfw", { version: "0.3.0", key: ws.otherKey }), {
    by: "a",
    allowDowngrade: false,
  });
  assert.ok(!r.ok && r.reason === "invalid" && /bad signature/.test(r.error));
  const arch = Deno.build.arch === "aarch64" ? "x86_64" : "aarch64";
  r = await b.updater.stage(await bundle(ws, "arch.pbxfw", { version: "0.3.0", arch }), {
    by: "a",
    allowDowngrade: false,
  });
  assert.ok(!r.ok && r.reason === "invalid" && new RegExp(`built for ${arch}`).test(r.error));
});

Deno.test("cancel removes a staged update; info reports nothing staged", async () => {
  using ws = await workspace();
  const b = box(ws);
  assert.deepEqual(b.updater.cancel(), { cancelled: false });
  await b.updater.stage(await bundle(ws, "up.pbxfw", { version: "0.3.0" }), {
    by: "admin",
    allowDowngrade: false,
  });
  assert.deepEqual(b.updater.cancel(), { cancelled: true });
  assert.equal(b.updater.info().staged, null);
});

Deno.test("while the running slot is on trial, staging is refused; after the healthy period it is confirmed", async () => {
  using ws = await workspace();
  const b = box(ws, { running: "b", version: "0.3.0", confirmSec: 60 });
  Deno.mkdirSync(b.state, { recursive: true });
  Deno.writeTextFileSync(`${b.state}/trial`, "slot=b\nprevious=a\nversion=0.3.0\nattempts=1\n");
  assert.deepEqual(b.updater.info().trial, { version: "0.3.0", attempts: 1 });
  const r = await b.updater.stage(await bundle(ws, "up.pbxfw", { version: "0.4.0" }), {
    by: "admin",
    allowDowngrade: false,
  });
  assert.ok(!r.ok && r.reason === "conflict" && /still on trial/.test(r.error));

  let healthy = false;
  const stop = b.updater.startConfirmTimer(() => healthy);
  b.clock.advance(120_000);
  assert.notEqual(b.updater.info().trial, null, "never confirmed while unhealthy");
  healthy = true;
  b.clock.advance(30_000);
  healthy = false; // a dip restarts the healthy period
  b.clock.advance(5_000);
  healthy = true;
  b.clock.advance(50_000);
  assert.notEqual(b.updater.info().trial, null, "not yet 60 s healthy in a row");
  b.clock.advance(20_000);
  assert.equal(b.updater.info().trial, null);
  const last = b.updater.info().lastResult;
  assert.equal(last?.result, "ok");
  assert.equal(last?.version, "0.3.0");
  assert.ok(last !== null && last.at <= Math.floor(b.clock.wallNow() / 1000) && last.at > 0);
  stop();
  const r2 = await b.updater.stage(`${ws.dir}/up.pbxfw`, { by: "admin", allowDowngrade: false });
  assert.ok(r2.ok, JSON.stringify(r2));
});

Deno.test("a trial of the other slot is not confirmed by this one", async () => {
  using ws = await workspace();
  const b = box(ws, { running: "a", confirmSec: 1 });
  Deno.mkdirSync(b.state, { recursive: true });
  Deno.writeTextFileSync(`${b.state}/trial`, "slot=b\nprevious=a\nversion=0.3.0\nattempts=0\n");
  const stop = b.updater.startConfirmTimer(() => true);
  b.clock.advance(10_000);
  assert.equal(b.updater.confirmTrialIfDue(true), false);
  assert.notEqual(b.updater.info().trial, null);
  stop();
});

/** A logger that keeps its lines, for checking what the updater said. */
function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const put = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  const logger: Logger = {
    debug: put("debug"),
    info: put("info"),
    warn: put("warn"),
    error: put("error"),
    child: () => logger,
  };
  return { logger, lines };
}

Deno.test("warm-up loads the staged slot once, so its module cache is keyed by the slot's own path", async () => {
  using ws = await workspace();
  const rec = recordingLogger();
  const b = box(ws, { running: "a", warmUp: true, logger: rec.logger });
  const r = await b.updater.stage(await bundle(ws, "up.pbxfw", { version: "0.3.0" }), {
    by: "admin",
    allowDowngrade: false,
  });
  assert.equal(r.ok, true);
  await b.updater.settled();
  const gen = `${b.appRoot}/slots/b/.deno_dir/gen/file${Deno.realPathSync(`${b.appRoot}/slots/b`)}`;
  assert.ok([...Deno.readDirSync(gen)].some((e) => e.name.startsWith("mod.ts")), `no cache entry in ${gen}`);
  assert.ok(rec.lines.some((l) => l.startsWith("info staged firmware loaded once")), rec.lines.join("\n"));
});

Deno.test("a staged slot that fails its trial load stays staged and the failure is logged", async () => {
  using ws = await workspace();
  Deno.writeTextFileSync(`${ws.src}/mod.ts`, 'throw new Error("broken on purpose");\n');
  const rec = recordingLogger();
  const b = box(ws, { running: "a", warmUp: true, logger: rec.logger });
  const r = await b.updater.stage(await bundle(ws, "up.pbxfw", { version: "0.3.0" }), {
    by: "admin",
    allowDowngrade: false,
  });
  assert.equal(r.ok, true);
  await b.updater.settled();
  assert.ok(
    rec.lines.some((l) =>
      l.startsWith("warn staged firmware did not load") && l.includes("broken on purpose")
    ),
  );
  assert.equal(b.updater.info().staged?.version, "0.3.0");
});

Deno.test("warm-up runs the staged code with a temporary data dir, never the live one, and removes it", async () => {
  using ws = await workspace();
  // Staged code that "migrates" at import time: it writes into whatever PBX_DATA_DIR it gets and
  // notes that path in its slot.
  Deno.writeTextFileSync(
    `${ws.src}/mod.ts`,
    [
      'const dir = Deno.env.get("PBX_DATA_DIR") ?? "";',
      'Deno.writeTextFileSync("warmup-data-dir.txt", dir);',
      'if (dir !== "") Deno.writeTextFileSync(`${dir}/pbx.sqlite`, "migrated by the warm-up");',
      "",
    ].join("\n"),
  );
  const b = box(ws, { running: "a", warmUp: true });
  Deno.mkdirSync(b.dataDir, { recursive: true });
  Deno.writeTextFileSync(`${b.dataDir}/pbx.sqlite`, "live data");
  // The service's environment: the live data dir.
  const before = Deno.env.get("PBX_DATA_DIR");
  Deno.env.set("PBX_DATA_DIR", b.dataDir);
  try {
    const r = await b.updater.stage(await bundle(ws, "up.pbxfw", { version: "0.3.0" }), {
      by: "admin",
      allowDowngrade: false,
    });
    assert.equal(r.ok, true);
    await b.updater.settled();
  } finally {
    if (before === undefined) Deno.env.delete("PBX_DATA_DIR");
    else Deno.env.set("PBX_DATA_DIR", before);
  }
  const used = Deno.readTextFileSync(`${b.appRoot}/slots/b/warmup-data-dir.txt`);
  assert.notEqual(used, "");
  assert.notEqual(Deno.realPathSync(b.dataDir), used);
  assert.equal(Deno.readTextFileSync(`${b.dataDir}/pbx.sqlite`), "live data");
  assert.throws(() => Deno.statSync(used), Deno.errors.NotFound, "the scratch data dir is removed");
});

Deno.test("a warm-up stopped by close() (the restart that applies the update) is not logged as a failure", async () => {
  using ws = await workspace();
  Deno.writeTextFileSync(`${ws.src}/mod.ts`, "await new Promise((r) => setTimeout(r, 60_000));\n");
  const rec = recordingLogger();
  const b = box(ws, { running: "a", warmUp: true, logger: rec.logger });
  const r = await b.updater.stage(await bundle(ws, "up.pbxfw", { version: "0.3.0" }), {
    by: "admin",
    allowDowngrade: false,
  });
  assert.equal(r.ok, true);
  await b.updater.close();
  assert.deepEqual(rec.lines.filter((l) => l.startsWith("warn")), []);
  assert.equal(b.updater.info().staged?.version, "0.3.0");
});
