/**
 * Calls whose far end dies: a phone killed mid-call (no BYE, its RTP stops) is noticed by the
 * media plane's RTP inactivity watch, and the box ends the call with BYE to the other side and a
 * call record saying why. A phone killed mid-page frees the zone, so the next page is answered.
 * The timeout is set short by environment for the test (the default is 60 s).
 */
import { ok } from "node:assert";
import { hasBinary, startBaresip } from "../_harness/mod.ts";
import { available as alsaAvailable } from "../../drivers/alsa/mod.ts";
import { makeDac } from "../paging/_dac.ts";
import { assertOk, call, type Cdr, cdrs, EXT, phone, startPbx, withLogs } from "./_setup.ts";

const RTP_TIMEOUT = { PBX_RTP_TIMEOUT_SEC: "3" };

Deno.test({
  name:
    "a baresip phone killed mid-call: the box ends the call (BYE to the other phone), record says rtp-timeout",
  ignore: !hasBinary("baresip"),
  async fn() {
    const pbx = await startPbx(RTP_TIMEOUT);
    try {
      await withLogs(pbx, async () => {
        await using b = await startBaresip({
          user: "202",
          password: EXT["202"],
          sipPort: pbx.app.sipPort,
          codecs: ["PCMU"],
        });
        await using a = await startBaresip({
          user: "201",
          password: EXT["201"],
          sipPort: pbx.app.sipPort,
          codecs: ["PCMU"],
        });
        await a.registered();
        await b.registered();
        await a.dial(`sip:202@127.0.0.1:${pbx.app.sipPort}`);
        await b.waitForEvent("CALL_ESTABLISHED", 10_000);
        // Talking for longer than the timeout: RTP flows, nothing ends the call.
        await new Promise((r) => setTimeout(r, 4500));
        ok(!b.events().some((e) => e.type === "CALL_CLOSED"), "the call stays up while both phones send");
        const live = await pbx.api.get<{ items: { state: string }[] }>("/api/calls");
        ok(live.items.some((c) => c.state === "answered"), `the call is live: ${JSON.stringify(live)}`);

        await a.kill();
        // 3 s of silence from 201, then BYE to 202.
        await b.waitForEvent("CALL_CLOSED", 15_000);
        ok((await pbx.api.get<{ items: unknown[] }>("/api/calls")).items.length === 0, "no call is left");
        const [rec] = await cdrs(pbx, 1);
        ok(rec !== undefined, "a call record was written");
        ok(rec.disposition === "answered" && rec.hangupBy === "system", JSON.stringify(rec));
        ok(rec.reason === "rtp-timeout", `record reason: ${JSON.stringify(rec)}`);
        ok(/ending call: far end gone.*rtp-timeout/.test(pbx.app.logs()), "the log says why");
      })();
    } finally {
      await pbx.app.stop();
    }
  },
});

Deno.test({
  name: "a baresip phone killed mid-page frees the zone: the next page is answered, not 486",
  ignore: !hasBinary("baresip") || !alsaAvailable(),
  async fn() {
    const dac = await makeDac("pbx-page-killed-");
    const pbx = await startPbx({ ...dac.env, ...RTP_TIMEOUT });
    try {
      await withLogs(pbx, async () => {
        await pbx.api.post("/api/paging/zones", {
          number: "802",
          name: "Warehouse",
          alsaDevice: "zone2",
          channels: [1],
          leadMs: 0,
          tailMs: 0,
        });
        await pbx.api.put("/api/paging/permissions/201", { targets: ["802"] });
        await pbx.api.put("/api/paging/permissions/202", { targets: ["802"] });
        const zoneState = async () => {
          const st = await pbx.api.get<{ zones: { number: string; state: string }[] }>("/api/paging/status");
          return st.zones.find((z) => z.number === "802")?.state;
        };

        await using a = await startBaresip({
          user: "201",
          password: EXT["201"],
          sipPort: pbx.app.sipPort,
          codecs: ["PCMU"],
        });
        await a.registered();
        await a.dial(`sip:802@127.0.0.1:${pbx.app.sipPort}`);
        await a.waitForEvent("CALL_ESTABLISHED", 10_000);
        for (let i = 0; i < 100 && await zoneState() !== "paging"; i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
        ok(await zoneState() === "paging", "the zone is paging");

        await a.kill();
        let state = await zoneState();
        for (let i = 0; i < 150 && state === "paging"; i++) {
          await new Promise((r) => setTimeout(r, 100));
          state = await zoneState();
        }
        ok(state === "idle", `the zone is free again after the RTP timeout, state ${state}`);
        const items: Cdr[] = await cdrs(pbx, 1);
        const page = items.find((r) => r.callee === "802");
        ok(page?.reason === "rtp-timeout" && page.hangupBy === "system", JSON.stringify(items));

        // The next page gets through (it was 486 "zone in use" for as long as the dead call lasted).
        assertOk(await call(pbx, "202", "802", "uac_short_call.xml"), "the next page");
      })();
    } finally {
      await pbx.app.stop();
      await dac.remove();
    }
  },
});

Deno.test("a call held (no RTP at all) for longer than the RTP timeout is not ended", async () => {
  const pbx = await startPbx(RTP_TIMEOUT);
  try {
    await withLogs(pbx, async () => {
      await using uas = await phone(pbx, "202", "uas_hold.xml");
      assertOk(await call(pbx, "201", "202", "uac_hold_long.xml"), "caller holds 5 s, resumes, hangs up");
      assertOk(await uas.done, "callee");
      const [rec] = await cdrs(pbx, 1);
      ok(rec?.hangupBy === "caller" && rec.reason === undefined, JSON.stringify(rec));
    })();
  } finally {
    await pbx.app.stop();
  }
});

Deno.test({
  name: "a page longer than the zone's maximum page duration is ended by the box; the zone is free",
  ignore: !hasBinary("baresip") || !alsaAvailable(),
  async fn() {
    const dac = await makeDac("pbx-page-limit-");
    const pbx = await startPbx(dac.env);
    try {
      await withLogs(pbx, async () => {
        await pbx.api.post("/api/paging/zones", {
          number: "802",
          name: "Warehouse",
          alsaDevice: "zone2",
          channels: [1],
          maxPageSec: 3,
        });
        await pbx.api.put("/api/paging/permissions/201", { targets: ["802"] });
        await using a = await startBaresip({
          user: "201",
          password: EXT["201"],
          sipPort: pbx.app.sipPort,
          codecs: ["PCMU"],
        });
        await a.registered();
        await a.dial(`sip:802@127.0.0.1:${pbx.app.sipPort}`);
        await a.waitForEvent("CALL_ESTABLISHED", 10_000);
        // The phone keeps talking; the box hangs up after 3 s.
        await a.waitForEvent("CALL_CLOSED", 15_000);
        const items: Cdr[] = await cdrs(pbx, 1);
        const page = items.find((r) => r.callee === "802");
        ok(page?.reason === "page-max-duration" && page.hangupBy === "system", JSON.stringify(items));
        ok(page.billsecMs >= 2500, `the page lasted its 3 s: ${page.billsecMs} ms`);
        let state: string | undefined;
        for (let i = 0; i < 50; i++) {
          const st = await pbx.api.get<{ zones: { number: string; state: string }[] }>("/api/paging/status");
          state = st.zones.find((z) => z.number === "802")?.state;
          if (state === "idle") break;
          await new Promise((r) => setTimeout(r, 100));
        }
        ok(state === "idle", `zone state ${state}`);
        assertOk(await call(pbx, "201", "802", "uac_short_call.xml"), "the next page");
      })();
    } finally {
      await pbx.app.stop();
      await dac.remove();
    }
  },
});
