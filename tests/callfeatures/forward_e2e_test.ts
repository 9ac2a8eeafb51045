/**
 * Forwarding and DND through the real appliance, sipp on every side: set by feature code from a
 * phone (*72NNN, *73, *78, *79) and by the API (busy, no answer with its ring time), each taking
 * effect on the next call, seen in the call records; a missing target is 404 with a log line and
 * an unconditional forward loop is refused 409.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { match } from "node:assert";
import { runSipp } from "../_harness/mod.ts";
import { assertOk, call, type Cdr, cdrs, EXT, type Pbx, phone, startPbx, withLogs } from "../sip/_setup.ts";

/** The newest call records once one matches `pred` (records are written asynchronously, group commit). */
async function cdrWhere(pbx: Pbx, pred: (r: Cdr) => boolean): Promise<Cdr[]> {
  for (let i = 0; i < 100; i++) {
    const items = await cdrs(pbx, 0);
    if (items.some(pred)) return items;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no such call record");
}

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
        const seen = new Set((await cdrs(pbx, 0)).map((r) => r.callId));
        await using ringing = await phone(pbx, "201", "uas_ring_no_answer.xml");
        await using bob = await phone(pbx, "202", "uas_answer.xml");
        assertOk(await call(pbx, "203", "201", "uac_short_call.xml"), "unanswered 201 -> 202");
        assertOk(await ringing.done, "201 rang and was cancelled");
        assertOk(await bob.done, "202 answered");
        const fresh = (await cdrWhere(pbx, (r) => !seen.has(r.callId) && r.callee === "202"))
          .filter((r) => !seen.has(r.callId));
        const answered = fresh.find((r) => r.callee === "202");
        const rang = fresh.find((r) => r.callee === "201");
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

    await t.step(
      "presence: a watcher of 201 gets a NOTIFY saying DND when 201 dials *78",
      withLogs(pbx, async () => {
        const watcher = runSipp({
          scenario: "subscribe_presence_dnd.xml",
          target: pbx.target,
          user: "202",
          password: EXT["202"],
          service: "201",
          keys: { event: "presence", accept: "application/pidf+xml", expires: "120" },
          timeoutSec: 30,
        });
        await pbx.app.waitForLog(/subscription event=presence resource=201 subscriber=202/, 10_000);
        await new Promise((r) => setTimeout(r, 300)); // the initial NOTIFY goes out first
        assertOk(await call(pbx, "201", "*78", "uac_call_bye_from_callee.xml"), "*78");
        const w = await watcher;
        assertOk(w, "presence watcher saw DND");
        match(w.messages, /<note>DND<\/note>|DND/);
        assertOk(await call(pbx, "201", "*79", "uac_call_bye_from_callee.xml"), "*79");
      }),
    );

    await t.step(
      "a feature code typed wrong (*7, *729) is 404 with a log line; no forward is set",
      withLogs(pbx, async () => {
        assertOk(await call(pbx, "201", "*7", "uac_unknown_number.xml"), "*7: no such code");
        ok(/call to unknown number caller=201 dialled="\*7"/.test(pbx.app.logs()), "logged");
        assertOk(
          await call(pbx, "201", "*729", "uac_unknown_number.xml"),
          "*729: *72 takes two digits or more",
        );
        ok(/call to unknown number caller=201 dialled="\*729"/.test(pbx.app.logs()), "logged");
        eq(
          (await pbx.api.get<{ forwardAlways: null }>("/api/callfeatures/extensions/201")).forwardAlways,
          null,
        );
      }),
    );

    await t.step(
      "time condition 500: open rings 201; *28500 (night mode) sends the next call to 203",
      withLogs(pbx, async () => {
        await pbx.api.put("/api/callfeatures/time-conditions/500", {
          name: "Front desk",
          openDestination: "201",
          closedDestination: "203",
          hours: [{ days: [1, 2, 3, 4, 5, 6, 7], from: "00:00", to: "24:00" }],
        });
        {
          await using alice = await phone(pbx, "201", "uas_answer.xml");
          assertOk(await call(pbx, "202", "500", "uac_short_call.xml"), "open: 201");
          assertOk(await alice.done, "201 answered");
        }
        assertOk(await call(pbx, "201", "*28500", "uac_call_bye_from_callee.xml"), "*28500 night mode");
        const tc = await pbx.api.get<{ mode: string; state: { why: string } }>(
          "/api/callfeatures/time-conditions/500",
        );
        eq([tc.mode, tc.state.why], ["closed", "night mode"]);
        await using carol = await phone(pbx, "203", "uas_answer.xml");
        assertOk(await call(pbx, "202", "500", "uac_short_call.xml"), "closed: 203");
        assertOk(await carol.done, "203 answered");
        const recs = await cdrWhere(pbx, (r) => r.caller === "202" && r.callee === "203");
        ok(recs.some((r) => r.caller === "202" && r.callee === "203" && r.disposition === "answered"));
      }),
    );
  } finally {
    await pbx.app.stop();
  }
});
