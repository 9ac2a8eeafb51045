/**
 * Outside lines from calls the box forwards and from application legs, through kamailio as the
 * carrier (a registration trunk with digest auth; kamailio challenges every INVITE from the box with
 * 407) to a sipp far end:
 * - 202 calls 201, which forwards always to 95552345678: the call goes out for 201 (202 has no
 *   outside permission), 9 stripped and 1 prepended at the far end;
 * - an IVR (an application leg) dials 201: its forwarding goes out the same way through
 *   runtime/call/onward.ts (the outbound leg answers the carrier's 407 itself), and the trunk
 *   counts it as a live call;
 * - a ring group whose final destination is 95552345678 (follow-me outside): 201 calls it, out
 *   for 201;
 * - the IVR dials 95552345678 for 202, which may not call out: refused with 403, the caller stays in
 *   the menu.
 */
import { deepStrictEqual as eq, ok } from "node:assert";
import { describeSipp, hasBinary, runSipp, startSipp } from "../_harness/mod.ts";
import { assertOk, call, EXT, startPbx, withLogs } from "../sip/_setup.ts";
import { callerScenario } from "../voicemail/_scenarios.ts";
import { hasKamailio, startCarrier } from "./_carrier.ts";

const CARRIER_PASSWORD = "Carrier-Trunk-7731";

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

Deno.test({
  name: "trunks: forwarding and application legs go out through the route (strip/prepend, permissions)",
  ignore: !hasKamailio() || !hasBinary("sipp"),
  async fn(t) {
    const tmp = Deno.makeTempDirSync({ prefix: "pbx-onward-trunk-" });
    const pbx = await startPbx();
    const far = await startSipp({ scenario: "uas_answer.xml", calls: 3, timeoutSec: 120 });
    const carrier = await startCarrier({
      boxPort: pbx.app.sipPort,
      uasPort: far.localPort,
      password: CARRIER_PASSWORD,
      trunkUser: "box1",
    });
    const invites = () =>
      carrier.logs().match(/CARRIER from box: sip:15552345678@127\.0\.0\.1/g)?.length ?? 0;
    try {
      await withLogs(pbx, async () => {
        await pbx.api.put("/api/trunks/carrier", {
          kind: "register",
          host: "127.0.0.1",
          port: carrier.port,
          username: "box1",
          password: CARRIER_PASSWORD,
          callerId: "15550001000",
        });
        await until("registration", async () => {
          const v = await pbx.api.get<{ state: { registration?: { status: string } } }>(
            "/api/trunks/carrier",
          );
          return v.state.registration?.status === "registered" ? true : undefined;
        });
        await pbx.api.put("/api/outbound-routes/us", {
          patterns: ["9|NXXNXXXXXX"],
          prepend: "1",
          class: "national",
          trunks: ["carrier"],
        });
        await pbx.api.put("/api/outbound-permissions/202", { classes: ["internal"] });
        await pbx.api.put("/api/outbound-permissions/201", { classes: ["internal", "national"] });
        await pbx.api.put("/api/callfeatures/extensions/201", { forwardAlways: "95552345678" });

        await t.step(
          "202 calls 201, forwarded always: out for 201 with 9 stripped and 1 prepended",
          async () => {
            assertOk(await call(pbx, "202", "201", "uac_short_call.xml"), "forwarded call");
            await until("the carrier's INVITE", () => Promise.resolve(invites() >= 1 ? true : undefined));
            ok(/CARRIER from box/.test(carrier.logs()), carrier.logs().slice(-3000));
          },
        );

        await pbx.api.put("/api/ivr/menus/500", {
          name: "Main",
          greeting: "Press zero for the operator.",
          options: {
            "0": { kind: "dial", number: "201" },
            "1": { kind: "dial", number: "95552345678" },
          },
          timeoutMs: 3000,
          repeats: 0,
          final: { kind: "hangup" },
        });
        const ivrCall = async (name: string, steps: Parameters<typeof callerScenario>[0]) => {
          const path = `${tmp}/${name}.xml`;
          Deno.writeTextFileSync(path, callerScenario(steps, "bye"));
          return await runSipp({
            scenario: path,
            target: pbx.target,
            user: "202",
            password: EXT["202"],
            service: "500",
            timeoutSec: 45,
          });
        };

        await t.step("an IVR dials 201: the application leg goes out of the trunk for 201", async () => {
          const running = ivrCall("dial0", [{ pauseMs: 1000 }, { digits: "0" }, { pauseMs: 4000 }]);
          // While it is up the trunk counts it (channel limits and the fraud guard see it).
          await until("the trunk's live call", async () => {
            const v = await pbx.api.get<{ calls: number }>("/api/trunks/carrier");
            return v.calls === 1 ? true : undefined;
          });
          const r = await running;
          assertOk(r, "ivr caller");
          await until("the second carrier INVITE", () => Promise.resolve(invites() >= 2 ? true : undefined));
          await pbx.app.waitForLog(/onward call bridged.*caller=202 to=15552345678/, 15_000);
        });

        await t.step(
          "a ring group whose final destination is outside: 201 calls it, out for 201",
          async () => {
            await pbx.api.put("/api/ringgroups/600", {
              name: "Sales",
              strategy: "ringAll",
              ringSeconds: 5,
              members: [{ number: "203" }], // not registered: the group is unavailable at once
              finalDestination: "95552345678",
            });
            assertOk(await call(pbx, "201", "600", "uac_short_call.xml"), "group call");
            await until("the third carrier INVITE", () => Promise.resolve(invites() >= 3 ? true : undefined));
            const saw = await far.done;
            ok(
              (saw.messages.match(/INVITE sip:15552345678@127\.0\.0\.1:\d+ SIP\/2\.0/g)?.length ?? 0) === 3,
              describeSipp(saw),
            );
            // The ACKs of the challenged INVITEs (CSeq 2) carry the INVITE's CSeq (RFC 3261 13.2.2.4).
            eq(saw.messages.match(/^CSeq: 2 ACK/gm)?.length, 3, describeSipp(saw));
            assertOk(saw, "the far end saw the three calls through");
            // kamailio logs "CARRIER from box" only once the 407 was answered with the right credentials.
            ok(
              /outbound leg answered a trunk challenge.*status=407/.test(pbx.app.logs()),
              "the 407 was answered",
            );
          },
        );

        await t.step("the IVR dials out for 202, who may not call out: 403, back in the menu", async () => {
          const r = await ivrCall("dial1", [{ pauseMs: 1000 }, { digits: "1" }, { pauseMs: 2000 }]);
          assertOk(r, "ivr caller");
          await pbx.app.waitForLog(/onward trunk step refused.*caller=202.*status=403/, 10_000);
          ok(/ivr dialled menu=500 target=95552345678 outcome=failed/.test(pbx.app.logs()), "outcome logged");
          ok(invites() === 3, "nothing more reached the carrier");
        });
      })();
    } finally {
      await far.stop().catch(() => {});
      await carrier.stop();
      await pbx.app.stop();
      Deno.removeSync(tmp, { recursive: true });
    }
  },
});
