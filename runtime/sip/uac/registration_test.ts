import assert, { deepStrictEqual as assertEquals } from "node:assert";
import { VirtualClock } from "../../clock/mod.ts";
import { createResponse, getHeader } from "../message/mod.ts";
import type { SipRequest, SipResponse } from "../message/types.ts";
import { DigestAuthenticator, ha1 } from "../auth/mod.ts";
import type { ClientTransactionHandlers } from "../transaction/mod.ts";
import { backoffMs, refreshDelayMs, RegistrationClient, type RegistrationState } from "./registration.ts";
import { OptionsPinger, type PingState } from "./options_ping.ts";

const spec = {
  registrar: "sip:carrier.test",
  peer: { transport: "udp" as const, address: "127.0.0.1", port: 5070 },
  aor: "sip:box1@carrier.test",
  username: "box1",
  password: "s3cret-trunk",
  contact: "sip:box1@127.0.0.1:5060",
  expires: 120,
  via: { transport: "udp" as const, host: "127.0.0.1", port: 5060 },
};

/** A registrar fake over the box's own server-side digest code: challenges, then checks the password. */
function fakeRegistrar(
  clock: VirtualClock,
  options: { password?: string; proxy?: boolean; answer?: number } = {},
) {
  const auth = new DigestAuthenticator({ realm: "carrier.test", clock });
  const sent: SipRequest[] = [];
  const key = (alg: "MD5" | "SHA-256") =>
    ha1(alg, "box1", "carrier.test", options.password ?? "s3cret-trunk");
  return {
    sent,
    transport: {
      sendRequest(req: SipRequest, _t: unknown, h: ClientTransactionHandlers) {
        sent.push(req);
        if (options.answer === 408) return queueMicrotask(() => h.onTimeout?.());
        const header = options.proxy ? "Proxy-Authorization" : "Authorization";
        const v = auth.verify({
          method: "REGISTER",
          authorization: getHeader(req, header),
          lookupHa1: (_u, _r, alg) => key(alg),
        });
        let res: SipResponse;
        if (!v.ok) {
          const c = auth.challenge({ proxy: options.proxy ?? false, stale: v.stale ?? false });
          res = createResponse(req, options.proxy ? 407 : 401);
          for (const value of c.values) res.headers.push({ name: c.name, value });
        } else {
          res = createResponse(req, 200);
          res.headers.push({ name: "Contact", value: `<${spec.contact}>;expires=60` });
        }
        queueMicrotask(() => h.onResponse(res));
      },
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("registration answers a 401, is registered for the granted expiry and refreshes before it", async () => {
  const clock = new VirtualClock();
  const reg = fakeRegistrar(clock);
  const states: RegistrationState[] = [];
  const c = new RegistrationClient(spec, {
    transactions: reg.transport,
    clock,
    onState: (s) => states.push(s),
  });
  c.start();
  await tick();
  await tick();
  assertEquals(c.state.status, "registered");
  assertEquals(c.state.detail, "registered for 60 s");
  assertEquals(reg.sent.length, 2);
  assert(getHeader(reg.sent[1]!, "Authorization")?.includes('username="box1"'));
  // Same Call-ID, CSeq up by one (RFC 3261 10.2.4).
  assertEquals(getHeader(reg.sent[0]!, "Call-ID"), getHeader(reg.sent[1]!, "Call-ID"));
  assertEquals(getHeader(reg.sent[1]!, "CSeq"), "2 REGISTER");
  clock.advance(refreshDelayMs(60));
  await tick();
  await tick();
  assert(reg.sent.length >= 3, "refreshed");
  assertEquals(c.state.status, "registered");
  // The password never appears in a state report.
  assert(!JSON.stringify(states).includes("s3cret-trunk"));
});

Deno.test("registration answers a 407 with Proxy-Authorization", async () => {
  const clock = new VirtualClock();
  const reg = fakeRegistrar(clock, { proxy: true });
  const c = new RegistrationClient(spec, { transactions: reg.transport, clock });
  c.start();
  await tick();
  await tick();
  assertEquals(c.state.status, "registered");
  assert(getHeader(reg.sent[1]!, "Proxy-Authorization") !== undefined);
});

Deno.test("wrong credentials: failed after one answered challenge, then retries with back-off", async () => {
  const clock = new VirtualClock();
  const reg = fakeRegistrar(clock, { password: "other" });
  const c = new RegistrationClient(spec, {
    transactions: reg.transport,
    clock,
    retryMinMs: 1000,
    retryMaxMs: 4000,
  });
  c.start();
  for (let i = 0; i < 4; i++) await tick();
  assertEquals(c.state.status, "failed");
  assertEquals(c.state.lastStatus, 401);
  assertEquals(c.state.detail, "credentials refused");
  assertEquals(reg.sent.length, 2, "no loop of challenges");
  assertEquals(c.state.failures, 1);
  clock.advance(1000);
  for (let i = 0; i < 4; i++) await tick();
  assertEquals(c.state.failures, 2);
  assertEquals(c.state.retryAt, clock.wallNow() + 2000);
  assertEquals([1, 2, 3, 4, 10].map((f) => backoffMs(f, 1000, 4000)), [1000, 2000, 4000, 4000, 4000]);
});

Deno.test("a registrar that does not answer: failed 408, retried later", async () => {
  const clock = new VirtualClock();
  const reg = fakeRegistrar(clock, { answer: 408 });
  const c = new RegistrationClient(spec, { transactions: reg.transport, clock, retryMinMs: 5000 });
  c.start();
  await tick();
  assertEquals(c.state.status, "failed");
  assertEquals(c.state.lastStatus, 408);
  clock.advance(5000);
  await tick();
  assertEquals(reg.sent.length, 2);
  void c.stop();
});

Deno.test("bad registration specs are refused with a clear error", () => {
  const clock = new VirtualClock();
  const t = { sendRequest() {} };
  let err = "";
  try {
    new RegistrationClient({ ...spec, expires: 0 }, { transactions: t, clock });
  } catch (e) {
    err = (e as Error).message;
  }
  assert(err.includes("expiry"), err);
  try {
    new RegistrationClient({ ...spec, registrar: "carrier" }, { transactions: t, clock });
  } catch (e) {
    err = (e as Error).message;
  }
  assert(err.includes("sip: URIs"), err);
});

Deno.test("OPTIONS keepalive: any answer is up, a timeout is down", async () => {
  const clock = new VirtualClock();
  let mode: "answer" | "timeout" = "answer";
  const states: PingState[] = [];
  const p = new OptionsPinger({
    transactions: {
      sendRequest(req: SipRequest, _t: unknown, h: ClientTransactionHandlers) {
        queueMicrotask(() => mode === "answer" ? h.onResponse(createResponse(req, 404)) : h.onTimeout?.());
      },
    },
    clock,
    peer: spec.peer,
    uri: "sip:carrier.test",
    from: "sip:pbx@127.0.0.1",
    via: spec.via,
    intervalMs: 30_000,
    onState: (s) => states.push(s),
  });
  p.start();
  await tick();
  assertEquals(p.state.status, "up");
  mode = "timeout";
  clock.advance(30_000);
  await tick();
  assertEquals(p.state.status, "down");
  assertEquals(states.map((s) => s.status), ["up", "down"]);
  p.stop();
  assertEquals(clock.pending, 0);
});
