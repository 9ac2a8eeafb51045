/**
 * The parties of phone-to-phone (B2BUA) calls as legs (calls.ts `find`/`legsOf`, B2bua.handOver):
 * handed over still bridged, hung up together while paired, on their own once in a room, linked
 * records, and 1,000 calls with legs obtained and released leaving no dialog and no port behind.
 */
import { deepStrictEqual as eq, ok, rejects } from "node:assert";
import { B2bua } from "./b2bua.ts";
import { CallRegistry } from "./registry.ts";
import { LocalCalls } from "./local.ts";
import { createCalls } from "./calls.ts";
import type { CallLeg } from "./application.ts";
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
import type { CallRecord, MediaPort } from "./types.ts";

const ENC = new TextEncoder();
const A: Peer = { transport: "udp", address: "127.0.0.1", port: 5070 };
const B: Peer = { transport: "udp", address: "127.0.0.1", port: 5081 };
const settle = async () => {
  for (let i = 0; i < 50; i++) await Promise.resolve();
  await new Promise((r) => setTimeout(r, 0));
};

function sdp(port: number): string {
  return [
    "v=0",
    "o=phone 1 1 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio ${port} RTP/AVP 0 101`,
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=sendrecv",
    "",
  ].join("\r\n");
}

function request(lines: string[], body = ""): SipRequest {
  const head = [...lines, `Content-Length: ${ENC.encode(body).length}`].join("\r\n");
  return parseMessage(ENC.encode(`${head}\r\n\r\n${body}`)) as SipRequest;
}

function rig() {
  const clock = new VirtualClock();
  const registry = new CallRegistry({ clock });
  const allocated = new Set<string>();
  const bridges: string[] = [];
  const mixes = new Map<string, string>();
  const records: CallRecord[] = [];
  let legs = 0;
  let failTap = false;
  const sent: { req: SipRequest; handlers: ClientTransactionHandlers }[] = [];
  const media: MediaPort & { tap(legId: string, on: boolean): Promise<void>; on(): () => void } = {
    allocateLeg: () => {
      const legId = `leg${++legs}`;
      allocated.add(legId);
      return Promise.resolve({ legId, address: "127.0.0.1", rtpPort: 20000 + legs * 2, rtcpPort: 0 });
    },
    configureLeg: () => Promise.resolve(),
    releaseLeg: (id) => {
      allocated.delete(id);
      mixes.delete(id);
      return Promise.resolve();
    },
    bridge: (a, b) => {
      bridges.push(`${a}-${b}`);
      return Promise.resolve();
    },
    tap: () => (failTap ? Promise.reject(new Error("injected tap")) : Promise.resolve()),
    on: () => () => {},
  };
  const transactions = {
    sendRequest(req: SipRequest, _peer: Peer, handlers: ClientTransactionHandlers) {
      sent.push({ req, handlers });
      return { cancel() {} };
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
  const b2bua = new B2bua({
    ...common,
    sendRaw: () => {},
    media,
    bindings: () => [{
      extension: "202",
      contactUri: "sip:202@127.0.0.1:5081",
      expiresAt: 0,
      callId: "reg1",
      cseq: 1,
      sourceTransport: "udp",
      sourceAddress: "127.0.0.1",
      sourcePort: 5081,
    }],
    displayName: () => undefined,
  });
  const local = new LocalCalls({ ...common, media });
  const calls = createCalls({
    ...common,
    sendRaw: () => {},
    media,
    route: (n) => ({ kind: "extension", number: n }),
    bindings: () => [],
    players: {
      playTone: () => Promise.resolve(),
      joinMix: (legId, room) => {
        mixes.set(legId, room);
        return Promise.resolve(true);
      },
      leaveMix: (legId) => Promise.resolve(mixes.delete(legId)),
    },
    b2bua,
    adopt: (party) => local.adopt(party),
  });

  /** 201 calls 202, 202 answers, 201 ACKs: the answered call and how to send BYE from either side. */
  const answeredCall = async (callId: string, ack = true) => {
    sent.length = 0;
    const toA: SipResponse[] = [];
    const aTx = { respond: (res: SipResponse) => toA.push(res) } as unknown as ServerTransaction;
    const invite = request([
      "INVITE sip:202@127.0.0.1 SIP/2.0",
      "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKinv",
      "Max-Forwards: 70",
      "From: <sip:201@127.0.0.1>;tag=atag",
      "To: <sip:202@127.0.0.1>",
      `Call-ID: ${callId}`,
      "CSeq: 1 INVITE",
      "Contact: <sip:201@127.0.0.1:5070>",
      "Content-Type: application/sdp",
    ], sdp(40000));
    await b2bua.startCall(invite, aTx, { caller: "201", callee: "202", source: A });
    await settle();
    const fork = sent.find((s) => s.req.method === "INVITE")!;
    const res = createResponse(fork.req, 200, { toTag: "btag" });
    addHeader(res, "Contact", "<sip:202@127.0.0.1:5081>");
    res.body = ENC.encode(sdp(30000));
    setHeader(res, "Content-Type", "application/sdp");
    fork.handlers.onResponse(res);
    await settle();
    const to = getHeader(toA.findLast((x) => x.status === 200)!, "To")!;
    if (ack) {
      ok(registry.route(
        request([
          "ACK sip:pbx@127.0.0.1:5060 SIP/2.0",
          "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKack",
          "From: <sip:201@127.0.0.1>;tag=atag",
          `To: ${to}`,
          `Call-ID: ${callId}`,
          "CSeq: 1 ACK",
        ]),
        undefined,
        A,
      ));
    }
    const bCallId = getHeader(fork.req, "Call-ID")!;
    const bFrom = getHeader(fork.req, "From")!;
    const byeResponses: number[] = [];
    const tx = {
      respond: (r: SipResponse) => void byeResponses.push(r.status),
    } as unknown as ServerTransaction;
    return {
      byeResponses,
      bCallId,
      byeFromA: () =>
        registry.route(
          request([
            "BYE sip:pbx@127.0.0.1:5060 SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKbye",
            "From: <sip:201@127.0.0.1>;tag=atag",
            `To: ${to}`,
            `Call-ID: ${callId}`,
            "CSeq: 2 BYE",
          ]),
          tx,
          A,
        ),
      byeFromB: () =>
        registry.route(
          request([
            "BYE sip:pbx@127.0.0.1:5060 SIP/2.0",
            "Via: SIP/2.0/UDP 127.0.0.1:5081;branch=z9hG4bKbyeb",
            "From: <sip:202@127.0.0.1>;tag=btag",
            `To: ${bFrom}`,
            `Call-ID: ${bCallId}`,
            "CSeq: 5 BYE",
          ]),
          tx,
          B,
        ),
      /** BYEs the box sent since the call was set up, by Call-ID. */
      byesTo: (id: string) =>
        sent.filter((s) => s.req.method === "BYE" && getHeader(s.req, "Call-ID") === id).length,
    };
  };
  return {
    clock,
    registry,
    allocated,
    bridges,
    mixes,
    records,
    b2bua,
    local,
    calls,
    answeredCall,
    setFailTap: (v: boolean) => void (failTap = v),
  };
}

Deno.test("legsOf hands both parties over still bridged; one hanging up hangs up the other; records are linked", async () => {
  const r = rig();
  const call = await r.answeredCall("c1");
  eq(r.calls.find({ extension: "202" }).map((c) => c.id), ["c1"]);
  eq(r.calls.find({ extension: "203" }), []);
  const bridgesBefore = r.bridges.length;
  const [a, b] = await r.calls.legsOf("c1");
  eq(a.info.caller, "201");
  eq(b.info.caller, "202");
  eq(a.info.codec, "PCMU/8000");
  eq(r.bridges.length, bridgesBefore, "the media worker's bridge is left as it was (no re-bridge)");
  eq(r.calls.partnerOf(a), b);
  eq(r.calls.partnerOf(b), a);
  eq(r.b2bua.calls().length, 0, "the B2BUA call is over");
  eq(r.local.active, 2);
  const handed = r.records.find((x) => x.reason === "handed over as legs");
  ok(handed !== undefined && handed.linkedId === "c1" && handed.disposition === "answered");
  eq(r.allocated.size, 2, "both media legs live on in the legs");
  await a.play({ tone: "!440/100", durationMs: 100 });
  ok(call.byeFromA(), "the caller's BYE reaches its leg");
  await settle();
  eq(call.byeResponses, [200]);
  eq(await a.ended, "caller");
  eq(await b.ended, "system");
  eq(call.byesTo(call.bCallId), 1, "the callee got BYE");
  eq(r.allocated.size, 0);
  eq(r.records.filter((x) => x.linkedId === "c1").length, 3, "one record for the call and one per leg");
  await rejects(() => r.calls.legsOf("c1"), RangeError);
});

Deno.test("legs in a room live on their own; unknown and unconfirmed calls are refused; a failed take-over leaves nothing", async () => {
  const r = rig();
  await rejects(() => r.calls.legsOf("nope"), /no answered call nope/);
  const unconfirmed = await r.answeredCall("c2", false);
  await rejects(() => r.calls.legsOf("c2"), /not confirmed/);
  ok(unconfirmed.byeFromA());
  await settle();

  const call = await r.answeredCall("c3");
  const [a, b] = await r.calls.legsOf("c3");
  await a.joinMix!("conference:800");
  await b.joinMix!("conference:800");
  eq(r.mixes.size, 2);
  eq(r.calls.partnerOf(a), undefined, "in a room the two are no longer a pair");
  ok(call.byeFromB());
  await settle();
  eq(await b.ended, "caller");
  let aEnded = false;
  void a.ended.then(() => (aEnded = true));
  await settle();
  eq(aEnded, false, "the caller stays in the room when the callee leaves");
  a.hangup("done");
  eq(await a.ended, "system");
  await settle();

  r.setFailTap(true);
  await r.answeredCall("c4");
  await rejects(() => r.calls.legsOf("c4"), /could not be taken over/);
  r.setFailTap(false);
  await settle();
  eq(r.allocated.size, 0, "every media leg released");
  eq(r.b2bua.calls().length, 0);
  r.clock.advance(40_000);
  eq(r.local.active, 0);
  eq(r.registry.size, 0);
});

Deno.test("1,000 phone-to-phone calls with legs obtained and released leave the registry empty and every port free", async () => {
  const r = rig();
  for (let i = 0; i < 1000; i++) {
    const id = `many-${i}`;
    const call = await r.answeredCall(id);
    const [a, b]: CallLeg[] = await r.calls.legsOf(id);
    switch (i % 5) {
      case 0:
        ok(call.byeFromA());
        break;
      case 1:
        ok(call.byeFromB());
        break;
      case 2:
        b.hangup("feature");
        break;
      case 3:
        await a.joinMix!(`room${i}`);
        await b.joinMix!(`room${i}`);
        ok(call.byeFromA());
        await settle();
        b.hangup("room closed");
        break;
      default:
        a.hangup("feature");
        b.hangup("feature");
    }
    await Promise.all([a.ended, b.ended]);
    await settle();
    eq(r.allocated.size, 0, `call ${i} released both media legs`);
  }
  eq(r.registry.active, 0, "no dialog is live");
  r.clock.advance(40_000);
  eq(r.local.active, 0);
  eq(r.registry.size, 0, "lingering dialogs leave");
  eq(r.b2bua.size, 0);
  eq(r.b2bua.calls().length, 0);
  eq(r.records.filter((x) => x.reason === "handed over as legs").length, 1000);
});
