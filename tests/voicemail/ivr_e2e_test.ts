/**
 * An IVR call through the real appliance: menu 500 (made through /api/ivr/menus) answers, sipp
 * presses 1 as RFC 4733 during the greeting, the choice runs voicemail deposit for 203 on the same
 * call, and the pcap the caller plays after the tone is stored in 203's mailbox; a second call sends
 * SIP INFO digits: 2 leads to menu 501 (its greeting an uploaded WAV), 5 there to voicemail for 201; a third caller offers no
 * telephone-event and dials 2 then 5 as in-band tones (a pcap of G.711 DTMF made by the test), which
 * the box finds in its audio and follows to 201's mailbox the same way.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { dtmfTones, runSipp, writePcapG711 } from "../_harness/mod.ts";
import { EXT, startPbx, withLogs } from "../sip/_setup.ts";
import { callerScenario } from "./_scenarios.ts";
import { greetingWav } from "./_fake_leg.ts";

Deno.test("ivr: RFC 4733 digit 1 leads to voicemail for 203; SIP INFO and in-band 2 then 5 go through menu 501 to 201", async () => {
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
      // Menu 501's greeting is an uploaded recording; a broken one and a wrong type are refused.
      const putGreeting = (menu: string, body: BodyInit, type = "audio/wav") =>
        pbx.app.adminToken().then((token) =>
          fetch(`${pbx.app.baseUrl}/api/ivr/menus/${menu}/greeting`, {
            method: "PUT",
            headers: { authorization: `Bearer ${token}`, "content-type": type },
            body,
          })
        );
      const broken = await putGreeting("501", "RIFF....WAVEjunk");
      eq(broken.status, 400);
      ok(/not a usable WAV/.test((await broken.json()).error));
      const text = await putGreeting("501", "hello", "text/plain");
      eq(text.status, 415);
      await text.body?.cancel();
      const none = await putGreeting("599", greetingWav());
      eq(none.status, 404);
      await none.body?.cancel();
      const good = await putGreeting("501", greetingWav());
      eq(good.status, 200);
      ok((await good.json()).durationMs > 0);
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

      // In-band: no telephone-event in the caller's SDP, the digits are tones in its PCMA audio.
      const tones2 = `${tmp}/dtmf_2.pcap`, tones5 = `${tmp}/dtmf_5.pcap`;
      Deno.writeFileSync(tones2, writePcapG711(dtmfTones("2"), 8));
      Deno.writeFileSync(tones5, writePcapG711(dtmfTones("5"), 8));
      const inbandPath = `${tmp}/ivr_inband.xml`;
      Deno.writeTextFileSync(
        inbandPath,
        callerScenario(
          [
            { pauseMs: 1500 },
            { pcap: tones2 },
            { pauseMs: 1500 },
            { pcap: tones5 },
            { pauseMs: 1500 },
            { pcap: "/usr/share/sip-tester/g711a.pcap" },
            { pauseMs: 7500 },
          ],
          "bye",
          { telephoneEvent: false },
        ),
      );
      const before = (pbx.app.logs().match(/ivr choice menu=501 digit=5/g) ?? []).length;
      const inband = await runSipp({
        scenario: inbandPath,
        target: pbx.target,
        user: "202",
        password: EXT["202"],
        service: "500",
        timeoutSec: 40,
      });
      ok(inband.ok, `ivr in-band call: ${inband.output.slice(-1500)}${inband.errors.slice(-1500)}`);
      await pbx.app.waitForLog(
        /voicemail message stored.*mailbox=201[\s\S]*voicemail message stored.*mailbox=201/,
        10_000,
      );
      eq(
        (pbx.app.logs().match(/ivr choice menu=501 digit=5/g) ?? []).length,
        before + 1,
        "menu 501 took the tone",
      );
      const msgs201 = await pbx.api.get<{ messages: { caller: string }[] }>(
        "/api/voicemail/mailboxes/201/messages",
      );
      eq(msgs201.messages.length, 2);
    })();
  } finally {
    await pbx.app.stop();
    Deno.removeSync(tmp, { recursive: true });
  }
});
