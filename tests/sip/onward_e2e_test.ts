/**
 * Onward routing from an application's caller, sipp on every side, through the real appliance:
 * an IVR choice dials the operator (201), who answers, talks and hangs up (the caller then hears
 * goodbye and gets the box's BYE); a busy operator sends the caller back to the menu; a REFER on
 * the IVR call (a malformed Refer-To gets 400, an unknown number 404) blind-transfers the caller to
 * 203 through the dialplan with NOTIFY sipfrag 100 then 200. The records of each call share its link.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { createSocket } from "node:dgram";
import { freeUdpPort, runSipp } from "../_harness/mod.ts";
import { assertOk, type Cdr, cdrs, EXT, phone, startPbx, withLogs } from "./_setup.ts";
import { callerScenario } from "../voicemail/_scenarios.ts";

Deno.test("onward routing: ivr dials the operator, busy back to the menu, REFER on the ivr call", async (t) => {
  const tmp = Deno.makeTempDirSync({ prefix: "pbx-onward-e2e-" });
  const pbx = await startPbx({ PBX_NO_ANSWER_SECONDS: "5" });
  const caller = async (name: string, steps: Parameters<typeof callerScenario>[0]) => {
    const path = `${tmp}/${name}.xml`;
    Deno.writeTextFileSync(path, callerScenario(steps, "await-bye"));
    return await runSipp({
      scenario: path,
      target: pbx.target,
      user: "202",
      password: EXT["202"],
      service: "500",
      timeoutSec: 45,
    });
  };
  try {
    await pbx.api.put("/api/ivr/menus/500", {
      name: "Main",
      greeting: "Press zero for the operator.",
      options: { "0": { kind: "dial", number: "201" } },
      timeoutMs: 3000,
      repeats: 0,
      final: { kind: "hangup" },
    });

    await t.step(
      "0 dials 201: it rings, answers, is bridged to the caller, hangs up; the ivr says goodbye",
      withLogs(pbx, async () => {
        // The operator's SDP names a socket of this test: the caller's audio must arrive there.
        const port = await freeUdpPort();
        const sock = createSocket("udp4");
        await new Promise<void>((resolve) => sock.bind(port, "127.0.0.1", resolve));
        let packets = 0;
        const values = new Set<number>();
        sock.on("message", (data: Uint8Array) => {
          if (data.length <= 12 || (data[0]! & 0xc0) !== 0x80) return;
          packets++;
          for (const b of data.subarray(12)) values.add(b);
        });
        const scenario = `${tmp}/operator.xml`;
        Deno.writeTextFileSync(
          scenario,
          Deno.readTextFileSync(new URL("../sipp/uas_answer_hangup.xml", import.meta.url))
            .replace("m=audio [media_port]", `m=audio ${port}`)
            .replace('<pause milliseconds="2000" />', '<pause milliseconds="5000" />'),
        );
        try {
          await using operator = await phone(pbx, "201", scenario);
          const r = await caller("dial", [
            { pauseMs: 1000 },
            { digits: "0" },
            { pauseMs: 3000 },
            { pcap: "/usr/share/sip-tester/g711a.pcap" },
          ]);
          assertOk(r, "caller");
          assertOk(await operator.done, "operator answered and hung up");
        } finally {
          await new Promise<void>((resolve) => sock.close(() => resolve()));
        }
        // The caller speaks PCMA, the operator answered PCMU: the bridge transcodes.
        ok(packets >= 25, `only ${packets} RTP packets of the caller reached the operator`);
        ok(values.size > 20, `the operator heard silence (${values.size} distinct byte values)`);
        await pbx.app.waitForLog(/onward call bridged.*to=201/, 10_000);
        ok(/ivr dialled menu=500 target=201 outcome=answered/.test(pbx.app.logs()), "the outcome was logged");
        const [ivr, leg] = await cdrs(pbx, 2);
        ok(ivr !== undefined && leg !== undefined, "two records");
        const onward = [ivr, leg].find((c) => c.callee === "201")!;
        const first = [ivr, leg].find((c) => c.callee === "500")!;
        ok(onward && first, JSON.stringify([ivr, leg]));
        eq(onward.linkedId, first.callId, "the operator's leg is linked to the ivr call");
        eq([onward.caller, onward.disposition, onward.hangupBy], ["202", "answered", "callee"]);
      }),
    );

    await t.step(
      "a busy operator: the caller hears so and is back in the menu (then hung up after its timeout)",
      withLogs(pbx, async () => {
        await using operator = await phone(pbx, "201", "uas_busy.xml");
        const r = await caller("busy", [{ pauseMs: 1000 }, { digits: "0" }]);
        assertOk(r, "caller");
        assertOk(await operator.done, "operator was busy");
        ok(/ivr dialled menu=500 target=201 outcome=busy/.test(pbx.app.logs()), "busy was the outcome");
        const list = await cdrs(pbx, 4);
        const busy = list.find((c: Cdr) => c.callee === "201" && c.disposition === "busy");
        ok(busy !== undefined, JSON.stringify(list));
        const ivr = list.find((c: Cdr) => c.callId === busy.linkedId);
        ok(ivr !== undefined && ivr.callee === "500", "the busy attempt is linked to the ivr call");
      }),
    );

    await t.step(
      "REFER on the ivr call: 400 malformed, 404 unknown, then 202 and NOTIFY 100/200 to 203",
      withLogs(pbx, async () => {
        await using target = await phone(pbx, "203", "uas_answer_hangup.xml");
        const r = await caller("refer", [
          { pauseMs: 500 },
          { refer: "<sip:@127.0.0.1>", status: 400 },
          { refer: "<sip:999@127.0.0.1>", status: 404 },
          { refer: "<sip:203@127.0.0.1>", status: 202 },
        ]);
        assertOk(r, "caller: 400, 404, 202 + NOTIFYs, then BYE when 203 hung up");
        assertOk(await target.done, "203 answered and hung up");
        ok(/blind transfer of a feature call caller=202 target=203/.test(pbx.app.logs()));
        ok(/REFER with a malformed Refer-To refused/.test(pbx.app.logs()));
      }),
    );

    await t.step(
      "201 blind-transfers 202 into the ivr (500): NOTIFY 200, BYE; 202 hears the menu, which hangs up",
      withLogs(pbx, async () => {
        await using transferee = await phone(pbx, "202", "uas_answer.xml");
        const r = await runSipp({
          scenario: "uac_refer_blind.xml",
          target: pbx.target,
          user: "201",
          password: EXT["201"],
          service: "202",
          keys: { refer_to: "500" },
          timeoutSec: 40,
        });
        assertOk(r, "transferor: 202, NOTIFY 100 and 200, BYE");
        assertOk(await transferee.done, "202 was in the ivr and got its BYE");
        await pbx.app.waitForLog(/feature call adopted .*caller=202 dialled=500/, 10_000);
        await pbx.app.waitForLog(/ivr timeout menu=500 .*caller=202/, 15_000);
        const list = await cdrs(pbx, 8);
        const part = list.find((c: Cdr) => c.reason === "transferred to 500");
        ok(part !== undefined, JSON.stringify(list.slice(0, 3)));
        const ivr = list.find((c: Cdr) => c.callee === "500" && c.caller === "202");
        ok(ivr !== undefined && ivr.linkedId === part.linkedId, "the ivr part is linked to the call");
      }),
    );
  } finally {
    await pbx.app.stop();
    Deno.removeSync(tmp, { recursive: true });
  }
});
