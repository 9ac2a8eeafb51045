/**
 * Re-provisioning through the real appliance: an admin presses "re-provision" for a phone and the
 * phone (a registered sipp UAS) receives NOTIFY Event: check-sync and answers 200.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { startSipp } from "../_harness/mod.ts";
import { assertOk, register, startPbx } from "../sip/_setup.ts";

Deno.test("re-provision sends check-sync to the phone's registered contact", async () => {
  const pbx = await startPbx();
  try {
    await pbx.api.post("/api/phones", {
      mac: "80:5e:c0:12:34:56",
      vendor: "yealink",
      model: "T46S",
      extension: "201",
    });
    // Not registered yet: nothing to tell.
    const early = await pbx.api.request("POST", "/api/phones/805ec0123456/reprovision");
    eq(early.status, 409);
    await using phone = await startSipp({ scenario: "uas_notify.xml", timeoutSec: 15 });
    assertOk(await register(pbx, "201", phone.localPort), "register");
    const res = await pbx.api.post<{ sent: number; detail: string }>("/api/phones/805ec0123456/reprovision");
    eq(res.sent, 1);
    ok(res.detail.includes(": 200"), res.detail);
    const r = await phone.done;
    assertOk(r, "phone got NOTIFY check-sync");
    ok(/Event: check-sync;reboot=false/.test(r.messages), "Yealink gets check-sync without reboot");
  } finally {
    await pbx.app.stop();
  }
});
