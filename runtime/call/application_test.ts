import { deepStrictEqual as eq, ok, rejects } from "node:assert";
import { type Application, applicationHandler, type CallLeg, type Collected } from "./application.ts";
import type { LocalSession } from "./local.ts";
import { VirtualClock } from "../clock/mod.ts";
import { nullLogger } from "../log/mod.ts";

const INFO = { caller: "201", dialled: "700", receivedAt: 0, codec: "PCMU/8000" };

/** Run `app` as LocalCalls would: accept, then start the session. */
async function drive(app: Application<null>, media = {}, clock = new VirtualClock()) {
  const hangups: (string | undefined)[] = [];
  const verdict = await applicationHandler(app, null, { media, clock, log: nullLogger }).accept(INFO);
  if ("status" in verdict) return { verdict, clock, hangups, session: undefined };
  const session = verdict as LocalSession;
  session.onStart?.({ legId: "leg1", hangup: (r) => hangups.push(r) });
  return { verdict, clock, hangups, session };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("an application refuses a call with a SIP status, or fails into a 500", async () => {
  eq((await drive({ name: "no", run: (leg) => leg.reject(486, "Busy") })).verdict, {
    status: 486,
    reason: "Busy",
  });
  eq((await drive({ name: "boom", run: () => Promise.reject(new Error("x")) })).verdict, {
    status: 500,
    reason: "Server Internal Error (application failed)",
  });
  eq((await drive({ name: "idle", run: () => {} })).verdict, {
    status: 480,
    reason: "Temporarily Unavailable",
  }, "finished without answering");
});

Deno.test("collect: digit count, terminators, timeout on the injected clock, and hangup", async () => {
  let leg!: CallLeg;
  const r = await drive({ name: "ivr", run: (l) => (leg = l, l.answer()) });
  const s = r.session!;
  const results: Collected[] = [];
  void leg.collect({ maxDigits: 3 }).then((c) => results.push(c));
  for (const d of "1234") s.onDtmf!(d, "rfc4733");
  await tick();
  eq(results.pop(), { digits: "123", reason: "max-digits" });
  void leg.collect({ terminators: "#" }).then((c) => results.push(c));
  s.onDtmf!("4", "info");
  s.onDtmf!("#", "inband");
  await tick();
  eq(results.pop(), { digits: "4", terminator: "#", reason: "terminator" });
  void leg.collect({ timeoutMs: 5000 }).then((c) => results.push(c));
  s.onDtmf!("9");
  r.clock.advance(5000);
  await tick();
  eq(results.pop(), { digits: "9", reason: "timeout" });
  const events: string[] = [];
  leg.on((ev) =>
    events.push(
      ev.type === "dtmf" ? `${ev.digit}/${ev.source}` : ev.type === "hangup" ? `hangup/${ev.by}` : ev.type,
    )
  );
  void leg.collect({}).then((c) => results.push(c));
  s.onDtmf!("5", "info");
  s.onEnd!("caller");
  await tick();
  eq(results.pop(), { digits: "5", reason: "hangup" });
  eq(events, ["5/info", "hangup/caller"]);
  eq(await leg.ended, "caller");
  await rejects(leg.play({ tone: "425" }), /ended/);
});

Deno.test("play: tones and PCM of any rate through the media plane; no file player or recorder: clear errors", async () => {
  const calls: string[] = [];
  let leg!: CallLeg;
  await drive({ name: "player", run: (l) => (leg = l, l.answer()) }, {
    playTone: (id: string, spec: string) => (calls.push(`tone ${id} ${spec}`), Promise.resolve()),
    playPcm: (id: string, pcm: Int16Array, o?: { sampleRate?: number }) => (
      calls.push(`pcm ${id} ${pcm.length}@${o?.sampleRate}`), Promise.resolve()
    ),
  });
  await leg.play({ tone: "440/1000" });
  await leg.play({ pcm: new Int16Array(160), sampleRate: 8000 });
  await leg.play({ pcm: new Int16Array(320), sampleRate: 16000 });
  eq(calls, ["tone leg1 440/1000", "pcm leg1 160@8000", "pcm leg1 320@16000"]);
  await rejects(leg.play({ file: "/x.wav" }), /no file player/);
  await rejects(leg.record("/x.wav"), /no recorder/);
  leg.hangup("done");
  ok(true);
});

Deno.test("record: resolves when maxMs passes, on stopRecord, and on hangup, with the worker's duration", async () => {
  const clock = new VirtualClock();
  const calls: string[] = [];
  let leg!: CallLeg;
  const { session: s } = await drive({ name: "recorder", run: (l) => (leg = l, l.answer()) }, {
    record: (id: string, path: string) => (calls.push(`rec ${id} ${path}`), Promise.resolve()),
    stopRecord: (
      id: string,
    ) => (calls.push(`stop ${id}`), Promise.resolve({ durationMs: 1234, reason: "stopped" })),
  }, clock);
  const byMax = leg.record("/a.wav", { maxMs: 5000 });
  await tick();
  clock.advance(5000);
  eq(await byMax, { path: "/a.wav", durationMs: 1234, reason: "max" });
  const byStop = leg.record("/b.wav");
  await tick();
  await rejects(leg.record("/c.wav"), /already recording/);
  await leg.stopRecord();
  eq((await byStop).reason, "stopped");
  const byHangup = leg.record("/d.wav");
  await tick();
  s!.onEnd!("caller");
  eq((await byHangup).reason, "hangup");
  eq(calls, ["rec leg1 /a.wav", "stop leg1", "rec leg1 /b.wav", "stop leg1", "rec leg1 /d.wav", "stop leg1"]);
});

Deno.test("no recorder: clear error", async () => {
  let leg!: CallLeg;
  await drive({ name: "player", run: (l) => (leg = l, l.answer()) }, {});
  await rejects(leg.record("/x.wav"), /no recorder/);
  leg.hangup("done");
  ok(true);
});

Deno.test("play right after answer() waits until the call is up instead of failing", async () => {
  const calls: string[] = [];
  const media = { playTone: (id: string, spec: string) => (calls.push(`${id} ${spec}`), Promise.resolve()) };
  let played!: Promise<void>;
  const verdict = await applicationHandler<null>(
    {
      name: "greeter",
      run: (l) => {
        l.answer();
        played = l.play({ tone: "425" });
      },
    },
    null,
    { media, clock: new VirtualClock(), log: nullLogger },
  ).accept(INFO);
  await tick();
  eq(calls, [], "nothing plays before the call is up");
  (verdict as LocalSession).onStart?.({ legId: "leg7", hangup: () => {} });
  await played;
  eq(calls, ["leg7 425"]);
});
