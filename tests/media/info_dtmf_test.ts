/**
 * SIP INFO DTMF through the real appliance: a sipp caller (tests/sipp/uac_info_dtmf.xml) sends
 * in-dialog INFOs (application/dtmf-relay and application/dtmf) while it plays PCMA audio; the callee
 * is sipp for SIP and a Deno RtpPeer for media, so the test sees exactly what the box sent it.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import {
  describeSipp,
  hasBinary,
  runSipp,
  type SippResult,
  startAppliance,
  startBaresip,
} from "../_harness/mod.ts";
import { DtmfDetector } from "../../runtime/media/dtmf/mod.ts";
import {
  APP_ENV,
  decodeStream,
  openCodec,
  pw,
  type ReceivedRtp,
  registerFor,
  rtpCallee,
  setupExtensions,
  sleep,
  telephoneEvents,
  withAppLog,
} from "./_support.ts";

const HAVE_SIPP = hasBinary("sipp");

interface InfoCall {
  call: SippResult;
  received: ReceivedRtp[];
  log: string;
}

/** 1001 (uac_info_dtmf.xml) calls 1002 (sipp + RtpPeer answering `codecs`). */
async function infoCall(codecs: string[], fmtp: string[] = []): Promise<InfoCall> {
  await using app = await startAppliance({ env: APP_ENV });
  return await withAppLog(app, async () => {
    await setupExtensions(app, ["1001", "1002"]);
    await using callee = await rtpCallee(app, "1002", codecs, fmtp);
    const call = await runSipp({
      scenario: "uac_info_dtmf.xml",
      target: `127.0.0.1:${app.sipPort}`,
      user: "1001",
      password: pw("1001"),
      service: "1002",
    });
    assert(call.ok, `the INFO call failed: ${describeSipp(call)}`);
    await sleep(200); // the last RFC 4733 end packets
    return { call, received: [...callee.peer.received], log: app.logs() };
  });
}

Deno.test({
  name: "SIP INFO digits 5 (dtmf-relay) and 7 (dtmf) get 200 and reach a telephone-event callee as RFC 4733",
  ignore: !HAVE_SIPP,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // The callee names its own event payload type (96): the box must use it, not the caller's 101.
    const r = await infoCall(["8 PCMA/8000", "96 telephone-event/8000"], ["96 0-16"]);
    assertEquals(telephoneEvents(r.received, 96), ["5", "7"]);
    assert(/dtmf .*side=a digit=5 source=info sent=rfc4733/.test(r.log), "the box logged INFO digit 5");
    assert(/dtmf .*side=a digit=7 source=info sent=rfc4733/.test(r.log), "the box logged INFO digit 7");
  },
});

Deno.test({
  name: "SIP INFO digits reach a callee without telephone-event as in-band tones in its PCMA audio",
  ignore: !HAVE_SIPP,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const r = await infoCall(["8 PCMA/8000"]);
    assert(r.received.every((p) => p.header.payloadType === 8), "the callee got only PCMA (PT 8)");
    const dec = openCodec("PCMA", 8000);
    const heard = decodeStream(r.received, 8, dec);
    dec.close();
    assert(heard.length > 8000 * 3, `the callee heard ${heard.length} samples of audio`);
    assertEquals(new DtmfDetector().process(heard), ["5", "7"]);
    assert(
      /dtmf .*side=a digit=5 source=info sent=inband/.test(r.log),
      "the box logged INFO digit 5 as tones",
    );
  },
});

Deno.test({
  name: "SIP INFO with a dtmf-relay body naming no digit gets 400 and the call goes on",
  ignore: !HAVE_SIPP,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const r = await infoCall(["8 PCMA/8000", "101 telephone-event/8000"], ["101 0-16"]);
    // The scenario expects 200, 400, 200 to its three INFOs and 200 to its BYE (call.ok above).
    const responses = [
      ...r.call.messages.matchAll(/SIP\/2\.0 (\d{3})[^\n]*\n(?:[^\n]+\n)*?CSeq: *(\d+) INFO/gi),
    ]
      .map((m) => `${m[2]}:${m[1]}`);
    assertEquals([...new Set(responses)], ["3:200", "4:400", "5:200"]);
    assert(/dtmf .*digit=Q/.test(r.log) === false, "no digit logged for the bad INFO");
    // The digit after the rejected INFO still arrived.
    assertEquals(telephoneEvents(r.received, 101), ["5", "7"]);
  },
});

Deno.test({
  name:
    "SIP INFO digits from a sipp caller reach a baresip callee as RFC 4733 in the relayed stream (baresip logs them)",
  ignore: !HAVE_SIPP || !hasBinary("baresip"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using app = await startAppliance({ env: APP_ENV });
    await withAppLog(app, async () => {
      await setupExtensions(app, ["1001", "1002"]);
      // PCMA like the caller: the box relays the caller's stream and puts the events into it.
      await using b = await startBaresip({ user: "1002", codecs: ["PCMA"] });
      await registerFor(app, "1002", b.localSipPort);
      const call = await runSipp({
        scenario: "uac_info_dtmf.xml",
        target: `127.0.0.1:${app.sipPort}`,
        user: "1001",
        password: pw("1001"),
        service: "1002",
      });
      assert(call.ok, `the INFO call failed: ${describeSipp(call)}`);
      await b.waitForEvent("CALL_CLOSED", 10_000);
      const starts = b.events().filter((e) => e.type === "CALL_DTMF_START");
      const log = b.logs();
      assert(
        starts.length >= 2 || /DTMF/i.test(log),
        `baresip saw no DTMF: ${b.events().map((e) => e.type).join(",")}`,
      );
      assert(!/SSRC changed/i.test(log), "baresip logged an SSRC change");
      const digits = starts.map((e) => String((e as unknown as Record<string, unknown>).param ?? ""));
      assertEquals(digits.map((d) => d.trim()), ["5", "7"]);
    });
  },
});
