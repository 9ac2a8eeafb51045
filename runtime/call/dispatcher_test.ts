import { deepStrictEqual as eq } from "node:assert";
import { VirtualClock } from "../clock/mod.ts";
import { nullLogger } from "../log/mod.ts";
import { getHeader, parseMessage } from "../sip/message/mod.ts";
import type { SipRequest, SipResponse } from "../sip/message/types.ts";
import type { ServerTransaction } from "../sip/mod.ts";
import { B2bua, type StepFailure } from "./b2bua.ts";
import { createDispatcher, OVERLOAD_RETRY_AFTER, type RouteTarget } from "./dispatcher.ts";
import type { LocalCalls } from "./local.ts";
import type { Binding } from "../registrar/mod.ts";
import type { CallRecord, MediaPort } from "./types.ts";
import type { ClientTransactionHandlers, TransactionLayer } from "../sip/mod.ts";
import type { Peer } from "../sip/message/types.ts";
import { addHeader, createResponse, serializeMessage, setHeader } from "../sip/message/mod.ts";

function invite(): SipRequest {
  const text = [
    "INVITE sip:202@pbx SIP/2.0",
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1",
    "From: <sip:201@pbx>;tag=a",
    "To: <sip:202@pbx>",
    "Call-ID: c1",
    "CSeq: 1 INVITE",
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
  return parseMessage(new TextEncoder().encode(text)) as SipRequest;
}

function setup(overloaded: boolean) {
  const sent: SipResponse[] = [];
  let authorized = 0;
  const clock = new VirtualClock();
  const dispatch = createDispatcher({
    authorizer: {
      authorize: () => {
        authorized++;
        return { ok: true, username: "201" };
      },
    },
    registrar: { locations: {} as never, extensionExists: () => true, clock, log: nullLogger },
    b2bua: {
      startCall: () => Promise.resolve(),
      handleInDialog: () => false,
      cancel: () => false,
    } as unknown as B2bua,
    route: (n) => ({ kind: "extension", number: n }),
    hasBindings: () => true,
    findInviteForCancel: () => undefined,
    clock,
    log: nullLogger,
    overloaded: () => overloaded,
  });
  const tx = { respond: (r: SipResponse) => sent.push(r) } as unknown as ServerTransaction;
  return { dispatch, tx, sent, authorizedCount: () => authorized };
}

Deno.test("an overloaded box answers new INVITEs 503 with Retry-After before checking credentials", async () => {
  const { dispatch, tx, sent, authorizedCount } = setup(true);
  dispatch(invite(), tx, { transport: "udp", address: "192.0.2.10", port: 5060 });
  await new Promise((r) => setTimeout(r, 0));
  eq(sent.map((r) => r.status), [503]);
  eq(getHeader(sent[0]!, "Retry-After"), String(OVERLOAD_RETRY_AFTER));
  eq(authorizedCount(), 0);
});

Deno.test("a box that is not overloaded takes the call", async () => {
  const { dispatch, tx, sent, authorizedCount } = setup(false);
  dispatch(invite(), tx, { transport: "udp", address: "192.0.2.10", port: 5060 });
  await new Promise((r) => setTimeout(r, 0));
  eq(sent.length, 0); // handed to the B2BUA, which answers
  eq(authorizedCount(), 1);
});

// --- Route continuations, with a real B2BUA over fake transactions and media, in virtual time. ---

const bindingOf = (n: string): Binding => ({
  extension: n,
  contactUri: `sip:${n}@127.0.0.1:${5000 + Number(n)}`,
  expiresAt: 0,
  callId: `reg-${n}`,
  cseq: 1,
  sourceTransport: "udp",
  sourceAddress: "127.0.0.1",
  sourcePort: 5000 + Number(n),
});

const SDP = "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
  "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

function routeRig(
  route: (n: string) => RouteTarget,
  registered = ["201", "202", "203"],
  options: { bridgeFails?: boolean } = {},
) {
  const clock = new VirtualClock();
  const sent: { req: SipRequest; handlers: ClientTransactionHandlers; cancelled: boolean }[] = [];
  const toA: SipResponse[] = [];
  const records: CallRecord[] = [];
  const answered: { caller: string; dialled: string }[] = [];
  let legs = 0;
  let released = 0;
  const media: MediaPort = {
    allocateLeg: () =>
      Promise.resolve({ legId: `leg${++legs}`, address: "127.0.0.1", rtpPort: 20000, rtcpPort: 0 }),
    configureLeg: () => Promise.resolve(),
    bridge: () =>
      options.bridgeFails ? Promise.reject(new Error("injected bridge failure")) : Promise.resolve(),
    releaseLeg: () => (released++, Promise.resolve()),
  };
  const transactions = {
    sendRequest(req: SipRequest, _peer: Peer, handlers: ClientTransactionHandlers) {
      const s = { req, handlers, cancelled: false };
      sent.push(s);
      return { cancel: () => void (s.cancelled = true) };
    },
  } as unknown as TransactionLayer;
  const bindings = (n: string) => registered.includes(n) ? [bindingOf(n)] : [];
  const b2bua = new B2bua({
    transactions,
    sendRaw: () => {},
    media,
    cdr: { insert: (r) => records.push(r) },
    clock,
    log: nullLogger,
    publicAddress: "127.0.0.1",
    sipPort: 5060,
    bindings,
    displayName: () => undefined,
    noAnswerMs: 30_000,
  });
  const local = {
    cancel: () => false,
    answer: (_req: SipRequest, tx: ServerTransaction, o: { caller: string; dialled: string }) => {
      answered.push({ caller: o.caller, dialled: o.dialled });
      tx.respond(createResponse(_req, 200));
      return Promise.resolve();
    },
  } as unknown as LocalCalls;
  const dispatch = createDispatcher({
    authorizer: { authorize: () => ({ ok: true, username: "200" }) },
    registrar: { locations: {} as never, extensionExists: () => true, clock, log: nullLogger },
    b2bua,
    local,
    route,
    hasBindings: (n) => bindings(n).length > 0,
    bindings,
    findInviteForCancel: () => tx,
    clock,
    log: nullLogger,
  });
  const tx = { respond: (r: SipResponse) => toA.push(r) } as unknown as ServerTransaction;
  const req = parseMessage(new TextEncoder().encode(
    [
      "INVITE sip:201@pbx SIP/2.0",
      "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-r1",
      "From: <sip:200@pbx>;tag=a",
      "To: <sip:201@pbx>",
      "Call-ID: route-1",
      "CSeq: 1 INVITE",
      "Contact: <sip:200@192.0.2.10:5060>",
      "Content-Type: application/sdp",
      `Content-Length: ${SDP.length}`,
      "",
      SDP,
    ].join("\r\n"),
  )) as SipRequest;
  const peer: Peer = { transport: "udp", address: "192.0.2.10", port: 5060 };
  /** Another caller's INVITE (its own Call-ID), for calls started beside the routed one. */
  const other = (callId: string) =>
    parseMessage(new TextEncoder().encode(
      new TextDecoder().decode(serializeMessage(req)).replace("Call-ID: route-1", `Call-ID: ${callId}`),
    )) as SipRequest;
  /** The callee side of the `i`th INVITE the box sent answers `status`. */
  const reply = (i: number, status: number) => {
    const s = sent.filter((s) => s.req.method === "INVITE")[i]!;
    const res = createResponse(s.req, status, { toTag: `b${i}` });
    if (status === 200) {
      addHeader(res, "Contact", `<${s.req.uri}>`);
      res.body = new TextEncoder().encode(SDP);
      setHeader(res, "Content-Type", "application/sdp");
    }
    s.handlers.onResponse(res);
  };
  const invites = () => sent.filter((s) => s.req.method === "INVITE").map((s) => s.req.uri);
  return {
    clock,
    toA,
    records,
    answered,
    reply,
    invites,
    sent,
    b2bua,
    legs: () => [legs, released],
    other,
    start: () => dispatch(req, tx, peer),
    cancel: () => dispatch(cancelFor(req), { respond: () => {} } as unknown as ServerTransaction, peer),
  };
}

function cancelFor(invite: SipRequest): SipRequest {
  return parseMessage(new TextEncoder().encode(
    [
      "CANCEL sip:201@pbx SIP/2.0",
      "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-r1",
      "From: <sip:200@pbx>;tag=a",
      "To: <sip:201@pbx>",
      `Call-ID: ${getHeader(invite, "Call-ID")}`,
      "CSeq: 1 CANCEL",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n"),
  )) as SipRequest;
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0));
};

/** A route as the router builds it: each ringing target's `next` is the following target. */
function chain(...targets: RouteTarget[]): RouteTarget {
  const seen: StepFailure[] = [];
  const link = (i: number): RouteTarget => {
    const t = targets[i]!;
    if (t.kind !== "extension" && t.kind !== "group") return t;
    return {
      ...t,
      next: (f) => (seen.push(f), i + 1 < targets.length ? link(i + 1) : { kind: "none", status: f.status }),
    };
  };
  return Object.assign(link(0), { seen });
}

const app: RouteTarget = { kind: "local", handler: { accept: () => ({ status: 500 }) } };

Deno.test("route: busy at 201, no answer at 202 after its ringSeconds, then the application answers the same INVITE", async () => {
  const route = chain(
    { kind: "extension", number: "201" },
    { kind: "extension", number: "202", ringSeconds: 5 },
    app,
  );
  const rig = routeRig(() => route);
  rig.start();
  await settle();
  eq(rig.invites(), ["sip:201@127.0.0.1:5201"]);
  rig.reply(0, 180);
  rig.reply(0, 486);
  await settle();
  eq(rig.invites(), ["sip:201@127.0.0.1:5201", "sip:202@127.0.0.1:5202"]);
  rig.clock.advance(4_999);
  await settle();
  eq(rig.answered, []);
  rig.clock.advance(1);
  await settle();
  eq(rig.sent.filter((s) => s.cancelled).length, 1, "202's INVITE is cancelled at its ring time");
  eq(rig.answered, [{ caller: "200", dialled: "201" }]);
  // A got 100 and 180 from the first step and its one final answer from the application.
  eq(rig.toA.map((r) => r.status), [100, 180, 200]);
  eq(rig.records.map((r) => [r.callee, r.disposition, r.sipCode]), [["201", "busy", 486], [
    "202",
    "no-answer",
    480,
  ]]);
  eq((route as unknown as { seen: StepFailure[] }).seen.map((f) => f.kind), ["busy", "noAnswer"]);
  const [allocated, released] = rig.legs();
  eq(released, allocated);
  eq(rig.b2bua.calls(), []);
});

Deno.test("route: an unregistered extension is unavailable and the route goes on; its end answers the outcome's status", async () => {
  const route = chain({ kind: "extension", number: "209" }, { kind: "extension", number: "201" });
  const rig = routeRig(() => route);
  rig.start();
  await settle();
  eq(rig.invites(), ["sip:201@127.0.0.1:5201"]);
  rig.reply(0, 603);
  await settle();
  eq((route as unknown as { seen: StepFailure[] }).seen.map((f) => [f.kind, f.status]), [
    ["unavailable", 480],
    [
      "failed",
      603,
    ],
  ]);
  eq(rig.toA.map((r) => r.status), [100, 603]);
});

Deno.test("route: a hunt group rings members one after another with their own ring times, skipping busy ones", async () => {
  const route = chain({
    kind: "group",
    strategy: "hunt",
    members: [{ number: "201" }, { number: "209" }, { number: "202", ringSeconds: 3 }, { number: "203" }],
    ringSeconds: 10,
  }, app);
  const rig = routeRig(() => route);
  rig.start();
  await settle();
  rig.reply(0, 486); // 201 busy: skipped
  await settle();
  eq(rig.invites().length, 2, "209 is not registered: 202 next");
  rig.clock.advance(3_000);
  await settle();
  eq(rig.invites().map((u) => u.slice(4, 7)), ["201", "202", "203"]);
  rig.clock.advance(9_999);
  await settle();
  eq(rig.answered, []);
  rig.clock.advance(1);
  await settle();
  eq((route as unknown as { seen: StepFailure[] }).seen.map((f) => f.kind), ["noAnswer"]);
  eq(rig.answered.length, 1);
  eq(rig.toA.map((r) => r.status), [100, 200]);
});

Deno.test("route: ringAll forks to every member's contacts at once; memoryHunt adds members to the ringing ones", async () => {
  const all = routeRig(() => ({
    kind: "group",
    strategy: "ringAll",
    members: [{ number: "201" }, { number: "202" }],
  }));
  all.start();
  await settle();
  eq(all.invites(), ["sip:201@127.0.0.1:5201", "sip:202@127.0.0.1:5202"]);
  all.reply(0, 486);
  all.reply(1, 486);
  await settle();
  eq(all.toA.map((r) => r.status), [100, 486]);

  const memory = routeRig(() => ({
    kind: "group",
    strategy: "memoryHunt",
    members: [{ number: "201" }, { number: "202" }, { number: "203" }],
    ringSeconds: 2,
  }));
  memory.start();
  await settle();
  memory.clock.advance(2_000);
  await settle();
  memory.clock.advance(2_000);
  await settle();
  // Each member's INVITE is sent once; the earlier ones keep ringing.
  eq(memory.invites().map((u) => u.slice(4, 7)), ["201", "202", "203"]);
  eq(memory.sent.filter((s) => s.cancelled).length, 0);
  memory.reply(0, 200); // 201, ringing since the start, answers
  await settle();
  eq(memory.toA.at(-1)!.status, 200);
  eq(memory.sent.filter((s) => s.cancelled).length, 2, "202 and 203 are cancelled");
  await memory.b2bua.close();

  const nobody = routeRig(() => ({
    kind: "group",
    strategy: "memoryHunt",
    members: [{ number: "201" }, { number: "202", ringSeconds: 3 }],
    ringSeconds: 2,
  }));
  nobody.start();
  await settle();
  nobody.clock.advance(2_000);
  await settle();
  nobody.clock.advance(2_999);
  await settle();
  eq(nobody.toA.map((r) => r.status), [100]);
  nobody.clock.advance(1);
  await settle();
  eq(nobody.toA.map((r) => r.status), [100, 480], "the last member's ring time over: no answer");
  eq(nobody.sent.filter((s) => s.cancelled).length, 2);
});

Deno.test("route: a CANCEL while a later step rings ends with 487 and nothing more runs", async () => {
  const route = chain({ kind: "extension", number: "201" }, { kind: "extension", number: "202" }, app);
  const rig = routeRig(() => route);
  rig.start();
  await settle();
  rig.reply(0, 486);
  await settle();
  rig.cancel();
  await settle();
  eq(rig.toA.map((r) => r.status), [100, 487]);
  rig.clock.advance(60_000);
  await settle();
  eq(rig.answered, []);
  eq(rig.invites().length, 2);
  eq(rig.b2bua.calls(), []);
});

Deno.test("route: a hunt group skips a member already on a call without ringing it", async () => {
  const rig = routeRig(() => ({
    kind: "group",
    strategy: "hunt",
    members: [{ number: "202" }, { number: "201" }],
  }));
  // 202 is on another call (ringing) already.
  await rig.b2bua.startCall(rig.other("other-1"), { respond: () => {} } as unknown as ServerTransaction, {
    caller: "203",
    callee: "202",
    source: { transport: "udp", address: "192.0.2.11", port: 5060 },
  });
  eq(rig.invites(), ["sip:202@127.0.0.1:5202"]);
  rig.start();
  await settle();
  eq(rig.invites(), ["sip:202@127.0.0.1:5202", "sip:201@127.0.0.1:5201"], "201 rings, 202 is skipped");
  rig.reply(1, 486);
  await settle();
  eq(rig.toA.map((r) => r.status), [100, 486], "everyone busy: the group is busy");
  await rig.b2bua.close();
});

Deno.test("an answered call whose legs cannot be bridged is ended (BYE both sides, failed record), not left silent", async () => {
  const rig = routeRig(() => ({ kind: "extension", number: "201" }), undefined, { bridgeFails: true });
  rig.start();
  await settle();
  rig.reply(0, 200);
  await settle();
  eq(rig.toA.map((r) => r.status), [100, 200]);
  eq(rig.sent.filter((s) => s.req.method === "BYE").length, 2);
  eq(rig.records.map((r) => [r.disposition, r.sipCode, r.hangupBy]), [["failed", 500, "system"]]);
  const [allocated, released] = rig.legs();
  eq(released, allocated);
});
