import { deepStrictEqual as eq, ok } from "node:assert";
import { B2bua } from "./b2bua.ts";
import { CallRegistry, tagOf } from "./registry.ts";
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
const settle = async () => {
  for (let i = 0; i < 50; i++) await Promise.resolve();
};

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

function rig() {
  const clock = new VirtualClock();
  const registry = new CallRegistry({ clock });
  const allocated = new Set<string>();
  const bridges: [string, string][] = [];
  const records: CallRecord[] = [];
  const sent: { req: SipRequest; handlers: ClientTransactionHandlers; cancelled: boolean }[] = [];
  let legs = 0;
  const media: MediaPort = {
    allocateLeg: () => {
      const legId = `leg${++legs}`;
      allocated.add(legId);
      return Promise.resolve({ legId, address: "127.0.0.1", rtpPort: 20000 + legs * 2, rtcpPort: 0 });
    },
    configureLeg: () => Promise.resolve(),
    bridge: (a, b) => {
      bridges.push([a, b]);
      return Promise.resolve();
    },
    releaseLeg: (id) => {
      allocated.delete(id);
      return Promise.resolve();
    },
  };
  const transactions = {
    sendRequest(req: SipRequest, _peer: Peer, handlers: ClientTransactionHandlers) {
      const e = { req, handlers, cancelled: false };
      sent.push(e);
      return {
        cancel() {
          e.cancelled = true;
        },
      };
    },
  } as unknown as TransactionLayer;
  const b2bua = new B2bua({
    transactions,
    sendRaw: () => {},
    media,
    cdr: { insert: (r) => records.push(r) },
    clock,
    log: nullLogger,
    publicAddress: "127.0.0.1",
    sipPort: 5060,
    registry,
    bindings: (ext) => [{
      extension: ext,
      contactUri: `sip:${ext}@127.0.0.1:${6000 + Number(ext)}`,
      expiresAt: 0,
      callId: `reg${ext}`,
      cseq: 1,
      sourceTransport: "udp",
      sourceAddress: "127.0.0.1",
      sourcePort: 6000 + Number(ext),
    }],
    displayName: () => undefined,
  });
  /** 201 calls `callee`; answered unless `ring`. Returns the box's tag toward 201 and helpers. */
  const call = async (callId: string, callee: string, answer = true) => {
    const toA: SipResponse[] = [];
    const tx = { respond: (r: SipResponse) => toA.push(r) } as unknown as ServerTransaction;
    const invite = request([
      `INVITE sip:${callee}@127.0.0.1 SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK${callId}`,
      "From: <sip:201@127.0.0.1>;tag=a-" + callId,
      `To: <sip:${callee}@127.0.0.1>`,
      `Call-ID: ${callId}`,
      "CSeq: 1 INVITE",
      "Contact: <sip:201@127.0.0.1:5070>",
      "Content-Type: application/sdp",
    ], sdp(40000));
    await b2bua.startCall(invite, tx, { caller: "201", callee, source: A });
    await settle();
    const fork = sent.filter((s) =>
      s.req.method === "INVITE" && getHeader(s.req, "To")!.includes(`sip:${callee}@`)
    )
      .at(-1)!;
    const reply = (status: number) => {
      const res = createResponse(fork.req, status, { toTag: `t-${callId}` });
      addHeader(res, "Contact", `<sip:${callee}@127.0.0.1:${6000 + Number(callee)}>`);
      if (status === 200) {
        res.body = ENC.encode(sdp(30000));
        setHeader(res, "Content-Type", "application/sdp");
      }
      fork.handlers.onResponse(res);
    };
    reply(180);
    if (answer) reply(200);
    await settle();
    const boxTag = () => tagOf(getHeader(toA.find((r) => r.status >= 180)!, "To"))!;
    const fromA = (method: string, seq: number, extra: string[] = []) => {
      const out: SipResponse[] = [];
      registry.route(
        request([
          `${method} sip:pbx@127.0.0.1:5060 SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK${method}${seq}${callId}`,
          `From: <sip:201@127.0.0.1>;tag=a-${callId}`,
          `To: <sip:${callee}@127.0.0.1>;tag=${boxTag()}`,
          `Call-ID: ${callId}`,
          `CSeq: ${seq} ${method}`,
          ...extra,
        ]),
        method === "ACK"
          ? undefined
          : { respond: (r: SipResponse) => out.push(r) } as unknown as ServerTransaction,
        A,
      );
      return out;
    };
    if (answer) fromA("ACK", 1);
    /** An in-dialog request from the callee (its tag, the box's fork From tag). */
    const fromCallee = (method: string, seq: number) => {
      const out: SipResponse[] = [];
      registry.route(
        request([
          `${method} sip:pbx@127.0.0.1:5060 SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.0.1:6000;branch=z9hG4bK${method}${seq}c${callId}`,
          `From: <sip:${callee}@127.0.0.1>;tag=t-${callId}`,
          `To: ${getHeader(fork.req, "From")}`,
          `Call-ID: ${getHeader(fork.req, "Call-ID")}`,
          `CSeq: ${seq} ${method}`,
        ]),
        { respond: (r: SipResponse) => out.push(r) } as unknown as ServerTransaction,
        A,
      );
      return out;
    };
    return { toA, fork, reply, boxTag, fromA, fromCallee, callId };
  };
  const replacesOf = (c: Awaited<ReturnType<typeof call>>) =>
    `${c.callId};to-tag=${c.boxTag()};from-tag=a-${c.callId}`;
  const referTo = (number: string, replaces: string) =>
    `Refer-To: <sip:${number}@127.0.0.1?Replaces=${encodeURIComponent(replaces)}>`;
  return { clock, registry, allocated, bridges, records, sent, b2bua, call, replacesOf, referTo };
}

Deno.test("attended transfer joins the two other parties, BYEs the replaced dialog, links the records", async () => {
  const r = rig();
  const x = await r.call("x1", "202");
  const y = await r.call("y1", "203");
  eq(r.allocated.size, 4);
  eq(x.fromA("REFER", 2, [r.referTo("203", "nope;to-tag=1;from-tag=2")]).map((s) => s.status), [481]);
  eq(x.fromA("REFER", 3, [`Refer-To: <sip:203@127.0.0.1?Replaces=garbage>`]).map((s) => s.status), [400]);
  eq(x.fromA("REFER", 4, [r.referTo("203", r.replacesOf(y))]).map((s) => s.status), [202]);
  await settle();
  const frags = r.sent.filter((s) => s.req.method === "NOTIFY").map((s) =>
    new TextDecoder().decode(s.req.body).trim()
  );
  eq(frags, ["SIP/2.0 100 Trying", "SIP/2.0 200 OK"]);
  const byes = r.sent.filter((s) => s.req.method === "BYE").map((s) => getHeader(s.req, "Call-ID"));
  eq(byes, ["y1"], "the replaced dialog got BYE; the referring one waits for the transferor");
  eq(r.allocated.size, 2, "the transferor's two legs were released");
  const [a, b] = r.bridges.at(-1)!;
  ok(r.allocated.has(a) && r.allocated.has(b), "the remaining legs are bridged");
  eq(x.fromA("BYE", 5).map((s) => s.status), [200], "the transferor's own BYE");
  eq(y.fromA("BYE", 2).map((s) => s.status), [200], "a late BYE on the replaced dialog");
  eq(r.b2bua.calls().length, 1);
  eq(r.b2bua.calls()[0]!.caller, "203", "203 took the transferor's side");
  // 203 hangs up: 202 gets BYE, all gone.
  eq(y.fromCallee("BYE", 9).map((s) => s.status), [200]);
  await settle();
  ok(
    r.sent.some((s) =>
      s.req.method === "BYE" && getHeader(s.req, "Call-ID") === getHeader(x.fork.req, "Call-ID")
    ),
  );
  eq(r.allocated.size, 0);
  eq(new Set(r.records.map((c) => c.linkedId)), new Set(["x1"]), "every record linked to the referred call");
  ok(r.records.some((c) => c.reason === "attended transfer to 203"));
  r.clock.advance(60_000);
  eq(r.registry.size, 0);
  eq(r.b2bua.size, 0);
});

Deno.test("200 attended, semi-attended (answered and busy), REFER on the consultation call, INVITE with Replaces and pickup leave nothing behind", async () => {
  const r = rig();
  const FLOWS = [
    "attended",
    "on-consultation",
    "semi-answer",
    "semi-busy",
    "invite-replaces",
    "pickup",
  ] as const;
  for (let i = 0; i < 200; i++) {
    const flow = FLOWS[i % FLOWS.length]!;
    r.sent.length = 0;
    const x = await r.call(`x${i}`, "202");
    if (flow === "invite-replaces" || flow === "pickup") {
      // 204 takes over 201's dialog (confirmed) or picks up a call ringing at 203.
      const z = flow === "pickup" ? await r.call(`z${i}`, "203", false) : x;
      const replaces = flow === "pickup"
        ? `${getHeader(z.fork.req, "Call-ID")};to-tag=t-z${i};from-tag=${
          tagOf(getHeader(z.fork.req, "From"))
        }`
        : r.replacesOf(x);
      const out: SipResponse[] = [];
      const tx = { respond: (res: SipResponse) => out.push(res) } as unknown as ServerTransaction;
      const inv = request([
        "INVITE sip:203@127.0.0.1 SIP/2.0",
        `Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bKp${i}`,
        "From: <sip:204@127.0.0.1>;tag=p",
        "To: <sip:203@127.0.0.1>",
        `Call-ID: p${i}`,
        "CSeq: 1 INVITE",
        "Contact: <sip:204@127.0.0.1:5090>",
        `Replaces: ${replaces}`,
        "Content-Type: application/sdp",
      ], sdp(50000));
      ok(await r.b2bua.acceptReplaces(inv, tx, { caller: "204", source: A }));
      eq(out.at(-1)!.status, 200, `${flow} ${i}: ${out.at(-1)!.status} ${out.at(-1)!.reason}`);
      if (flow === "pickup") {
        ok(z.fork.cancelled, "the ringing fork got CANCEL");
        eq(z.toA.at(-1)!.status, 200, "the caller was answered");
        z.fromA("ACK", 1);
        z.fromA("BYE", 2);
        x.fromA("BYE", 2);
      } else {
        // the replaced party (201) got BYE; 202 hangs up now.
        x.fromCallee("BYE", 9);
      }
    } else {
      const semi = flow === "semi-answer" || flow === "semi-busy";
      const y = await r.call(`y${i}`, "203", !semi);
      const [referrer, other] = flow === "on-consultation" ? [y, x] : [x, y];
      eq(referrer.fromA("REFER", 2, [r.referTo("203", r.replacesOf(other))]).map((s) => s.status), [202]);
      if (semi) {
        eq(y.toA.at(-1)!.status, 487, "the transferor's ringing INVITE ended");
        y.reply(flow === "semi-answer" ? 200 : 486);
        await settle();
      }
      referrer.fromA("BYE", 3);
      await settle();
      if (flow === "semi-busy") {
        eq(r.b2bua.calls().length, 0, "the transferee whose transferor left was hung up");
      } else (flow === "on-consultation" ? x : y).fromCallee("BYE", 9);
    }
    await settle();
    r.clock.advance(11_000);
    await settle();
    eq(r.allocated.size, 0, `${flow} ${i}: every media leg released`);
    eq(r.b2bua.calls().length, 0, `${flow} ${i}: no call left`);
  }
  r.clock.advance(60_000);
  eq(r.registry.size, 0, "every dialog left the registry");
  eq(r.b2bua.size, 0);
});
