/**
 * Dialplan continuations through the real appliance, sipp on both sides: extension 201's route is
 * "ring 201 for 2 s, then an application" (tests/sip/_route_entry.ts). 201 answering 486, and 201
 * ringing past its 2 s, both end with the application answering the caller's same INVITE.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { assertOk, call, cdrs, phone, startPbx, withLogs } from "./_setup.ts";

Deno.test("route continuations: busy and no answer at 201 go on to the application", async (t) => {
  const pbx = await startPbx({}, { entry: "tests/sip/_route_entry.ts" });
  try {
    await t.step(
      "201 answers 486: the route goes on and the application answers 202's call",
      withLogs(pbx, async () => {
        await using busy = await phone(pbx, "201", "uas_busy.xml");
        assertOk(await call(pbx, "202", "201", "uac_call_bye_from_callee.xml"), "caller answered by the app");
        assertOk(await busy.done, "201 answered 486");
        const [app, step] = await cdrs(pbx, 2);
        eq([step?.callee, step?.disposition, step?.sipCode], ["201", "busy", 486]);
        eq([app?.callee, app?.disposition, app?.sipCode], ["201", "answered", 200]);
        eq(app?.linkedId, step?.linkedId, "one call: the step and the application share the link");
        ok(/route goes on.*after=busy/.test(pbx.app.logs()));
      }),
    );

    await t.step(
      "201 rings past its ringSeconds: it is cancelled and the application answers",
      withLogs(pbx, async () => {
        await using ringing = await phone(pbx, "201", "uas_ring_no_answer.xml");
        assertOk(await call(pbx, "202", "201", "uac_call_bye_from_callee.xml"), "caller answered by the app");
        assertOk(await ringing.done, "201 rang and was cancelled");
        const [app, step] = await cdrs(pbx, 4);
        eq([step?.disposition, step?.sipCode], ["no-answer", 480]);
        eq([app?.disposition, app?.sipCode], ["answered", 200]);
        ok(/route goes on.*after=noAnswer/.test(pbx.app.logs()));
      }),
    );
  } finally {
    await pbx.app.stop();
  }
});
