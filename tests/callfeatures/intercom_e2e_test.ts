/**
 * Intercom through the real appliance with sipp: *80202 rings 202 with the auto-answer header (the
 * sipp callee fails without `Call-Info: <sip:...>;answer-after=0`), a phone already in a call is
 * not auto-answered (486), nor is one in a local call (its voicemail), an intercom to a number that is no extension is 404, each with a log line.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { runSipp } from "../_harness/mod.ts";
import { assertOk, call, EXT, phone, startPbx, withLogs } from "../sip/_setup.ts";

Deno.test("intercom *80NNN: auto-answer header, never into a call, 404 for no extension", async (t) => {
  const pbx = await startPbx();
  try {
    await t.step(
      "*80202: 202's INVITE carries Call-Info answer-after=0 and it answers",
      withLogs(pbx, async () => {
        await using bob = await phone(pbx, "202", "uas_answer_intercom.xml");
        assertOk(await call(pbx, "201", "*80202", "uac_short_call.xml"), "intercom answered");
        assertOk(await bob.done, "202 saw the auto-answer header");
        ok(/intercom target=202 vendor=unknown headers="Call-Info,Alert-Info"/.test(pbx.app.logs()));
      }),
    );

    await t.step(
      "a plain call to 202 has no auto-answer header: the intercom callee scenario fails on it",
      withLogs(pbx, async () => {
        await using bob = await phone(pbx, "202", "uas_answer_intercom.xml", { timeoutSec: 10 });
        await call(pbx, "201", "202", "uac_short_call.xml", 15);
        const r = await bob.done;
        ok(!r.ok, "sipp refused the INVITE without Call-Info answer-after=0");
      }),
    );

    await t.step(
      "202 already in a call: *80202 is answered 486, 202 is not rung",
      withLogs(pbx, async () => {
        await using bob = await phone(pbx, "202", "uas_answer.xml");
        // 203 talks to 202 (7 s of audio, then BYE) while 201 tries the intercom.
        const talking = runSipp({
          scenario: "uac_call_pcap.xml",
          target: pbx.target,
          user: "203",
          password: EXT["203"],
          service: "202",
        });
        for (let i = 0; i < 100; i++) {
          const calls = await pbx.api.get<{ state: string }[] | { items: { state: string }[] }>("/api/calls");
          const list = Array.isArray(calls) ? calls : calls.items;
          if (list.some((c) => c.state === "answered")) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        assertOk(await call(pbx, "201", "*80202", "uac_busy.xml"), "486 for a phone in a call");
        ok(/intercom refused target=202 status=486/.test(pbx.app.logs()));
        assertOk(await talking, "203's call went on undisturbed");
        assertOk(await bob.done, "202 had only the one call");
      }),
    );

    await t.step(
      "202 in its voicemail (a local call, no B2BUA call): *80202 is answered 486",
      withLogs(pbx, async () => {
        // 202 listens to its own voicemail (*97: the PIN prompt plays; sipp sends 7 s of audio, then BYE).
        const inVoicemail = runSipp({
          scenario: "uac_call_pcap.xml",
          target: pbx.target,
          user: "202",
          password: EXT["202"],
          service: "*97",
        });
        await pbx.app.waitForLog(/feature call answered .*caller=202/, 15_000);
        assertOk(await call(pbx, "201", "*80202", "uac_busy.xml"), "486 for a phone in its voicemail");
        ok(
          /intercom refused target=202 status=486 reason="Busy Here \(intercom: 202 is on a call\)"/.test(
            pbx.app.logs(),
          ),
        );
        assertOk(await inVoicemail, "202's voicemail call went on undisturbed");
      }),
    );

    await t.step(
      "*80299: not an extension: 404 and a log line",
      withLogs(pbx, async () => {
        assertOk(await call(pbx, "201", "*80299", "uac_unknown_number.xml"), "404");
        eq(/intercom refused target=299 status=404/.test(pbx.app.logs()), true);
      }),
    );
  } finally {
    await pbx.app.stop();
  }
});
