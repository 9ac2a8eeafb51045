import { deepStrictEqual as eq, ok } from "node:assert";
import { CallRegistry, tagOf } from "./registry.ts";
import { LocalCalls, type LocalMediaPort } from "./local.ts";
import { type Application, applicationHandler, type CallLeg } from "./application.ts";
import type { DialResult } from "./onward.ts";
import type { RouteTarget } from "./dispatcher.ts";
import { createCalls } from "./calls.ts";
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
import { nullLogger } from "../log/mod.ts";
import type { CallRecord } from "./types.ts";
import type { Binding } from "../registrar/mod.ts";

const ENC = new TextEncoder();
const A: Peer = { transport: "udp", address: "127.0.0.1", port: 5070 };
/** Let every fake's promise chain run (they resolve in microtasks; no timers). */
const settle = async () => {
  for (let i = 0; i < 50; i++) await Promise.resolve();
};

function sdp(port: number, codec = "0 PCMU/8000"): string {
  const [pt] = codec.split(" ");
  return [
    "v=0",
    "o=phone 1 1 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio ${port} RTP/AVP ${pt} 101`,
    `a=rtpmap:${codec}`,
    "a=rtpmap:101 telephone-event/8000",
    "a=sendrecv",
    "",
  ].join("\r\n");
}

function request(lines: string[], body = ""): SipRequest {
  const head = [...lines, `Content-Length: ${ENC.encode(body).length}`].join("\r\n");
  return parseMessage(ENC.encode(`${head}\r\n\r\n${body}`)) as SipRequest;
}

function binding(ext: string, n: number): Binding {
  return {
    extension: ext,
    contactUri: `sip:${ext}@127.0.0.1:${5080 + n}`,
    expiresAt: 0,
    callId: `reg${ext}${n}`,
    cseq: 1,
    sourceTransport: "udp",
    sourceAddress: "127.0.0.1",
    sourcePort: 5080 + n,
  };
}

/** Failures injected into an onward call's set-up. */
const FAILS = ["none", "allocOut", "configureOut", "send", "bridge", "unbridge"] as const;
type Fail = typeof FAILS[number];

function rig(route: (n: string) => RouteTarget = (n) => ({ kind: "extension", number: n })) {
  const clock = new VirtualClock();
  const registry = new CallRegistry({ clock });
  const allocated = new Set<string>();
  const bridges: [string, string, unknown][] = [];
  const records: CallRecord[] = [];
  let legs = 0;
  let fail: Fail = "none";
  const sent: { req: SipRequest; handlers: ClientTransactionHandlers; cancelled: boolean }[] = [];
  const raw: SipRequest[] = [];
  const media: LocalMediaPort & {
    bridge(a: string, b: string, o?: unknown): Promise<void>;
    unbridge(id: string): Promise<void>;
    playTone(): Promise<unknown>;
    stopPlay(): Promise<boolean>;
    codecs(): { name: string; clockRate: number; channels: number }[];
  } = {
    allocateLeg: () => {
      if (fail === "allocOut" && legs % 2 === 1) return Promise.reject(new Error("injected: no ports"));
      const legId = `leg${++legs}`;
      allocated.add(legId);
      return Promise.resolve({ legId, address: "127.0.0.1", rtpPort: 20000 + legs * 2, rtcpPort: 0 });
    },
    configureLeg: (id) =>
      fail === "configureOut" && Number(id.slice(3)) % 2 === 0
        ? Promise.reject(new Error("injected configure"))
        : Promise.resolve(),
    releaseLeg: (id) => {
      allocated.delete(id);
      return Promise.resolve();
    },
    bridge: (a, b, o) => {
      if (fail === "bridge") return Promise.reject(new Error("injected bridge"));
      bridges.push([a, b, o]);
      return Promise.resolve();
    },
    unbridge:
      () => (fail === "unbridge" ? Promise.reject(new Error("injected unbridge")) : Promise.resolve()),
    playTone: () => Promise.resolve(),
    stopPlay: () => Promise.resolve(true),
    tap: () => Promise.resolve(),
    on: () => () => {},
    codecs:
      () => [{ name: "PCMU", clockRate: 8000, channels: 1 }, { name: "G722", clockRate: 8000, channels: 1 }],
  };
  const transactions = {
    sendRequest(req: SipRequest, _peer: Peer, handlers: ClientTransactionHandlers) {
      if (fail === "send" && req.method === "INVITE" && !getHeader(req, "To")!.includes("tag=")) {
        throw new Error("injected send");
      }
      const entry = { req, handlers, cancelled: false };
      sent.push(entry);
      return {
        cancel() {
          entry.cancelled = true;
        },
      };
    },
  } as unknown as TransactionLayer;
  const common = {
    transactions,
    clock,
    log: nullLogger,
    publicAddress: "127.0.0.1",
    sipPort: 5060,
    registry,
    cdr: { insert: (r: CallRecord) => void records.push(r) },
  };
  const onward = {
    route,
    bindings: (n: string) => (n === "299" ? [] : [binding(n, 1), binding(n, 2)]),
    sendRaw: (req: SipRequest) => void raw.push(req),
    media,
    noAnswerMs: 20_000,
  };
  const local = new LocalCalls({ ...common, media, onward });
  const calls = createCalls({
    ...common,
    sendRaw: onward.sendRaw,
    media,
    route,
    bindings: onward.bindings,
    players: { playTone: () => Promise.resolve() },
  });
  /** The caller (201) calls 700, answered by `app`; returns its To tag and response list. */
  const callApp = async (app: Application<null>, callId: string) => {
    const toA: SipResponse[] = [];
    const aTx = { respond: (res: SipResponse) => toA.push(res) } as unknown as ServerTransaction;
    const invite = request([
      "INVITE sip:700@127.0.0.1 SIP/2.0",
      "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1",
      "From: <sip:201@127.0.0.1>;tag=atag",
      "To: <sip:700@127.0.0.1>",
      `Call-ID: ${callId}`,
      "CSeq: 1 INVITE",
      "Contact: <sip:201@127.0.0.1:5070>",
      "Content-Type: application/sdp",
    ], sdp(40000));
    await local.answer(invite, aTx, {
      caller: "201",
      dialled: "700",
      source: A,
      handler: applicationHandler(app, null, { media, clock, log: nullLogger }),
    });
    const okA = toA.find((r) => r.status === 200)!;
    return { toA, tag: tagOf(getHeader(okA, "To"))! };
  };
  /** The caller's in-dialog request to the app call. */
  const fromCaller = (method: string, callId: string, tag: string, seq: number, extra: string[] = []) => {
    const responses: SipResponse[] = [];
    registry.route(
      request([
        `${method} sip:pbx@127.0.0.1:5060 SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK${method}${seq}`,
        "From: <sip:201@127.0.0.1>;tag=atag",
        `To: <sip:700@127.0.0.1>;tag=${tag}`,
        `Call-ID: ${callId}`,
        `CSeq: ${seq} ${method}`,
        ...extra,
      ]),
      method === "ACK"
        ? undefined
        : { respond: (r: SipResponse) => responses.push(r) } as unknown as ServerTransaction,
      A,
    );
    return responses;
  };
  /** A callee's answer to an outbound fork. */
  const reply = (f: typeof sent[number], status: number, toTag = "b1", codec?: string) => {
    const res = createResponse(f.req, status, { toTag });
    addHeader(res, "Contact", "<sip:202@127.0.0.1:5081>");
    if (status === 200) {
      res.body = ENC.encode(sdp(30000, codec));
      setHeader(res, "Content-Type", "application/sdp");
    }
    f.handlers.onResponse(res);
  };
  /** BYE from the callee of an outbound leg. */
  const byeFromCallee = (f: typeof sent[number], toTag = "b1") => {
    const responses: SipResponse[] = [];
    ok(
      registry.route(
        request([
          "BYE sip:pbx@127.0.0.1:5060 SIP/2.0",
          "Via: SIP/2.0/UDP 127.0.0.1:5081;branch=z9hG4bKbyeb",
          `From: <sip:202@127.0.0.1>;tag=${toTag}`,
          `To: ${getHeader(f.req, "From")}`,
          `Call-ID: ${getHeader(f.req, "Call-ID")}`,
          "CSeq: 5 BYE",
        ]),
        { respond: (r: SipResponse) => responses.push(r) } as unknown as ServerTransaction,
        A,
      ),
      "the outbound leg's dialog is in the registry",
    );
    return responses;
  };
  const invites = () =>
    sent.filter((s) => s.req.method === "INVITE" && !getHeader(s.req, "To")!.includes("tag="));
  return {
    clock,
    registry,
    allocated,
    bridges,
    records,
    sent,
    raw,
    local,
    calls,
    callApp,
    fromCaller,
    reply,
    byeFromCallee,
    invites,
    setFail: (f: Fail) => void (fail = f),
  };
}

Deno.test("leg.dial rings the number's contacts in the caller's codec, bridges on answer, resolves when the callee hangs up", async () => {
  const r = rig();
  let result: DialResult | undefined;
  let after = false;
  const { tag } = await r.callApp({
    name: "dialer",
    async run(leg) {
      leg.answer();
      result = await leg.dial("202");
      await leg.play({ tone: "440", durationMs: 100 }); // the caller is still the application's
      after = true;
      leg.hangup();
    },
  }, "dial-1");
  await settle();
  const forks = r.invites();
  eq(forks.length, 2, "one INVITE per contact");
  const body = new TextDecoder().decode(forks[0]!.req.body);
  ok(/m=audio \d+ RTP\/AVP 0 101/.test(body), `offered the caller's codec and telephone-event: ${body}`);
  ok(getHeader(forks[0]!.req, "From")!.includes("sip:201@"), "the callee sees the caller");
  r.reply(forks[0]!, 180);
  r.reply(forks[0]!, 200);
  await settle();
  ok(r.raw.some((q) => q.method === "ACK"), "the 2xx was ACKed");
  ok(forks[1]!.cancelled, "the other fork got CANCEL");
  eq(r.bridges.length, 1);
  eq(r.bridges[0]![2], {}, "one codec: relay");
  eq(result, undefined, "dial waits while bridged");
  eq(r.byeFromCallee(forks[0]!).map((x) => x.status), [200]);
  await settle();
  eq(result, { outcome: "answered", number: "202", by: "callee" });
  ok(after, "the application went on after the callee hung up");
  await settle();
  eq(r.allocated.size, 0, "both legs released");
  const onward = r.records.find((x) => x.callee === "202")!;
  eq(onward.linkedId, "dial-1", "the onward leg's record is linked to the call");
  eq([onward.disposition, onward.hangupBy], ["answered", "callee"]);
  ok(r.records.some((x) => x.callId === "dial-1" && x.callee === "700"), "the caller's own record");
  void tag;
  r.clock.advance(40_000);
  eq(r.registry.size, 0);
});

Deno.test("leg.dial: busy goes on with the route's continuation; an application there takes the call over", async () => {
  const took: string[] = [];
  const voicemail = applicationHandler<null>(
    {
      name: "vm",
      run(leg) {
        took.push(leg.info.dialled);
        leg.answer();
      },
    },
    null,
    { media: {}, clock: new VirtualClock(), log: nullLogger },
  );
  const r = rig((n) => ({
    kind: "extension",
    number: n,
    next: () => ({ kind: "local", handler: voicemail }),
  }));
  let result: DialResult | undefined;
  let hungUpFor: string | undefined;
  await r.callApp({
    name: "dialer",
    async run(leg) {
      leg.on((ev) => ev.type === "hangup" && (hungUpFor = ev.by));
      leg.answer();
      result = await leg.dial("202");
    },
  }, "dial-2");
  await settle();
  for (const f of r.invites()) r.reply(f, 486);
  await settle();
  eq(result, { outcome: "handedOver", number: "202" });
  eq(took, ["202"], "voicemail got the call");
  eq(hungUpFor, "system", "the dialler's part of the call ended");
  const busy = r.records.find((x) => x.disposition === "busy")!;
  eq([busy.callee, busy.linkedId, busy.sipCode], ["202", "dial-2", 486]);
  eq(r.allocated.size, 1, "only the caller's leg is left, now voicemail's");
});

Deno.test("leg.dial outcomes: not registered, no answer (CANCEL), caller hangs up while ringing; continueTo leaves", async () => {
  const r = rig();
  const results: DialResult[] = [];
  const { tag } = await r.callApp({
    name: "dialer",
    async run(leg) {
      leg.answer();
      results.push(await leg.dial("299"));
      results.push(await leg.dial({ kind: "extension", number: "202", ringSeconds: 5 }));
      results.push(await leg.dial("203"));
    },
  }, "dial-3");
  await settle();
  eq(results[0], { outcome: "unavailable", status: 480, reason: "Temporarily Unavailable (not registered)" });
  r.clock.advance(5_000);
  await settle();
  eq(results[1]!.outcome, "noAnswer");
  ok(r.invites().filter((f) => getHeader(f.req, "To")!.includes("202")).every((f) => f.cancelled));
  eq(r.fromCaller("BYE", "dial-3", tag, 2).map((x) => x.status), [200]);
  await settle();
  eq(results[2], { outcome: "cancelled" });
  ok(r.invites().filter((f) => getHeader(f.req, "To")!.includes("203")).every((f) => f.cancelled));
  await settle();
  eq(r.allocated.size, 0);
  eq(r.records.filter((x) => x.linkedId === "dial-3").map((x) => x.disposition).sort(), [
    "answered",
    "cancelled",
    "no-answer",
  ]);

  // continueTo: the application leaves at once; the route runs for the caller and hangs up after.
  let left = false;
  const c = await r.callApp({
    name: "leaver",
    async run(leg) {
      leg.answer();
      await leg.continueTo("204");
      left = true;
    },
  }, "dial-4");
  await settle();
  ok(left, "continueTo resolved: the application is out of the call");
  const f = r.invites().find((x) => getHeader(x.req, "To")!.includes("204"))!;
  r.reply(f, 200, "c1");
  await settle();
  eq(r.bridges.length, 1);
  r.byeFromCallee(f, "c1");
  await settle();
  ok(
    r.sent.some((s) => s.req.method === "BYE" && getHeader(s.req, "Call-ID") === "dial-4"),
    "the caller got BYE",
  );
  void c;
});

Deno.test("REFER on an application leg: 400 malformed, 404 unknown, 202 then NOTIFY 100 and the final sipfrag", async () => {
  const r = rig((n) => (n === "999" ? { kind: "none" } : { kind: "extension", number: n }));
  const events: string[] = [];
  const { tag } = await r.callApp({
    name: "listener",
    run(leg) {
      leg.on((ev) => events.push(ev.type === "refer" ? `refer:${ev.target}` : ev.type));
      leg.answer();
    },
  }, "refer-1");
  const refer = (seq: number, to: string) =>
    r.fromCaller("REFER", "refer-1", tag, seq, [`Refer-To: ${to}`]).map((x) => x.status);
  eq(refer(2, "<sip:@127.0.0.1>"), [400]);
  eq(refer(3, "not a uri"), [400]);
  eq(refer(4, "<sip:999@127.0.0.1>"), [404]);
  eq(refer(5, "<sip:202@127.0.0.1?Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2>"), [501]);
  eq(refer(6, "<sip:202@127.0.0.1>"), [202]);
  await settle();
  const notifies = () =>
    r.sent.filter((s) => s.req.method === "NOTIFY").map((s) => new TextDecoder().decode(s.req.body).trim());
  eq(notifies(), ["SIP/2.0 100 Trying"]);
  eq(events.slice(-2), ["refer:202", "hangup"], "the application was told, then left");
  for (const f of r.invites()) r.reply(f, 486);
  await settle();
  eq(notifies(), ["SIP/2.0 100 Trying", "SIP/2.0 486 Busy Here"]);
  const last = r.sent.filter((s) => s.req.method === "NOTIFY").at(-1)!;
  ok(getHeader(last.req, "Subscription-State")!.startsWith("terminated"));
  ok(r.sent.some((s) => s.req.method === "BYE" && getHeader(s.req, "Call-ID") === "refer-1"), "then BYE");
  await settle();
  eq(r.allocated.size, 0);
});

Deno.test("calls API: originate to an extension, bridge it with an application leg (transcoding), replace it", async () => {
  const r = rig();
  let appLeg: CallLeg | undefined;
  await r.callApp({
    name: "holder",
    run(leg) {
      appLeg = leg;
      leg.answer();
    },
  }, "api-1");
  await settle();
  const first = await r.calls.originate({ to: "202", callerId: "700", linkedId: "api-1", reason: "test" });
  const f1 = r.invites().find((x) => getHeader(x.req, "To")!.includes("202"))!;
  ok(
    /RTP\/AVP 9 0 101/.test(new TextDecoder().decode(f1.req.body)),
    "offers the plane's codecs, wideband first",
  );
  r.reply(f1, 200, "o1", "9 G722/8000");
  eq((await first.answered).outcome, "answered");
  await settle();
  await r.calls.bridge(appLeg!, first);
  const [a, b, opts] = r.bridges.at(-1)!;
  ok(a !== b);
  ok(JSON.stringify(opts).includes("G722/8000") && JSON.stringify(opts).includes("PCMU/8000"), "transcodes");
  eq(r.calls.partnerOf(appLeg!) !== undefined, true);
  await first.play({ tone: "440", durationMs: 10 });
  const second = await r.calls.originate({ to: "203", callerId: "700", linkedId: "api-1" });
  const f2 = r.invites().find((x) => getHeader(x.req, "To")!.includes("203"))!;
  r.reply(f2, 200, "o2");
  await second.answered;
  await settle();
  await r.calls.replace(first, second);
  eq(r.bridges.at(-1)![2], {}, "PCMU both sides: relay");
  await settle();
  ok(
    r.sent.some((s) =>
      s.req.method === "BYE" && getHeader(s.req, "Call-ID") === getHeader(f1.req, "Call-ID")
    ),
  );
  eq(await first.ended, "system");
  // Originate to an unregistered or unknown number is a clear error.
  await r.calls.originate({ to: "299", callerId: "700" }).then(
    () => ok(false),
    (e) => ok(/not registered/.test(e.message)),
  );
  // A ringing originated leg hung up: CANCEL, cancelled record.
  const third = await r.calls.originate({ to: "204", callerId: "700" });
  third.hangup();
  eq((await third.answered).outcome, "failed");
  ok(r.invites().filter((x) => getHeader(x.req, "To")!.includes("204")).every((x) => x.cancelled));
  second.hangup();
  appLeg!.hangup();
  await settle();
  eq(r.allocated.size, 0);
  ok(r.records.filter((x) => x.linkedId === "api-1").length >= 3, "records linked to the call");
  r.clock.advance(40_000);
  eq(r.registry.size, 0);
});

/** How an onward call goes on after its set-up. */
const OUTCOMES = [
  "answer-callee-bye",
  "answer-caller-bye",
  "busy",
  "no-answer",
  "caller-bye-ringing",
  "bad-sdp",
] as const;

Deno.test("1,000 onward calls from applications with failures injected at every step leave the registry empty and every port free", async () => {
  const r = rig();
  for (let i = 0; i < 1000; i++) {
    const fail = FAILS[i % FAILS.length]!;
    const outcome = OUTCOMES[Math.floor(i / FAILS.length) % OUTCOMES.length]!;
    r.setFail("none");
    r.sent.length = 0;
    const callId = `onward-leak-${i}`;
    let result: DialResult | undefined;
    const { tag } = await r.callApp({
      name: "dialer",
      async run(leg) {
        leg.answer();
        result = await leg.dial({ kind: "extension", number: "202", ringSeconds: 5 }).catch(() => undefined);
        leg.hangup();
      },
    }, callId);
    r.setFail(fail);
    await settle();
    const forks = r.invites();
    if (forks.length > 0) {
      const f = forks[0]!;
      if (outcome === "busy") { for (const x of forks) r.reply(x, 486); }
      else if (outcome === "no-answer") r.clock.advance(5_000);
      else if (outcome === "caller-bye-ringing") r.fromCaller("BYE", callId, tag, 2);
      else if (outcome === "bad-sdp") {
        const res = createResponse(f.req, 200, { toTag: "b1" });
        res.body = ENC.encode("garbage");
        f.handlers.onResponse(res);
      } else {
        r.reply(f, 200);
        await settle();
        if (outcome === "answer-callee-bye") {
          registryBye(r, f);
        } else r.fromCaller("BYE", callId, tag, 2);
      }
    }
    await settle();
    ok(
      result !== undefined || outcome === "caller-bye-ringing" || outcome === "answer-caller-bye" ||
        fail === "send",
      `call ${i} (${fail}, ${outcome}) resolved: ${JSON.stringify(result)}`,
    );
    r.fromCaller("BYE", callId, tag, 3);
    await settle();
    eq(r.allocated.size, 0, `call ${i} (failure at ${fail}, ${outcome}) released every media leg`);
  }
  eq(r.registry.active, 0, "no dialog is live");
  r.clock.advance(40_000);
  eq(r.registry.size, 0, "and then every dialog leaves");
  eq(r.local.active, 0);
});

function registryBye(r: ReturnType<typeof rig>, f: ReturnType<ReturnType<typeof rig>["invites"]>[number]) {
  r.byeFromCallee(f);
}

/** An outside number's route: trunk "full" refuses (failover), trunk "carrier" takes the call. */
function trunkRoute(asked: unknown[], refuse?: number): (n: string) => RouteTarget {
  const carrier: RouteTarget = {
    kind: "trunk",
    trunk: "carrier",
    number: "15551234",
    prepare: (r) => {
      asked.push(r);
      if (refuse !== undefined) return { ok: false, status: refuse, reason: "Forbidden (no permission)" };
      return {
        ok: true,
        leg: {
          trunk: "carrier",
          uri: "sip:15551234@carrier.test",
          target: { transport: "udp", address: "127.0.0.9", port: 5099 },
          from: "<sip:15550001000@carrier.test>",
          to: "<sip:15551234@carrier.test>",
          headers: [{ name: "P-Asserted-Identity", value: "<sip:15550001000@carrier.test>" }],
          codecs: ["PCMU"],
          parts: [{ contentType: "application/pidf+xml", contentId: "loc@box", body: "<presence/>" }],
          auth: { username: "box1", password: "pw-1" },
        },
      };
    },
    next: () => ({ kind: "none", status: 503, reason: "no more trunks" }),
  };
  return (n) =>
    n === "95551234"
      ? {
        kind: "trunk",
        trunk: "full",
        number: "15551234",
        prepare: (r) => {
          asked.push(r);
          return {
            ok: false,
            status: 503,
            reason: "Service Unavailable (trunk full channels busy)",
            failover: true,
          };
        },
        next: () => carrier,
      }
      : { kind: "extension", number: n };
}

Deno.test("leg.dial to an outside number: prepare per trunk (failover on a refusal), the trunk's leg, one 407 answered", async () => {
  const asked: { trunk: string; caller: string; callId: string }[] = [];
  const r = rig(trunkRoute(asked));
  let result: DialResult | undefined;
  const { tag } = await r.callApp({
    name: "dialer",
    async run(leg) {
      leg.answer();
      result = await leg.dial("95551234");
      leg.hangup();
    },
  }, "trunk-1");
  r.fromCaller("ACK", "trunk-1", tag, 1);
  await settle();
  eq(asked.map((a) => [a.trunk, a.caller, a.callId]), [["full", "201", "trunk-1"], [
    "carrier",
    "201",
    "trunk-1",
  ]]);
  const [inv] = r.invites();
  ok(inv !== undefined, "an INVITE went to the trunk");
  eq(inv.req.uri, "sip:15551234@carrier.test");
  ok(getHeader(inv.req, "From")!.startsWith("<sip:15550001000@carrier.test>;tag="));
  eq(getHeader(inv.req, "To"), "<sip:15551234@carrier.test>");
  eq(getHeader(inv.req, "P-Asserted-Identity"), "<sip:15550001000@carrier.test>");
  const body = new TextDecoder().decode(inv.req.body);
  ok(/^multipart\/mixed;boundary=/.test(getHeader(inv.req, "Content-Type")!), "SDP and PIDF-LO");
  ok(body.includes("Content-ID: <loc@box>") && body.includes("m=audio"), body);
  ok(!/a=rtpmap:\d+ (PCMA|G722)/.test(body), "the offer is narrowed to the trunk's codecs");
  // The carrier challenges: the INVITE goes again with the credentials and the next CSeq.
  const challenge = createResponse(inv.req, 407, { toTag: "c1" });
  addHeader(challenge, "Proxy-Authenticate", 'Digest realm="carrier.test", nonce="abc", qop="auth"');
  inv.handlers.onResponse(challenge);
  const again = r.sent.filter((s) => s.req.method === "INVITE").at(-1)!;
  ok(again !== inv, "sent again");
  ok(/^Digest username="box1"/.test(getHeader(again.req, "Proxy-Authorization") ?? ""));
  eq(getHeader(again.req, "CSeq"), "2 INVITE");
  ok(getHeader(again.req, "Via") !== getHeader(inv.req, "Via"), "a new branch");
  r.reply(again, 200, "c2");
  await settle();
  eq(getHeader(r.raw.at(-1)!, "CSeq"), "2 ACK", "the ACK carries the INVITE's CSeq");
  eq(r.bridges.length, 1, "bridged");
  const rec = () => r.records.find((c) => c.callee === "15551234");
  r.byeFromCallee(again, "c2");
  await settle();
  eq(result?.outcome, "answered");
  eq(rec()?.trunk, "carrier", "the record names the trunk");
});

Deno.test("calls.originate to an outside number: the trunk's leg; a refusal rejects with its status", async () => {
  const asked: { caller: string; onBehalfOf?: string }[] = [];
  const r = rig(trunkRoute(asked));
  const leg = await r.calls.originate({ to: "95551234", callerId: "*411", onBehalfOf: "201" });
  const [inv] = r.invites();
  eq(inv?.req.uri, "sip:15551234@carrier.test");
  eq(asked.map((a) => [a.caller, a.onBehalfOf]), [["*411", "201"], ["*411", "201"]]);
  leg.hangup();
  const refused = rig(trunkRoute([], 403));
  let error: Error | undefined;
  await refused.calls.originate({ to: "95551234", callerId: "201" }).catch((e) => (error = e));
  ok(
    error instanceof RangeError && /refused: 403 Forbidden \(no permission\)/.test(error.message),
    String(error),
  );
});
