/**
 * An IVR call through the real appliance: menu 500 (made through /api/ivr/menus) answers, sipp
 * presses 1 as RFC 4733 during the greeting, the choice runs voicemail deposit for 203 on the same
 * call, and the pcap the caller plays after the tone is stored in 203's mailbox; a second call sends
 * SIP INFO digits: 2 leads to menu 501, 5 there to voicemail for 201.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { runSipp } from "../_harness/mod.ts";
import { EXT, startPbx, withLogs } from "../sip/_setup.ts";
import { callerScenario } from "./_scenarios.ts";
import { greetingWav } from "./_fake_leg.ts";

Deno.test("ivr: RFC 4733 digit 1 leads to voicemail for 203; SIP INFO 2 then 5 go through menu 501 to 201", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "pbx-ivr-e2e-" });
  const pbx = await startPbx();
  try {
    await withLogs(pbx, async () => {
      const bad = await pbx.api.request("PUT", "/api/ivr/menus/500", {
        name: "Main",
        greeting: "x",
        options: { "12": {} },
      });
      eq(bad.status, 400);
      await pbx.api.put("/api/ivr/menus/500", {
        name: "Main",
        greeting: "Thank you for calling. Press one to leave a message for the support team.",
        options: {
          "1": { kind: "application", name: "voicemail-deposit", args: { mailbox: "203" } },
          "2": { kind: "menu", number: "501" },
        },
        timeoutMs: 5000,
      });
      await pbx.api.put("/api/ivr/menus/501", {
        name: "Sales",
        greeting: "Sales. Press five to leave a message.",
        options: { "5": { kind: "application", name: "voicemail-deposit", args: { mailbox: "201" } } },
      });
      for (const m of ["201", "203"]) {
        const r = await fetch(`${pbx.app.baseUrl}/api/voicemail/mailboxes/${m}/greetings/unavailable`, {
          method: "PUT",
          headers: { authorization: `Bearer ${await pbx.app.adminToken()}`, "content-type": "audio/wav" },
          body: greetingWav(),
        });
        eq(r.status, 200);
      }
      const path = `${tmp}/ivr.xml`;
      Deno.writeTextFileSync(
        path,
        callerScenario([
          { pauseMs: 1500 },
          { digits: "1" },
          { pauseMs: 1500 },
          { pcap: "/usr/share/sip-tester/g711a.pcap" },
          { pauseMs: 7500 },
        ], "bye"),
      );
      const r = await runSipp({
        scenario: path,
        target: pbx.target,
        user: "202",
        password: EXT["202"],
        service: "500",
        timeoutSec: 40,
      });
      ok(r.ok, `ivr call: ${r.output.slice(-1500)}${r.errors.slice(-1500)}`);
      await pbx.app.waitForLog(/voicemail message stored.*mailbox=203/, 10_000);
      ok(/ivr choice menu=500 digit=1/.test(pbx.app.logs()), "the choice was logged");
      const list = await pbx.api.get<{ messages: { caller: string; durationMs: number }[] }>(
        "/api/voicemail/mailboxes/203/messages",
      );
      eq(list.messages.map((m) => m.caller), ["202"]);
      ok(list.messages[0]!.durationMs > 4000, `duration ${list.messages[0]!.durationMs}`);

      // SIP INFO digits: 2 (to menu 501), then 5 there, then the caller's message for 201.
      const infoPath = `${tmp}/ivr_info.xml`;
      Deno.writeTextFileSync(
        infoPath,
        callerScenario([
          { pauseMs: 1500 },
          { info: "2" },
          { pauseMs: 1500 },
          { info: "5" },
          { pauseMs: 1500 },
          { pcap: "/usr/share/sip-tester/g711a.pcap" },
          { pauseMs: 7500 },
        ], "bye"),
      );
      const info = await runSipp({
        scenario: infoPath,
        target: pbx.target,
        user: "202",
        password: EXT["202"],
        service: "500",
        timeoutSec: 40,
      });
      ok(info.ok, `ivr INFO call: ${info.output.slice(-1500)}${info.errors.slice(-1500)}`);
      await pbx.app.waitForLog(/voicemail message stored.*mailbox=201/, 10_000);
      ok(/ivr choice menu=501 digit=5/.test(pbx.app.logs()), "menu 501 took the INFO digit");
    })();
  } finally {
    await pbx.app.stop();
    Deno.removeSync(tmp, { recursive: true });
  }
});
