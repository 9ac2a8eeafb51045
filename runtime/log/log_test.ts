import { deepStrictEqual as eq, ok } from "node:assert";
import { createLogger } from "./mod.ts";

function ringLogger(now: () => number) {
  const ring: string[] = [];
  const log = createLogger("pbx", {
    sink: (line) => {
      ring.push(line);
      if (ring.length > 1000) ring.splice(0, ring.length - 1000);
    },
    rateLimit: { burst: 10, windowMs: 10_000, now },
  });
  return { ring, log };
}

Deno.test("6,000 malformed-packet lines cannot flush security lines out of a 1,000-line ring", () => {
  let t = 0;
  const { ring, log } = ringLogger(() => t);
  const sip = log.child("sip");
  log.child("auth").warn("SECURITY auth-failure", { src: "203.0.113.5", user: "1001" });
  for (let i = 0; i < 6000; i++) {
    sip.warn("unparsable SIP message", { source: `udp:198.51.100.1:${1024 + i}`, error: "bad start line" });
    t += 5; // 6,000 packets in 30 s
  }
  sip.warn("unparsable SIP message", { source: "udp:198.51.100.1:9", error: "bad start line" });
  ok(ring.some((l) => l.includes("SECURITY auth-failure src=203.0.113.5")), "the security line is kept");
  const floods = ring.filter((l) => l.includes("unparsable SIP message"));
  ok(floods.length <= 40, `at most a burst per window: ${floods.length}`);
  ok(
    ring.some((l) => /pbx\.sip: last message repeated \d+ times: unparsable SIP message/.test(l)),
    ring.join("\n"),
  );
});

Deno.test("security lines are never rate-limited (fail2ban counts them); other messages each have their own budget", () => {
  const { ring, log } = ringLogger(() => 0);
  for (let i = 0; i < 50; i++) log.warn("SECURITY auth-failure", { src: `192.0.2.${i}` });
  for (let i = 0; i < 50; i++) log.info("a", { i });
  for (let i = 0; i < 5; i++) log.info("b", { i });
  eq(ring.filter((l) => l.includes("SECURITY")).length, 50);
  eq(ring.filter((l) => / INFO pbx: a /.test(l)).length, 10);
  eq(ring.filter((l) => / INFO pbx: b /.test(l)).length, 5);
});

Deno.test("without rateLimit every line is written", () => {
  const lines: string[] = [];
  const log = createLogger("x", { sink: (l) => lines.push(l) });
  for (let i = 0; i < 100; i++) log.info("same");
  eq(lines.length, 100);
});
