/**
 * Dial by name through the real appliance: menu 500's choice 5 is the directory; the caller (sipp)
 * presses 5, then spells S-M-Y (7 6 9) as RFC 4733 digits; the only match, 203 "Carla Smyth", is
 * dialled, answers (a sipp phone), and hangs up. Letters that match nobody are told so and the menu
 * comes back.
 */
import { ok } from "node:assert";
import { runSipp } from "../_harness/mod.ts";
import { assertOk, EXT, phone, startPbx, withLogs } from "../sip/_setup.ts";
import { callerScenario } from "./_scenarios.ts";

Deno.test("ivr dial by name: letters on the keypad find 203 and the caller is put through", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "pbx-ivr-dir-e2e-" });
  const pbx = await startPbx();
  try {
    await withLogs(pbx, async () => {
      await pbx.api.put("/api/extensions/203", { name: "Carla Smyth" });
      await pbx.api.put("/api/ivr/menus/500", {
        name: "Main",
        greeting: "Press five for the directory.",
        options: { "5": { kind: "directory" } },
        timeoutMs: 4000,
        repeats: 0,
        final: { kind: "hangup" },
      });
      const bad = await pbx.api.request("PUT", "/api/ivr/menus/501", {
        name: "Bad",
        greeting: "x",
        options: { "9": { kind: "directory", by: "middle" } },
      });
      ok(bad.status === 400, `a directory by a middle name: ${bad.status}`);

      const caller = async (name: string, steps: Parameters<typeof callerScenario>[0]) => {
        const path = `${tmp}/${name}.xml`;
        Deno.writeTextFileSync(path, callerScenario(steps, "await-bye"));
        return await runSipp({
          scenario: path,
          target: pbx.target,
          user: "202",
          password: EXT["202"],
          service: "500",
          timeoutSec: 60,
        });
      };
      // Nobody's last name starts with keys 2 3 4: told so, the menu again, then goodbye. (Each digit of
      // one call is a different one: sipp replays a digit's pcap with the same RTP timestamp, which
      // the box rightly takes for a repeat of the same event.)
      assertOk(
        await caller("nomatch", [{ pauseMs: 1200 }, { digits: "5" }, { pauseMs: 2500 }, { digits: "234" }]),
        "no match",
      );
      await pbx.app.waitForLog(/ivr directory menu=500 keys=234 by=last matches=0/, 10_000);

      await using callee = await phone(pbx, "203", "uas_answer_hangup.xml");
      const r = await caller("smyth", [
        { pauseMs: 1200 },
        { digits: "5" },
        { pauseMs: 2500 },
        { digits: "769" },
      ]);
      assertOk(r, "caller");
      assertOk(await callee.done, "203 answered and hung up");
      ok(/ivr directory menu=500 keys=769 by=last matches=1/.test(pbx.app.logs()), "one match");
      ok(/ivr dialled menu=500 target=203 outcome=answered/.test(pbx.app.logs()), "put through to 203");
    })();
  } finally {
    await pbx.app.stop();
    Deno.removeSync(tmp, { recursive: true });
  }
});
