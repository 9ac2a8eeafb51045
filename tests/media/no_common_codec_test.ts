/**
 * A call the box cannot connect: the caller offers only GSM (PT 3, no decoder in the box), the
 * callee (sipp uas_answer.xml) answers PCMU/PCMA. Nothing can be passed through or transcoded, so
 * the caller gets 488 and the CDR says so.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { describeSipp, hasBinary, runSipp, startAppliance, startSipp } from "../_harness/mod.ts";
import { APP_ENV, pw, registerFor, setupExtensions, sleep, withAppLog } from "./_support.ts";

interface Cdr {
  caller: string;
  callee: string;
  disposition: string;
  sipCode: number;
  hangupBy: string;
}

Deno.test({
  name: "a GSM-only caller to a G.711 callee gets 488 and the CDR records failed/488",
  ignore: !hasBinary("sipp"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using app = await startAppliance({ env: APP_ENV });
    await withAppLog(app, async () => {
      await setupExtensions(app, ["1001", "1002"]);
      await using callee = await startSipp({ scenario: "uas_answer.xml", timeoutSec: 20 });
      await registerFor(app, "1002", callee.localPort);
      const call = await runSipp({
        scenario: "uac_gsm_only.xml",
        target: `127.0.0.1:${app.sipPort}`,
        user: "1001",
        password: pw("1001"),
        service: "1002",
      });
      assert(call.ok, `the caller did not get 488: ${describeSipp(call)}`);
      await app.waitForLog(/no way to connect the codecs/, 5000);
      // B answered (it could have had GSM); the box must not leave it in a call it cannot bridge.
      const b = await callee.done;
      assert(b.ok && /BYE sip:/.test(b.messages), `the callee was not released with BYE: ${describeSipp(b)}`);
      const api = await app.adminApi();
      let items: Cdr[] = [];
      for (let i = 0; i < 50 && items.length === 0; i++) {
        items = (await api.get<{ items: Cdr[] }>("/api/cdr")).items;
        if (items.length === 0) await sleep(100);
      }
      assertEquals(items.length, 1, "one CDR");
      const [rec] = items;
      assertEquals(
        { caller: rec!.caller, callee: rec!.callee, disposition: rec!.disposition, sipCode: rec!.sipCode },
        { caller: "1001", callee: "1002", disposition: "failed", sipCode: 488 },
      );
    });
  },
});
