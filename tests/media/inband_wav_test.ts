/**
 * In-band DTMF from a WAV file through the real appliance. The WAV (digits "159#" made with
 * runtime/media/dtmf generateDtmf, written with runtime/media/wav writeWav) is the caller's audio:
 * sipp places the call (tests/sipp/uac_pcmu_rtp_peer.xml, PCMU without telephone-event) and a Deno
 * RtpPeer streams the file in real time. The callee (sipp + RtpPeer) negotiated telephone-event, so
 * the box must hear the digits and send them to it as RFC 4733 events.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { describeSipp, hasBinary, startAppliance, startBaresip } from "../_harness/mod.ts";
import { generateDtmf } from "../../runtime/media/dtmf/mod.ts";
import { readWav, writeWav } from "../../runtime/media/wav/mod.ts";
import {
  APP_ENV,
  openCodec,
  pw,
  rtpCallee,
  rtpCaller,
  setupExtensions,
  sleep,
  telephoneEvents,
  withAppLog,
} from "./_support.ts";

const DIGITS = "159#";

/** A PCM16 8 kHz WAV: `leadSec` of silence, the digits (120 ms tone, 120 ms gap), `tailSec` of silence. */
function dtmfWav(leadSec = 0.4, tailSec = 0.6): Uint8Array {
  const tones = generateDtmf(DIGITS, { toneMs: 120, gapMs: 120 });
  const lead = Math.round(leadSec * 8000);
  const pcm = new Int16Array(lead + tones.length + Math.round(tailSec * 8000));
  pcm.set(tones, lead);
  return writeWav({ sampleRate: 8000, channels: 1 }, pcm);
}

Deno.test({
  name: "in-band DTMF from a WAV is detected by the box and reaches a telephone-event callee as RFC 4733",
  ignore: !hasBinary("sipp"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using app = await startAppliance({ env: APP_ENV });
    const dir = await Deno.makeTempDir({ prefix: "inband-wav-" });
    try {
      await withAppLog(app, async () => {
        await setupExtensions(app, ["1001", "1002"]);
        await using callee = await rtpCallee(app, "1002", ["0 PCMU/8000", "101 telephone-event/8000"], [
          "101 0-16",
        ]);
        const wavPath = `${dir}/digits.wav`;
        await Deno.writeFile(wavPath, dtmfWav());
        await using call = await rtpCaller(app, {
          scenario: "uac_pcmu_rtp_peer.xml",
          user: "1001",
          service: "1002",
        });
        const { sipp, peer: caller, boxPort } = call;
        const wav = readWav(await Deno.readFile(wavPath));
        assertEquals([wav.sampleRate, wav.channels], [8000, 1]);
        const pcmu = openCodec("PCMU", 8000);
        await caller.stream(() => ({ address: "127.0.0.1", port: boxPort }), pcmu, 0, wav.samples);
        pcmu.close();
        for (const d of DIGITS) {
          await app.waitForLog(new RegExp(`dtmf .*side=a digit="?${d}"? source=inband`), 5000);
        }
        const result = await sipp.done;
        assert(result.ok, `the call failed: ${describeSipp(result)}`);
        await sleep(100);
        assertEquals(telephoneEvents(callee.peer.received, 101), [...DIGITS]);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/**
 * Known gap (see the media-2 report): the worker listens for tones only on legs that negotiated no
 * telephone-event (runtime/media/relay/_worker.ts wantsInband), and baresip always offers it, so
 * these tones pass through as audio and no digit is seen. Run with PBX_KNOWN_GAPS=1 once fixed.
 */
Deno.test({
  name: "in-band DTMF in a WAV played by baresip (which offers telephone-event) is detected by the box",
  ignore: !hasBinary("sipp") || !hasBinary("baresip") || Deno.env.get("PBX_KNOWN_GAPS") !== "1",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using app = await startAppliance({ env: APP_ENV });
    const dir = await Deno.makeTempDir({ prefix: "inband-wav-" });
    try {
      await withAppLog(app, async () => {
        await setupExtensions(app, ["1001", "1002"]);
        await using callee = await rtpCallee(app, "1002", ["0 PCMU/8000", "101 telephone-event/8000"], [
          "101 0-16",
        ]);
        const wavPath = `${dir}/digits.wav`;
        // baresip 1.0 hangs up when aufile reaches the end of the file: keep the call up long enough.
        await Deno.writeFile(wavPath, dtmfWav(1.5, 8));
        await using a = await startBaresip({
          user: "1001",
          password: pw("1001"),
          codecs: ["PCMU"],
          playWav: wavPath,
        });
        await a.dial(`sip:1002@127.0.0.1:${app.sipPort}`);
        await a.waitForEvent("CALL_ESTABLISHED", 10_000);
        for (const d of DIGITS) {
          await app.waitForLog(new RegExp(`dtmf .*side=a digit="?${d}"? source=inband`), 5000);
        }
        await a.hangup();
        await a.waitForEvent("CALL_CLOSED", 10_000);
        assertEquals(telephoneEvents(callee.peer.received, 101), [...DIGITS]);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
