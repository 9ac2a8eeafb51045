import { deepStrictEqual as eq, ok } from "node:assert";
import type { Calls, OriginatedLeg, OriginateOptions, PlaySource } from "../../call/mod.ts";
import { createLogger } from "../../log/mod.ts";
import { FRONT_DESK_ALERT_TONE, frontDeskSentence, ringFrontDesk } from "./frontdesk.ts";

const log = createLogger("t", { level: "error", sink: () => {} });
const call = {
  caller: "202",
  number: "911",
  location: "100 Main St, floor 2",
  callback: "5550100",
  test: false,
};

/** A fake call engine: records what was originated and played; answers with `outcome`. */
function fakeCalls(outcome: "answered" | "busy" = "answered") {
  const played: PlaySource[] = [];
  const asked: OriginateOptions[] = [];
  let hungUp = false;
  const calls = {
    originate(o: OriginateOptions) {
      asked.push(o);
      const leg = {
        answered: Promise.resolve(
          outcome === "answered" ? { outcome } : { outcome, kind: outcome, status: 486 },
        ),
        ended: new Promise(() => {}),
        play: (s: PlaySource) => {
          played.push(s);
          return Promise.resolve();
        },
        hangup: () => void (hungUp = true),
      } as unknown as OriginatedLeg;
      return Promise.resolve(leg);
    },
  } as unknown as Calls;
  return { calls, played, asked, hungUp: () => hungUp };
}

const pcm = (n: number) => ({ samples: new Int16Array(n).fill(1000), sampleRate: 16000 });

Deno.test("front desk: rung as EMERGENCY from the caller, the sentence spoken three times, then hung up", async () => {
  const f = fakeCalls();
  const outcomes: unknown[] = [];
  const spoken: string[] = [];
  const r = await ringFrontDesk(
    {
      calls: () => f.calls,
      speak: (t) => (spoken.push(t), Promise.resolve(pcm(160))),
      log,
      onOutcome: (o) => outcomes.push(o),
    },
    "203",
    call,
  );
  eq(r, "answered");
  eq(spoken, ["Emergency call. Extension two zero two. 100 Main St, floor 2."]);
  eq([f.asked[0]!.to, f.asked[0]!.callerId, f.asked[0]!.callerName], ["203", "202", "EMERGENCY 911"]);
  eq(f.played.filter((p) => "pcm" in p).length, 3);
  eq(f.played.filter((p) => "silenceMs" in p).length, 3);
  ok(f.hungUp());
  eq((outcomes[0] as { spoken: string }).spoken.startsWith("tts: Emergency call."), true);
  eq(frontDeskSentence({ ...call, test: true }).startsWith("Test. Emergency call."), true);
});

Deno.test("front desk without text to speech: digit prompts and the location's recording; else a tone", async () => {
  const f = fakeCalls();
  const ids: string[] = [];
  const noTts = () => Promise.reject(new Error("apt install libflite1"));
  const outcomes: { spoken: string }[] = [];
  await ringFrontDesk(
    {
      calls: () => f.calls,
      speak: noTts,
      prompt: (id) => (ids.push(id), Promise.resolve(pcm(80))),
      locationAnnouncement: (ext) => Promise.resolve(ext === "202" ? pcm(400) : undefined),
      log,
      onOutcome: (o) => outcomes.push(o),
    },
    "203",
    call,
  );
  eq(ids.slice(0, 3), ["digit-2", "digit-0", "digit-2"]);
  eq(f.played.filter((p) => "pcm" in p).length, 3 * 4, "3 digits and the recording, three times");
  eq(outcomes[0]!.spoken, "prompts digit-2 digit-0 digit-2, the location's recording");

  const g = fakeCalls();
  await ringFrontDesk(
    {
      calls: () => g.calls,
      speak: noTts,
      prompt: noTts,
      log,
      onOutcome: (o) => outcomes.push(o),
    },
    "203",
    call,
  );
  eq(g.played.filter((p) => "tone" in p && p.tone === FRONT_DESK_ALERT_TONE).length, 3);
  eq(outcomes[1]!.spoken, `alert tone ${FRONT_DESK_ALERT_TONE}`);
});

Deno.test("front desk busy or no call engine: reported, nothing played, never throws", async () => {
  const f = fakeCalls("busy");
  eq(await ringFrontDesk({ calls: () => f.calls, log }, "203", call), "busy");
  eq(f.played.length, 0);
  eq(await ringFrontDesk({ calls: () => undefined, log }, "203", call), "error: no call engine");
  const broken = { originate: () => Promise.reject(new RangeError("originate: 203 is not registered")) };
  eq(
    await ringFrontDesk({ calls: () => broken as unknown as Calls, log }, "203", call),
    "error: originate: 203 is not registered",
  );
});
