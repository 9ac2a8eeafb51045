/**
 * Blind transfer (RFC 3515) through the real appliance, sipp on every side: 201 calls 202 and
 * REFERs it to 203 (or 202 REFERs 201). Success (202, NOTIFY 100 then 200, the transferee talks to 203), a busy target with the
 * transferor gone (the box calls 201 back and bridges 202 to it), and a REFER to an unknown number
 * (404, the call goes on).
 */
import { ok } from "node:assert";
import { runSipp, startSipp } from "../_harness/mod.ts";
import { assertOk, cdrs, EXT, phone, register, startPbx, withLogs } from "./_setup.ts";

function transferor(pbx: { target: string }, scenario: string, referTo: string) {
  return runSipp({
    scenario,
    target: pbx.target,
    user: "201",
    password: EXT["201"],
    service: "202",
    keys: { refer_to: referTo },
    timeoutSec: 40,
  });
}

Deno.test("blind transfer: success, busy target with recall, unknown number", async (t) => {
  const pbx = await startPbx({ PBX_NO_ANSWER_SECONDS: "5" });
  try {
    await t.step(
      "201 transfers 202 to 203: 202 Accepted, NOTIFY 100 and 200, 202 is bridged to 203",
      withLogs(pbx, async () => {
        await using transferee = await phone(pbx, "202", "uas_answer.xml");
        await using target = await phone(pbx, "203", "uas_answer_hangup.xml");
        assertOk(await transferor(pbx, "uac_refer_blind.xml", "203"), "transferor");
        assertOk(await target.done, "target answered, talked, hung up");
        const stays = await transferee.done;
        assertOk(stays, "transferee got the box's BYE when the target hung up");
        ok(/transfer completed/.test(pbx.app.logs()), "the box bridged the transferee to the target");
        // One call, two linked records: 201-202 until the transfer, then 202 with 203 on the new leg.
        const [after, before] = await cdrs(pbx, 2);
        ok(after !== undefined && before !== undefined, "two records");
        ok(
          after.linkedId === before.linkedId && before.linkedId === before.callId,
          "the records share the link",
        );
        ok(after.callId !== before.callId, "the transfer leg has its own Call-ID");
        ok(before.reason === "transferred to 203" && before.callee === "202", JSON.stringify(before));
        // 201 (the caller) referred: its side of the call is now 203's.
        ok(
          after.caller === "203" && after.callee === "202" && after.disposition === "answered",
          JSON.stringify(after),
        );
      }),
    );

    await t.step(
      "the callee transfers: 202 REFERs the caller 201 to 203, and 201 ends up talking to 203",
      withLogs(pbx, async () => {
        await using referrer = await startSipp({
          scenario: "uas_answer_refer.xml",
          timeoutSec: 40,
          keys: { refer_to: "203" },
        });
        assertOk(await register(pbx, "202", referrer.localPort), "register 202");
        await using target = await phone(pbx, "203", "uas_answer_hangup.xml");
        const caller = await runSipp({
          scenario: "uac_call_bye_from_callee.xml",
          target: pbx.target,
          user: "201",
          password: EXT["201"],
          service: "202",
          timeoutSec: 40,
        });
        const referred = await referrer.done;
        assertOk(caller, "caller got the BYE when the target hung up");
        assertOk(referred, "the callee got 202, NOTIFY 100 and 200, then BYE");
        assertOk(await target.done, "target answered and hung up");
      }),
    );

    await t.step(
      "a busy target: the transferor, gone, is called back and talks to the transferee",
      withLogs(pbx, async () => {
        await using transferee = await phone(pbx, "202", "uas_answer.xml");
        await using busy = await phone(pbx, "203", "uas_busy.xml");
        // 201's phone (the recall rings it): a UAS registered as 201.
        await using recall = await startSipp({ scenario: "uas_answer_hangup.xml", timeoutSec: 40 });
        assertOk(await register(pbx, "201", recall.localPort), "register 201's phone");
        assertOk(await transferor(pbx, "uac_refer_blind_hangup.xml", "203"), "transferor");
        assertOk(await busy.done, "target answered 486");
        const back = await recall.done;
        assertOk(back, "the transferor's phone was called back, answered and hung up");
        ok(back.messages.includes("INVITE sip:"), "recall INVITE");
        assertOk(await transferee.done, "transferee stayed until the recalled party hung up");
        const logs = pbx.app.logs();
        ok(
          /recalling the transferor/.test(logs) && /transfer completed.*recall=true/.test(logs),
          logs.slice(-3000),
        );
        // The chain in the call records: 201-202, the busy attempt at 203, then 202 with the recalled 201.
        const [last] = await cdrs(pbx, 7);
        const chain = (await cdrs(pbx, 7)).filter((r) => r.linkedId === last?.linkedId);
        const seen = chain.map((r) => `${r.caller}>${r.callee} ${r.disposition}`).sort();
        ok(
          seen.length === 3 && seen.includes("202>203 busy") && seen.includes("201>202 answered"),
          JSON.stringify(chain),
        );
      }),
    );

    await t.step(
      "REFER to an unknown number gets 404 and the call goes on",
      withLogs(pbx, async () => {
        await using transferee = await phone(pbx, "202", "uas_answer.xml");
        assertOk(await transferor(pbx, "uac_refer_unknown.xml", "999"), "transferor got 404, then hung up");
        assertOk(await transferee.done, "transferee got the BYE");
      }),
    );
  } finally {
    await pbx.app.stop();
  }
});
