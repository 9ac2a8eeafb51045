/**
 * Extension-to-extension calls through the real appliance, driven by sipp on both sides: the
 * caller plays G.711 RTP from a pcap, the callee is a registered sipp UAS. Each scenario checks the
 * SIP flow, and the call records are checked for disposition and durations.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { assertOk, call, cdrs, phone, startPbx, withLogs } from "./_setup.ts";
import { runSipp, startSipp } from "../_harness/mod.ts";

Deno.test("calls between extensions through the box, with call records", async (t) => {
  const pbx = await startPbx({ PBX_NO_ANSWER_SECONDS: "3" });
  try {
    await t.step(
      "A calls B with RTP from a pcap, A hangs up; the CDR is answered with durations",
      withLogs(pbx, async () => {
        await using uas = await phone(pbx, "202", "uas_answer.xml");
        const r = await call(pbx, "201", "202", "uac_call_pcap.xml");
        assertOk(r, "caller");
        const callee = await uas.done;
        assertOk(callee, "callee");
        // The callee got RTP from the box, not from the caller: media is anchored.
        ok(/m=audio \d+ RTP\/AVP/.test(callee.messages));
        const [rec] = await cdrs(pbx, 1);
        eq([rec?.caller, rec?.callee, rec?.disposition, rec?.hangupBy, rec?.sipCode], [
          "201",
          "202",
          "answered",
          "caller",
          200,
        ]);
        // The pcap lasts about 7 s: the billable time is the talk time, the duration includes ringing.
        ok(rec!.billsecMs >= 6000 && rec!.billsecMs < 20_000, `billsec ${rec!.billsecMs}`);
        ok(rec!.durationMs >= rec!.billsecMs, "duration covers billsec");
        ok(rec!.answeredAt! >= rec!.startedAt && rec!.endedAt >= rec!.answeredAt!);
      }),
    );

    await t.step(
      "the SDP each phone sees names the box, never the other phone",
      withLogs(pbx, async () => {
        await using uas = await phone(pbx, "202", "uas_answer.xml");
        const r = await call(pbx, "201", "202", "uac_call_pcap.xml");
        assertOk(r, "caller");
        const callee = await uas.done;
        const inviteToCallee = callee.messages.split("-----").find((m) => m.includes("INVITE sip:"));
        ok(inviteToCallee, "callee saw the INVITE");
        ok(/o=pbx /.test(inviteToCallee!), "the box's own origin line");
        ok(!inviteToCallee!.includes("o=sipp"), "the caller's SDP origin must not leak");
      }),
    );

    await t.step(
      "B hangs up: the box sends BYE to A and records hangup by the callee",
      withLogs(pbx, async () => {
        await using uas = await phone(pbx, "202", "uas_answer_hangup.xml");
        const r = await call(pbx, "201", "202", "uac_call_bye_from_callee.xml");
        assertOk(r, "caller");
        assertOk(await uas.done, "callee");
        const [rec] = await cdrs(pbx, 3);
        eq([rec?.disposition, rec?.hangupBy], ["answered", "callee"]);
      }),
    );

    await t.step(
      "busy: B answers 486, A gets 486, the CDR says busy",
      withLogs(pbx, async () => {
        await using uas = await phone(pbx, "202", "uas_busy.xml");
        assertOk(await call(pbx, "201", "202", "uac_busy.xml"), "caller");
        assertOk(await uas.done, "callee");
        const [rec] = await cdrs(pbx, 4);
        eq([rec?.disposition, rec?.sipCode, rec?.billsecMs], ["busy", 486, 0]);
      }),
    );

    await t.step(
      "cancel before answer: A gets 487, B is cancelled, the CDR says cancelled",
      withLogs(pbx, async () => {
        await using uas = await phone(pbx, "202", "uas_ring_no_answer.xml");
        assertOk(await call(pbx, "201", "202", "uac_cancel.xml"), "caller");
        assertOk(await uas.done, "callee");
        const [rec] = await cdrs(pbx, 5);
        eq([rec?.disposition, rec?.hangupBy, rec?.sipCode], ["cancelled", "caller", 487]);
      }),
    );

    await t.step(
      "no answer: after the ring timeout A gets 480, B is cancelled",
      withLogs(pbx, async () => {
        await using uas = await phone(pbx, "202", "uas_ring_no_answer.xml");
        assertOk(await call(pbx, "201", "202", "uac_unavailable.xml"), "caller");
        assertOk(await uas.done, "callee");
        const [rec] = await cdrs(pbx, 6);
        eq([rec?.disposition, rec?.hangupBy, rec?.sipCode], ["no-answer", "system", 480]);
      }),
    );

    await t.step(
      "unknown number gets 404",
      withLogs(pbx, async () => {
        assertOk(await call(pbx, "201", "299", "uac_unknown_number.xml"), "caller");
      }),
    );

    await t.step(
      "an extension with no registration gets 480",
      withLogs(pbx, async () => {
        assertOk(await call(pbx, "201", "203", "uac_unavailable.xml"), "caller");
        const [rec] = await cdrs(pbx, 6);
        ok(rec, "earlier records are still there");
      }),
    );

    await t.step(
      "re-INVITE hold and resume pass through: sendonly is answered recvonly",
      withLogs(pbx, async () => {
        await using uas = await phone(pbx, "202", "uas_hold.xml");
        assertOk(await call(pbx, "201", "202", "uac_hold_resume.xml"), "caller");
        const callee = await uas.done;
        assertOk(callee, "callee saw a=sendonly then a=sendrecv");
      }),
    );

    await t.step(
      "an INVITE without credentials gets 401 and never reaches the phone",
      withLogs(pbx, async () => {
        await using uas = await startSipp({ scenario: "uas_answer.xml", timeoutSec: 5 });
        const { register } = await import("./_setup.ts");
        assertOk(await register(pbx, "202", uas.localPort), "register");
        assertOk(
          await runSipp({ scenario: "uac_no_auth.xml", target: pbx.target, user: "201", service: "202" }),
          "no auth",
        );
        const callee = await uas.stop();
        ok(!callee.messages.includes("INVITE sip:"), "the callee must not see the INVITE");
      }),
    );
  } finally {
    await pbx.app.stop();
  }
});
