/**
 * /api/paging: zones, groups, per-extension permissions, schedules, the page log, live zone
 * status and a test tone on one zone. Admin only. Mount with `registerPagingRoutes(api, deps)` on
 * the authenticated /api app.
 */
import type { Hono } from "hono";
import * as v from "valibot";
import type { NewPagingSchedule, NewPagingZone, Storage } from "../runtime/storage/mod.ts";
import type { ZoneStatus } from "../runtime/features/paging/mod.ts";
import { requireAdmin } from "./api_auth.ts";
import { fail, jsonBody, readBodyLimited, store, validate } from "./_http.ts";
import type { AppEnv } from "./_env.ts";
import { claimsFor, requireFree } from "./_numbers.ts";
import type { AudioDevice, WavInfo } from "./types.ts";

/** What the routes need from the live paging service (runtime/features/paging PagingService fits). */
export interface PagingControl {
  /** Live zone states. */
  status(): ZoneStatus[];
  /** Next fire time per schedule id. */
  nextBells(): Record<number, number | null>;
  /** Re-arm schedule timers after an edit. */
  reloadSchedules(): void;
  /** Play a tone on one zone; resolves when played. */
  testTone(
    zone: string,
    options: { durationMs?: number; hz?: number },
  ): Promise<{ outcome: string; detail: string }>;
}

/** Dependencies of the paging routes. */
export interface PagingRouteDeps {
  storage: Storage;
  /** Absent when paging is not running: status and test tone answer 503. */
  paging?: PagingControl | undefined;
  /** Audio outputs for the zone form; absent: GET /paging/devices says `available: false`. */
  audioDevices?: (() => AudioDevice[]) | undefined;
  /**
   * Folder for bell sounds. With it, sounds can be uploaded and schedules must name a WAV file in
   * it; without it, uploads answer 503 and a schedule may name any absolute path.
   */
  soundsDir?: string | undefined;
  /** Parses a WAV the way the player will (throws on a bad file); uploads need it. */
  inspectWav?: ((bytes: Uint8Array) => WavInfo) | undefined;
  /** Largest sound upload in bytes (default 10 MiB). */
  maxSoundBytes?: number | undefined;
}

const Num = v.pipe(v.string("must be a string"), v.regex(/^[0-9]{1,8}$/, "must be 1-8 digits"));
const Name = v.pipe(
  v.string("must be a string"),
  v.minLength(1, "must not be empty"),
  v.maxLength(64, "too long"),
);
const Int = (lo: number, hi: number) =>
  v.pipe(
    v.number("must be a number"),
    v.integer("must be an integer"),
    v.minValue(lo, `must be >= ${lo}`),
    v.maxValue(hi, `must be <= ${hi}`),
  );
const Tone = v.nullable(v.pipe(v.string("must be a tone spec"), v.minLength(1), v.maxLength(512)));
const Multicast = v.object({
  address: v.pipe(v.string(), v.ipv4("must be an IPv4 address")),
  port: Int(1, 65535),
  format: v.picklist(["rtp", "polycom"], 'must be "rtp" or "polycom"'),
  codec: v.picklist(["PCMU", "PCMA"], "must be PCMU or PCMA"),
  ttl: v.optional(Int(0, 255), 1),
  channel: v.optional(Int(1, 25)),
  interface: v.optional(v.pipe(v.string(), v.ipv4("must be an IPv4 address"))),
});
const ZoneFields = {
  name: Name,
  alsaDevice: v.nullable(v.pipe(v.string(), v.minLength(1), v.maxLength(128))),
  channels: v.pipe(v.array(Int(1, 64), "must be a list of channel numbers"), v.minLength(1), v.maxLength(64)),
  volume: Int(0, 100),
  preTone: Tone,
  postTone: Tone,
  ampLine: v.nullable(
    v.pipe(v.string(), v.regex(/^(file:\/.+|gpiochip\d+:\d+)$/, 'must be "file:/path" or "gpiochipN:LINE"')),
  ),
  leadMs: Int(0, 10000),
  tailMs: Int(0, 60000),
  maxPageSec: Int(0, 86400),
  multicast: v.nullable(Multicast),
  enabled: v.boolean("must be true or false"),
};
const ZoneCreate = v.object({
  number: Num,
  name: Name,
  ...Object.fromEntries(
    Object.entries(ZoneFields).filter(([k]) => k !== "name").map(([k, s]) => [k, v.optional(s)]),
  ) as {
    [K in Exclude<keyof typeof ZoneFields, "name">]: v.OptionalSchema<(typeof ZoneFields)[K], undefined>;
  },
});
const ZonePatch = v.partial(v.object(ZoneFields));
const GroupZones = v.pipe(
  v.array(v.string("must be zone numbers")),
  v.minLength(1, "must list a zone"),
  v.maxLength(256),
);
const GroupCreate = v.object({ number: Num, name: Name, zones: GroupZones });
const GroupPatch = v.object({ name: v.optional(Name), zones: v.optional(GroupZones) });
const Permissions = v.object({
  targets: v.pipe(
    v.array(v.union([Num, v.literal("*")], "must be zone/group numbers or *")),
    v.maxLength(256, "too many targets"),
  ),
});
const Time = v.pipe(v.string(), v.regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, "must be HH:MM"));
const Day = v.pipe(v.string(), v.regex(/^\d{4}-\d{2}-\d{2}$/, "must be YYYY-MM-DD"));
const ScheduleFields = {
  name: Name,
  target: v.union([Num, v.literal("*")], "must be a zone or group number"),
  wavPath: v.pipe(v.string(), v.regex(/^\/[^\0]{1,1023}$/, "must be an absolute path")),
  weekdays: v.pipe(
    v.array(Int(1, 7), "must list weekdays 1 (Mon) - 7 (Sun)"),
    v.minLength(1),
    v.maxLength(7),
  ),
  time: Time,
  exceptions: v.pipe(v.array(Day), v.maxLength(366)),
  enabled: v.boolean(),
};
const ScheduleCreate = v.object({
  ...ScheduleFields,
  exceptions: v.optional(ScheduleFields.exceptions),
  enabled: v.optional(ScheduleFields.enabled),
});
const SchedulePatch = v.partial(v.object(ScheduleFields));
const TestTone = v.object({
  durationMs: v.optional(Int(20, 10000)),
  hz: v.optional(Int(50, 8000)),
});
const LogQuery = v.object({
  limit: v.optional(v.pipe(v.string(), v.regex(/^[0-9]{1,4}$/, "must be 1-1000"), v.transform(Number))),
  offset: v.optional(
    v.pipe(v.string(), v.regex(/^[0-9]{1,9}$/, "must be a non-negative integer"), v.transform(Number)),
  ),
});

/** Sound file names: one plain name ending in .wav, no folders, no dot files. */
const SOUND_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,59}(\.[A-Za-z0-9_-]{1,20})*\.wav$/i;

function soundName(raw: string | undefined): string {
  if (raw === undefined || !SOUND_NAME.test(raw)) {
    fail(
      400,
      `sound name must be letters, digits, "-", "_" or "." ending in .wav, got ${
        JSON.stringify((raw ?? "").slice(0, 80))
      }`,
    );
  }
  return raw;
}

/** The sounds folder with a trailing slash, created on first use. */
function soundsFolder(dir: string): string {
  Deno.mkdirSync(dir, { recursive: true });
  return Deno.realPathSync(dir).replace(/\/?$/, "/");
}

/** 400 unless `path` is an existing regular file directly inside the sounds folder. */
function checkSoundPath(dir: string, path: string): void {
  const folder = soundsFolder(dir);
  let real: string;
  try {
    real = Deno.realPathSync(path);
  } catch {
    fail(400, `invalid body: wavPath: no such file ${JSON.stringify(path.slice(0, 200))}; upload it first`);
  }
  const rest = real.startsWith(folder) ? real.slice(folder.length) : "";
  if (rest === "" || rest.includes("/") || !Deno.statSync(real).isFile) {
    fail(400, `invalid body: wavPath: must be a sound file in ${folder} (upload it on the Paging page)`);
  }
}

function numberParam(raw: string, what: string): string {
  if (!/^[0-9]{1,8}$/.test(raw)) {
    fail(400, `${what} must be 1-8 digits, got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return raw;
}

function idParam(raw: string): number {
  if (!/^[0-9]{1,9}$/.test(raw)) {
    fail(400, `schedule id must be a positive integer, got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return Number(raw);
}

/** Drop undefined values so exactOptionalPropertyTypes stores see absent keys. */
function defined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as never;
}

/** Register the admin-only paging routes under `/paging` on the authenticated API app. */
export function registerPagingRoutes(api: Hono<AppEnv>, deps: PagingRouteDeps): void {
  const { storage } = deps;
  const paging = storage.paging;
  const live = () => deps.paging ?? fail(503, "paging is not running");
  const reload = () => deps.paging?.reloadSchedules();
  api.use("/paging", requireAdmin());
  api.use("/paging/*", requireAdmin());

  api.get("/paging/zones", (c) => c.json({ zones: paging.listZones() }));
  api.post("/paging/zones", async (c) => {
    const body = await jsonBody(c, ZoneCreate);
    requireFree(storage, claimsFor.zone(body.number, body.name)); // 409 naming an extension or code on it
    const zone = store(() => paging.createZone(defined(body) as NewPagingZone));
    return c.json(zone, 201);
  });
  api.get("/paging/zones/:number", (c) => {
    const n = numberParam(c.req.param("number"), "zone number");
    return c.json(paging.getZone(n) ?? fail(404, `paging zone ${n} not found`));
  });
  api.patch("/paging/zones/:number", async (c) => {
    const n = numberParam(c.req.param("number"), "zone number");
    const body = await jsonBody(c, ZonePatch);
    return c.json(store(() => paging.updateZone(n, defined(body))));
  });
  api.delete("/paging/zones/:number", (c) => {
    const n = numberParam(c.req.param("number"), "zone number");
    if (!paging.deleteZone(n)) fail(404, `paging zone ${n} not found`);
    return c.body(null, 204);
  });
  api.post("/paging/zones/:number/test-tone", async (c) => {
    const n = numberParam(c.req.param("number"), "zone number");
    const text = await c.req.text();
    let opts: v.InferOutput<typeof TestTone> = {};
    if (text.trim() !== "") {
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch (e) {
        fail(400, `invalid JSON body: ${(e as Error).message}`);
      }
      opts = validate(TestTone, data, "body");
    }
    if (paging.getZone(n) === undefined) fail(404, `paging zone ${n} not found`);
    const result = await live().testTone(n, defined(opts));
    return c.json(result, result.outcome === "completed" ? 200 : result.outcome === "busy" ? 409 : 503);
  });

  api.get("/paging/groups", (c) => c.json({ groups: paging.listGroups() }));
  api.post("/paging/groups", async (c) => {
    const body = await jsonBody(c, GroupCreate);
    requireFree(storage, claimsFor.group(body.number, body.name));
    return c.json(store(() => paging.createGroup(body)), 201);
  });
  api.patch("/paging/groups/:number", async (c) => {
    const n = numberParam(c.req.param("number"), "group number");
    const body = await jsonBody(c, GroupPatch);
    return c.json(store(() => paging.updateGroup(n, defined(body))));
  });
  api.delete("/paging/groups/:number", (c) => {
    const n = numberParam(c.req.param("number"), "group number");
    if (!paging.deleteGroup(n)) fail(404, `paging group ${n} not found`);
    return c.body(null, 204);
  });

  api.get("/paging/permissions", (c) => c.json({ permissions: paging.allPermissions() }));
  api.put("/paging/permissions/:extension", async (c) => {
    const ext = c.req.param("extension");
    if (!/^[0-9]{2,8}$/.test(ext)) {
      fail(400, `extension must be 2-8 digits, got ${JSON.stringify(ext.slice(0, 40))}`);
    }
    const body = await jsonBody(c, Permissions);
    for (const t of body.targets) {
      if (t !== "*" && paging.getZone(t) === undefined && paging.getGroup(t) === undefined) {
        fail(400, `invalid body: targets: no paging zone or group ${t}`);
      }
    }
    store(() => paging.setPermissions(ext, body.targets));
    return c.json({ extension: ext, targets: paging.permissions(ext) });
  });

  api.get("/paging/schedules", (c) => c.json({ schedules: paging.listSchedules() }));
  api.post("/paging/schedules", async (c) => {
    const body = await jsonBody(c, ScheduleCreate);
    if (deps.soundsDir !== undefined) checkSoundPath(deps.soundsDir, body.wavPath);
    const s = store(() => paging.createSchedule(defined(body) as NewPagingSchedule));
    reload();
    return c.json(s, 201);
  });
  api.patch("/paging/schedules/:id", async (c) => {
    const id = idParam(c.req.param("id"));
    const body = await jsonBody(c, SchedulePatch);
    if (deps.soundsDir !== undefined && body.wavPath !== undefined) {
      checkSoundPath(deps.soundsDir, body.wavPath);
    }
    const s = store(() => paging.updateSchedule(id, defined(body)));
    reload();
    return c.json(s);
  });
  api.delete("/paging/schedules/:id", (c) => {
    const id = idParam(c.req.param("id"));
    if (!paging.deleteSchedule(id)) fail(404, `paging schedule ${id} not found`);
    reload();
    return c.body(null, 204);
  });

  api.get("/paging/devices", (c) => {
    if (deps.audioDevices === undefined) {
      return c.json({
        available: false,
        devices: [],
        note: "audio device listing is not available in this build",
      });
    }
    try {
      const devices = deps.audioDevices().map((d) => ({ name: d.name, description: d.description }));
      return c.json({ available: true, devices });
    } catch (e) {
      // No ALSA library or no sound cards: the form still takes a device name by hand.
      return c.json({
        available: false,
        devices: [],
        note: `cannot list audio devices: ${(e as Error).message}`,
      });
    }
  });

  const soundsDir = () => deps.soundsDir ?? fail(503, "sound uploads are not available in this build");
  api.get("/paging/sounds", (c) => {
    if (deps.soundsDir === undefined) return c.json({ available: false, sounds: [] });
    const folder = soundsFolder(deps.soundsDir);
    const sounds = [];
    for (const e of Deno.readDirSync(folder)) {
      if (!e.isFile || !SOUND_NAME.test(e.name)) continue;
      const st = Deno.statSync(folder + e.name);
      sounds.push({
        name: e.name,
        path: folder + e.name,
        bytes: st.size,
        modifiedAt: st.mtime?.getTime() ?? null,
      });
    }
    sounds.sort((a, b) => a.name.localeCompare(b.name));
    return c.json({ available: true, sounds });
  });
  api.post("/paging/sounds", async (c) => {
    const dir = soundsDir();
    const inspect = deps.inspectWav ?? fail(503, "sound uploads are not available in this build");
    const name = soundName(c.req.query("name"));
    const type = (c.req.header("content-type") ?? "").toLowerCase();
    if (!/^(audio\/(wav|x-wav|wave|vnd\.wave)|application\/octet-stream)\s*(;|$)/.test(type)) {
      fail(415, `upload body must be audio/wav, got ${JSON.stringify(type.slice(0, 60) || "nothing")}`);
    }
    const bytes = await readBodyLimited(c, deps.maxSoundBytes ?? 10 * 1024 * 1024);
    let info: WavInfo;
    try {
      info = inspect(bytes);
    } catch (e) {
      fail(400, `not a playable WAV file: ${(e as Error).message}`);
    }
    const folder = soundsFolder(dir);
    const path = folder + name;
    const replace = c.req.query("replace") === "1";
    let exists = false;
    try {
      exists = Deno.lstatSync(path).isFile;
      if (!exists) fail(409, `${name} exists and is not a file`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (exists && !replace) fail(409, `sound ${name} already exists (send ?replace=1 to overwrite)`);
    // Write beside it and rename, so a schedule firing now never reads half a file.
    const tmp = `${folder}.upload-${crypto.randomUUID()}`;
    try {
      Deno.writeFileSync(tmp, bytes, { mode: 0o640 });
      Deno.renameSync(tmp, path);
    } catch (e) {
      try {
        Deno.removeSync(tmp);
      } catch { /* never written */ }
      throw e;
    }
    return c.json({ name, path, bytes: bytes.length, ...info }, exists ? 200 : 201);
  });
  api.delete("/paging/sounds/:name", (c) => {
    const folder = soundsFolder(soundsDir());
    const name = soundName(c.req.param("name"));
    const path = folder + name;
    const users = paging.listSchedules().filter((s) => s.wavPath === path);
    if (users.length > 0) {
      fail(409, `sound ${name} is used by schedule ${users.map((s) => JSON.stringify(s.name)).join(", ")}`);
    }
    try {
      Deno.removeSync(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) fail(404, `sound ${name} not found`);
      throw e;
    }
    return c.body(null, 204);
  });

  api.get("/paging/status", (c) => {
    const p = live();
    return c.json({ zones: p.status(), nextBells: p.nextBells() });
  });
  api.get("/paging/log", (c) => {
    const q = validate(LogQuery, c.req.query(), "query");
    return c.json({ entries: store(() => paging.log(defined(q))) });
  });
}
