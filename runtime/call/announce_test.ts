import { deepStrictEqual as eq } from "node:assert";
import { VirtualClock } from "../clock/mod.ts";
import { announcementLeg } from "./announce.ts";

Deno.test("an announcement leg feeds its audio in 20 ms frames on the clock once answered, then hangs up", async () => {
  const clock = new VirtualClock();
  const pcm = new Int16Array(16000).map((_, i) => i % 100); // 1 s at 16 kHz
  const leg = announcementLeg({ caller: "700", dialled: "802", pcm, sampleRate: 16000, clock });
  const frames: number[] = [];
  const events: string[] = [];
  leg.onAudio((f, rate) => frames.push(f.length, rate));
  leg.on((ev) => events.push(ev.type));
  eq(leg.info.caller, "700");
  leg.answer();
  eq(await leg.outcome, { answered: true });
  clock.advance(0);
  // 60 ms ahead of the clock: three frames at once, then one per 20 ms.
  eq(frames.length / 2, 3);
  clock.advance(200);
  eq(frames.length / 2, 13);
  for (let i = 0; i < 60; i++) clock.advance(20);
  eq(frames.length / 2, 50, "every sample delivered once");
  eq(frames.filter((_, i) => i % 2 === 0).reduce((a, b) => a + b, 0), 16000);
  eq(frames[1], 16000);
  eq(events, ["hangup"]);
  eq(await leg.ended, "caller");
});

Deno.test("an announcement leg the application refuses reports the status; playing to it rejects", async () => {
  const leg = announcementLeg({
    caller: "700",
    dialled: "802",
    pcm: new Int16Array(320),
    sampleRate: 16000,
    clock: new VirtualClock(),
  });
  leg.reject(486, "Busy Here (zone in use)");
  eq(await leg.outcome, { answered: false, status: 486, reason: "Busy Here (zone in use)" });
  eq(await leg.ended, "system");
  eq(await leg.play({ silenceMs: 20 }).then(() => "played", () => "rejected"), "rejected");
});
