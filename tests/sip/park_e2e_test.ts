/**
 * Call park through the real appliance, sipp on every side: 201 blind-transfers 202 to the park
 * number 700 (REFER), 202 is parked in slot 701 and hears the slot; 203 dials 701 and is bridged to
 * 202; an empty slot answers 404; a call nobody retrieves rings the parker (201) back after
 * PBX_PARK_SECONDS and is bridged to it. The park feature code *85 parks like 700; a blind
 * transfer to a free slot (702) parks there (directed park), one to a taken slot is refused with a
 * NOTIFY "486 Busy Here (park slot 702 is taken)" and the call stays with the transferor; a slot
 * range that would take an extension's number is refused (409). A BLF key on a slot (SUBSCRIBE
 * dialog to 701) sees it confirmed while a call is parked there and terminated once retrieved. With
 * a recall destination set (203), a timed-out call rings 203 instead of the parker.
 */
import { ok } from "node:assert";
import { runSipp } from "../_harness/mod.ts";
import { assertOk, type Cdr, cdrs, EXT, phone, startPbx, withLogs } from "./_setup.ts";
import { pickerScenario } from "./_attended.ts";

Deno.test("park: blind transfer to 700, retrieve from 701, empty slot 404, timeout recall", async (t) => {
  const tmp = Deno.makeTempDirSync({ prefix: "pbx-park-e2e-" });
  const pbx = await startPbx({ PBX_PARK_SECONDS: "6" });
  const transfer = (referTo = "700", service = "202", scenario = "uac_refer_blind.xml") =>
    runSipp({
      scenario,
      target: pbx.target,
      user: "201",
      password: EXT["201"],
      service,
      keys: { refer_to: referTo },
      timeoutSec: 40,
    });
  const dial = (name: string, number: string, status: number) => {
    Deno.writeTextFileSync(`${tmp}/${name}.xml`, pickerScenario("", status, 1500));
    return runSipp({
      scenario: `${tmp}/${name}.xml`,
      target: pbx.target,
      user: "203",
      password: EXT["203"],
      service: number,
      timeoutSec: 40,
    });
  };
  try {
    await t.step(
      "201 parks 202 by blind transfer to 700; 203 dials 701 and talks to 202; 702 is empty (404)",
      withLogs(pbx, async () => {
        await using parked = await phone(pbx, "202", "uas_answer.xml");
        assertOk(await transfer(), "transferor: 202, NOTIFY 100/200, BYE");
        await pbx.app.waitForLog(/call parked slot=701 caller=202 parker=201/, 10_000);
        assertOk(await dial("empty", "702", 404), "an empty slot answers 404");
        assertOk(await dial("retrieve", "701", 200), "203 retrieved the call, talked, hung up");
        assertOk(await parked.done, "202 got BYE after 203 hung up");
        ok(/parked call retrieved slot=701 by=203/.test(pbx.app.logs()));
        const list = await cdrs(pbx, 3);
        ok(list.some((c: Cdr) => c.reason === "transferred to 700"), JSON.stringify(list.slice(0, 4)));
      }),
    );

    await t.step(
      "nobody retrieves: after the timeout the parker 201 is rung back and bridged to 202",
      withLogs(pbx, async () => {
        await using parked = await phone(pbx, "202", "uas_answer.xml");
        await using parker = await phone(pbx, "201", "uas_answer_hangup.xml");
        assertOk(await transfer(), "transferor");
        await pbx.app.waitForLog(/call parked slot=701 caller=202 parker=201/, 10_000);
        assertOk(await parker.done, "the parker was rung back, answered, hung up");
        assertOk(await parked.done, "202 got BYE after the recall ended");
        ok(/park timeout: ringing the parker slot=701 parker=201/.test(pbx.app.logs()));
        ok(/park recall slot=701 parker=201 outcome=answered/.test(pbx.app.logs()));
      }),
    );

    await t.step(
      "*85 parks in 701; a transfer to 702 parks there; a second one to 702 is refused (486); both retrieved",
      withLogs(pbx, async () => {
        // No recall during this step, however slow the machine.
        await pbx.api.put("/api/park/settings", { timeoutSec: 300 });
        const clash = await pbx.api.request("PUT", "/api/park/settings", { firstSlot: "201", slots: 3 });
        ok(
          clash.status === 409 && /taken by extension 201/.test(JSON.stringify(clash.body)),
          JSON.stringify(clash),
        );
        await using p202 = await phone(pbx, "202", "uas_answer.xml");
        await using p203 = await phone(pbx, "203", "uas_answer.xml", { calls: 2 });
        assertOk(await transfer("*85"), "201 transfers 202 to *85");
        await pbx.app.waitForLog(/call parked slot=701 caller=202 parker=201/, 10_000);
        assertOk(await transfer("702", "203"), "201 transfers 203 to the free slot 702");
        await pbx.app.waitForLog(/call parked slot=702 caller=203 parker=201/, 10_000);
        const refused = await transfer("702", "203", "uac_refer_refused.xml");
        assertOk(refused, "the transfer to the taken slot 702 is refused in the NOTIFY");
        ok(
          /refused sipfrag: SIP\/2.0 486 Busy Here \(park slot 702 is taken\)/.test(refused.logs),
          refused.logs,
        );
        ok(/directed park refused: slot taken slot=702 caller=203 by=201/.test(pbx.app.logs()));
        assertOk(await dial("get701", "701", 200), "701 retrieved");
        assertOk(await p202.done, "202 got BYE after the retriever hung up");
        assertOk(await dial("get702", "702", 200), "702 retrieved");
        assertOk(await p203.done, "203's two calls ended");
      }),
    );

    await t.step(
      "BLF on slot 701: confirmed while 202 is parked there (remote 202), terminated once retrieved",
      withLogs(pbx, async () => {
        await using _p202 = await phone(pbx, "202", "uas_answer.xml");
        const watcher = runSipp({
          scenario: "subscribe_dialog_park.xml",
          target: pbx.target,
          user: "203",
          password: EXT["203"],
          service: "701",
          keys: { event: "dialog", accept: "application/dialog-info+xml", expires: "300" },
          timeoutSec: 60,
        });
        await pbx.app.waitForLog(/subscription event=dialog resource=701 subscriber=203 expires=300/, 10_000);
        assertOk(await transfer("700"), "201 parks 202");
        await pbx.app.waitForLog(/call parked slot=701 caller=202 parker=201/, 10_000);
        assertOk(await dial("get701b", "701", 200), "701 retrieved");
        const w = await watcher;
        assertOk(w, "the slot's watcher");
        ok(/<state>confirmed<\/state>.*<identity>sip:202@/s.test(w.messages), w.messages.slice(-3000));
      }),
    );

    await t.step(
      "recall destination 203: a call nobody retrieves rings 203, not the parker",
      withLogs(pbx, async () => {
        await pbx.api.put("/api/park/settings", { timeoutSec: 5, recallTo: "203" });
        await using p202 = await phone(pbx, "202", "uas_answer.xml");
        await using p203 = await phone(pbx, "203", "uas_answer_hangup.xml");
        assertOk(await transfer("700"), "201 parks 202");
        await pbx.app.waitForLog(/call parked slot=701 caller=202 parker=201/, 10_000);
        assertOk(await p203.done, "203 was rung, answered and hung up");
        assertOk(await p202.done, "202 got BYE after the recall ended");
        ok(/park timeout: ringing the parker slot=701 parker=203/.test(pbx.app.logs()));
        ok(/park recall slot=701 parker=203 outcome=answered/.test(pbx.app.logs()));
      }),
    );
  } finally {
    await pbx.app.stop();
    Deno.removeSync(tmp, { recursive: true });
  }
});
