/**
 * Attended transfer by a real client nobody here wrote: linphonec (201) calls 202, holds it
 * (`pause`: the box passes the hold across and 202 hears music on hold), calls 203 (baresip), and
 * transfers the first call to the second (`transfer 1 --to-call 2`: REFER with Replaces). The box
 * joins 202 and 203 and takes 202 off hold (re-INVITE a=sendrecv); audio then flows both ways
 * between the two that remain: 202 is a sipp UAS with `-rtp_echo`, so 203's chirp travels
 * 203 -> box -> 202 -> box -> 203 and is found (windowed correlation) in what 203 decoded.
 *
 * Why not baresip as 202 (the held transferee): baresip 1.0.0 restarts its player on the hold
 * re-INVITE and does not set its decode filters up again, so its sndfile recording of received audio
 * stops there (reproduced without the box, baresip to baresip: hold/resume and the held side's
 * dump-*-dec.wav ends at the hold). That was the "held transferee decodes nothing" gap; what the
 * box sends the transferee after the join is 203's stream, checked here end to end.
 */
import { ok } from "node:assert";
import { hasBinary, readWav, startBaresip, startSipp, toMono } from "../_harness/mod.ts";
import { resampleLinear, sleep, windowedCorrelation } from "../media/_support.ts";
import { assertOk, EXT, register, startPbx, withLogs } from "./_setup.ts";
import { runSipp } from "../_harness/mod.ts";
import { linphonec } from "./_linphonec.ts";

Deno.test({
  name: "linphonec attended transfer: the box joins 202 and 203, audio flows both ways between them",
  ignore: !hasBinary("linphonec") || !hasBinary("baresip"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const pbx = await startPbx();
    try {
      await withLogs(pbx, async () => {
        // 202: answers, takes the hold (a=recvonly) and the resume, echoes every RTP packet back.
        assertOk(
          await runSipp({
            scenario: "unregister.xml",
            target: pbx.target,
            user: "202",
            password: EXT["202"],
          }),
          "unregister 202",
        );
        await using b = await startSipp({ scenario: "uas_hold.xml", timeoutSec: 60, args: ["-rtp_echo"] });
        assertOk(await register(pbx, "202", b.localPort), "register 202");
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
        await pbx.app.waitForLog(/resumed a held party after the transfer/, 10_000);
        await sleep(3000); // 203 talks to 202, which answers with what it hears
        await c.hangup();
        assertOk(await b.done, "202 was held, resumed after the transfer, and got BYE when 203 hung up");
        await c.stop();
        const at8k = async (path: string) => {
          const w = await readWav(path);
          return resampleLinear(toMono(w), w.sampleRate, 8000);
        };
        const rc = await c.recordings();
        // 203's one call (the consultation call, joined in place): its chirp back from 202.
        const roundTrip = windowedCorrelation(
          await at8k(rc.sent.at(-1)!),
          await at8k(rc.received.at(-1)!),
          8000,
        );
        console.log(`203 -> 202 -> 203 correlation ${roundTrip.toFixed(3)}`);
        ok(roundTrip > 0.6, `203 -> 202 -> 203 correlation ${roundTrip.toFixed(3)}`);
      })();
    } finally {
      await pbx.app.stop();
    }
  },
});
