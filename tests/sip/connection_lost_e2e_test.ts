/**
 * A phone on SIP over TCP that dies mid-call (its process killed: the kernel closes the
 * connection) ends its calls at once: BYE to the other party, record reason connection-lost. No
 * RTP flows, so the RTP timeout is off here: the connection alone ends the call.
 */
import { ok } from "node:assert";
import { startSipp } from "../_harness/mod.ts";
import { assertOk, cdrs, EXT, phone, startPbx, withLogs } from "./_setup.ts";

Deno.test("a sipp caller over TCP killed mid-call: the box ends the call (BYE to the callee), record says connection-lost", async () => {
  const pbx = await startPbx({ PBX_RTP_TIMEOUT_SEC: "0" });
  try {
    await withLogs(pbx, async () => {
      await using uas = await phone(pbx, "202", "uas_answer.xml");
      const uac = await startSipp({
        scenario: "uac_wait_bye.xml",
        target: pbx.target,
        user: "201",
        password: EXT["201"],
        service: "202",
        transport: "t1",
        timeoutSec: 60,
      });
      try {
        let answered = false;
        for (let i = 0; i < 100 && !answered; i++) {
          const { items } = await pbx.api.get<{ items: { state: string }[] }>("/api/calls");
          answered = items.some((c) => c.state === "answered");
          if (!answered) await new Promise((r) => setTimeout(r, 100));
        }
        ok(answered, `the call over TCP was answered:\n${uac.output().slice(-1500)}`);
      } finally {
        await uac.stop(); // the process dies without a BYE; its TCP connection closes
      }
      assertOk(await uas.done, "the callee gets the box's BYE");
      const [rec] = await cdrs(pbx, 1);
      ok(rec?.reason === "connection-lost" && rec.hangupBy === "system", JSON.stringify(rec));
      ok(/SIP connection lost: calls ended/.test(pbx.app.logs()), "the log says why");
    })();
  } finally {
    await pbx.app.stop();
  }
});
