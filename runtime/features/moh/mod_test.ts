import { deepStrictEqual as eq, ok, throws } from "node:assert";
import { createMusicOnHold, defaultMelody } from "./mod.ts";
import { createLogger } from "../../log/mod.ts";

const log = createLogger("test", { level: "error", sink: () => {} });

Deno.test("the default melody is audible, not clipped, and about 6.7 s at any rate", () => {
  for (const rate of [8000, 16000, 48000]) {
    const m = defaultMelody(rate);
    ok(Math.abs(m.length / rate - 6.72) < 0.01, `${m.length / rate} s`);
    let peak = 0, energy = 0;
    for (const s of m) {
      peak = Math.max(peak, Math.abs(s));
      energy += s * s;
    }
    ok(peak > 3000 && peak < 32767, `peak ${peak}`);
    ok(Math.sqrt(energy / m.length) > 500, "not silence");
  }
  throws(() => defaultMelody(7999), RangeError);
});

Deno.test("hold loops the music into the held leg until resume; wideband waits for the codec player", async () => {
  const plays: string[] = [];
  const stops: string[] = [];
  let release: (() => void) | undefined;
  const moh = createMusicOnHold({
    log,
    media: {
      playPcm: (legId) => {
        plays.push(legId);
        return new Promise((r) => (release = () => r(undefined)));
      },
      stopPlay: (legId) => {
        stops.push(legId);
        release?.();
        return Promise.resolve(true);
      },
    },
  });
  moh.held({ callId: "c", legId: "leg2", codec: "PCMU/8000" });
  moh.held({ callId: "c", legId: "leg2", codec: "PCMU/8000" }); // a repeated hold re-INVITE
  eq(plays, ["leg2"]);
  release!(); // the loop ends: it starts again
  await new Promise((r) => setTimeout(r, 0));
  eq(plays, ["leg2", "leg2"]);
  await moh.resumed({ callId: "c", legId: "leg2" });
  await new Promise((r) => setTimeout(r, 0));
  eq([plays.length, stops], [2, ["leg2"]]);
  eq(moh.playing.size, 0);
  moh.held({ callId: "d", legId: "leg9", codec: "opus/48000" });
  eq(moh.playing.size, 0, "no G.711 music into an Opus leg");
});
