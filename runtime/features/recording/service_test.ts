import { deepStrictEqual as eq, ok, throws } from "node:assert";
import { DatabaseSync } from "node:sqlite";
import { VirtualClock } from "../../clock/mod.ts";
import { createLogger } from "../../log/mod.ts";
import * as m066 from "../../storage/migrations/066_recordings.ts";
import * as m068 from "../../storage/migrations/068_recording_queue.ts";
import { checkPolicy, Recorder, type RecordingMedia } from "./service.ts";

type Ev = Parameters<Parameters<RecordingMedia["on"]>[0]>[0];

/** A media plane stand-in: record writes a small file; stopRecord posts "recorded". */
function fakeMedia(fail = false) {
  const listeners = new Set<(ev: Ev) => void>();
  const files = new Map<string, string>();
  const emit = (ev: Ev) => {
    for (const l of listeners) l(ev);
  };
  const media: RecordingMedia & { emit: typeof emit; tones: string[] } = {
    tones: [],
    record(legId, path) {
      if (fail) return Promise.reject(new Error("ENOSPC"));
      Deno.writeFileSync(path, new Uint8Array(44 + 32_000));
      files.set(legId, path);
      return Promise.resolve({ path });
    },
    stopRecord(legId) {
      const path = files.get(legId);
      if (path === undefined) return Promise.resolve(null);
      files.delete(legId);
      emit({ event: "recorded", legId, path, reason: "stopped", durationMs: 1000 });
      return Promise.resolve({ durationMs: 1000, reason: "stopped" });
    },
    playTone(legId) {
      media.tones.push(legId);
      return Promise.resolve();
    },
    on(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    emit,
  };
  return media;
}

function setup(fail = false) {
  const db = new DatabaseSync(":memory:");
  db.exec(m066.sql);
  db.exec(m068.sql);
  const dataDir = Deno.makeTempDirSync();
  const clock = new VirtualClock();
  const lines: string[] = [];
  const log = createLogger("test", { level: "debug", sink: (line) => lines.push(line) });
  const media = fakeMedia(fail);
  const rec = new Recorder({ db, dataDir, clock, log, media, sweepEveryMs: 3_600_000 });
  const call = (n: number) => ({
    callId: `c${n}`,
    caller: "201",
    callee: "202",
    aLegId: `a${n}`,
    bLegId: `b${n}`,
  });
  return { db, dataDir, clock, lines, media, rec, call };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("checkPolicy merges over the current policy and names what is wrong", () => {
  eq(checkPolicy({ alwaysExtensions: ["201", "201"] }).alwaysExtensions, ["201"]);
  throws(() => checkPolicy({ featureCode: "12" }), /featureCode/);
  throws(() => checkPolicy({ retentionDays: -1 }), /retentionDays must be an integer/);
  throws(() => checkPolicy({ alwaysExtensions: "201" }), /alwaysExtensions/);
  throws(() => checkPolicy({ channels: "quad" }), /channels must be/);
  throws(() => checkPolicy(null), TypeError);
  eq(checkPolicy({}).alwaysTrunks, []);
  throws(() => checkPolicy({ alwaysTrunks: ["Bad Trunk"] }), /alwaysTrunks must be a list of trunk ids/);
});

Deno.test("always-on per trunk: a call of a listed trunk is recorded, another trunk's and a plain call are not", async () => {
  const t = setup();
  t.rec.setPolicy(checkPolicy({ alwaysTrunks: ["carrier"] }));
  t.rec.onBridged({ ...t.call(1), trunk: "carrier" });
  t.rec.onBridged({ ...t.call(2), trunk: "other" });
  t.rec.onBridged(t.call(3));
  await tick();
  eq(t.rec.list().map((r) => [r.callId, r.mode]), [["c1", "always"]]);
  t.rec.close();
  Deno.removeSync(t.dataDir, { recursive: true });
});

Deno.test("feature code *1 from either leg starts and stops; the notice tone plays to both legs", async () => {
  const { rec, media, call, dataDir } = setup();
  rec.onBridged(call(1));
  media.emit({ event: "dtmf", legId: "a1", digit: "*" });
  media.emit({ event: "dtmf", legId: "a1", digit: "1" });
  await tick();
  eq(rec.list()[0]?.status, "recording");
  eq(media.tones.sort(), ["a1", "b1"]);
  media.emit({ event: "dtmf", legId: "b1", digit: "*" });
  media.emit({ event: "dtmf", legId: "b1", digit: "1" });
  await tick();
  const r = rec.list()[0]!;
  eq([r.status, r.mode, r.durationMs, r.bytes], ["done", "on-demand", 1000, 32_044]);
  rec.close();
  Deno.removeSync(dataDir, { recursive: true });
});

Deno.test("always-on by policy; a recorder that cannot start is logged and the row is failed", async () => {
  const ok1 = setup();
  ok1.rec.setPolicy(checkPolicy({ alwaysExtensions: ["202"] }));
  ok1.rec.onBridged(ok1.call(1));
  await tick();
  eq(ok1.rec.list()[0]?.mode, "always");
  ok1.rec.close();
  const bad = setup(true);
  bad.rec.setPolicy(checkPolicy({ alwaysExtensions: ["201"] }));
  bad.rec.onBridged(bad.call(1));
  await tick();
  eq(bad.rec.list()[0]?.status, "failed");
  ok(bad.lines.some((l) => /recording could not start; the call goes on/.test(l)));
  bad.rec.close();
});

Deno.test("retention in virtual time: old recordings go by age, then the oldest past the disk share; a line per deletion", async () => {
  const { rec, media, call, clock, lines } = setup();
  rec.setPolicy(checkPolicy({ retentionDays: 30, maxBytes: 0 }));
  for (let n = 1; n <= 4; n++) {
    rec.onBridged(call(n));
    await rec.toggle(`c${n}`);
    await media.stopRecord(`a${n}`);
    clock.advance(10 * 86_400_000); // ten days between calls (the hourly sweeps run meanwhile)
  }
  // Recording 1 (40 days old) went by age in an hourly sweep; 2 is exactly 30 days old.
  eq(rec.list().map((r) => r.callId), ["c4", "c3", "c2"]);
  ok(lines.some((l) => /recording deleted by retention \(age\) id=1/.test(l)), lines.join("\n"));
  // A disk share of two files' worth: the next sweep deletes the oldest.
  rec.setPolicy(checkPolicy({ maxBytes: 2 * 32_044 }));
  clock.advance(3_600_000);
  eq(rec.list().map((r) => r.callId), ["c4", "c3"]);
  ok(lines.some((l) => /recording deleted by retention \(disk share\) id=2/.test(l)), lines.join("\n"));
  // A share that a recording in progress fills alone refuses the next one, with a log line.
  rec.setPolicy(checkPolicy({ maxBytes: 1000 }));
  rec.onBridged(call(8));
  rec.onBridged(call(9));
  eq(await rec.toggle("c8"), "started"); // the finished ones are deleted to make room
  eq(rec.list().map((r) => r.callId), ["c8"]);
  await media.stopRecord("a8");
  rec.onBridged(call(10));
  eq(await rec.toggle("c9"), "started"); // c8 (done, 32 KB) is deleted first
  eq(await rec.toggle("c10"), "started"); // c9 is still recording and has no size yet: nothing to count
  rec.close();
});

Deno.test("a queue's always-on setting records its calls whatever the policy says; the row names the queue", async () => {
  const t = setup();
  t.rec.onBridged({ ...t.call(1), queue: "600", always: true });
  t.rec.onBridged({ ...t.call(2), queue: "601", always: false });
  await tick();
  const rows = t.rec.list();
  eq(rows.map((r) => [r.callId, r.queue, r.mode, r.status]), [["c1", "600", "always", "recording"]]);
  ok(t.lines.some((l) => /recording started .*queue=600/.test(l)));
  await t.media.stopRecord("a1");
  eq(t.rec.get(rows[0]!.id)?.status, "done");
  t.rec.close();
});

Deno.test("format opus: the file is .opus and the media worker is asked for Opus; a bad format is named", async () => {
  const t = setup();
  const asked: unknown[] = [];
  const record = t.media.record.bind(t.media);
  t.media.record = (legId, path, options) => {
    asked.push(options);
    return record(legId, path, options);
  };
  t.rec.setPolicy(checkPolicy({ alwaysExtensions: ["202"], format: "opus" }));
  t.rec.onBridged(t.call(1));
  await tick();
  ok(t.rec.list()[0]!.file.endsWith(".opus"), t.rec.list()[0]!.file);
  eq(asked, [{ stereo: true, format: "opus" }]);
  throws(() => checkPolicy({ format: "mp3" }), /format must be "wav" or "opus"/);
  eq(checkPolicy({}).format, "wav");
  t.rec.close();
});
