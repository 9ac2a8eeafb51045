/**
 * What crosses the bridge (issue 19), with sipp on both sides: the SDP toward one phone is the box's
 * own session (no attribute of the other party), CANCELs to the other forks of an answered call carry
 * RFC 3326 Reason "Call completed elsewhere", a passed re-INVITE carries one Contact, and an offer
 * that requires SRTP gets 488 with a Warning saying why.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { assertOk, call, phone, register, startPbx, withLogs } from "./_setup.ts";
import { startSipp } from "../_harness/mod.ts";

/** The messages of a sipp log that are requests `method` the box sent to it. */
function received(messages: string, method: string): string[] {
  return messages.split("-----").filter((m) => new RegExp(`^\\s*${method} sip:`, "m").test(m));
}

Deno.test("what crosses the bridge: SDP, CANCEL reason, re-INVITE Contact, SRTP refusal", async (t) => {
  const pbx = await startPbx({ PBX_NO_ANSWER_SECONDS: "5" });
  try {
    await t.step(
      "an offer that requires SRTP (RTP/SAVP) gets 488 with a Warning",
      withLogs(pbx, async () => {
        await using _uas = await phone(pbx, "202", "uas_answer.xml", { timeoutSec: 10 });
        assertOk(await call(pbx, "201", "202", "uac_savp.xml"), "caller expecting 488 + Warning 302");
      }),
    );

    await t.step(
      "the callee's SDP carries none of the caller's attributes (topology hiding)",
      withLogs(pbx, async () => {
        await using uas = await phone(pbx, "202", "uas_answer.xml");
        assertOk(await call(pbx, "201", "202", "uac_call_chatty_sdp.xml"), "caller");
        const callee = await uas.done;
        const [invite] = received(callee.messages, "INVITE");
        ok(invite, "callee saw the INVITE");
        const sdp = invite!.slice(invite!.indexOf("v=0"));
        for (const leak of ["leaky", "a=ssrc", "a=label", "a=tool", "o=sipp"]) {
          ok(!sdp.includes(leak), `${leak} crossed the bridge:\n${sdp}`);
        }
        ok(/a=rtpmap:0 PCMU\/8000/.test(sdp), "codecs still cross");
      }),
    );

    await t.step(
      "a forked call answered on one contact cancels the other with Reason: Call completed elsewhere",
      withLogs(pbx, async () => {
        await using answering = await phone(pbx, "202", "uas_answer.xml");
        await using ringing = await startSipp({ scenario: "uas_ring_no_answer.xml", timeoutSec: 30 });
        assertOk(await register(pbx, "202", ringing.localPort), "second contact");
        assertOk(await call(pbx, "201", "202", "uac_short_call.xml"), "caller");
        assertOk(await answering.done, "answering contact");
        const other = await ringing.done;
        assertOk(other, "ringing contact got CANCEL");
        const [cancel] = received(other.messages, "CANCEL");
        ok(cancel, "the ringing contact saw a CANCEL");
        ok(
          /^\s*Reason: SIP;cause=200;text="Call completed elsewhere"/m.test(cancel!),
          `no Reason on the CANCEL:\n${cancel}`,
        );
      }),
    );

    await t.step(
      "a re-INVITE passed across carries exactly one Contact",
      withLogs(pbx, async () => {
        await using uas = await phone(pbx, "202", "uas_hold.xml");
        assertOk(await call(pbx, "201", "202", "uac_hold_resume.xml"), "caller");
        const callee = await uas.done;
        assertOk(callee, "callee");
        const invites = received(callee.messages, "INVITE");
        eq(invites.length, 3, "initial INVITE, hold, resume");
        for (const inv of invites.slice(1)) {
          eq(inv.match(/^\s*Contact:/gm)?.length, 1, `Contact headers in:\n${inv}`);
        }
      }),
    );
  } finally {
    await pbx.app.stop();
  }
});
