/**
 * SUBSCRIBE/NOTIFY through the real appliance, sipp as the subscribing phone: the initial NOTIFY of
 * each package, refresh and unsubscribe, BLF NOTIFYs while the watched extension rings, answers and
 * hangs up, expiry, 489 for an unknown package, 423 for a too short Expires, and ua-profile PnP.
 */
import { match, ok } from "node:assert";
import { hasBinary, runSipp } from "../_harness/mod.ts";
import { assertOk, call, EXT, type Pbx, phone, startPbx, withLogs } from "../sip/_setup.ts";

function subscribe(
  pbx: Pbx,
  scenario: string,
  options: { from: keyof typeof EXT; to: string; event: string; accept: string; expires?: number },
) {
  return runSipp({
    scenario,
    target: pbx.target,
    user: options.from,
    password: EXT[options.from],
    service: options.to,
    keys: { event: options.event, accept: options.accept, expires: String(options.expires ?? 120) },
    timeoutSec: 30,
  });
}

Deno.test({
  name: "SUBSCRIBE/NOTIFY packages through the appliance with sipp",
  ignore: !hasBinary("sipp"),
  async fn(t) {
    const pbx = await startPbx({ PBX_SUBSCRIBE_MIN_EXPIRES: "2" });
    try {
      for (
        const [event, accept, to, body] of [
          ["dialog", "application/dialog-info+xml", "201", /<dialog-info [^>]*state="full"/],
          ["presence", "application/pidf+xml", "201", /<basic>(open|closed)<\/basic>/],
          ["message-summary", "application/simple-message-summary", "202", /Messages-Waiting: no/],
        ] as const
      ) {
        await t.step(
          `${event}: initial NOTIFY, refresh, unsubscribe`,
          withLogs(pbx, async () => {
            const r = await subscribe(pbx, "subscribe_refresh.xml", { from: "202", to, event, accept });
            assertOk(r, event);
            match(r.messages, new RegExp(`Content-Type: ${accept.replace("+", "\\+")}`));
            match(r.messages, body);
            match(r.messages, /Subscription-State: terminated/);
          }),
        );
      }

      await t.step(
        "dialog (BLF): NOTIFYs when the watched extension rings (early), answers and hangs up",
        withLogs(pbx, async () => {
          await using callee = await phone(pbx, "201", "uas_answer.xml");
          // runSipp starts at once and resolves at the end of the scenario.
          const watcher = runSipp({
            scenario: "subscribe_dialog_blf.xml",
            target: pbx.target,
            user: "202",
            password: EXT["202"],
            service: "201",
            keys: { event: "dialog", accept: "application/dialog-info+xml", expires: "121" },
            timeoutSec: 40,
          });
          // The subscription must exist before the call: the first NOTIFY is the idle state.
          await pbx.app.waitForLog(
            /subscription event=dialog resource=201 subscriber=202 expires=121/,
            10_000,
          );
          await new Promise((r) => setTimeout(r, 500));
          assertOk(await call(pbx, "203", "201", "uac_short_call.xml"), "caller");
          assertOk(await callee.done, "callee");
          const w = await watcher;
          assertOk(w, "watcher");
          match(w.messages, /direction="recipient"><state>early<\/state>.*<identity>sip:203@/s);
          match(w.messages, /state="partial"/);
        }),
      );

      await t.step(
        "expiry: the box ends the subscription with terminated;reason=timeout",
        withLogs(pbx, async () => {
          const r = await subscribe(pbx, "subscribe_expiry.xml", {
            from: "202",
            to: "201",
            event: "presence",
            accept: "application/pidf+xml",
            expires: 2,
          });
          assertOk(r, "expiry");
          match(r.messages, /Subscription-State: terminated;reason=timeout/);
        }),
      );

      await t.step(
        "489 Bad Event with Allow-Events for an unknown package",
        withLogs(pbx, async () => {
          const r = await subscribe(pbx, "subscribe_bad_event.xml", {
            from: "202",
            to: "201",
            event: "no-such-package",
            accept: "text/plain",
          });
          assertOk(r, "bad event");
          match(r.messages, /Allow-Events: [^\r\n]*dialog/);
        }),
      );

      await t.step(
        "423 Interval Too Brief with Min-Expires for a too short Expires",
        withLogs(pbx, async () => {
          const r = await subscribe(pbx, "subscribe_too_brief.xml", {
            from: "202",
            to: "201",
            event: "dialog",
            accept: "application/dialog-info+xml",
            expires: 1,
          });
          assertOk(r, "too brief");
          match(r.messages, /Min-Expires: 2/);
        }),
      );

      await t.step(
        "ua-profile (PnP) SUBSCRIBE is answered by the events core: 200, NOTIFY with the URL",
        withLogs(pbx, async () => {
          const r = await runSipp({
            scenario: new URL("../provisioning/pnp_subscribe.xml", import.meta.url).pathname,
            target: pbx.target,
            keys: { mac: "805ec0999998" },
            timeoutSec: 15,
          });
          assertOk(r, "pnp");
          match(r.messages, /Content-Type: application\/url/);
          match(r.messages, /Subscription-State: terminated;reason=timeout/);
          ok(r.messages.includes(`http://127.0.0.1:${pbx.app.httpPort}/prov/`), r.messages.slice(-1500));
        }),
      );
    } finally {
      await pbx.app.stop();
    }
  },
});
