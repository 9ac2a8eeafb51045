/**
 * Forwarding and DND through the real appliance, sipp on every side: set by feature code from a
 * phone (*72NNN, *73, *78, *79) and by the API (busy, no answer with its ring time), each taking
 * effect on the next call, seen in the call records; a missing target is 404 with a log line and
 * an unconditional forward loop is refused 409.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { assertOk, call, cdrs, phone, startPbx, withLogs } from "../sip/_setup.ts";

Deno.test("forwarding always / busy / no answer and DND, from feature codes and the API", async (t) => {
  const pbx = await startPbx();
  try {
    await t.step(
      "*72202 from 201: the box confirms and hangs up; the next call to 201 rings 202",
      withLogs(pbx, async () => {
        assertOk(
          await call(pbx, "201", "*72202", "uac_call_bye_from_callee.xml"),
          "*72202 answered, then BYE",
        );
        const [code] = await cdrs(pbx, 1);
        eq(
          [code?.caller, code?.callee, code?.disposition],
          ["201", "*72202", "answered"],
          "the code is in the records",
        );
        const f = await pbx.api.get<{ forwardAlways: string }>("/api/callfeatures/extensions/201");
        eq(f.forwardAlways, "202");
        await using bob = await phone(pbx, "202", "uas_answer.xml");
        assertOk(await call(pbx, "203", "201", "uac_short_call.xml"), "203 -> 201 answered by 202");
        assertOk(await bob.done, "202 answered the forwarded call");
        const [rec] = await cdrs(pbx, 2);
        ok(rec?.callee !== "*72202", "the forwarded call's record is there");
        eq([rec?.caller, rec?.callee, rec?.disposition], ["203", "202", "answered"]);
      }),
    );

    await t.step(
      "*72299: the target is not in the plan: 404, a log line, the forward unchanged",
      withLogs(pbx, async () => {
        assertOk(await call(pbx, "201", "*72299", "uac_unknown_number.xml"), "404 for a missing target");
        ok(/feature code refused.*299 is not in the number plan/.test(pbx.app.logs()));
        const f = await pbx.api.get<{ forwardAlways: string }>("/api/callfeatures/extensions/201");
        eq(f.forwardAlways, "202");
      }),
    );

    await t.step(
      "a loop of unconditional forwards is refused 409 when set",
      withLogs(pbx, async () => {
        const r = await pbx.api.request("PUT", "/api/callfeatures/extensions/202", { forwardAlways: "201" });
        eq(r.status, 409);
        ok(/forward loop: 202 -> 201 -> 202/.test((r.body as { error: string }).error));
      }),
    );

    await t.step(
      "*73 clears it; forward on busy (API): 201 answers 486, 202 takes the call",
      withLogs(pbx, async () => {
        assertOk(await call(pbx, "201", "*73", "uac_call_bye_from_callee.xml"), "*73");
        await pbx.api.put("/api/callfeatures/extensions/201", { forwardBusy: "202" });
        await using busy = await phone(pbx, "201", "uas_busy.xml");
        await using bob = await phone(pbx, "202", "uas_answer.xml");
        assertOk(await call(pbx, "203", "201", "uac_short_call.xml"), "busy 201 -> 202");
        assertOk(await busy.done, "201 was rung and answered 486");
        assertOk(await bob.done, "202 answered");
        ok(/route goes on.*after=busy/.test(pbx.app.logs()));
      }),
    );

    await t.step(
      "forward on no answer after 2 s (API): 201 rings, is cancelled, 202 answers",
      withLogs(pbx, async () => {
        await pbx.api.put("/api/callfeatures/extensions/201", {
          forwardBusy: null,
          forwardNoAnswer: "202",
          noAnswerSeconds: 2,
        });
        const before = (await cdrs(pbx, 0)).length;
        await using ringing = await phone(pbx, "201", "uas_ring_no_answer.xml");
        await using bob = await phone(pbx, "202", "uas_answer.xml");
        assertOk(await call(pbx, "203", "201", "uac_short_call.xml"), "unanswered 201 -> 202");
        assertOk(await ringing.done, "201 rang and was cancelled");
        assertOk(await bob.done, "202 answered");
        const [answered, rang] = await cdrs(pbx, before + 2);
        eq([rang?.callee, rang?.disposition], ["201", "no-answer"]);
        eq([answered?.callee, answered?.disposition], ["202", "answered"]);
        eq(answered?.linkedId, rang?.linkedId, "one call in the records");
      }),
    );

    await t.step(
      "*78 DND: a call to 201 gets 486 (no busy forward, no mailbox); *79 and it rings again",
      withLogs(pbx, async () => {
        await pbx.api.put("/api/callfeatures/extensions/201", { forwardNoAnswer: null });
        assertOk(await call(pbx, "201", "*78", "uac_call_bye_from_callee.xml"), "*78");
        eq((await pbx.api.get<{ dnd: boolean }>("/api/callfeatures/extensions/201")).dnd, true);
        assertOk(await call(pbx, "203", "201", "uac_busy.xml"), "486 while DND");
        assertOk(await call(pbx, "201", "*79", "uac_call_bye_from_callee.xml"), "*79");
        await using alice = await phone(pbx, "201", "uas_answer.xml");
        assertOk(await call(pbx, "203", "201", "uac_short_call.xml"), "201 rings again");
        assertOk(await alice.done, "201 answered");
      }),
    );
  } finally {
    await pbx.app.stop();
  }
});
