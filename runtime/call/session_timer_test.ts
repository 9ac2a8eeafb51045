import { deepStrictEqual as eq, ok } from "node:assert";
import { parseMessage } from "../sip/message/mod.ts";
import { VirtualClock } from "../clock/mod.ts";
import {
  decideUac,
  decideUas,
  type RefreshOutcome,
  sessionExpiresOf,
  SessionTimer,
  uacOfferHeaders,
  uasHeaders,
} from "./_session_timer.ts";

const ENC = new TextEncoder();
const CFG = { expiresSec: 1800, minSeSec: 90 };

function invite(extra: string[]) {
  return parseMessage(ENC.encode(
    [
      "INVITE sip:202@pbx SIP/2.0",
      "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1",
      "From: <sip:201@pbx>;tag=a",
      "To: <sip:202@pbx>",
      "Call-ID: c1",
      "CSeq: 1 INVITE",
      ...extra,
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n"),
  ));
}

Deno.test("Session-Expires parses with its refresher (and the compact form x)", () => {
  eq(sessionExpiresOf(invite(["Session-Expires: 1800;refresher=uac"])), { seconds: 1800, refresher: "uac" });
  eq(sessionExpiresOf(invite(["x: 600"])), { seconds: 600 });
  eq(sessionExpiresOf(invite(["Session-Expires: soon"])), undefined);
});

Deno.test("the box as UAS: 422 below Min-SE, the caller's choice honoured, else a refresher chosen", () => {
  eq(decideUas(invite(["Supported: timer", "Session-Expires: 30"]), CFG), { kind: "reject", minSeSec: 90 });
  eq(decideUas(invite(["Supported: timer", "Session-Expires: 600;refresher=uas"]), CFG), {
    kind: "timer",
    seconds: 600,
    refresher: "uas",
    require: true,
  });
  // Longer than the box accepts: capped. No refresher named: the caller (it supports timers) refreshes.
  eq(decideUas(invite(["Supported: timer", "Session-Expires: 7200"]), CFG), {
    kind: "timer",
    seconds: 1800,
    refresher: "uac",
    require: true,
  });
  // No timer support, but UPDATE allowed: the box refreshes; nothing at all: no timer.
  eq(decideUas(invite(["Allow: INVITE, ACK, BYE, UPDATE"]), CFG), {
    kind: "timer",
    seconds: 1800,
    refresher: "uas",
    require: false,
  });
  eq(decideUas(invite([]), CFG), { kind: "none" });
  eq(decideUas(invite(["Supported: timer", "Session-Expires: 30"]), { ...CFG, expiresSec: 0 }), {
    kind: "none",
  });
  eq(uasHeaders({ kind: "timer", seconds: 600, refresher: "uac", require: true }), [
    { name: "Session-Expires", value: "600;refresher=uac" },
    { name: "Require", value: "timer" },
  ]);
  eq(uacOfferHeaders(CFG).map((h) => h.name), ["Supported", "Session-Expires", "Min-SE"]);
});

Deno.test("the box as UAC: the callee's 2xx decides who refreshes", () => {
  eq(decideUac(invite(["Session-Expires: 900;refresher=uac"])), { seconds: 900, weRefresh: true });
  eq(decideUac(invite(["Session-Expires: 900;refresher=uas"])), { seconds: 900, weRefresh: false });
  eq(decideUac(invite([])), undefined);
});

Deno.test("the refresher refreshes at half the interval; a failed refresh expires the session", async () => {
  const clock = new VirtualClock();
  const outcomes: RefreshOutcome[] = ["ok", "retry", "ok", "failed"];
  const sent: number[] = [];
  const expired: string[] = [];
  const t = new SessionTimer({
    clock,
    seconds: 100,
    weRefresh: true,
    refresh: () => {
      sent.push(clock.now());
      return Promise.resolve(outcomes.shift()!);
    },
    expired: (why) => expired.push(why),
  });
  const step = async (ms: number) => {
    clock.advance(ms);
    await new Promise((r) => setTimeout(r, 0));
  };
  await step(49_999);
  eq(sent, []);
  await step(1); // 50 s: first refresh, ok
  await step(50_000); // 100 s: second, glare (retry 2 s later)
  await step(2_000); // 102 s: ok
  await step(50_000); // 152 s: fails
  eq(sent, [50_000, 100_000, 102_000, 152_000]);
  eq(expired, ["refresh-failed"]);
  ok(t.seconds === 100);
});

Deno.test("without refreshes from the peer the session expires at the interval minus min(32 s, a third)", () => {
  const clock = new VirtualClock();
  const expired: string[] = [];
  const t = new SessionTimer({
    clock,
    seconds: 90,
    weRefresh: false,
    refresh: () => Promise.resolve("ok"),
    expired: (why) => expired.push(why),
  });
  clock.advance(50_000);
  t.refreshed(); // a refresh at 50 s: 60 s more from here
  clock.advance(59_999);
  eq(expired, []);
  clock.advance(1);
  eq(expired, ["no-refresh"]);
  t.stop();
});
