/**
 * 1000 calls through the box (sipp on both sides): all succeed, and afterwards every RTP port is
 * back in the pool and no call is left in memory.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { runSipp } from "../_harness/mod.ts";
import { assertOk, EXT, phone, startPbx } from "./_setup.ts";

interface Status {
  health: { media: { activeLegs: number; freePorts: number }; calls: number };
}

Deno.test("1000 calls leave no RTP port and no call behind", async () => {
  const pbx = await startPbx({ PBX_LOG_LEVEL: "warn" });
  try {
    const before = await pbx.api.get<Status>("/api/system/status");
    // sipp's built-in UAS answers every call; it is 202's only contact.
    await using _uas = await phone(pbx, "202", "sn:uas", { timeoutSec: 120, calls: 1000 });
    const r = await runSipp({
      scenario: "uac_short_call.xml",
      target: pbx.target,
      user: "201",
      password: EXT["201"],
      service: "202",
      calls: 1000,
      rate: 100,
      limit: 30, // the harness gives the box 200 RTP ports: 50 calls at most, 4 ports each
      timeoutSec: 120,
      args: ["-trace_msg", "-max_log_size", "1"],
    });
    assertOk(r, "1000 calls");
    eq(r.successful, 1000);
    // Ports are released asynchronously after the last BYE: give the media worker a moment.
    let after = await pbx.api.get<Status>("/api/system/status");
    for (let i = 0; i < 50 && after.health.media.activeLegs > 0; i++) {
      await new Promise((res) => setTimeout(res, 100));
      after = await pbx.api.get<Status>("/api/system/status");
    }
    eq(after.health.media.activeLegs, 0);
    eq(after.health.media.freePorts, before.health.media.freePorts);
    eq(after.health.calls, 0);
    // Call records are written through the group commit (a few ms after the call ends).
    let cdr = await pbx.api.get<{ total: number }>("/api/cdr?disposition=answered&limit=1");
    for (let i = 0; i < 50 && cdr.total < 1000; i++) {
      await new Promise((res) => setTimeout(res, 50));
      cdr = await pbx.api.get<{ total: number }>("/api/cdr?disposition=answered&limit=1");
    }
    ok(cdr.total >= 1000, `CDRs: ${cdr.total}`);
  } finally {
    await pbx.app.stop();
  }
});
