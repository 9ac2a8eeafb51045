/**
 * SIP session timers (RFC 4028) with sipp on both sides: a caller asking for less than Min-SE gets
 * 422; a caller that is the refresher and stops refreshing has its call ended by the box (BYE both
 * ways); toward a callee the box offers timers and refreshes with UPDATE, and a refresh answered
 * 481 ends the call. Intervals are a few seconds (Min-SE lowered by environment; the default is 90).
 * No RTP flows, so the RTP timeout is off here.
 */
import { ok } from "node:assert";
import { runSipp, startSipp } from "../_harness/mod.ts";
import { assertOk, cdrs, EXT, type Pbx, register, startPbx, withLogs } from "./_setup.ts";

const ENV = { PBX_SESSION_MIN_SE_SEC: "2", PBX_RTP_TIMEOUT_SEC: "0" };

function caller(pbx: Pbx, scenario: string, keys: Record<string, string> = {}) {
  return runSipp({
    scenario,
    target: pbx.target,
    user: "201",
    password: EXT["201"],
    service: "202",
    timeoutSec: 40,
    keys,
  });
}

async function callee(pbx: Pbx, scenario: string, keys: Record<string, string> = {}) {
  assertOk(
    await runSipp({ scenario: "unregister.xml", target: pbx.target, user: "202", password: EXT["202"] }),
    "unregister",
  );
  const uas = await startSipp({ scenario, timeoutSec: 40, calls: 1, keys });
  const reg = await register(pbx, "202", uas.localPort);
  if (!reg.ok) {
    await uas.stop();
    throw new Error(`registering 202 failed:\n${reg.output.slice(-1500)}`);
  }
  return uas;
}

Deno.test("session timers with sipp: 422 below Min-SE, an expired session and a failed refresh end the call", async (t) => {
  const pbx = await startPbx(ENV);
  try {
    await t.step(
      "Session-Expires below Min-SE gets 422 with Min-SE",
      withLogs(pbx, async () => {
        await using uas = await callee(pbx, "uas_answer.xml");
        assertOk(await caller(pbx, "uac_timer_too_small.xml", { se: "1" }), "caller gets 422");
        await uas.stop();
      }),
    );

    await t.step(
      "the caller is the refresher (its 200 says so); after its last refresh the box ends the call",
      withLogs(pbx, async () => {
        await using uas = await callee(pbx, "uas_answer.xml");
        // se=4: one UPDATE after 1 s, then silence; the box sends BYE 4 - 4/3 s after that refresh.
        assertOk(
          await caller(pbx, "uac_timer_refresher.xml", { se: "4" }),
          "caller: 200 checked, BYE from box",
        );
        assertOk(await uas.done, "callee got the box's BYE");
        const [rec] = await cdrs(pbx, 1);
        ok(rec?.reason === "session-timer" && rec.hangupBy === "system", JSON.stringify(rec));
        ok(rec.billsecMs >= 3000, `the UPDATE refreshed the session: it lasted ${rec.billsecMs} ms`);
      }),
    );

    await t.step(
      "toward the callee the box offers timers and refreshes with UPDATE; a 481 to a refresh ends the call",
      withLogs(pbx, async () => {
        const before = (await cdrs(pbx, 1)).length;
        await using uas = await callee(pbx, "uas_timer_box_refreshes.xml", { se: "4" });
        assertOk(await caller(pbx, "uac_wait_bye.xml"), "caller gets the box's BYE");
        assertOk(await uas.done, "callee: INVITE offered timers, two UPDATEs, then BYE");
        const items = await cdrs(pbx, before + 1);
        ok(items[0]?.reason === "session-timer", JSON.stringify(items[0]));
      }),
    );
  } finally {
    await pbx.app.stop();
  }
});
