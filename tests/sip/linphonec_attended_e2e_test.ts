/**
 * Attended transfer by a real client nobody here wrote: linphonec (201) calls 202 (baresip), holds
 * it (`pause`), calls 203 (baresip), and transfers the first call to the second (`transfer 1
 * --to-call 2`: REFER with Replaces). The box joins 202 and 203; 202's audio reaches 203 (windowed
 * correlation of its chirp in what 203 received) until 202 hangs up. The other direction is a known
 * gap, printed, not asserted (below).
 */
import { ok } from "node:assert";
import { hasBinary, readWav, startBaresip, toMono } from "../_harness/mod.ts";
import { resampleLinear, sleep, windowedCorrelation } from "../media/_support.ts";
import { register, startPbx, withLogs } from "./_setup.ts";
import { linphonec } from "./_linphonec.ts";

Deno.test({
  name: "linphonec attended transfer: the box joins 202 and 203 and 202 is heard at 203",
  ignore: !hasBinary("linphonec") || !hasBinary("baresip"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const pbx = await startPbx();
    try {
      await withLogs(pbx, async () => {
        await using b = await startBaresip({ user: "202", codecs: ["PCMU"] });
        await register(pbx, "202", b.localSipPort);
        await using c = await startBaresip({ user: "203", codecs: ["PCMU"] });
        await register(pbx, "203", c.localSipPort);
        const out = await linphonec(pbx, [
          [`call sip:202@${pbx.target}`, 3000],
          ["pause 1", 2000],
          [`call sip:203@${pbx.target}`, 3000],
          ["transfer 1 --to-call 2", 4000],
        ]);
        ok(/has been transfered/.test(out), out);
        await pbx.app.waitForLog(/attended transfer completed .*joined=203 transferor=201/, 10_000);
        await sleep(2000); // 202 and 203 talk
        await b.hangup();
        await c.waitForEvent("CALL_CLOSED", 10_000);
        await b.stop();
        await c.stop();
        const at8k = async (path: string) => {
          const w = await readWav(path);
          return resampleLinear(toMono(w), w.sampleRate, 8000);
        };
        const rb = await b.recordings();
        const rc = await c.recordings();
        // Each phone's last call: 202 had one (transferred in place), 203 one.
        const bToC = windowedCorrelation(await at8k(rb.sent.at(-1)!), await at8k(rc.received.at(-1)!), 8000);
        const cToB = windowedCorrelation(await at8k(rc.sent.at(-1)!), await at8k(rb.received.at(-1)!), 8000);
        ok(bToC > 0.6, `202 -> 203 correlation ${bToC.toFixed(3)}`);
        // KNOWN GAP: 202 (the transferee, held by linphonec with music on hold before the transfer)
        // decodes nothing in this flow, neither the music nor 203 after the join (baresip writes no
        // received audio at all); the sipp attended tests do not check media. Logged, not asserted,
        // until that is found (see the stop note).
        console.log(`203 -> 202 correlation ${cToB.toFixed(3)} (not asserted: known gap)`);
      })();
    } finally {
      await pbx.app.stop();
    }
  },
});
