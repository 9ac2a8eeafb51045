/**
 * End to end on one machine: a bundle built by make_bundle is uploaded through the real web route
 * to a real Updater, the launcher (with a fake Deno) switches slots, and the new slot's Updater
 * confirms the trial.
 */
import assert from "node:assert/strict";
import { VirtualClock } from "../../runtime/clock/mod.ts";
import { nullLogger } from "../../runtime/log/mod.ts";
import { openStorage } from "../../runtime/storage/mod.ts";
import { createApp } from "../../web/mod.ts";
import { Updater } from "./_updater.ts";
import { bundle, type Workspace, workspace } from "./_test_util.ts";

const LAUNCHER = new URL("../box/pbx-launch", import.meta.url).pathname;

function setup(ws: Workspace, options: { running: "a" | "b"; version: string; devInstall?: boolean }) {
  const appRoot = `${ws.dir}/opt`;
  const dataDir = `${ws.dir}/data`;
  for (const s of ["a", "b"]) {
    Deno.mkdirSync(`${appRoot}/slots/${s}/appliance/update`, { recursive: true });
    Deno.writeTextFileSync(`${appRoot}/slots/${s}/mod.ts`, "// installed\n");
    Deno.writeTextFileSync(`${appRoot}/slots/${s}/appliance/update/_updater.ts`, "");
  }
  try {
    Deno.symlinkSync(`slots/${options.running}`, `${appRoot}/current`);
  } catch { /* second run in the same box */ }
  const clock = new VirtualClock();
  const updater = new Updater({
    appRoot,
    dataDir,
    keysDir: ws.keysDir,
    version: options.version,
    selfPath: options.devInstall
      ? `${ws.src}/appliance/update/_updater.ts`
      : `${appRoot}/slots/${options.running}/appliance/update/_updater.ts`,
    clock,
    logger: nullLogger,
    confirmSec: 60,
  });
  return { appRoot, dataDir, clock, updater };
}

async function webFor(dataDir: string, updater: Updater, clock: VirtualClock) {
  const storage = openStorage({ dataDir, clock, pbkdf2Iterations: 1000 });
  await storage.users.create({ username: "admin", role: "admin", password: "admin-password-1" });
  const app = createApp({
    storage,
    clock,
    live: { calls: () => [] },
    health: () => ({ ok: true, listeners: { http: true } }),
    firmware: updater,
  });
  const login = await app.request("/api/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: "admin-password-1" }),
  });
  const { token } = await login.json() as { token: string };
  const req = (method: string, path: string, body?: Uint8Array<ArrayBuffer>) =>
    Promise.resolve(app.request(path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body ? { "content-type": "application/octet-stream" } : {}),
      },
      body: body ?? null,
    }));
  return { storage, req };
}

Deno.test("upload -> staged -> launcher switches -> trial confirmed: the whole firmware path", async () => {
  using ws = await workspace();
  const a = setup(ws, { running: "a", version: "0.2.0" });
  const web = await webFor(a.dataDir, a.updater, a.clock);
  try {
    const fw = Deno.readFileSync(await bundle(ws, "up.pbxfw", { version: "0.3.0" }));
    let res = await web.req("POST", "/api/system/firmware", fw);
    assert.equal(res.status, 202, await res.clone().text());
    const body = await res.json() as { staged: { slot: string; version: string }; applyOn: string };
    assert.equal(body.staged.slot, "b");
    assert.equal(body.applyOn, "restart");
    res = await web.req("GET", "/api/system/firmware");
    const info = await res.json() as { staged: { version: string } | null; slot: string; updatable: boolean };
    assert.equal(info.slot, "a");
    assert.equal(info.staged?.version, "0.3.0");
    assert.deepEqual([...Deno.readDirSync(a.updater.uploadDir)], [], "upload temp file removed");
  } finally {
    web.storage.close();
  }

  // The service restarts: the launcher switches to slot b and puts it on trial.
  const fake = `${ws.dir}/fake-deno`;
  Deno.writeTextFileSync(fake, '#!/bin/sh\nfor a in "$@"; do echo "ARG=$a"; done\n');
  Deno.chmodSync(fake, 0o755);
  const out = await new Deno.Command("/bin/sh", {
    args: [LAUNCHER],
    env: { PBX_APP_ROOT: a.appRoot, PBX_DATA_DIR: a.dataDir, PBX_DENO: fake },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(new TextDecoder().decode(out.stdout), new RegExp(`ARG=${a.appRoot}/slots/b/mod\\.ts`));
  assert.equal(Deno.readLinkSync(`${a.appRoot}/current`), "slots/b");

  // The new version runs from slot b; after 60 s healthy it keeps itself.
  const b = setup(ws, { running: "b", version: "0.3.0" });
  assert.deepEqual(b.updater.info().trial, { version: "0.3.0", attempts: 0 });
  assert.equal(b.updater.info().staged, null);
  const stop = b.updater.startConfirmTimer(() => true);
  b.clock.advance(70_000);
  stop();
  assert.equal(b.updater.info().trial, null);
  assert.equal(b.updater.info().lastResult?.result, "ok");
  assert.equal(b.updater.info().lastResult?.version, "0.3.0");
});

Deno.test("through the routes: tampered bundle 400, downgrade 409 then allowed, dev install 409", async () => {
  using ws = await workspace();
  const a = setup(ws, { running: "a", version: "0.2.0" });
  const web = await webFor(a.dataDir, a.updater, a.clock);
  try {
    const good = Deno.readFileSync(await bundle(ws, "up.pbxfw", { version: "0.3.0" }));
    const tampered = good.slice();
    tampered[tampered.length - 2048]! ^= 0x55;
    let res = await web.req("POST", "/api/system/firmware", tampered);
    assert.equal(res.status, 400);
    assert.match((await res.json() as { error: string }).error, /SHA-256|truncated|bad/);
    res = await web.req("POST", "/api/system/firmware", good.subarray(0, good.length - 1500));
    assert.equal(res.status, 400);
    assert.match((await res.json() as { error: string }).error, /truncated/);
    const old = Deno.readFileSync(await bundle(ws, "old.pbxfw", { version: "0.1.0" }));
    res = await web.req("POST", "/api/system/firmware", old);
    assert.equal(res.status, 409);
    assert.match(
      (await res.json() as { error: string }).error,
      /0\.1\.0 is not newer than the running 0\.2\.0/,
    );
    res = await web.req("POST", "/api/system/firmware?allowDowngrade=1", old);
    assert.equal(res.status, 202);
    res = await web.req("DELETE", "/api/system/firmware");
    assert.deepEqual(await res.json(), { staged: null, cancelled: true });
    const refused = web.storage.audit.list({ action: "system.firmware-refused" });
    assert.equal(refused.length, 3);
  } finally {
    web.storage.close();
  }
  const dev = setup(ws, { running: "a", version: "0.2.0", devInstall: true });
  const web2 = await webFor(`${ws.dir}/data2`, dev.updater, dev.clock);
  try {
    const res = await web2.req("POST", "/api/system/firmware", Deno.readFileSync(`${ws.dir}/up.pbxfw`));
    assert.equal(res.status, 409);
    assert.match((await res.json() as { error: string }).error, /development install/);
  } finally {
    web2.storage.close();
  }
});
