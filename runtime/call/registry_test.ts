import { deepStrictEqual as eq, ok } from "node:assert";
import { B2bua } from "./b2bua.ts";
import { CallRegistry, tagOf } from "./registry.ts";
import { LocalCalls } from "./local.ts";
import {
  addHeader,
  createResponse,
  getHeader,
  parseMessage,
  type Peer,
  setHeader,
  type SipRequest,
  type SipResponse,
} from "../sip/message/mod.ts";
import type { ClientTransactionHandlers, ServerTransaction, TransactionLayer } from "../sip/mod.ts";
import { VirtualClock } from "../clock/mod.ts";
import { createLogger, nullLogger } from "../log/mod.ts";
import { createDispatcher } from "./dispatcher.ts";
import type { MediaPort } from "./types.ts";

const ENC = new TextEncoder();
const A: Peer = { transport: "udp", address: "127.0.0.1", port: 5070 };

function sdp(port: number): string {
  return [
    "v=0",
    "o=phone 1 1 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio ${port} RTP/AVP 0`,
    "a=rtpmap:0 PCMU/8000",
    "a=sendrecv",
    "",
  ].join("\r\n");
}

function request(lines: string[], body = ""): SipRequest {
  const head = [...lines, `Content-Length: ${ENC.encode(body).length}`].join("\r\n");
  return parseMessage(ENC.encode(`${head}\r\n\r\n${body}`)) as SipRequest;
}

/** The set-up steps a failure is injected at; "none" runs the call cleanly. */
const STEPS = ["none", "allocA", "allocB", "configure", "send", "bridge", "release", "tap"] as const;
type Step = typeof STEPS[number];
/** How the call goes on after its set-up. */
const OUTCOMES = ["answer-bye", "busy", "cancel", "no-answer", "answer-no-ack", "bye-from-b"] as const;

function rig() {
  const clock = new VirtualClock();
  const registry = new CallRegistry({ clock });
  const allocated = new Set<string>();
  let legs = 0;
  let fail: Step = "none";
  let allocs = 0;
  const sent: { req: SipRequest; handlers: ClientTransactionHandlers }[] = [];
  const boom = (step: Step) => {
    if (fail === step) throw new Error(`injected failure at ${step}`);
  };
  const media: MediaPort & { tap(legId: string, on: boolean): Promise<void>; on(): () => void } = {
    allocateLeg: () => {
      allocs++;
      if ((fail === "allocA" && allocs === 1) || (fail === "allocB" && allocs === 2)) {
        return Promise.reject(new Error("injected: no ports"));
      }
      const legId = `leg${++legs}`;
      allocated.add(legId);
      return Promise.resolve({ legId, address: "127.0.0.1", rtpPort: 20000 + legs * 2, rtcpPort: 0 });
    },
    configureLeg: () => {
      try {
        boom("configure");
      } catch (e) {
        return Promise.reject(e);
      }
      return Promise.resolve();
    },
    bridge: () => (fail === "bridge" ? Promise.reject(new Error("injected bridge")) : Promise.resolve()),
    releaseLeg: (legId) => {
      allocated.delete(legId);
      // A release that fails still frees the port in the plane; the caller must go on with the others.
      return fail === "release" ? Promise.reject(new Error("injected release")) : Promise.resolve();
    },
    tap: () => (fail === "tap" ? Promise.reject(new Error("injected tap")) : Promise.resolve()),
    on: () => () => {},
  };
  const transactions = {
    sendRequest(req: SipRequest, _peer: Peer, handlers: ClientTransactionHandlers) {
      if (req.method === "INVITE" && getHeader(req, "To")?.includes("tag=") !== true) boom("send");
      sent.push({ req, handlers });
      return { cancel() {} };
    },
  } as unknown as TransactionLayer;
  const log = createLogger("test", { level: "error", sink: () => {} });
  const common = { transactions, clock, log, publicAddress: "127.0.0.1", sipPort: 5060, registry };
  const b2bua = new B2bua({
    ...common,
    sendRaw: () => {},
    media,
    cdr: { insert: () => {} },
    bindings: () =>
      [1, 2].map((n) => ({
        extension: "202",
        contactUri: `sip:202@127.0.0.1:${5080 + n}`,
        expiresAt: 0,
        callId: `reg${n}`,
        cseq: 1,
        sourceTransport: "udp",
        sourceAddress: "127.0.0.1",
        sourcePort: 5080 + n,
      })),
    displayName: () => undefined,
  });
  const local = new LocalCalls({ ...common, media, cdr: { insert: () => {} } });
  return {
    clock,
    registry,
    allocated,
    sent,
    b2bua,
    local,
    setFail(step: Step) {
      fail = step;
      allocs = 0;
    },
  };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

Deno.test("1,000 calls with a failure injected at every set-up step leave the registry empty and every port free", async () => {
  const r = rig();
  for (let i = 0; i < 1000; i++) {
    const step = STEPS[i % STEPS.length]!;
    const outcome = OUTCOMES[Math.floor(i / STEPS.length) % OUTCOMES.length]!;
    r.setFail(step);
    r.sent.length = 0;
    const toA: SipResponse[] = [];
    const aTx = { respond: (res: SipResponse) => toA.push(res) } as unknown as ServerTransaction;
    const callId = `leak-${i}`;
    const invite = request([
      "INVITE sip:202@127.0.0.1 SIP/2.0",
      `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK${i}`,
      "Max-Forwards: 70",
      "From: <sip:201@127.0.0.1>;tag=atag",
      "To: <sip:202@127.0.0.1>",
      `Call-ID: ${callId}`,
      "CSeq: 1 INVITE",
      "Contact: <sip:201@127.0.0.1:5070>",
      "Content-Type: application/sdp",
    ], sdp(40000));
    if (i % 10 === 9) {
      // Every tenth is a call the box answers itself.
      await r.local.answer(invite, aTx, {
        caller: "201",
        dialled: "700",
        source: A,
        handler: { accept: () => ({}) },
      });
      const final = toA.find((x) => x.status >= 200);
      ok(final !== undefined, `local call ${i} (${step}) got a final answer`);
      if (final.status === 200) {
        const tag = tagOf(getHeader(final, "To"))!;
        const bye = request([
          "BYE sip:pbx@127.0.0.1:5060 SIP/2.0",
          "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKbye",
          "From: <sip:201@127.0.0.1>;tag=atag",
          `To: <sip:700@127.0.0.1>;tag=${tag}`,
          `Call-ID: ${callId}`,
          "CSeq: 2 BYE",
        ]);
        ok(r.registry.route(bye, { respond: () => {} } as unknown as ServerTransaction, A));
      }
      await settle();
      eq(r.allocated.size, 0, `local call ${i} (failure at ${step}) released its media leg`);
      continue;
    }
    await r.b2bua.startCall(invite, aTx, { caller: "201", callee: "202", source: A });
    await settle();
    const final = () => toA.find((x) => x.status >= 200);
    if (final() !== undefined) {
      ok(final()!.status >= 500, `call ${i} failed at ${step}: ${final()!.status}`);
      continue;
    }
    const fork = r.sent[0]!;
    const fromB = (status: number) => {
      const res = createResponse(fork.req, status, { toTag: `b${i}` });
      addHeader(res, "Contact", "<sip:202@127.0.0.1:5081>");
      if (status === 200) {
        res.body = ENC.encode(sdp(30000));
        setHeader(res, "Content-Type", "application/sdp");
      }
      fork.handlers.onResponse(res);
    };
    fromB(180);
    if (outcome === "busy") {
      fromB(486);
      r.sent[1]!.handlers.onResponse(createResponse(r.sent[1]!.req, 486, { toTag: "x" }));
    } else if (outcome === "cancel") {
      ok(r.b2bua.cancel(aTx));
    } else if (outcome === "no-answer") {
      r.clock.advance(30_000);
    } else {
      fromB(200);
      await settle();
      const okA = toA.findLast((x) => x.status === 200)!;
      const to = getHeader(okA, "To")!;
      if (outcome === "answer-no-ack") {
        r.clock.advance(64 * 500 + 4000); // the first retransmission tick after 64*T1 gives up
      } else {
        const ack = request([
          "ACK sip:pbx@127.0.0.1:5060 SIP/2.0",
          "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKack",
          "From: <sip:201@127.0.0.1>;tag=atag",
          `To: ${to}`,
          `Call-ID: ${callId}`,
          "CSeq: 1 ACK",
        ]);
        ok(r.registry.route(ack, undefined, A));
        const bye = outcome === "answer-bye"
          ? request([
            "BYE sip:pbx@127.0.0.1:5060 SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKbye",
            "From: <sip:201@127.0.0.1>;tag=atag",
            `To: ${to}`,
            `Call-ID: ${callId}`,
            "CSeq: 2 BYE",
          ])
          : request([
            "BYE sip:pbx@127.0.0.1:5060 SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.1:5081;branch=z9hG4bKbyeb",
            `From: <sip:202@127.0.0.1>;tag=b${i}`,
            `To: ${getHeader(fork.req, "From")}`,
            `Call-ID: ${getHeader(fork.req, "Call-ID")}`,
            "CSeq: 5 BYE",
          ]);
        ok(r.registry.route(bye, { respond: () => {} } as unknown as ServerTransaction, A), `BYE ${outcome}`);
      }
    }
    await settle();
    eq(r.allocated.size, 0, `call ${i} (failure at ${step}, ${outcome}) released its media legs`);
  }
  await settle();
  eq(r.allocated.size, 0, "every media leg released");
  ok(r.registry.size > 0, "ended dialogs linger for retransmissions");
  eq(r.registry.active, 0, "no dialog is live");
  r.clock.advance(40_000);
  eq(r.registry.size, 0, "and then leave");
  eq(r.b2bua.size, 0);
  eq(r.b2bua.calls().length, 0);
  eq(r.local.active, 0);
});

/** What the callee side does at one ringing step of a route. */
const STAGES = ["busy", "fork-failures", "no-answer", "cancel-mid-setup", "cancel", "answer"] as const;

Deno.test("1,000 routed calls (busy, fork failures, no answer, CANCEL mid-setup, then an application) leave nothing behind", async () => {
  const r = rig();
  const cancelFor = (invite: SipRequest) =>
    request([
      "CANCEL sip:202@127.0.0.1 SIP/2.0",
      getHeader(invite, "Via") === undefined ? "" : `Via: ${getHeader(invite, "Via")}`,
      "From: <sip:201@127.0.0.1>;tag=atag",
      "To: <sip:202@127.0.0.1>",
      `Call-ID: ${getHeader(invite, "Call-ID")}`,
      "CSeq: 1 CANCEL",
    ]);
  let current: ServerTransaction | undefined;
  const dispatch = createDispatcher({
    authorizer: { authorize: () => ({ ok: true, username: "201" }) },
    registrar: { locations: {} as never, extensionExists: () => true, clock: r.clock, log: nullLogger },
    b2bua: r.b2bua,
    local: r.local,
    registry: r.registry,
    // ring 202, then ring 202 again for 5 s, then an application that answers.
    route: () => ({
      kind: "extension",
      number: "202",
      next: () => ({
        kind: "extension",
        number: "202",
        ringSeconds: 5,
        next: () => ({ kind: "local", handler: { accept: () => ({}) } }),
      }),
    }),
    hasBindings: () => true,
    findInviteForCancel: () => current,
    clock: r.clock,
    log: nullLogger,
  });
  const answeredCalls: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const step = STEPS[i % STEPS.length]!;
    const first = STAGES[Math.floor(i / STEPS.length) % STAGES.length]!;
    const second = STAGES[(i * 7) % STAGES.length]!;
    r.setFail(step);
    r.sent.length = 0;
    const toA: SipResponse[] = [];
    const aTx = { respond: (res: SipResponse) => toA.push(res) } as unknown as ServerTransaction;
    current = aTx;
    const callId = `route-leak-${i}`;
    const invite = request([
      "INVITE sip:202@127.0.0.1 SIP/2.0",
      `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKr${i}`,
      "Max-Forwards: 70",
      "From: <sip:201@127.0.0.1>;tag=atag",
      "To: <sip:202@127.0.0.1>",
      `Call-ID: ${callId}`,
      "CSeq: 1 INVITE",
      "Contact: <sip:201@127.0.0.1:5070>",
      "Content-Type: application/sdp",
    ], sdp(40000));
    const final = () => toA.find((x) => x.status >= 200);
    dispatch(invite, aTx, A);
    const play = async (stage: typeof STAGES[number]) => {
      if (stage === "cancel-mid-setup") {
        dispatch(cancelFor(invite), { respond: () => {} } as unknown as ServerTransaction, A);
        await settle();
        return;
      }
      await settle();
      const forks = r.sent.filter((s) =>
        s.req.method === "INVITE" && !getHeader(s.req, "To")!.includes("tag=")
      );
      r.sent.length = 0;
      if (final() !== undefined || forks.length === 0) return;
      const reply = (f: typeof forks[number], status: number) => {
        const res = createResponse(f.req, status, { toTag: `b${i}` });
        addHeader(res, "Contact", "<sip:202@127.0.0.1:5081>");
        if (status === 200) {
          res.body = ENC.encode(sdp(30000));
          setHeader(res, "Content-Type", "application/sdp");
        }
        f.handlers.onResponse(res);
      };
      for (const f of forks) reply(f, 180);
      if (stage === "busy") { for (const f of forks) reply(f, 486); }
      else if (stage === "fork-failures") {
        forks[0]!.handlers.onTimeout?.();
        forks[1]?.handlers.onTransportError?.();
      } else if (stage === "no-answer") r.clock.advance(30_000);
      else if (stage === "cancel") {
        dispatch(cancelFor(invite), { respond: () => {} } as unknown as ServerTransaction, A);
      } else reply(forks[0]!, 200);
      await settle();
      await settle();
    };
    await play(first);
    if (final() === undefined) await play(second);
    await settle();
    await settle();
    const ok200 = toA.findLast((x) => x.status === 200);
    if (ok200 !== undefined) {
      // Answered (by 202 or the application): ACK, then BYE from the caller.
      answeredCalls.push(callId);
      const to = getHeader(ok200, "To")!;
      for (const [method, seq] of [["ACK", 1], ["BYE", 2]] as const) {
        r.registry.route(
          request([
            `${method} sip:pbx@127.0.0.1:5060 SIP/2.0`,
            `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK${method}${i}`,
            "From: <sip:201@127.0.0.1>;tag=atag",
            `To: ${to}`,
            `Call-ID: ${callId}`,
            `CSeq: ${seq} ${method}`,
          ]),
          method === "ACK" ? undefined : { respond: () => {} } as unknown as ServerTransaction,
          A,
        );
      }
    }
    await settle();
    await settle();
    ok(final() !== undefined, `call ${i} (${step}, ${first}, ${second}) got a final answer`);
    eq(
      toA.filter((x) => x.status >= 200 && x.status !== 200).length <= 1,
      true,
      `call ${i}: one final failure`,
    );
    eq(
      r.allocated.size,
      0,
      `call ${i} (failure at ${step}, ${first} then ${second}) released its media legs`,
    );
  }
  ok(answeredCalls.length > 100, `some calls were answered (${answeredCalls.length})`);
  eq(r.registry.active, 0, "no dialog is live");
  r.clock.advance(40_000);
  eq(r.registry.size, 0, "and then every dialog leaves");
  eq(r.b2bua.size, 0);
  eq(r.local.active, 0);
});
