/**
 * E911 pages the configured zone at once: 9911 from an extension without outside permission goes
 * out of a peer trunk (a sipp far end), and the zone's ALSA output (the `file` plugin DAC of the
 * paging tests) plays the announcement (pre-tone, then the spoken caller and location) while the
 * call proceeds.
 */
import { ok } from "node:assert";
import { available as alsaAvailable } from "../../drivers/alsa/mod.ts";
import { available as ttsAvailable } from "../../drivers/tts/mod.ts";
import { describeSipp, hasBinary, rms, startSipp } from "../_harness/mod.ts";
import { makeDac } from "../paging/_dac.ts";
import { assertOk, call, startPbx, withLogs } from "../sip/_setup.ts";

Deno.test({
  name: "E911: the front-desk zone is paged with the location spoken while 9911 reaches the carrier",
  ignore: !alsaAvailable() || !ttsAvailable() || !hasBinary("sipp"),
  async fn() {
    const dac = await makeDac("pbx-e911-page-");
    const pbx = await startPbx(dac.env);
    const far = await startSipp({ scenario: "uas_answer.xml", calls: 1, timeoutSec: 60 });
    try {
      await withLogs(pbx, async () => {
        await pbx.api.post("/api/paging/zones", {
          number: "802",
          name: "Front desk",
          alsaDevice: "zone2",
          channels: [1],
          leadMs: 50,
          tailMs: 50,
        });
        await pbx.api.put("/api/trunks/carrier", {
          kind: "peer",
          host: "127.0.0.1",
          port: far.localPort,
          addresses: ["127.0.0.9"],
        });
        await pbx.api.put("/api/e911", { pageZone: "802" });
        await pbx.api.put("/api/outbound-permissions/202", { classes: [] });
        await pbx.api.put("/api/e911/locations/extension/202", {
          address: "100 Main St",
          floor: "2",
          room: "201",
        });
        assertOk(await call(pbx, "202", "9911", "uac_short_call.xml"), "9911");
        const r = await far.stop();
        ok(/INVITE sip:911@127\.0\.0\.1:\d+ SIP\/2\.0/.test(r.messages), describeSipp(r));
        // The announcement is a few seconds of speech after the pre-tone.
        // Wait until the page is over (the DAC file stops growing), then look at the spoken part.
        let zone: Int16Array = new Int16Array(0);
        for (let i = 0, still = 0; i < 150 && still < 5; i++) {
          await new Promise((res) => setTimeout(res, 200));
          const now = (await dac.channels().catch(() => [new Int16Array(0), new Int16Array(0)]))[1]!;
          still = now.length > 0 && now.length === zone.length ? still + 1 : 0;
          zone = now;
        }
        const seconds = zone.length / 48000;
        ok(seconds > 2, `${seconds.toFixed(1)} s on the zone`);
        const speech = zone.subarray(48000); // after the pre-tone
        ok(rms(speech) > 300, `the zone hears the announcement (rms ${rms(speech).toFixed(0)})`);
        ok(/e911/.test(JSON.stringify(await pbx.api.get("/api/paging/log"))), "in the paging log");
      })();
    } finally {
      await far.stop().catch(() => {});
      await pbx.app.stop();
      await dac.remove();
    }
  },
});
