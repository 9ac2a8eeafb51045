/**
 * Call park through the real appliance, sipp on every side: 201 blind-transfers 202 to the park
 * number 700 (REFER), 202 is parked in slot 701 and hears the slot; 203 dials 701 and is bridged to
 * 202; an empty slot answers 404; a call nobody retrieves rings the parker (201) back after
 * PBX_PARK_SECONDS and is bridged to it.
 */
import { ok } from "node:assert";
import { runSipp } from "../_harness/mod.ts";
import { assertOk, type Cdr, cdrs, EXT, phone, startPbx, withLogs } from "./_setup.ts";
import { pickerScenario } from "./_attended.ts";

Deno.test("park: blind transfer to 700, retrieve from 701, empty slot 404, timeout recall", async (t) => {
  const tmp = Deno.makeTempDirSync({ prefix: "pbx-park-e2e-" });
  const pbx = await startPbx({ PBX_PARK_SECONDS: "6" });
  const transfer = () =>
    runSipp({
      scenario: "uac_refer_blind.xml",
      target: pbx.target,
      user: "201",
      password: EXT["201"],
      service: "202",
      keys: { refer_to: "700" },
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
  } finally {
    await pbx.app.stop();
    Deno.removeSync(tmp, { recursive: true });
  }
});
