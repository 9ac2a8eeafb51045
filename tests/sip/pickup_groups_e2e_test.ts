/**
 * Pickup groups through the real appliance, sipp on every side (Asterisk callgroup/pickupgroup):
 * 201 is in call group "sales", 203 picks up from "support" only. While 202's call rings at 201,
 * 203's *8 gets 480 (no call in its pickup groups) and **201 (directed pickup) still takes it. With
 * "sales" added to 203's pickup groups, *8 picks up the next call ringing at 201. A malformed group
 * list is refused with 400 naming the field.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { runSipp, startSipp } from "../_harness/mod.ts";
import { assertOk, EXT, phone, startPbx, withLogs } from "./_setup.ts";
import { pickerScenario, ringingCallee } from "./_attended.ts";

async function waitForFile(path: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (Deno.readTextFileSync(path).trim().length > 0) return;
    } catch { /* not yet */ }
    if (Date.now() > until) throw new Error(`${path} was not written`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("pickup groups: *8 only picks calls ringing in the picker's pickup groups; **NNN stays", async (t) => {
  const tmp = Deno.makeTempDirSync({ prefix: "pbx-pickup-groups-" });
  const pbx = await startPbx();
  const host = pbx.target;
  // 201 rings until CANCEL (writing its early dialog to a file); 202 calls it.
  const ringCall = async (round: string) => {
    const file = `${tmp}/early-${round}`;
    Deno.writeTextFileSync(`${tmp}/ringing-${round}.xml`, ringingCallee(file));
    const ringing = await phone(pbx, "201", `${tmp}/ringing-${round}.xml`);
    const callerPath = `${tmp}/caller-${round}.xml`;
    Deno.writeTextFileSync(
      callerPath,
      Deno.readTextFileSync(new URL("../sipp/uac_call_bye_from_callee.xml", import.meta.url)),
    );
    const caller = await startSipp({
      scenario: callerPath,
      target: host,
      user: "202",
      password: EXT["202"],
      service: "201",
      timeoutSec: 40,
    });
    await waitForFile(file);
    return { ringing, caller };
  };
  const dialCode = (name: string, code: string, status: number) => {
    Deno.writeTextFileSync(`${tmp}/${name}.xml`, pickerScenario("", status));
    return runSipp({
      scenario: `${tmp}/${name}.xml`,
      target: host,
      user: "203",
      password: EXT["203"],
      service: code,
      timeoutSec: 40,
    });
  };
  try {
    await t.step("a malformed group list is refused (400)", async () => {
      const bad = await pbx.api.request("PUT", "/api/extensions/203", {
        options: { pickupGroups: ["no spaces"] },
      });
      eq(bad.status, 400);
      ok(/pickupGroups must be a list/.test(JSON.stringify(bad.body)), JSON.stringify(bad.body));
      const notList = await pbx.api.request("PUT", "/api/extensions/201", {
        options: { callGroups: "sales" },
      });
      eq(notList.status, 400);
    });

    await t.step(
      "201 in call group sales, 203 picks from support: *8 is 480, **201 takes the call",
      withLogs(pbx, async () => {
        await pbx.api.put("/api/extensions/201", { options: { callGroups: ["sales"] } });
        await pbx.api.put("/api/extensions/203", { options: { pickupGroups: ["support"] } });
        const { ringing, caller } = await ringCall("1");
        await using _r = ringing;
        await using _c = caller;
        assertOk(await dialCode("group1", "*8", 480), "*8: nothing ringing in 203's pickup groups");
        ok(/no call to pick up caller=203 extension=any within=pickup-groups/.test(pbx.app.logs()));
        assertOk(await dialCode("directed", "**201", 200), "**201 still picks up the call at 201");
        assertOk(await ringing.done, "201 stopped ringing (CANCEL)");
        assertOk(await caller.done, "202 talked to 203");
      }),
    );

    await t.step(
      "with sales among 203's pickup groups, *8 picks up the call ringing at 201",
      withLogs(pbx, async () => {
        await pbx.api.put("/api/extensions/203", { options: { pickupGroups: ["support", "sales"] } });
        const got = await pbx.api.get<{ options: { pickupGroups: string[] } }>("/api/extensions/203");
        eq(got.options.pickupGroups, ["support", "sales"]);
        const { ringing, caller } = await ringCall("2");
        await using _r = ringing;
        await using _c = caller;
        assertOk(await dialCode("group2", "*8", 200), "*8 picked up the call ringing at 201");
        assertOk(await ringing.done, "201 stopped ringing (CANCEL)");
        assertOk(await caller.done, "202 talked to 203");
        ok(/pickup call=.* ringing=201 by=203/.test(pbx.app.logs()));
      }),
    );
  } finally {
    await pbx.app.stop();
    Deno.removeSync(tmp, { recursive: true });
  }
});
