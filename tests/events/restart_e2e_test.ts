/**
 * Subscriptions survive a restart: sipp subscribes to presence, the appliance is stopped and started
 * again on the same data and SIP port, and the restarted box sends a NOTIFY in the stored dialog
 * (same Call-ID and tags, higher CSeq); the subscriber then unsubscribes in that dialog.
 */
import { ok } from "node:assert";
import { hasBinary, runSipp, startAppliance } from "../_harness/mod.ts";
import { assertOk, EXT } from "../sip/_setup.ts";

Deno.test({
  name: "after a restart the box continues a subscription with a NOTIFY in the stored dialog",
  ignore: !hasBinary("sipp"),
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "pbx-events-restart-" });
    let app = await startAppliance({ dataDir });
    try {
      const api = await app.adminApi();
      for (const n of ["201", "202"] as const) {
        await api.createExtension({ number: n, name: `Phone ${n}`, password: EXT[n] });
      }
      const sipPort = app.sipPort;
      const run = runSipp({
        scenario: "subscribe_restart.xml",
        target: `127.0.0.1:${sipPort}`,
        user: "202",
        password: EXT["202"],
        service: "201",
        keys: { event: "presence", accept: "application/pidf+xml", expires: "600" },
        timeoutSec: 60,
      });
      await app.waitForLog(/subscription event=presence resource=201 subscriber=202/, 15_000);
      await new Promise((r) => setTimeout(r, 500)); // the initial NOTIFY's answer
      await app.stop();
      app = await startAppliance({ dataDir, sipPort });
      await app.waitForLog(/subscriptions resumed after restart count=1/, 15_000);
      const r = await run;
      assertOk(r, "subscriber");
      const notifies = r.messages.split(/-{5,}/).filter((m) => /^\s*NOTIFY /m.test(m));
      ok(notifies.length >= 3, `three NOTIFYs (initial, resumed, final), got ${notifies.length}`);
      const callId = (m: string) => /^Call-ID:\s*(.+)$/im.exec(m)?.[1]?.trim();
      const from = (m: string) => /^From:\s*(.+)$/im.exec(m)?.[1]?.trim();
      const cseq = (m: string) => Number(/^CSeq:\s*(\d+)/im.exec(m)?.[1]);
      ok(
        callId(notifies[0]!) === callId(notifies[1]!) && from(notifies[0]!) === from(notifies[1]!),
        "same dialog",
      );
      ok(cseq(notifies[1]!) > cseq(notifies[0]!), "higher CSeq after the restart");
    } finally {
      await app.stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});
