/**
 * E911 rings the front desk at once (Kari's Law): 9911 from an extension on DND without outside
 * permission goes out of a peer trunk to a sipp carrier, and at the same time the configured front
 * desk (extension 203, a sipp phone) is rung by the box (calls.originate). The carrier gets the
 * INVITE with the PIDF-LO; the front desk answers and hears the announcement (speech, or the
 * digit prompts / alert tone without text to speech: non-silent RTP either way), while the caller
 * is still on the emergency call.
 */
import { ok } from "node:assert";
import { createSocket } from "node:dgram";
import { available as ttsAvailable } from "../../drivers/tts/mod.ts";
import { describeSipp, freeUdpPort, hasBinary, startSipp } from "../_harness/mod.ts";
import { assertOk, call, phone, startPbx, withLogs } from "../sip/_setup.ts";

/** The wall-clock time (ms) sipp's message trace gives the first message matching `re`. */
function tracedAt(messages: string, re: RegExp): number | undefined {
  // sipp -trace_msg: "----------------------------------------------- 2026-12-03 14:13:00.123456" then the message.
  const blocks = messages.split(/^-{10,} /m);
  for (const b of blocks) {
    const m = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+)/.exec(b);
    if (m !== null && re.test(b)) return Date.parse(m[1]!.replace(" ", "T").slice(0, 23) + "Z");
  }
  return undefined;
}

Deno.test({
  name: "E911: the front desk rings while 9911 reaches the carrier, answers and hears the announcement",
  ignore: !hasBinary("sipp"),
  async fn() {
    const tmp = Deno.makeTempDirSync({ prefix: "pbx-e911-desk-" });
    const pbx = await startPbx();
    const far = await startSipp({ scenario: "uas_answer.xml", calls: 1, timeoutSec: 60 });
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
    try {
      await withLogs(pbx, async () => {
        await pbx.api.put("/api/trunks/carrier", {
          kind: "peer",
          host: "127.0.0.1",
          port: far.localPort,
          addresses: ["127.0.0.9"],
        });
        await pbx.api.put("/api/e911", { frontDesk: "203" });
        await pbx.api.put("/api/outbound-permissions/202", { classes: [] });
        await pbx.api.put("/api/e911/locations/extension/202", {
          address: "100 Main St",
          floor: "2",
          room: "201",
        });
        await pbx.api.put("/api/callfeatures/extensions/202", { dnd: true });
        // The front desk answers with its RTP at this test's socket and stays 6 s.
        const deskScenario = `${tmp}/desk.xml`;
        Deno.writeTextFileSync(
          deskScenario,
          Deno.readTextFileSync(new URL("../sipp/uas_answer_hangup.xml", import.meta.url))
            .replace("m=audio [media_port]", `m=audio ${port}`)
            .replace('<pause milliseconds="2000" />', '<pause milliseconds="6000" />'),
        );
        // The caller stays on the emergency call for 8 s.
        const callerScenario = `${tmp}/caller.xml`;
        Deno.writeTextFileSync(
          callerScenario,
          Deno.readTextFileSync(new URL("../sipp/uac_short_call.xml", import.meta.url))
            .replace('<pause milliseconds="100" />', '<pause milliseconds="8000" />'),
        );
        await using desk = await phone(pbx, "203", deskScenario, { timeoutSec: 60 });
        assertOk(await call(pbx, "202", "9911", callerScenario, 60), "9911");
        const d = await desk.done;
        assertOk(d, "the front desk answered and hung up");
        const r = await far.stop();
        ok(/INVITE sip:911@127\.0\.0\.1:\d+ SIP\/2\.0/.test(r.messages), describeSipp(r));
        ok(/application\/pidf\+xml/.test(r.messages), "the carrier got the PIDF-LO");
        // The front desk saw who called, as an emergency.
        ok(/From: "EMERGENCY 911" <sip:202@/.test(d.messages), describeSipp(d));
        // Rung at the same time: the desk's INVITE came while the caller was still on the 911 call.
        const carrierInvite = tracedAt(r.messages, /^INVITE sip:911@/m);
        const carrierBye = tracedAt(r.messages, /^BYE sip:/m);
        const deskInvite = tracedAt(d.messages, /^INVITE sip:/m);
        ok(carrierInvite !== undefined && carrierBye !== undefined && deskInvite !== undefined, "traced");
        ok(
          deskInvite! < carrierBye! && Math.abs(deskInvite! - carrierInvite!) < 8000,
          `front desk rung at ${deskInvite}, carrier INVITE ${carrierInvite}, BYE ${carrierBye}`,
        );
        ok(packets >= 50, `only ${packets} RTP packets reached the front desk`);
        ok(values.size > 20, `the front desk heard silence (${values.size} distinct byte values)`);
        await pbx.app.waitForLog(/EMERGENCY front desk notified.*outcome=answered/, 20_000);
        const line = /EMERGENCY front desk notified.*/.exec(pbx.app.logs())?.[0] ?? "";
        if (ttsAvailable()) ok(/Extension two zero two\. 100 Main St, floor 2, room 201/.test(line), line);
        const audit = JSON.stringify(await pbx.api.get("/api/audit"));
        ok(/e911\.frontdesk/.test(audit) && /e911\.call/.test(audit), "both in the audit log");
      })();
    } finally {
      await new Promise<void>((resolve) => sock.close(() => resolve()));
      await far.stop().catch(() => {});
      await pbx.app.stop();
      Deno.removeSync(tmp, { recursive: true });
    }
  },
});
