import { deepStrictEqual as eq, ok } from "node:assert";
import { B2bua, peerOfBinding } from "./b2bua.ts";
import type { Binding } from "../registrar/mod.ts";
import {
  addHeader,
  createResponse,
  getHeader,
  parseMessage,
  type Peer,
  setHeader,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from "../sip/message/mod.ts";
import type { ClientTransactionHandlers, ServerTransaction, TransactionLayer } from "../sip/mod.ts";
import { VirtualClock } from "../clock/mod.ts";
import { createLogger } from "../log/mod.ts";
import type { CallRecord, MediaPort } from "./types.ts";

const base: Binding = {
  extension: "201",
  contactUri: "sip:201@192.168.1.20:5060",
  expiresAt: 0,
  callId: "c",
  cseq: 1,
  sourceTransport: "udp",
  sourceAddress: "203.0.113.9",
  sourcePort: 40123,
};

Deno.test("a contact behind NAT is reached at the REGISTER's source address and port", () => {
  eq(peerOfBinding(base), { transport: "udp", address: "203.0.113.9", port: 40123 });
});

Deno.test("a contact on the source address is reached at its own port", () => {
  eq(
    peerOfBinding({ ...base, contactUri: "sip:201@203.0.113.9:5072", sourcePort: 5073 }),
    { transport: "udp", address: "203.0.113.9", port: 5072 },
  );
});

Deno.test("TCP and RFC 5626 ;ob contacts always use the registration flow", () => {
  eq(peerOfBinding({ ...base, sourceTransport: "tcp", contactUri: "sip:201@203.0.113.9:5072" }).port, 40123);
  eq(peerOfBinding({ ...base, contactUri: "sip:201@203.0.113.9:5072;ob" }).port, 40123);
});

// --- Delayed offer (INVITE without SDP), driven in-process with fakes for the layers below. ---

const ENC = new TextEncoder();
const DEC = new TextDecoder();
const A: Peer = { transport: "udp", address: "127.0.0.1", port: 5070 };
const B: Peer = { transport: "udp", address: "127.0.0.1", port: 5080 };
const PLANE = [
  { name: "opus", clockRate: 48000, channels: 2, fmtp: "minptime=10;useinbandfec=1" },
  { name: "PCMU", clockRate: 8000, channels: 1, staticPayloadType: 0 },
  { name: "PCMA", clockRate: 8000, channels: 1, staticPayloadType: 8 },
];

function sip(lines: string[], body = ""): SipMessage {
  const head = [...lines, `Content-Length: ${ENC.encode(body).length}`].join("\r\n");
  return parseMessage(ENC.encode(`${head}\r\n\r\n${body}`));
}

function sdp(port: number, codecs: string[]): string {
  return [
    "v=0",
    "o=phone 1 1 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio ${port} RTP/AVP ${codecs.map((c) => c.split(" ")[0]).join(" ")}`,
    ...codecs.map((c) => `a=rtpmap:${c}`),
    "a=sendrecv",
    "",
  ].join("\r\n");
}

/** A B2BUA over fakes: what it sends, answers, records and asks of the media plane. */
function delayedOfferRig() {
  const clock = new VirtualClock();
  const sent: { req: SipRequest; peer: Peer; handlers: ClientTransactionHandlers }[] = [];
  const raw: SipRequest[] = [];
  const toA: SipResponse[] = [];
  const records: CallRecord[] = [];
  const configs: { legId: string; config: Record<string, unknown> }[] = [];
  const bridges: { a: string; b: string; options: unknown }[] = [];
  const logs: string[] = [];
  let legs = 0;
  const media: MediaPort = {
    allocateLeg: () => {
      legs++;
      return Promise.resolve({
        legId: `leg${legs}`,
        address: "127.0.0.1",
        rtpPort: 20000 + legs * 2,
        rtcpPort: 0,
      });
    },
    configureLeg: (legId, config) => {
      configs.push({ legId, config });
      return Promise.resolve();
    },
    bridge: (a, b, options) => {
      bridges.push({ a, b, options });
      return Promise.resolve();
    },
    releaseLeg: () => Promise.resolve(),
    codecs: () => PLANE,
  };
  const transactions = {
    sendRequest(req: SipRequest, peer: Peer, handlers: ClientTransactionHandlers) {
      sent.push({ req, peer, handlers });
      return { cancel() {} };
    },
  } as unknown as TransactionLayer;
  const b2bua = new B2bua({
    transactions,
    sendRaw: (req) => raw.push(req),
    media,
    cdr: { insert: (r) => records.push(r) },
    clock,
    log: createLogger("test", { level: "debug", sink: (line) => logs.push(line) }),
    publicAddress: "127.0.0.1",
    sipPort: 5060,
    bindings: () => [{
      extension: "202",
      contactUri: "sip:202@127.0.0.1:5080",
      expiresAt: 0,
      callId: "reg",
      cseq: 1,
      sourceTransport: "udp",
      sourceAddress: "127.0.0.1",
      sourcePort: 5080,
    }],
    displayName: () => undefined,
  });
  const aTx = { respond: (res: SipResponse) => toA.push(res) } as unknown as ServerTransaction;
  const invite = sip([
    "INVITE sip:202@127.0.0.1 SIP/2.0",
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKdelayed1",
    "Max-Forwards: 70",
    "From: <sip:201@127.0.0.1>;tag=atag",
    "To: <sip:202@127.0.0.1>",
    "Call-ID: delayed-1",
    "CSeq: 2 INVITE",
    "Contact: <sip:201@127.0.0.1:5070>",
  ]) as SipRequest;
  /** B's response to the box's INVITE, with SDP when `codecs` is given. */
  const fromB = (status: number, codecs?: string[]) => {
    const fork = sent[0]!;
    const res = createResponse(fork.req, status, { toTag: "btag" });
    addHeader(res, "Contact", "<sip:202@127.0.0.1:5080>");
    if (codecs !== undefined) {
      res.body = ENC.encode(sdp(30000, codecs));
      setHeader(res, "Content-Type", "application/sdp");
    }
    fork.handlers.onResponse(res);
  };
  /** A's ACK for the box's 200, with `body` as its SDP. */
  const ackFromA = (body: string) => {
    const ok = toA.findLast((r) => r.status === 200)!;
    const ack = sip([
      "ACK sip:pbx@127.0.0.1:5060 SIP/2.0",
      "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKdelayed2",
      "Max-Forwards: 70",
      "From: <sip:201@127.0.0.1>;tag=atag",
      `To: ${getHeader(ok, "To")}`,
      "Call-ID: delayed-1",
      "CSeq: 2 ACK",
      ...(body ? ["Content-Type: application/sdp"] : []),
    ], body) as SipRequest;
    return b2bua.handleInDialog(ack, undefined, A);
  };
  const start = () => b2bua.startCall(invite, aTx, { caller: "201", callee: "202", source: A });
  return { b2bua, clock, sent, raw, toA, records, configs, bridges, logs, fromB, ackFromA, start };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

Deno.test("delayed offer: B gets the box's offer, A gets a 200 offer led by B's codec and no SDP before it", async () => {
  const rig = delayedOfferRig();
  await rig.start();
  const fork = rig.sent[0]!;
  eq(fork.peer, B);
  const offerToB = DEC.decode(fork.req.body);
  ok(/m=audio 20004 RTP\/AVP 96 0 8 97\r\n/.test(offerToB), offerToB);
  ok(offerToB.includes("o=pbx "), "the box's own origin");
  rig.fromB(183, ["0 PCMU/8000"]);
  const ringing = rig.toA.at(-1)!;
  eq([ringing.status, ringing.body.length], [180, 0]);
  rig.fromB(200, ["8 PCMA/8000", "0 PCMU/8000"]);
  eq(rig.raw.map((r) => r.method), ["ACK"], "B's 2xx is ACKed at once");
  const ok200 = rig.toA.at(-1)!;
  eq(ok200.status, 200);
  const offerToA = DEC.decode(ok200.body);
  ok(/m=audio 20002 RTP\/AVP 8 0 96 97\r\n/.test(offerToA), offerToA);
  eq(rig.bridges.length, 0, "no bridge before A's answer");
  ok(rig.ackFromA(sdp(40000, ["8 PCMA/8000"])));
  await settle();
  eq(rig.bridges.length, 1);
  eq(rig.bridges[0]!.options, {}, "A accepted B's codec: pass-through");
  const aConfig = rig.configs.findLast((c) => c.legId === "leg1")!.config;
  eq(aConfig.remote, { address: "127.0.0.1", port: 40000 });
  eq(aConfig.payloadMap, { 8: "PCMA/8000" });
  await rig.b2bua.close();
  eq(rig.records.map((r) => [r.disposition, r.sipCode]), [["answered", 200]]);
});

Deno.test("delayed offer: A answering a codec B did not pick gets the call transcoded", async () => {
  const rig = delayedOfferRig();
  await rig.start();
  rig.fromB(200, ["0 PCMU/8000"]);
  ok(rig.ackFromA(sdp(40000, ["96 opus/48000/2"])));
  await settle();
  const bridge = rig.bridges[0]!.options as {
    transcode?: { aToB?: { from: { codec: string }; to: { codec: string } } };
  };
  eq([bridge.transcode?.aToB?.from.codec, bridge.transcode?.aToB?.to.codec], ["opus/48000", "PCMU/8000"]);
  ok(rig.logs.some((l) => /transcoding .*a=opus\/48000 b=PCMU\/8000/.test(l)));
  await rig.b2bua.close();
});

for (
  const [what, body] of [
    ["no SDP", ""],
    ["an answer with no codec the box can use", sdp(40000, ["3 GSM/8000"])],
    ["unparsable SDP", "v=0\r\nthis is not sdp\r\n"],
  ] as const
) {
  Deno.test(`delayed offer: an ACK with ${what} ends the call with BYE to both sides and a failed record`, async () => {
    const rig = delayedOfferRig();
    await rig.start();
    rig.fromB(200, ["0 PCMU/8000"]);
    ok(rig.ackFromA(body));
    await settle();
    const byes = rig.sent.filter((s) => s.req.method === "BYE");
    eq(byes.map((s) => s.peer).sort((x, y) => x.port - y.port), [A, B]);
    eq(rig.bridges.length, 0);
    eq(
      rig.records.map((r) => [r.disposition, r.hangupBy, r.sipCode, r.billsecMs, r.answeredAt]),
      [["failed", "system", 488, 0, undefined]],
    );
    ok(
      rig.logs.some((l) => l.includes("delayed offer: no usable answer from the caller")),
      rig.logs.join("\n"),
    );
    eq(rig.b2bua.calls(), []);
    await rig.b2bua.close();
  });
}

Deno.test("delayed offer: no ACK at all for the 200 carrying the offer ends the call as failed", async () => {
  const rig = delayedOfferRig();
  await rig.start();
  rig.fromB(200, ["0 PCMU/8000"]);
  rig.clock.advance(64 * 500 + 5000);
  await settle();
  eq(rig.sent.filter((s) => s.req.method === "BYE").length, 2);
  eq(rig.records.map((r) => [r.disposition, r.sipCode]), [["failed", 488]]);
  await rig.b2bua.close();
});

Deno.test("parseReplaces reads call-id, to-tag, from-tag and early-only; anything else is a SyntaxError", async () => {
  const { parseReplaces } = await import("./b2bua.ts");
  eq(parseReplaces("abc@host;to-tag=1;from-tag=2"), {
    callId: "abc@host",
    toTag: "1",
    fromTag: "2",
    earlyOnly: false,
  });
  eq(parseReplaces("abc; from-tag=2 ;to-tag=1;early-only").earlyOnly, true);
  for (const bad of ["", "abc", "abc;to-tag=1", ";to-tag=1;from-tag=2", "abc;to-tag=;from-tag=2"]) {
    let threw = false;
    try {
      parseReplaces(bad);
    } catch (e) {
      threw = e instanceof SyntaxError;
    }
    ok(threw, `refused ${JSON.stringify(bad)}`);
  }
});
