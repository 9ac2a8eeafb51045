/**
 * Delayed offer (an INVITE without SDP, RFC 3261 13.2.1) through the real appliance: the box offers
 * the callee its own codecs, then offers the caller in its 200, and the caller's ACK carries the
 * answer. The caller is sipp (tests/sipp/uac_delayed_offer*.xml); the callee is sipp for SIP plus a
 * Deno RtpPeer for media, so the test sees exactly what the box relayed.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { runSipp, type SippRun, startSipp } from "../_harness/mod.ts";
import { RtpPeer, uasScenario } from "../media/_support.ts";
import { assertOk, call, cdrs, EXT, type Pbx, phone, register, startPbx, withLogs } from "./_setup.ts";

/** A callee that is sipp (answering with `codecs`) plus an RtpPeer for its media, registered as 202. */
async function rtpCallee(pbx: Pbx, codecs: string[], fmtp: string[] = []) {
  assertOk(
    await runSipp({ scenario: "unregister.xml", target: pbx.target, user: "202", password: EXT["202"] }),
    "unregister",
  );
  const peer = await RtpPeer.open();
  const dir = await Deno.makeTempDir({ prefix: "delayed-offer-uas-" });
  let uas: SippRun | undefined;
  try {
    await Deno.writeTextFile(`${dir}/uas.xml`, uasScenario(codecs, fmtp));
    uas = await startSipp({
      scenario: `${dir}/uas.xml`,
      keys: { rtp_port: String(peer.port) },
      timeoutSec: 40,
    });
    assertOk(await register(pbx, "202", uas.localPort), "register 202");
  } catch (e) {
    await uas?.stop();
    await peer.close();
    await Deno.remove(dir, { recursive: true });
    throw e;
  }
  const sipp = uas;
  return {
    peer,
    uas: sipp,
    async [Symbol.asyncDispose]() {
      await peer.close();
      await sipp.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A payload no codec frame in the test pcap looks like, to recognise the callee's own audio coming back. */
const MARK = new Uint8Array(160).fill(0x5a);

/**
 * Once the callee hears the box, it answers toward where the box sends from (symmetric RTP) with
 * MARK frames, until `stop()`.
 */
function talkBack(peer: RtpPeer, pt: number): { stop(): void } {
  const timer = setInterval(() => {
    const from = peer.received.find((p) => p.header.payloadType !== pt || !same(p.payload, MARK))?.from;
    if (from !== undefined) peer.send(from, pt, MARK, 160);
  }, 20);
  return { stop: () => clearInterval(timer) };
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

Deno.test("delayed-offer calls through the box", async (t) => {
  const pbx = await startPbx();
  try {
    await t.step(
      "INVITE without SDP: the box offers both sides, the ACK answer connects media both ways",
      withLogs(pbx, async () => {
        // The callee lists PCMU before PCMA; the caller answers PCMA: no transcoding is needed.
        await using callee = await rtpCallee(pbx, ["0 PCMU/8000", "8 PCMA/8000"]);
        const back = talkBack(callee.peer, 8);
        let r;
        try {
          // -rtp_echo: the caller returns what it hears, so the callee's frames come back to it.
          r = await runSipp({
            scenario: "uac_delayed_offer.xml",
            target: pbx.target,
            user: "201",
            password: EXT["201"],
            service: "202",
            args: ["-rtp_echo"],
          });
        } finally {
          back.stop();
        }
        assertOk(r, "caller");
        const uas = await callee.uas.done;
        assertOk(uas, "callee");
        const invite = uas.messages.split("-----").find((m) => m.includes("INVITE sip:"));
        ok(invite !== undefined && /m=audio \d+ RTP\/AVP/.test(invite), "the callee got the box's offer");
        ok(/o=pbx /.test(invite!), "the offer is the box's own");
        const caller = r.messages.split("-----").find((m) => /SIP\/2\.0 200 OK[\s\S]*CSeq: 2 INVITE/.test(m));
        ok(
          caller !== undefined && /m=audio \d+ RTP\/AVP 0 8/.test(caller),
          "the caller's offer leads with B's codecs",
        );
        const received = callee.peer.received;
        const fromCaller = received.filter((p) => p.header.payloadType === 8 && !same(p.payload, MARK));
        ok(fromCaller.length > 50, `the callee got ${fromCaller.length} PCMA packets of the caller's audio`);
        ok(received.every((p) => p.header.payloadType === 8), "pass-through: PCMA only, no transcoding");
        const echoed = received.filter((p) => same(p.payload, MARK));
        ok(
          echoed.length > 10,
          `the callee's audio reached the caller and came back (${echoed.length} packets)`,
        );
        const [rec] = await cdrs(pbx, 1);
        eq([rec?.caller, rec?.callee, rec?.disposition, rec?.hangupBy, rec?.sipCode], [
          "201",
          "202",
          "answered",
          "caller",
          200,
        ]);
        ok(rec!.billsecMs > 0, `billsec ${rec!.billsecMs}`);
        ok(!/transcoding/.test(pbx.app.logs()), "no transcoding was planned");
      }),
    );

    await t.step(
      "an ACK without an answer to the box's offer ends the call: BYE to both sides, a failed CDR",
      withLogs(pbx, async () => {
        await using uas = await phone(pbx, "202", "uas_answer.xml");
        assertOk(await call(pbx, "201", "202", "uac_delayed_offer_no_answer.xml"), "caller got a BYE");
        assertOk(await uas.done, "callee got a BYE");
        const [rec] = await cdrs(pbx, 2);
        eq([rec?.disposition, rec?.hangupBy, rec?.sipCode, rec?.billsecMs], ["failed", "system", 488, 0]);
        ok(/delayed offer: no usable answer/.test(pbx.app.logs()), "the box logged why");
      }),
    );

    await t.step(
      "the caller picks a codec the callee did not: the box transcodes (PCMA toward A, PCMU toward B)",
      withLogs(pbx, async () => {
        await using callee = await rtpCallee(pbx, ["0 PCMU/8000"]);
        assertOk(await call(pbx, "201", "202", "uac_delayed_offer.xml"), "caller");
        assertOk(await callee.uas.done, "callee");
        const pcmu = callee.peer.received.filter((p) => p.header.payloadType === 0);
        ok(
          pcmu.length > 50,
          `the callee got ${pcmu.length} PCMU packets (transcoded from the caller's PCMA)`,
        );
        ok(callee.peer.received.every((p) => p.header.payloadType === 0), "the callee got only PCMU");
        ok(/transcoding .*a=PCMA\/8000 b=PCMU\/8000/.test(pbx.app.logs()), "the box planned PCMA <-> PCMU");
        const [rec] = await cdrs(pbx, 3);
        eq([rec?.disposition, rec?.hangupBy], ["answered", "caller"]);
      }),
    );

    await t.step(
      "busy, cancel and hold/resume work for delayed-offer calls as for others",
      withLogs(pbx, async () => {
        {
          await using uas = await phone(pbx, "202", "uas_busy.xml");
          assertOk(await call(pbx, "201", "202", "uac_delayed_offer_busy.xml"), "busy caller");
          assertOk(await uas.done, "busy callee");
          const [rec] = await cdrs(pbx, 4);
          eq([rec?.disposition, rec?.sipCode], ["busy", 486]);
        }
        {
          await using uas = await phone(pbx, "202", "uas_ring_no_answer.xml");
          assertOk(await call(pbx, "201", "202", "uac_delayed_offer_cancel.xml"), "cancelling caller");
          assertOk(await uas.done, "cancelled callee");
          const [rec] = await cdrs(pbx, 5);
          eq([rec?.disposition, rec?.hangupBy, rec?.sipCode], ["cancelled", "caller", 487]);
        }
        {
          await using uas = await phone(pbx, "202", "uas_hold.xml");
          assertOk(await call(pbx, "201", "202", "uac_delayed_offer_hold.xml"), "holding caller");
          assertOk(await uas.done, "callee saw a=sendonly then a=sendrecv");
          const [rec] = await cdrs(pbx, 6);
          eq([rec?.disposition, rec?.hangupBy], ["answered", "caller"]);
        }
      }),
    );
  } finally {
    await pbx.app.stop();
  }
});
