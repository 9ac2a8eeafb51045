/**
 * An Opus-only phone that offers only telephone-event/48000 (as linphonec does with only Opus)
 * calls through the real appliance: sipp (tests/sipp/uac_opus_te48_rtp_peer.xml) places the call
 * and fails unless the 200 answers telephone-event/48000; a Deno RtpPeer streams Opus and sends a
 * digit as RFC 4733 events at 48 kHz. The callee (sipp + RtpPeer) takes only PCMU with
 * telephone-event/8000, so the box transcodes and must deliver the digit at 8000 in the callee's
 * stream, its duration scaled.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { describeSipp, hasBinary, startAppliance } from "../_harness/mod.ts";
import { decodeTelephoneEvent, encodeTelephoneEvent } from "../../runtime/media/rtp/rtp.ts";
import {
  APP_ENV,
  codecAvailable,
  openCodec,
  rtpCallee,
  rtpCaller,
  setupExtensions,
  sleep,
  telephoneEvents,
  withAppLog,
} from "./_support.ts";

Deno.test({
  name:
    "an Opus-only caller offering telephone-event/48000 gets it answered and its digit reaches a PCMU callee",
  ignore: !hasBinary("sipp") || !codecAvailable("opus", 48000),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using app = await startAppliance({ env: APP_ENV });
    await withAppLog(app, async () => {
      await setupExtensions(app, ["1001", "1002"]);
      await using callee = await rtpCallee(app, "1002", ["0 PCMU/8000", "101 telephone-event/8000"], [
        "101 0-16",
      ]);
      await using call = await rtpCaller(app, {
        scenario: "uac_opus_te48_rtp_peer.xml",
        user: "1001",
        service: "1002",
      });
      const { sipp, peer: caller, boxPort } = call;
      const tePt = await call.printed("BOX_TE48_PT"); // the 200 answered telephone-event/48000
      assertEquals(tePt, 110);
      const dest = () => ({ address: "127.0.0.1", port: boxPort });
      const opus = openCodec("opus", 48000);
      const pcm = new Int16Array(48000 * 2).map((_, i) => Math.round(3000 * Math.sin(i / 20)));
      const streaming = caller.stream(dest, opus, 111, pcm);
      await sleep(700);
      // Digit 4 for 100 ms at 48 kHz (4800 ticks): start, updates, three end packets.
      const ts = caller.timestamp;
      const p = new Uint8Array(4);
      for (let step = 1; step <= 5; step++) {
        const end = step === 5;
        encodeTelephoneEvent({ event: 4, end, volume: 10, duration: Math.min(step * 960, 4800) }, p);
        for (let k = 0; k < (end ? 3 : 1); k++) {
          caller.send(dest(), 110, p, 0, { timestamp: ts, marker: step === 1 });
        }
        await sleep(20);
      }
      await streaming;
      opus.close();
      await app.waitForLog(/dtmf .*digit="?4"? source=rfc4733/, 5000).catch(() => {});
      const result = await sipp.done;
      assert(result.ok, `the call failed: ${describeSipp(result)}`);
      await sleep(100);
      assertEquals(telephoneEvents(callee.peer.received, 101), ["4"]);
      const last = callee.peer.received.filter((x) => x.header.payloadType === 101).at(-1)!;
      assertEquals(decodeTelephoneEvent(last.payload)!.duration, 800); // 100 ms at 8000
      const audio = callee.peer.received.find((x) => x.header.payloadType === 0)!;
      assertEquals(last.header.ssrc, audio.header.ssrc, "the event is in the callee's audio stream");
    });
  },
});
