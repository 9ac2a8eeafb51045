import assert from "node:assert/strict";
import { writeWav } from "../runtime/media/wav/mod.ts";
import { Hono } from "hono";
import { openStorage } from "../runtime/storage/mod.ts";
import { readWav } from "../runtime/media/wav/mod.ts";
import { type PagingControl, type PagingRouteDeps, registerPagingRoutes } from "./api_paging.ts";
import { HttpError } from "./_http.ts";
import type { AppEnv } from "./_env.ts";

function fixture(options: { paging?: boolean; deps?: Partial<PagingRouteDeps> } = {}) {
  const dataDir = Deno.makeTempDirSync({ prefix: "pbx-web-paging-" });
  const storage = openStorage({ dataDir, pbkdf2Iterations: 1000 });
  const calls: string[] = [];
  const control: PagingControl = {
    status: () => [{ number: "71", name: "Hall", state: "idle" }],
    nextBells: () => ({}),
    reloadSchedules: () => calls.push("reload"),
    testTone: (zone, o) => {
      calls.push(`tone ${zone} ${o.durationMs ?? "-"}`);
      return Promise.resolve({ outcome: "completed", detail: "" });
    },
  };
  let role: "admin" | "user" = "admin";
  const api = new Hono<AppEnv>();
  // Stands in for requireAuth: the app mounts these routes behind it.
  api.use("*", async (c, next) => {
    c.set("user", { username: "t", role: role as never });
    await next();
  });
  registerPagingRoutes(api, {
    storage,
    paging: options.paging === false ? undefined : control,
    ...options.deps,
  });
  api.onError((err, c) => {
    if (err instanceof HttpError) return c.json({ error: err.message }, err.status);
    return c.json({ error: String(err) }, 500);
  });
  const raw = (path: string, init: RequestInit) => Promise.resolve(api.request(path, init));
  const req = (path: string, method = "GET", json?: unknown) =>
    Promise.resolve(api.request(path, {
      method,
      ...(json === undefined
        ? {}
        : { headers: { "content-type": "application/json" }, body: JSON.stringify(json) }),
    }));
  return {
    storage,
    dataDir,
    calls,
    req,
    raw,
    asUser: () => (role = "user"),
    [Symbol.dispose]() {
      storage.close();
      Deno.removeSync(dataDir, { recursive: true });
    },
  };
}

Deno.test("paging zone CRUD validates input and answers 4xx with messages", async () => {
  using f = fixture();
  let res = await f.req("/paging/zones", "POST", {
    number: "71",
    name: "Hall",
    alsaDevice: "dac",
    channels: [2],
  });
  assert.equal(res.status, 201);
  assert.equal(((await res.json()) as { channels: number[] }).channels[0], 2);
  res = await f.req("/paging/zones", "POST", { number: "71", name: "Again" });
  assert.equal(res.status, 409);
  res = await f.req("/paging/zones", "POST", { number: "x1", name: "Bad", volume: 300 });
  assert.equal(res.status, 400);
  const msg = ((await res.json()) as { error: string }).error;
  assert.match(msg, /number: must be 1-8 digits/);
  assert.match(msg, /volume: must be <= 100/);
  res = await f.req("/paging/zones/71", "PATCH", {
    multicast: { address: "224.0.2.60", port: 50000, format: "polycom", codec: "PCMU", channel: 24 },
  });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { multicast: { ttl: number } }).multicast.ttl, 1);
  res = await f.req("/paging/zones/71", "PATCH", { ampLine: "relay" });
  assert.equal(res.status, 400);
  res = await f.req("/paging/zones/99");
  assert.equal(res.status, 404);
  res = await f.req("/paging/zones/71", "DELETE");
  assert.equal(res.status, 204);
});

Deno.test("paging groups, permissions and schedules; schedule edits re-arm the timers", async () => {
  using f = fixture();
  await f.req("/paging/zones", "POST", { number: "71", name: "Hall" });
  let res = await f.req("/paging/groups", "POST", { number: "76", name: "All", zones: ["71", "72"] });
  assert.equal(res.status, 400);
  assert.match(((await res.json()) as { error: string }).error, /72 does not exist/);
  res = await f.req("/paging/groups", "POST", { number: "76", name: "All", zones: ["71"] });
  assert.equal(res.status, 201);
  res = await f.req("/paging/permissions/201", "PUT", { targets: ["76", "55"] });
  assert.equal(res.status, 400);
  res = await f.req("/paging/permissions/201", "PUT", { targets: ["76", "71"] });
  assert.deepEqual(await res.json(), { extension: "201", targets: ["71", "76"] });
  res = await f.req("/paging/schedules", "POST", {
    name: "Bell",
    target: "76",
    wavPath: "/var/lib/pbx/bell.wav",
    weekdays: [1, 2, 3, 4, 5],
    time: "08:00",
  });
  assert.equal(res.status, 201);
  const { id } = (await res.json()) as { id: number };
  res = await f.req(`/paging/schedules/${id}`, "PATCH", { time: "8am" });
  assert.equal(res.status, 400);
  res = await f.req(`/paging/schedules/${id}`, "PATCH", { exceptions: ["2026-12-25"] });
  assert.equal(res.status, 200);
  assert.deepEqual(f.calls, ["reload", "reload"]);
  res = await f.req("/paging/log?limit=10");
  assert.deepEqual(await res.json(), { entries: [] });
});

Deno.test("test tone plays on one zone; status needs the running service; non-admins get 403", async () => {
  using f = fixture();
  await f.req("/paging/zones", "POST", { number: "71", name: "Hall" });
  let res = await f.req("/paging/zones/71/test-tone", "POST", { durationMs: 500 });
  assert.equal(res.status, 200);
  assert.deepEqual(f.calls, ["tone 71 500"]);
  res = await f.req("/paging/zones/71/test-tone", "POST", { durationMs: 5 });
  assert.equal(res.status, 400);
  res = await f.req("/paging/zones/72/test-tone", "POST");
  assert.equal(res.status, 404);
  res = await f.req("/paging/status");
  assert.equal(res.status, 200);
  f.asUser();
  res = await f.req("/paging/zones");
  assert.equal(res.status, 403);
});

Deno.test("paging status answers 503 when the paging service is not running", async () => {
  using f = fixture({ paging: false });
  const res = await f.req("/paging/status");
  assert.equal(res.status, 503);
  assert.match(((await res.json()) as { error: string }).error, /not running/);
});

/** A small valid WAV (runtime/media/wav's writer): 16-bit mono PCM silence at 8 kHz, `ms` long. */
function wav(ms: number): Uint8Array<ArrayBuffer> {
  return writeWav({ sampleRate: 8000, channels: 1 }, new Int16Array((8000 * ms) / 1000)) as Uint8Array<
    ArrayBuffer
  >;
}

const inspectWav = (bytes: Uint8Array) => {
  const w = readWav(bytes);
  return {
    sampleRate: w.sampleRate,
    channels: w.channels,
    durationMs: Math.round((w.samples.length / w.channels / w.sampleRate) * 1000),
  };
};

Deno.test("GET /paging/devices lists the audio outputs, or says they cannot be listed", async () => {
  {
    using f = fixture();
    const res = await f.req("/paging/devices");
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as { available: boolean }).available, false);
  }
  {
    using f = fixture({
      deps: {
        audioDevices: () => [{ name: "hw:CARD=USB,DEV=0", description: "USB Audio", extra: 1 } as never],
      },
    });
    assert.deepEqual(await (await f.req("/paging/devices")).json(), {
      available: true,
      devices: [{ name: "hw:CARD=USB,DEV=0", description: "USB Audio" }],
    });
  }
  {
    using f = fixture({
      deps: {
        audioDevices: () => {
          throw new Error("libasound.so.2 not found");
        },
      },
    });
    const body = (await (await f.req("/paging/devices")).json()) as { available: boolean; note: string };
    assert.equal(body.available, false);
    assert.match(body.note, /libasound/);
  }
});

Deno.test("sound upload stores a checked WAV in the sounds folder; bad files, names and sizes are refused", async () => {
  const soundsDir = Deno.makeTempDirSync({ prefix: "pbx-web-sounds-" }) + "/sounds";
  try {
    using f = fixture({ deps: { soundsDir, inspectWav, maxSoundBytes: 64 * 1024 } });
    const up = (name: string, body: Uint8Array<ArrayBuffer>, type = "audio/wav") =>
      f.raw(`/paging/sounds?name=${encodeURIComponent(name)}`, {
        method: "POST",
        headers: { "content-type": type },
        body,
      });
    let res = await up("bell.wav", wav(500));
    assert.equal(res.status, 201, await res.clone().text());
    const stored = (await res.json()) as { path: string; durationMs: number; sampleRate: number };
    assert.equal(stored.durationMs, 500);
    assert.equal(stored.sampleRate, 8000);
    assert.equal(Deno.readFileSync(stored.path).length, 44 + 8000);
    res = await up("bell.wav", wav(100));
    assert.equal(res.status, 409);
    res = await f.raw("/paging/sounds?name=bell.wav&replace=1", {
      method: "POST",
      headers: { "content-type": "audio/wav" },
      body: wav(100),
    });
    assert.equal(res.status, 200);
    res = await up("../evil.wav", wav(100));
    assert.equal(res.status, 400);
    res = await up(".hidden.wav", wav(100));
    assert.equal(res.status, 400);
    res = await up("notes.txt", wav(100));
    assert.equal(res.status, 400);
    res = await up("junk.wav", new TextEncoder().encode("this is not a wav file at all"));
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /not a playable WAV file: not a WAV file/);
    res = await up("big.wav", wav(5000));
    assert.equal(res.status, 413);
    res = await up("bell2.wav", wav(100), "application/json");
    assert.equal(res.status, 415);
    const list = (await (await f.req("/paging/sounds")).json()) as { sounds: { name: string }[] };
    assert.deepEqual(list.sounds.map((s) => s.name), ["bell.wav"]);

    // Schedules must name a file in the sounds folder now.
    await f.req("/paging/zones", "POST", { number: "71", name: "Hall" });
    const sched = { name: "Bell", target: "71", weekdays: [1], time: "08:00" };
    res = await f.req("/paging/schedules", "POST", { ...sched, wavPath: "/etc/passwd" });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /wavPath: must be a sound file in/);
    res = await f.req("/paging/schedules", "POST", { ...sched, wavPath: `${soundsDir}/missing.wav` });
    assert.equal(res.status, 400);
    res = await f.req("/paging/schedules", "POST", { ...sched, wavPath: stored.path });
    assert.equal(res.status, 201);
    const { id } = (await res.json()) as { id: number };
    res = await f.raw("/paging/sounds/bell.wav", { method: "DELETE" });
    assert.equal(res.status, 409);
    assert.match(((await res.json()) as { error: string }).error, /used by schedule "Bell"/);
    assert.equal((await f.req(`/paging/schedules/${id}`, "DELETE")).status, 204);
    res = await f.raw("/paging/sounds/bell.wav", { method: "DELETE" });
    assert.equal(res.status, 204);
    res = await f.raw("/paging/sounds/bell.wav", { method: "DELETE" });
    assert.equal(res.status, 404);
  } finally {
    Deno.removeSync(soundsDir.replace(/\/sounds$/, ""), { recursive: true });
  }
});

Deno.test("sound upload answers 503 without a sounds folder; the list says it is unavailable", async () => {
  using f = fixture();
  const res = await f.raw("/paging/sounds?name=bell.wav", {
    method: "POST",
    headers: { "content-type": "audio/wav" },
    body: wav(100),
  });
  assert.equal(res.status, 503);
  assert.deepEqual(await (await f.req("/paging/sounds")).json(), { available: false, sounds: [] });
});
