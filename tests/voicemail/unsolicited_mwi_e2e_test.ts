/**
 * Unsolicited MWI through the real appliance: 201's phone (a sipp UAS) registers but never
 * subscribes to its mailbox; a message left with *99201 reaches it as an out-of-dialog
 * message-summary NOTIFY (1 new), and deleting the message from the API as a second one (none).
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { runSipp } from "../_harness/mod.ts";
import { EXT, phone, startPbx, withLogs } from "../sip/_setup.ts";
import { callerScenario } from "./_scenarios.ts";
import { greetingWav } from "./_fake_leg.ts";

Deno.test("unsolicited MWI: a phone that did not subscribe learns of a new message and of its deletion", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "pbx-vm-umwi-" });
  const pbx = await startPbx();
  try {
    await withLogs(pbx, async () => {
      // A short greeting, so the caller's audio comes after the tone.
      const up = await fetch(`${pbx.app.baseUrl}/api/voicemail/mailboxes/201/greetings/unavailable`, {
        method: "PUT",
        headers: { authorization: `Bearer ${await pbx.app.adminToken()}`, "content-type": "audio/wav" },
        body: greetingWav(),
      });
      eq(up.status, 200);
      const uas = await phone(pbx, "201", "uas_unsolicited_mwi.xml", { timeoutSec: 60, calls: 2 });
      try {
        const path = `${tmp}/deposit.xml`;
        Deno.writeTextFileSync(
          path,
          callerScenario(
            [{ pauseMs: 1500 }, { pcap: "/usr/share/sip-tester/g711a.pcap" }, { pauseMs: 3000 }],
            "bye",
          ),
        );
        const deposit = await runSipp({
          scenario: path,
          target: pbx.target,
          user: "202",
          password: EXT["202"],
          service: "*99201",
          timeoutSec: 40,
        });
        ok(deposit.ok, `deposit call: ${deposit.output.slice(-1500)}${deposit.errors.slice(-1500)}`);
        await pbx.app.waitForLog(/voicemail message stored.*mailbox=201/, 10_000);
        await pbx.app.waitForLog(/unsolicited MWI sent.*mailbox=201.*waiting=1/, 10_000);
        const list = await pbx.api.get<{ messages: { id: number }[] }>(
          "/api/voicemail/mailboxes/201/messages",
        );
        eq(list.messages.length, 1);
        eq((await pbx.api.request("DELETE", `/api/voicemail/messages/${list.messages[0]!.id}`)).status, 204);
        const r = await uas.done;
        ok(r.ok, `phone: ${r.output.slice(-1500)}${r.errors.slice(-1500)}`);
        // Both NOTIFYs were taken (200): the first with 1 new message, the second with none.
        await pbx.app.waitForLog(/unsolicited MWI sent.*mailbox=201.*status=200 waiting=0/, 10_000);
      } finally {
        await uas.stop();
      }
    })();
  } finally {
    await pbx.app.stop();
    Deno.removeSync(tmp, { recursive: true });
  }
});
