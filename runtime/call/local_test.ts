import assert from "node:assert/strict";
import { negotiateAudio, parseSdp } from "../sdp/mod.ts";
import { holdOf, LocalCalls, localCodecPreferences, type LocalMediaPort } from "./local.ts";
import { applicationHandler, type LegEvent } from "./application.ts";
import { getHeader, parseMessage, type Peer, type SipRequest, type SipResponse } from "../sip/message/mod.ts";
import type { ServerTransaction, TransactionLayer } from "../sip/mod.ts";
import { VirtualClock } from "../clock/mod.ts";
import { nullLogger } from "../log/mod.ts";

const PLANE = [
  { name: "opus", clockRate: 48000, channels: 2, fmtp: "minptime=10;useinbandfec=1" },
  { name: "G722", clockRate: 8000, channels: 1 },
  { name: "PCMU", clockRate: 8000, channels: 1 },
  { name: "PCMA", clockRate: 8000, channels: 1 },
  { name: "G729", clockRate: 8000, channels: 1 },
];

function offer(formats: string, rtpmaps: string[]): string {
  return [
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio 4000 RTP/AVP ${formats}`,
    ...rtpmaps.map((r) => `a=rtpmap:${r}`),
    "a=sendrecv",
    "",
  ].join("\r\n");
}

Deno.test("local calls accept every codec of the media plane, wideband first, plus telephone-event", () => {
  const prefs = localCodecPreferences([...PLANE].reverse());
  assert.deepEqual(prefs.map((p) => p.name), ["opus", "G722", "G729", "PCMA", "PCMU", "telephone-event"]);
  assert.equal(prefs[0]!.fmtp, "minptime=10;useinbandfec=1");
  // A plane that lists nothing (or an older one) still answers G.711.
  assert.deepEqual(localCodecPreferences([]).map((p) => p.name), ["PCMU", "PCMA", "telephone-event"]);
});

Deno.test("a phone offering PCMU before Opus and G.722 is answered in Opus; G.722-only in G.722", () => {
  const prefs = localCodecPreferences(PLANE);
  const both = parseSdp(
    offer("0 9 111 101", ["0 PCMU/8000", "9 G722/8000", "111 opus/48000/2", "101 telephone-event/8000"]),
  );
  const chosen = negotiateAudio(both, prefs, { preferOfferOrder: false })!;
  assert.equal(chosen.negotiated.codecs[0]!.name, "opus");
  assert.equal(chosen.negotiated.telephoneEvent?.payloadType, 101);
  const g722 = parseSdp(offer("9", ["9 G722/8000"]));
  assert.equal(negotiateAudio(g722, prefs, { preferOfferOrder: false })!.negotiated.codecs[0]!.name, "G722");
  const gsm = parseSdp(offer("3", ["3 GSM/8000"]));
  assert.equal(negotiateAudio(gsm, prefs, { preferOfferOrder: false }), null, "nothing in common: 488");
});

// --- Leg events: hold/resume on re-INVITE, REFER answered 501 and reported. ---

const ENC = new TextEncoder();
const PEER: Peer = { transport: "udp", address: "127.0.0.1", port: 5070 };

function req(lines: string[], body = ""): SipRequest {
  const head = [...lines, `Content-Length: ${ENC.encode(body).length}`].join("\r\n");
  return parseMessage(ENC.encode(`${head}\r\n\r\n${body}`)) as SipRequest;
}

function withDirection(direction: string, address = "127.0.0.1"): string {
  return offer("0", ["0 PCMU/8000"]).replace("a=sendrecv", `a=${direction}`).replace(
    "c=IN IP4 127.0.0.1",
    `c=IN IP4 ${address}`,
  );
}

Deno.test("holdOf: sendonly, inactive and c=0.0.0.0 hold; sendrecv does not; no SDP is no answer", () => {
  assert.deepEqual(holdOf(ENC.encode(withDirection("sendonly"))), { held: true, offered: "sendonly" });
  assert.equal(holdOf(ENC.encode(withDirection("inactive")))?.held, true);
  assert.equal(holdOf(ENC.encode(withDirection("sendrecv", "0.0.0.0")))?.held, true);
  assert.equal(holdOf(ENC.encode(withDirection("sendrecv")))?.held, false);
  assert.equal(holdOf(new Uint8Array()), undefined);
  assert.equal(holdOf(ENC.encode("not sdp")), undefined);
});

Deno.test("an application leg hears hold, resume and refer; the box answers recvonly, sendrecv and 501", async () => {
  const clock = new VirtualClock();
  const media: LocalMediaPort = {
    allocateLeg: () => Promise.resolve({ legId: "leg1", address: "127.0.0.1", rtpPort: 20000, rtcpPort: 0 }),
    configureLeg: () => Promise.resolve(),
    releaseLeg: () => Promise.resolve(),
    tap: () => Promise.resolve(),
    on: () => () => {},
  };
  const local = new LocalCalls({
    transactions: { sendRequest: () => ({ cancel() {} }) } as unknown as TransactionLayer,
    media,
    cdr: { insert: () => {} },
    clock,
    log: nullLogger,
    publicAddress: "127.0.0.1",
    sipPort: 5060,
  });
  const events: LegEvent[] = [];
  const handler = applicationHandler<null>(
    {
      name: "listener",
      run: (leg) => {
        leg.on((ev) => events.push(ev));
        leg.answer();
      },
    },
    null,
    { media: {}, clock, log: nullLogger },
  );
  const responses: SipResponse[] = [];
  const tx = { respond: (r: SipResponse) => responses.push(r) } as unknown as ServerTransaction;
  const dialog = (method: string, seq: number, toTag?: string, extra: string[] = []) => [
    `${method} sip:700@127.0.0.1 SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK${method}${seq}`,
    "From: <sip:201@127.0.0.1>;tag=a",
    `To: <sip:700@127.0.0.1>${toTag ? `;tag=${toTag}` : ""}`,
    "Call-ID: events-1",
    `CSeq: ${seq} ${method}`,
    "Contact: <sip:201@127.0.0.1:5070>",
    ...extra,
  ];
  await local.answer(
    req(dialog("INVITE", 1, undefined, ["Content-Type: application/sdp"]), withDirection("sendrecv")),
    tx,
    { caller: "201", dialled: "700", source: PEER, handler },
  );
  const ok = responses.find((r) => r.status === 200)!;
  const tag = /tag=([^;>\s]+)/.exec(getHeader(ok, "To")!)![1]!;
  const answers: string[] = [];
  const send = (r: SipRequest) =>
    local.handleInDialog(
      r,
      {
        respond: (x: SipResponse) => answers.push(`${x.status} ${new TextDecoder().decode(x.body)}`),
      } as unknown as ServerTransaction,
      PEER,
    );
  assert.ok(
    send(req(dialog("INVITE", 2, tag, ["Content-Type: application/sdp"]), withDirection("sendonly"))),
  );
  assert.ok(
    send(req(dialog("INVITE", 3, tag, ["Content-Type: application/sdp"]), withDirection("sendrecv"))),
  );
  assert.ok(send(req(dialog("REFER", 4, tag, ["Refer-To: <sip:203@127.0.0.1>"]))));
  assert.ok(answers[0]!.startsWith("200") && answers[0]!.includes("a=recvonly"), answers[0]);
  assert.ok(answers[1]!.startsWith("200") && answers[1]!.includes("a=sendrecv"), answers[1]);
  const version = (a: string) => /o=\S+ \S+ (\d+) /.exec(a)![1];
  assert.notEqual(version(answers[0]!), version(answers[1]!), "the o= version moves on with each change");
  assert.ok(answers[2]!.startsWith("501"), answers[2]);
  assert.deepEqual(events, [{ type: "hold" }, { type: "resume" }, { type: "refer", target: "203" }]);
  await local.close();
});

Deno.test("a CANCEL while the feature decides gets 487; the feature's late accept ends at once, no 200, no port kept", async () => {
  const clock = new VirtualClock();
  let legs = 0;
  const media: LocalMediaPort = {
    allocateLeg:
      () => (legs++, Promise.resolve({ legId: "leg1", address: "127.0.0.1", rtpPort: 20000, rtcpPort: 0 })),
    configureLeg: () => Promise.resolve(),
    releaseLeg: () => (legs--, Promise.resolve()),
    tap: () => Promise.resolve(),
    on: () => () => {},
  };
  const records: string[] = [];
  const local = new LocalCalls({
    transactions: { sendRequest: () => ({ cancel() {} }) } as unknown as TransactionLayer,
    media,
    cdr: { insert: (r) => records.push(`${r.disposition} ${r.sipCode}`) },
    clock,
    log: nullLogger,
    publicAddress: "127.0.0.1",
    sipPort: 5060,
  });
  let decide: (v: { onEnd(by: string): void }) => void = () => {};
  const ends: string[] = [];
  const responses: number[] = [];
  const tx = { respond: (r: SipResponse) => responses.push(r.status) } as unknown as ServerTransaction;
  const invite = req([
    "INVITE sip:700@127.0.0.1 SIP/2.0",
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKc1",
    "From: <sip:201@127.0.0.1>;tag=a",
    "To: <sip:700@127.0.0.1>",
    "Call-ID: cancel-1",
    "CSeq: 1 INVITE",
    "Contact: <sip:201@127.0.0.1:5070>",
    "Content-Type: application/sdp",
  ], withDirection("sendrecv"));
  const answering = local.answer(invite, tx, {
    caller: "201",
    dialled: "700",
    source: PEER,
    handler: { accept: () => new Promise((r) => (decide = r)) },
  });
  assert.equal(local.cancel(tx), true);
  assert.deepEqual(responses, [487]);
  decide({ onEnd: (by) => ends.push(by) });
  await answering;
  assert.deepEqual(responses, [487], "no 200 after the 487");
  assert.deepEqual(ends, ["caller"]);
  assert.equal(legs, 0);
  assert.deepEqual(records, ["cancelled 487"]);
  assert.equal(local.cancel(tx), false, "not pending any more");
  assert.equal(local.active, 0);
});

// --- SRTP on calls the box answers (issue 16): SDES under the caller's policy, DTLS-SRTP offers. ---

const TLS: Peer = { transport: "tls", address: "127.0.0.1", port: 5071 };
const KEY = "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

function savpOffer(protocol: string, crypto: boolean): string {
  return offer("0 101", ["0 PCMU/8000", "101 telephone-event/8000"]).replace("RTP/AVP", protocol)
    .replace("a=sendrecv", crypto ? `a=crypto:1 AES_CM_128_HMAC_SHA1_80 ${KEY}\r\na=sendrecv` : "a=sendrecv");
}

async function srtpCall(
  body: string,
  options: { policy: "off" | "offered" | "required"; peer?: Peer; fingerprint?: string },
) {
  const configs: Record<string, unknown>[] = [];
  const media: LocalMediaPort = {
    allocateLeg: () => Promise.resolve({ legId: "leg1", address: "127.0.0.1", rtpPort: 20000, rtcpPort: 0 }),
    configureLeg: (_id, c) => (configs.push(c as Record<string, unknown>), Promise.resolve()),
    releaseLeg: () => Promise.resolve(),
    tap: () => Promise.resolve(),
    on: () => () => {},
    dtlsFingerprint: () => options.fingerprint ?? null,
  };
  const local = new LocalCalls({
    transactions: { sendRequest: () => ({ cancel() {} }) } as unknown as TransactionLayer,
    media,
    cdr: { insert: () => {} },
    clock: new VirtualClock(),
    log: nullLogger,
    publicAddress: "127.0.0.1",
    sipPort: 5060,
    srtpPolicy: () => options.policy,
  });
  const responses: SipResponse[] = [];
  const tx = { respond: (r: SipResponse) => responses.push(r) } as unknown as ServerTransaction;
  const head = (method: string, seq: number, toTag?: string) => [
    `${method} sip:*97@127.0.0.1 SIP/2.0`,
    `Via: SIP/2.0/TLS 127.0.0.1:5071;branch=z9hG4bKs${seq}`,
    "From: <sip:201@127.0.0.1>;tag=a",
    `To: <sip:*97@127.0.0.1>${toTag ? `;tag=${toTag}` : ""}`,
    "Call-ID: srtp-local-1",
    `CSeq: ${seq} ${method}`,
    "Contact: <sip:201@127.0.0.1:5071;transport=tls>",
    "Content-Type: application/sdp",
  ];
  await local.answer(req(head("INVITE", 1), body), tx, {
    caller: "201",
    dialled: "*97",
    source: options.peer ?? TLS,
    handler: { accept: () => ({}) },
  });
  const reinvite = (sdp: string) => {
    const ok = responses.find((r) => r.status === 200)!;
    const tag = /tag=([^;>\s]+)/.exec(getHeader(ok, "To")!)![1]!;
    const out: SipResponse[] = [];
    local.handleInDialog(
      req(head("INVITE", 2, tag), sdp),
      { respond: (x: SipResponse) => out.push(x) } as unknown as ServerTransaction,
      options.peer ?? TLS,
    );
    return out[0]!;
  };
  return { responses, configs, local, reinvite };
}

Deno.test("local call over TLS: an RTP/SAVP offer under 'required' is answered RTP/SAVP with a fresh key; the leg is keyed", async () => {
  const { responses, configs, local, reinvite } = await srtpCall(savpOffer("RTP/SAVP", true), {
    policy: "required",
  });
  const ok = responses.at(-1)!;
  assert.equal(ok.status, 200);
  const answer = new TextDecoder().decode(ok.body);
  assert.match(answer, /^m=audio 20000 RTP\/SAVP 0 101$/m);
  const line = /^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:(\S+)$/m.exec(answer);
  assert.ok(line !== null, answer);
  assert.ok(!answer.includes(KEY), "the box answers with its own key");
  const keyed = configs[0]!.srtp as { suite: string; sendKey: Uint8Array; recvKey: Uint8Array };
  assert.equal(keyed.suite, "AES_CM_128_HMAC_SHA1_80");
  assert.equal(keyed.sendKey.length, 30);
  assert.ok(configs[0]!.payloadMap !== undefined, "keys go with the leg's first configuration");
  // A re-offer with a new key from the phone re-keys the leg; the box keeps its key and answer line.
  const rekey = savpOffer("RTP/SAVP", true).replace(KEY, "inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk");
  const r2 = reinvite(rekey);
  assert.equal(r2.status, 200);
  assert.ok(new TextDecoder().decode(r2.body).includes(line[0]), "same a=crypto answered");
  assert.equal(configs.length, 2);
  assert.equal((configs[1]!.srtp as { suite: string }).suite, "AES_CM_128_HMAC_SHA1_80");
  // A re-offer dropping SRTP under 'required' is refused.
  assert.equal(reinvite(savpOffer("RTP/AVP", false)).status, 488);
  await local.close();
});

Deno.test("local call SRTP policy: required without crypto, SRTP over UDP and RTP/SAVP to 'off' get 488 with a Warning", async () => {
  for (
    const [body, policy, peer, why] of [
      [savpOffer("RTP/AVP", false), "required", TLS, /SRTP required/],
      [savpOffer("RTP/SAVP", true), "required", PEER, /SRTP needs TLS/],
      [savpOffer("RTP/SAVP", true), "off", TLS, /not enabled/],
    ] as const
  ) {
    const { responses, configs } = await srtpCall(body, { policy, peer });
    assert.equal(responses.at(-1)!.status, 488);
    assert.match(getHeader(responses.at(-1)!, "Warning")!, why);
    assert.ok(!getHeader(responses.at(-1)!, "Warning")!.includes("inline:"));
    assert.equal(configs.length, 0, "no leg configured");
  }
  // 'offered' over UDP: a=crypto offered on RTP/AVP is answered plain (no keys over UDP).
  const plain = await srtpCall(savpOffer("RTP/AVP", true), { policy: "offered", peer: PEER });
  const answer = new TextDecoder().decode(plain.responses.at(-1)!.body);
  assert.ok(answer.includes("RTP/AVP") && !answer.includes("a=crypto"), answer);
  assert.equal(plain.configs[0]!.srtp, undefined);
  await plain.local.close();
});

Deno.test("local call: a DTLS-SRTP offer is answered with the box's fingerprint, setup and ICE-lite; the leg gets DTLS", async () => {
  const fp = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, "0").toUpperCase()).join(":");
  const peerFp = fp.replaceAll("0", "A");
  const body = offer("0", ["0 PCMU/8000"]).replace("RTP/AVP", "UDP/TLS/RTP/SAVPF").replace(
    "a=sendrecv",
    [
      `a=fingerprint:sha-256 ${peerFp}`,
      "a=setup:actpass",
      "a=ice-ufrag:abcd",
      "a=ice-pwd:abcdefghijklmnopqrstuvwx",
      "a=rtcp-mux",
      "a=mid:0",
      "a=sendrecv",
    ].join("\r\n"),
  ).replace("t=0 0", "t=0 0\r\na=group:BUNDLE 0");
  const { responses, configs, local } = await srtpCall(body, { policy: "off", fingerprint: fp });
  const ok = responses.at(-1)!;
  assert.equal(ok.status, 200);
  const answer = new TextDecoder().decode(ok.body);
  for (
    const want of [
      /^m=audio 20000 UDP\/TLS\/RTP\/SAVPF 0$/m,
      new RegExp(`^a=fingerprint:sha-256 ${fp}$`, "m"),
      /^a=setup:passive$/m,
      /^a=ice-lite$/m,
      /^a=ice-ufrag:\S+$/m,
      /^a=candidate:1 1 udp 2130706431 127\.0\.0\.1 20000 typ host$/m,
      /^a=rtcp-mux$/m,
      /^a=group:BUNDLE 0$/m,
    ]
  ) assert.match(answer, want);
  const dtls = configs[0]!.dtls as { role: string; peerFingerprint: string };
  assert.equal(dtls.role, "server");
  assert.equal(dtls.peerFingerprint, peerFp);
  await local.close();
});
