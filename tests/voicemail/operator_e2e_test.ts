/**
 * "Press 0 for the operator" through the real appliance: the operator number is set with
 * PUT /api/voicemail/settings (a bad one is refused 400); a caller leaving a message for 201 presses 0
 * during the spoken greeting and is put through to the operator, 203 (a sipp phone answers and hangs
 * up); no message is left.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { runSipp } from "../_harness/mod.ts";
import { assertOk, EXT, phone, startPbx, withLogs } from "../sip/_setup.ts";
import { callerScenario } from "./_scenarios.ts";

Deno.test("voicemail: 0 during the greeting goes to the operator set in the settings", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "pbx-vm-operator-" });
  const pbx = await startPbx();
  try {
    await withLogs(pbx, async () => {
      const bad = await pbx.api.request("PUT", "/api/voicemail/settings", { operator: "front desk" });
      eq(bad.status, 400);
      await pbx.api.put("/api/voicemail/settings", { operator: "203" });
      eq((await pbx.api.get<{ operator: string }>("/api/voicemail/settings")).operator, "203");
      await using op = await phone(pbx, "203", "uas_answer_hangup.xml");
      const path = `${tmp}/caller.xml`;
      Deno.writeTextFileSync(path, callerScenario([{ pauseMs: 1200 }, { digits: "0" }], "await-bye"));
      const r = await runSipp({
        scenario: path,
        target: pbx.target,
        user: "202",
        password: EXT["202"],
        service: "*99201",
        timeoutSec: 40,
      });
      assertOk(r, "caller");
      assertOk(await op.done, "the operator answered and hung up");
      ok(/voicemail deposit: caller went to the operator.*operator=203/.test(pbx.app.logs()));
      const list = await pbx.api.get<{ messages: unknown[] }>("/api/voicemail/mailboxes/201/messages");
      eq(list.messages.length, 0, "no message was left");
    })();
  } finally {
    await pbx.app.stop();
    Deno.removeSync(tmp, { recursive: true });
  }
});
