/**
 * Park and page through the real appliance: with the park lot's paging zone set to 802 (ALSA's
 * `file` plugin over `null` as a 4-channel DAC, zone 802 on channel 2), 201 blind-transfers 202 to
 * the park number; the box parks 202 in 701 and says "call parked on seven zero one" on the zone
 * through the paging application. The DAC file must hold that announcement on channel 2 only:
 * speech for about the announcement's length (the box logs it), whose loudness envelope matches
 * the same prompts synthesised here (correlation), the other channels silent. Bad
 * settings (an unknown zone, a slot count out of range) are refused with 404/400.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { available as alsaAvailable } from "../../drivers/alsa/mod.ts";
import { runSipp } from "../_harness/mod.ts";
import { DAC_RATE, makeDac } from "./_dac.ts";
import { assertOk, EXT, phone, startPbx, withLogs } from "../sip/_setup.ts";
import { PromptLibrary } from "../../runtime/media/prompts/mod.ts";

/** RMS per 10 ms block. */
function envelope(x: Int16Array, rate: number): Float64Array {
  const n = rate / 100;
  const out = new Float64Array(Math.floor(x.length / n));
  for (let b = 0; b < out.length; b++) out[b] = rms(x.subarray(b * n, (b + 1) * n));
  return out;
}

/** The best normalised correlation of `b` inside `a` over every lag (envelopes, so gain and AGC drop out). */
function bestCorrelation(a: Float64Array, b: Float64Array): number {
  const norm = (v: Float64Array) => {
    const m = v.reduce((s, x) => s + x, 0) / v.length;
    return v.map((x) => x - m);
  };
  const bb = norm(b);
  const eb = Math.sqrt(bb.reduce((s, x) => s + x * x, 0));
  let best = 0;
  for (let lag = 0; lag + b.length <= a.length; lag++) {
    const win = norm(a.subarray(lag, lag + b.length));
    const ea = Math.sqrt(win.reduce((s, x) => s + x * x, 0));
    if (ea === 0) continue;
    let dot = 0;
    for (let i = 0; i < b.length; i++) dot += win[i]! * bb[i]!;
    best = Math.max(best, dot / (ea * eb));
  }
  return best;
}

function rms(x: Int16Array): number {
  let e = 0;
  for (const v of x) e += v * v;
  return Math.sqrt(e / Math.max(1, x.length));
}

Deno.test({
  name: "park and page: the parked slot is announced on the lot's paging zone (ALSA file output)",
  ignore: !alsaAvailable(),
  async fn() {
    const dac = await makeDac("pbx-park-page-e2e-");
    const pbx = await startPbx(dac.env);
    try {
      await withLogs(pbx, async () => {
        await pbx.api.post("/api/paging/zones", {
          number: "802",
          name: "Warehouse",
          alsaDevice: "zone2",
          channels: [1],
        });
        // Bad input first: not a paging zone (404), a slot count out of range (400).
        const bad = await pbx.api.request("PUT", "/api/park/settings", { pageZone: "203" });
        eq(bad.status, 404, JSON.stringify(bad.body));
        ok(/pageZone: 203 is not a paging zone/.test(JSON.stringify(bad.body)));
        eq((await pbx.api.request("PUT", "/api/park/settings", { slots: 0 })).status, 400);
        const saved = await pbx.api.put<{ pageZone: string }>("/api/park/settings", { pageZone: "802" });
        eq(saved.pageZone, "802");

        await using _parked = await phone(pbx, "202", "uas_answer.xml");
        assertOk(
          await runSipp({
            scenario: "uac_refer_blind.xml",
            target: pbx.target,
            user: "201",
            password: EXT["201"],
            service: "202",
            keys: { refer_to: "700" },
            timeoutSec: 40,
          }),
          "transferor: 202, NOTIFY 100/200, BYE",
        );
        await pbx.app.waitForLog(/call parked slot=701 caller=202 parker=201/, 10_000);
        const started = await pbx.app.waitForLog(/park page started slot=701 zone=802 ms=(\d+)/, 20_000);
        const ms = Number(started[1]);
        ok(ms > 800, `the announcement is ${ms} ms`);
        await pbx.app.waitForLog(/page ended/, 30_000);
        ok(/page started .*origin=park:701/.test(pbx.app.logs()), "the page is the park's own");

        const ch = await dac.channels();
        for (const c of [0, 2, 3]) eq(rms(ch[c]!), 0, `channel ${c + 1} must stay silent`);
        const zone = ch[1]!;
        // 20 ms blocks with speech in them, and where the speech starts and ends.
        const block = DAC_RATE / 50;
        let loud = 0, first = -1, last = -1;
        for (let b = 0; (b + 1) * block <= zone.length; b++) {
          if (rms(zone.subarray(b * block, (b + 1) * block)) > 150) {
            loud++;
            if (first < 0) first = b;
            last = b;
          }
        }
        const spanMs = (last - first + 1) * 20;
        ok(first >= 0, "the zone got audio");
        ok(loud * 20 > ms * 0.3, `${loud * 20} ms of speech for a ${ms} ms announcement`);
        ok(spanMs > ms * 0.6 && spanMs < ms + 500, `speech spans ${spanMs} ms, the announcement ${ms} ms`);
        // The same words from the box's prompt library (text-to-speech of the default texts).
        const lib = new PromptLibrary(dac.dir);
        const parts = await Promise.all(
          ["park-parked-on", "digit-7", "digit-0", "digit-1"].map((id) => lib.get(id)),
        );
        const gap = new Int16Array(1600);
        const expected = new Int16Array(parts.reduce((n, p) => n + p.rate16.length + gap.length, 0));
        let at = 0;
        for (const p of parts) {
          expected.set(p.rate16, at);
          at += p.rate16.length + gap.length;
        }
        // The expected words without their leading and trailing silence, found anywhere in the zone's output.
        const trimmed = (x: Int16Array) => {
          const e = envelope(x, 16000);
          const loudest = Math.max(...e);
          const first = e.findIndex((v) => v > loudest * 0.02);
          const last = e.length - 1 - [...e].reverse().findIndex((v) => v > loudest * 0.02);
          return e.subarray(first, last + 1);
        };
        const heard = envelope(zone, DAC_RATE);
        const c = bestCorrelation(heard, trimmed(expected));
        // A control: other words of about that length match clearly worse.
        const other = bestCorrelation(heard, trimmed((await lib.get("transfer-hold")).rate16));
        ok(
          c > 0.7,
          `the zone's envelope matches "call parked on seven zero one" (correlation ${c.toFixed(2)})`,
        );
        ok(other < c - 0.15, `the control matches ${other.toFixed(2)}, the announcement ${c.toFixed(2)}`);
      })();
    } finally {
      await pbx.app.stop();
      await dac.remove();
    }
  },
});
