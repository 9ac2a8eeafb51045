/**
 * Two real softphones (baresip) register to the box with digest auth and call each other; each
 * plays its own test signal from a WAV, and what each one hears must be the other's signal
 * (correlation), not silence, with the RTP anchored at the box.
 */
import { ok } from "node:assert";
import { correlate, hasBinary, readWav, startBaresip, toMono } from "../_harness/mod.ts";
import { EXT, startPbx, withLogs } from "./_setup.ts";

Deno.test({
  name: "two baresip phones register and call each other through the box, audio arrives both ways",
  ignore: !hasBinary("baresip"),
  async fn() {
    const pbx = await startPbx();
    try {
      await withLogs(pbx, async () => {
        await using b = await startBaresip({
          user: "202",
          password: EXT["202"],
          sipPort: pbx.app.sipPort,
          codecs: ["PCMU"],
        });
        await using a = await startBaresip({
          user: "201",
          password: EXT["201"],
          sipPort: pbx.app.sipPort,
          codecs: ["PCMU"],
        });
        await a.registered();
        await b.registered();
        const regs = await pbx.api.get<{ items: { extension: string; userAgent?: string }[] }>(
          "/api/registrations",
        );
        ok(regs.items.some((r) => r.extension === "201") && regs.items.some((r) => r.extension === "202"));

        await a.dial(`sip:202@127.0.0.1:${pbx.app.sipPort}`);
        await b.waitForEvent("CALL_ESTABLISHED", 10_000);
        await new Promise((r) => setTimeout(r, 3000));
        await a.hangup();
        await b.waitForEvent("CALL_CLOSED", 10_000);
        await a.stop();
        await b.stop();

        const aSent = toMono(await readWav((await a.recordings()).sent[0]!));
        const aHeard = toMono(await readWav((await a.recordings()).received[0]!));
        const bSent = toMono(await readWav((await b.recordings()).sent[0]!));
        const bHeard = toMono(await readWav((await b.recordings()).received[0]!));
        // 1 s of what each sent, found in what the other heard.
        const aToB = correlate(aSent.subarray(8000, 16000), bHeard).maxCorr;
        const bToA = correlate(bSent.subarray(8000, 16000), aHeard).maxCorr;
        ok(aToB > 0.9, `202 hears 201: correlation ${aToB.toFixed(3)}`);
        ok(bToA > 0.9, `201 hears 202: correlation ${bToA.toFixed(3)}`);
        // The two signals differ (rising vs falling chirp), so this is not an echo of oneself.
        ok(correlate(aSent.subarray(8000, 16000), aHeard).maxCorr < 0.5, "201 does not hear itself");

        const { items } = await pbx.api.get<{ items: { disposition: string; billsecMs: number }[] }>(
          "/api/cdr",
        );
        ok(items[0]?.disposition === "answered" && items[0].billsecMs > 2000, JSON.stringify(items[0]));
      })();
    } finally {
      await pbx.app.stop();
    }
  },
});
