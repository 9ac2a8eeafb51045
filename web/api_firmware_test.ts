import assert from "node:assert/strict";
import { errorOf, webFixture } from "./_test_fixture.ts";
import type { FirmwareControl, FirmwareInfo, FirmwareStageResult } from "./types.ts";

/** A FirmwareControl that records calls and answers what the test sets. */
class FakeFirmware implements FirmwareControl {
  readonly uploadDir: string;
  info_: FirmwareInfo = {
    version: "0.2.0",
    slot: "a",
    updatable: true,
    staged: null,
    trial: null,
    lastResult: null,
  };
  next: FirmwareStageResult | null = null;
  calls: { bytes: Uint8Array; by: string; allowDowngrade: boolean; path: string }[] = [];
  cancels = 0;
  constructor(dir: string) {
    this.uploadDir = `${dir}/fw-upload`;
  }
  info(): FirmwareInfo {
    return this.info_;
  }
  stage(path: string, options: { by: string; allowDowngrade: boolean }): Promise<FirmwareStageResult> {
    this.calls.push({ bytes: Deno.readFileSync(path), path, ...options });
    const r = this.next ??
      {
        ok: true as const,
        staged: { version: "0.3.0", slot: "b" as const, stagedAt: 1000, stagedBy: options.by },
      };
    if (r.ok) this.info_ = { ...this.info_, staged: r.staged };
    return Promise.resolve(r);
  }
  cancel(): { cancelled: boolean } {
    this.cancels++;
    const had = this.info_.staged !== null;
    this.info_ = { ...this.info_, staged: null };
    return { cancelled: had };
  }
}

async function fixture(maxFirmwareBytes?: number) {
  const dir = Deno.makeTempDirSync({ prefix: "pbx-fw-web-test-" });
  const fw = new FakeFirmware(dir);
  const f = await webFixture({ deps: { firmware: fw, ...(maxFirmwareBytes ? { maxFirmwareBytes } : {}) } });
  const disposeWeb = f[Symbol.dispose].bind(f);
  return Object.assign(f, {
    fw,
    uploads: () => {
      try {
        return [...Deno.readDirSync(fw.uploadDir)].map((e) => e.name);
      } catch {
        return [];
      }
    },
    [Symbol.dispose]() {
      disposeWeb();
      Deno.removeSync(dir, { recursive: true });
    },
  });
}

Deno.test("firmware: GET reports the state, POST stages with 202 and is audited, DELETE cancels", async () => {
  using f = await fixture();
  const token = await f.login();
  let res = await f.req("/api/system/firmware", { token });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), f.fw.info_);
  const bundle = new TextEncoder().encode("pretend this is a .pbxfw");
  res = await f.req("/api/system/firmware", {
    method: "POST",
    token,
    headers: { "content-type": "application/octet-stream" },
    body: bundle,
  });
  assert.equal(res.status, 202, await res.clone().text());
  assert.deepEqual(await res.json(), {
    staged: { version: "0.3.0", slot: "b", stagedAt: 1000, stagedBy: "admin" },
    applyOn: "restart",
  });
  assert.equal(f.fw.calls.length, 1);
  assert.deepEqual(f.fw.calls[0]!.bytes, bundle, "the route hands the whole upload over");
  assert.equal(f.fw.calls[0]!.allowDowngrade, false);
  assert.deepEqual(f.uploads(), [], "the temp upload is removed");
  res = await f.req("/api/system/firmware?allowDowngrade=1", {
    method: "POST",
    token,
    headers: { "content-type": "application/octet-stream" },
    body: bundle,
  });
  assert.equal(res.status, 202);
  assert.equal(f.fw.calls[1]!.allowDowngrade, true);
  res = await f.req("/api/system/firmware", { method: "DELETE", token });
  assert.deepEqual(await res.json(), { staged: null, cancelled: true });
  res = await f.req("/api/system/firmware", { method: "DELETE", token });
  assert.deepEqual(await res.json(), { staged: null, cancelled: false });
  const actions = f.storage.audit.list({}).map((a) => a.action);
  assert.equal(actions.filter((a) => a === "system.firmware-stage").length, 2);
  assert.equal(
    actions.filter((a) => a === "system.firmware-cancel").length,
    1,
    "a no-op cancel is not audited",
  );
  const detail = f.storage.audit.list({ action: "system.firmware-stage" })[0]!.detail as Record<
    string,
    unknown
  >;
  assert.equal(detail.version, "0.3.0");
  assert.equal(detail.bytes, bundle.length);
});

Deno.test("firmware upload refusals: 415, 413 (length and chunked), 400 invalid, 409 conflict and not updatable, bad query", async () => {
  using f = await fixture(64 * 1024);
  const token = await f.login();
  const post = (body: BodyInit, type = "application/octet-stream", q = "") =>
    f.req(`/api/system/firmware${q}`, { method: "POST", token, headers: { "content-type": type }, body });
  const small = new Uint8Array(1000);
  const cases: [() => Promise<Response>, number, RegExp, (() => void)?][] = [
    [
      () => post(small, "multipart/form-data; boundary=x"),
      415,
      /must be application\/octet-stream .*multipart/,
    ],
    [() => post(small, ""), 415, /got "nothing"/],
    [() => post(new Uint8Array(100 * 1024)), 413, /larger than 65536 bytes/],
    [
      () => post(ReadableStream.from([new Uint8Array(40 * 1024), new Uint8Array(40 * 1024)])),
      413,
      /larger than 65536/,
    ],
    [() => post(new Uint8Array(0)), 400, /firmware upload is empty/],
    [() => post(small, undefined, "?allowDowngrade=yes"), 400, /allowDowngrade must be 1 or 0/],
    [() => post(small), 400, /bad signature: nope/, () => {
      f.fw.next = { ok: false, reason: "invalid", error: "bad signature: nope" };
    }],
    [() => post(small), 409, /not newer than the running/, () => {
      f.fw.next = {
        ok: false,
        reason: "conflict",
        error: "bundle version 0.1.0 is not newer than the running 0.2.0",
      };
    }],
    [() => post(small), 409, /development install/, () => {
      f.fw.info_ = { ...f.fw.info_, updatable: false, slot: null, reason: "this is a development install" };
    }],
  ];
  for (const [send, status, re, setup] of cases) {
    setup?.();
    const res = await send();
    assert.equal(res.status, status, re.source);
    assert.match(await errorOf(res), re);
  }
  assert.equal(f.fw.calls.length, 2, "only the two uploads that got that far reached stage()");
  assert.deepEqual(f.uploads(), [], "no temp files left");
  assert.equal(f.storage.audit.list({ action: "system.firmware-refused" }).length, cases.length);
  assert.equal(f.storage.audit.list({ action: "system.firmware-stage" }).length, 0);
});

Deno.test("firmware routes need an admin (and CSRF for cookie sessions); anonymous uploads get 401", async () => {
  using f = await fixture();
  const body = new Uint8Array(100 * 1024);
  const upload = (init: Parameters<typeof f.req>[1] = {}) =>
    f.req("/api/system/firmware", {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body,
      ...init,
    });
  let res = await upload();
  assert.equal(res.status, 401);
  await res.body?.cancel();
  await f.addUser("bob", "201");
  const bob = await f.login("bob", "user-password-1");
  res = await upload({ token: bob });
  assert.equal(res.status, 403);
  await res.body?.cancel();
  res = await f.req("/api/system/firmware", { token: bob });
  assert.equal(res.status, 403);
  await res.body?.cancel();
  const s = await f.cookieLogin();
  res = await upload({ session: s });
  assert.equal(res.status, 403, "no CSRF token");
  await res.body?.cancel();
  res = await upload({ session: s, csrf: s.csrf });
  assert.equal(res.status, 202);
  await res.body?.cancel();
  assert.equal(f.fw.calls.length, 1);
});

Deno.test("without a FirmwareControl the firmware routes answer 503", async () => {
  using f = await webFixture();
  const token = await f.login();
  for (const method of ["GET", "POST", "DELETE"]) {
    const res = await f.req("/api/system/firmware", {
      method,
      token,
      ...(method === "POST" ? { headers: { "content-type": "application/octet-stream" }, body: "x" } : {}),
    });
    assert.equal(res.status, 503, method);
    assert.equal(await errorOf(res), "firmware update is not available in this build");
  }
});
