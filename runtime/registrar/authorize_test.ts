import { deepStrictEqual as eq, ok } from "node:assert";
import { VirtualClock } from "../clock/mod.ts";
import { createLogger } from "../log/mod.ts";
import { getHeader, getHeaderValues, parseMessage } from "../sip/message/mod.ts";
import type { Peer, SipRequest } from "../sip/message/types.ts";
import { computeAuthorization, DigestAuthenticator, FailureLimiter, ha1 } from "../sip/auth/mod.ts";
import { AllowList, createAuthorizer, type SecurityEvent } from "./mod.ts";

const REALM = "pbx.test";
const PASSWORDS: Record<string, string> = { "1001": "Real-Secret-1001", "1002": "Real-Secret-1002" };

function setup(options: { allow?: string[] } = {}) {
  const clock = new VirtualClock({ wallStart: 1_700_000_000_000 });
  const lines: string[] = [];
  const events: SecurityEvent[] = [];
  const authenticator = new DigestAuthenticator({ realm: REALM, clock, algorithms: ["MD5"] });
  const limiter = new FailureLimiter({ clock });
  const extensionLimiter = new FailureLimiter({
    clock,
    windowMs: 3_600_000,
    blockAfter: 30,
    longBlockAfter: Infinity,
    delayAfter: Infinity,
    blockMs: 900_000,
    successClears: false,
  });
  const allowList = new AllowList(options.allow ?? []);
  const authorizer = createAuthorizer({
    authenticator,
    limiter,
    extensionLimiter,
    allowList,
    log: createLogger("pbx", { sink: (l) => lines.push(l) }).child("auth"),
    onSecurityEvent: (e) => events.push(e),
    directory: {
      ha1: (user, realm, alg) => {
        const pw = PASSWORDS[user];
        return pw === undefined ? undefined : ha1(alg, user, realm, pw);
      },
    },
  });
  return { clock, lines, events, authorizer, limiter, extensionLimiter, allowList, authenticator };
}

let seq = 0;
function register(user: string, authorization?: string): SipRequest {
  const lines = [
    `REGISTER sip:${REALM} SIP/2.0`,
    `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-${++seq}`,
    `From: <sip:${user}@${REALM}>;tag=abc`,
    `To: <sip:${user}@${REALM}>`,
    `Call-ID: reg-${seq}`,
    `CSeq: 1 REGISTER`,
    `Contact: <sip:${user}@192.0.2.10:5060>`,
    ...(authorization === undefined ? [] : [`Authorization: ${authorization}`]),
    `Content-Length: 0`,
    ``,
    ``,
  ];
  return parseMessage(new TextEncoder().encode(lines.join("\r\n"))) as SipRequest;
}

const peer = (address: string): Peer => ({ transport: "udp", address, port: 5060 });

/** One REGISTER round as a phone (or svcrack) does it: get a challenge, answer it. */
function attempt(s: ReturnType<typeof setup>, ip: string, user: string, password: string) {
  const first = s.authorizer.authorize(register(user), peer(ip));
  if (first.ok) return first;
  if (first.response.status !== 401) return first;
  const challenge = getHeaderValues(first.response, "WWW-Authenticate")[0]!;
  const authorization = computeAuthorization({
    method: "REGISTER",
    uri: `sip:${REALM}`,
    username: user,
    password,
    challenge,
    nc: 1,
  });
  return s.authorizer.authorize(register(user, authorization), peer(ip));
}

const statusOf = (r: ReturnType<typeof attempt>) => r.ok ? 200 : r.response.status;

Deno.test("the right password registers; every response carries a To tag", () => {
  const s = setup();
  const first = s.authorizer.authorize(register("1001"), peer("192.0.2.10"));
  ok(!first.ok && /;tag=/.test(getHeader(first.response, "To")!));
  eq(statusOf(attempt(s, "192.0.2.10", "1001", PASSWORDS["1001"]!)), 200);
});

Deno.test("a slow sequential guesser (32 guesses in ~100 s) ends blocked, with a fail2ban line each", () => {
  const s = setup();
  const statuses: number[] = [];
  for (let i = 0; i < 32; i++) {
    statuses.push(statusOf(attempt(s, "203.0.113.5", "1001", `guess-${i}`)));
    s.clock.advance(3200);
  }
  eq(statuses.slice(0, 30).every((x) => x === 403), true);
  eq(s.limiter.isBlocked("203.0.113.5"), true);
  const blockedAnswer = attempt(s, "203.0.113.5", "1001", PASSWORDS["1001"]!);
  ok(
    !blockedAnswer.ok && blockedAnswer.response.reason.includes("too many"),
    "blocked even with the password",
  );
  const f2b = s.lines.filter((l) => / SECURITY auth-failure src=203\.0\.113\.5 user=1001 /.test(l));
  eq(f2b.length, 30);
  ok(s.lines.some((l) => /SECURITY source-blocked src=203\.0\.113\.5 /.test(l)), s.lines.join("\n"));
  ok(s.events.some((e) => e.action === "sip.source-blocked" && e.source === "203.0.113.5"));
});

Deno.test("many sources guessing one extension lock the extension, not only the sources", () => {
  const s = setup();
  let i = 0;
  // 60 addresses, 5 guesses each: no address gets near its own limit.
  for (let a = 0; a < 60; a++) {
    for (let g = 0; g < 5; g++) attempt(s, `198.51.100.${a}`, "1001", `guess-${i++}`);
  }
  eq(s.extensionLimiter.isBlocked("1001"), true);
  eq(s.limiter.isBlocked("198.51.100.0"), false);
  // Now the right password from a fresh address does not get in either (the lockout is of the
  // extension); another extension is unaffected.
  const r = attempt(s, "192.0.2.99", "1001", PASSWORDS["1001"]!);
  ok(!r.ok && r.response.status === 403 && r.response.reason.includes("locked"), "extension locked");
  eq(statusOf(attempt(s, "192.0.2.99", "1002", PASSWORDS["1002"]!)), 200);
  ok(s.lines.some((l) => /SECURITY extension-locked src=\S+ user=1001 /.test(l)));
  ok(s.events.some((e) => e.action === "sip.extension-locked" && e.user === "1001"));
  // The admin lifts it; the lockout also ends by itself after its period.
  eq(s.extensionLimiter.unblock("1001"), true);
  eq(statusOf(attempt(s, "192.0.2.99", "1001", PASSWORDS["1001"]!)), 200);
});

Deno.test("20 spoofed packets with forged or foreign nonces cannot block a real phone's address", () => {
  const s = setup();
  const victim = "192.0.2.10";
  // A nonce the attacker got at its own address, and a made-up one.
  const foreign = s.authenticator.challenge({ source: "203.0.113.66" }).values[0]!;
  const forged = foreign.replace(/nonce="[^"]+"/, `nonce="${"A".repeat(30)}"`);
  for (let i = 0; i < 40; i++) {
    const authorization = computeAuthorization({
      method: "REGISTER",
      uri: `sip:${REALM}`,
      username: "1001",
      password: `guess-${i}`,
      challenge: i % 2 === 0 ? foreign : forged,
      nc: 1,
    });
    const r = s.authorizer.authorize(register("1001", authorization), peer(victim));
    eq(r.ok ? 200 : r.response.status, 401, "answered with a fresh challenge");
  }
  eq(s.limiter.isBlocked(victim), false);
  eq(s.extensionLimiter.list().length, 0, "nor do they count against the extension");
  eq(s.lines.filter((l) => l.includes("SECURITY auth-failure")).length, 0, "no fail2ban line");
  eq(statusOf(attempt(s, victim, "1001", PASSWORDS["1001"]!)), 200);
});

Deno.test("allow-listed networks are never blocked by source; extension lockout still applies", () => {
  const s = setup({ allow: ["10.1.0.0/16", "2001:db8::/32"] });
  for (let i = 0; i < 29; i++) attempt(s, "10.1.2.3", "1001", `guess-${i}`);
  eq(s.limiter.isBlocked("10.1.2.3"), false);
  eq(statusOf(attempt(s, "10.1.2.3", "1002", PASSWORDS["1002"]!)), 200);
  attempt(s, "10.1.2.3", "1001", "guess-last");
  eq(s.extensionLimiter.isBlocked("1001"), true);
  ok(s.allowList.has("2001:db8::1") && !s.allowList.has("2001:db9::1") && !s.allowList.has("10.2.0.1"));
});

Deno.test("AllowList rejects malformed networks with a RangeError naming them", () => {
  for (const bad of ["10.0.0.0/33", "300.1.1.1", "fe80::/129", "nonsense", "10.0.0.1/"]) {
    let error: unknown;
    try {
      new AllowList([bad]);
    } catch (e) {
      error = e;
    }
    ok(error instanceof RangeError && error.message.includes(bad), bad);
  }
  const l = new AllowList(["192.168.1.7", "::1/128", "0.0.0.0/0"]);
  ok(l.has("192.168.1.7") && l.has("::1") && l.has("8.8.8.8") && !l.has("::2"));
  eq(l.networks, ["192.168.1.7/32", "::1/128", "0.0.0.0/0"]);
});
