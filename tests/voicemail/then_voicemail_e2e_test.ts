/**
 * "Then voicemail" through the real appliance: a call to a busy extension (sipp answers 486), to
 * one that rings without answering, and to one with no registered phone lands in its mailbox, and
 * the caller's pcap is stored. The mailboxes are set up first (greetings uploaded): an extension
 * whose mailbox was never set up keeps 486/480 (tests/sip/call_e2e_test.ts).
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { runSipp } from "../_harness/mod.ts";
import { EXT, phone, startPbx, withLogs } from "../sip/_setup.ts";
import { callerScenario } from "./_scenarios.ts";
import { greetingWav } from "./_fake_leg.ts";

Deno.test({
  name: "then voicemail: busy, no answer and unregistered extensions take a message",
  async fn() {
    const tmp = Deno.makeTempDirSync({ prefix: "pbx-vm-cont-e2e-" });
    const pbx = await startPbx({ PBX_NO_ANSWER_SECONDS: "3" });
    try {
      await withLogs(pbx, async () => {
        for (const m of ["201", "203"]) {
          for (const kind of ["busy", "unavailable"]) {
            const up = await fetch(`${pbx.app.baseUrl}/api/voicemail/mailboxes/${m}/greetings/${kind}`, {
              method: "PUT",
              headers: { authorization: `Bearer ${await pbx.app.adminToken()}`, "content-type": "audio/wav" },
              body: greetingWav(),
            });
            eq(up.status, 200);
          }
        }
        const path = `${tmp}/caller.xml`;
        Deno.writeTextFileSync(
          path,
          callerScenario([
            { pauseMs: 1500 },
            { pcap: "/usr/share/sip-tester/g711a.pcap" },
            { pauseMs: 7500 },
          ], "bye"),
        );
        let stored = 0;
        const leave = async (to: string) => {
          const r = await runSipp({
            scenario: path,
            target: pbx.target,
            user: "202",
            password: EXT["202"],
            service: to,
            timeoutSec: 40,
          });
          ok(r.ok, `call to ${to}: ${r.output.slice(-1500)}${r.errors.slice(-1500)}`);
          // The message row is written just after the caller's BYE: wait for it, not for sipp.
          stored++;
          for (let i = 0; (pbx.app.logs().match(/voicemail message stored/g) ?? []).length < stored; i++) {
            if (i === 100) throw new Error(`message ${stored} was not stored within 10 s`);
            await new Promise((r) => setTimeout(r, 100));
          }
        };
        // Busy: the phone answers 486.
        {
          await using busy = await phone(pbx, "203", "uas_busy.xml");
          await leave("203");
          await busy.done;
        }
        // No answer: the phone rings past PBX_NO_ANSWER_SECONDS.
        {
          await using ringing = await phone(pbx, "201", "uas_ring_no_answer.xml");
          await leave("201");
          await ringing.stop();
        }
        // Unavailable: 201 without a registered phone now.
        await runSipp({ scenario: "unregister.xml", target: pbx.target, user: "201", password: EXT["201"] });
        await leave("201");
        for (const [m, n] of [["203", 1], ["201", 2]] as const) {
          const list = await pbx.api.get<{ messages: { caller: string }[] }>(
            `/api/voicemail/mailboxes/${m}/messages`,
          );
          eq(list.messages.length, n, `messages in ${m}`);
        }
        ok(/voicemail deposit.*reason|voicemail message stored.*mailbox=203/.test(pbx.app.logs()));
      })();
    } finally {
      await pbx.app.stop();
      Deno.removeSync(tmp, { recursive: true });
    }
  },
});
