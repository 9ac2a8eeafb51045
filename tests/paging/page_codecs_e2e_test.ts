/**
 * Wideband pages through the real appliance: a baresip phone that offers only Opus (and one that
 * offers only G.722) dials the zone number; the box answers in that codec, decodes it in the media
 * worker's tap and plays it on channel 2 of a 4-channel DAC (ALSA `file` plugin over `null`) at
 * 48 kHz. The file must hold the phone's chirp on channel 2 (correlated against the WAV it sent,
 * resampled to 48 kHz) and nothing on the other channels.
 */
import { ok } from "node:assert";
import { available as alsaAvailable } from "../../drivers/alsa/mod.ts";
import { DAC_RATE, makeDac } from "./_dac.ts";
import { Resampler } from "../../runtime/media/codec/mod.ts";
import { correlate, hasBinary, readWav, startBaresip, toMono } from "../_harness/mod.ts";
import { EXT, startPbx, withLogs } from "../sip/_setup.ts";

function resample(x: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return x;
  const r = new Resampler(from, to);
  try {
    const out = new Int16Array(r.maxOutput(x.length));
    return out.slice(0, r.process(x, out));
  } finally {
    r.close();
  }
}

function energy(x: Int16Array): number {
  let e = 0;
  for (const v of x) e += v * v;
  return e;
}

for (const [codec, label] of [["opus/48000/2", "opus/48000"], ["G722", "G722/8000"]] as const) {
  Deno.test({
    name: `a phone offering only ${codec} pages zone 802: its chirp plays on channel 2 at 48 kHz`,
    ignore: !alsaAvailable() || !hasBinary("baresip"),
    async fn() {
      const dac = await makeDac("pbx-page-codec-");
      const pbx = await startPbx(dac.env);
      try {
        await withLogs(pbx, async () => {
          await pbx.api.post("/api/paging/zones", {
            number: "802",
            name: "Warehouse",
            alsaDevice: "zone2",
            channels: [1],
          });
          await pbx.api.put("/api/paging/permissions/201", { targets: ["802"] });
          await using a = await startBaresip({
            user: "201",
            password: EXT["201"],
            sipPort: pbx.app.sipPort,
            codecs: [codec],
          });
          await a.registered();
          await a.dial(`sip:802@127.0.0.1:${pbx.app.sipPort}`);
          await a.waitForEvent("CALL_ESTABLISHED", 10_000);
          await new Promise((r) => setTimeout(r, 3000));
          await a.hangup();
          await a.waitForEvent("CALL_CLOSED", 10_000);
          await pbx.app.waitForLog(/page ended/, 10_000);

          const logs = pbx.app.logs();
          ok(logs.includes(`codec=${label}`), `the box answered in ${label}`);
          ok(
            /page first audio written .*msFromInvite=/.test(logs),
            "the latency probe logged the first frame",
          );

          const ch = await dac.channels();

          const frames = ch[0]!.length;
          ok(frames > DAC_RATE * 2, `${(frames / DAC_RATE).toFixed(2)} s written`);
          for (const c of [0, 2, 3]) ok(energy(ch[c]!) === 0, `channel ${c + 1} stays silent`);

          const sentWav = await readWav(a.playWav);
          // The call lasted ~3 s from the start of the phone's 60 s WAV: 6 s is plenty to search.
          const sent = resample(
            toMono(sentWav).subarray(0, sentWav.sampleRate * 6),
            sentWav.sampleRate,
            DAC_RATE,
          );
          // Each 100 ms of channel 2 is searched for in the chirp the phone sent. Loopback on a busy
          // 2-core machine delivers RTP in bursts (gaps up to ~130 ms were seen), which the live queue
          // bounds by dropping audio: some windows straddle such a cut, most must match cleanly.
          const zone = ch[1]!;
          let start = 0;
          while (start < frames && zone[start] === 0) start++;
          const win = DAC_RATE / 10;
          const scores: number[] = [];
          for (let w = start + 2 * win; w + win <= frames - win; w += win) {
            const { maxCorr } = correlate(zone.subarray(w, w + win), sent, {
              maxLagSamples: sent.length,
              minOverlap: win,
            });
            scores.push(maxCorr);
          }
          const clean = scores.filter((c) => c > 0.9).length;
          ok(scores.length >= 15, `${scores.length} windows of audio on channel 2`);
          ok(
            clean >= scores.length * 0.4,
            `the chirp is on channel 2: ${clean}/${scores.length} windows correlate > 0.9 (${
              scores.map((c) => c.toFixed(2)).join(" ")
            })`,
          );
        })();
      } finally {
        await pbx.app.stop();
        await dac.remove();
      }
    },
  });
}
