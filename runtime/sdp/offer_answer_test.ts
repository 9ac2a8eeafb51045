import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert";
import { parseSdp, serializeSdp } from "./parse.ts";
import { AUDIO_VIDEO, BARESIP, POLYCOM, WEBRTC, YEALINK } from "./_samples_test_data.ts";
import { codecsOf, directionOf, rtcpOf } from "./media.ts";
import {
  bumpVersion,
  createAnswer,
  createOffer,
  negotiate,
  negotiateAudio,
  rewriteConnection,
} from "./offer_answer.ts";
import type { CodecPreference } from "./types.ts";

const OURS: CodecPreference[] = [
  { name: "G722", clockRate: 8000 },
  { name: "PCMA", clockRate: 8000 },
  { name: "PCMU", clockRate: 8000 },
  { name: "telephone-event", clockRate: 8000 },
];

function names(codecs: { name: string }[]): string[] {
  return codecs.map((c) => c.name);
}

Deno.test("negotiate keeps the offerer's order by default and ours on request", () => {
  const offer = parseSdp(YEALINK);
  const byOffer = negotiate(offer.media[0]!, OURS, { session: offer })!;
  assertEquals(names(byOffer.codecs), ["PCMU", "PCMA", "G722"]);
  const byUs = negotiate(offer.media[0]!, OURS, { session: offer, preferOfferOrder: false })!;
  assertEquals(names(byUs.codecs), ["G722", "PCMA", "PCMU"]);
  assertEquals(byOffer.telephoneEvent, {
    payloadType: 101,
    name: "telephone-event",
    clockRate: 8000,
    channels: 1,
    fmtp: "0-15",
  });
  assertEquals(byOffer.direction, "sendrecv");
  assertEquals(byOffer.ptime, 20);
});

Deno.test("negotiate matches names case-insensitively and keeps the offerer's dynamic payload types", () => {
  const offer = parseSdp(WEBRTC.replace("UDP/TLS/RTP/SAVPF", "RTP/AVP"));
  const result = negotiate(offer.media[0]!, [
    { name: "OPUS", clockRate: 48000, channels: 2, payloadType: 96, fmtp: "useinbandfec=1" },
    { name: "telephone-event", clockRate: 8000 },
  ])!;
  assertEquals(result.codecs, [
    { payloadType: 111, name: "opus", clockRate: 48000, channels: 2, fmtp: "useinbandfec=1" },
  ]);
  // The event format at the codec's clock rate wins.
  assertEquals(result.telephoneEvent?.payloadType, 110);
});

Deno.test("negotiate maps G722 written as 16000 to our G722/8000", () => {
  const offer = parseSdp(YEALINK.replace("a=rtpmap:9 G722/8000", "a=rtpmap:9 G722/16000"));
  const result = negotiate(offer.media[0]!, [{ name: "g722", clockRate: 16000 }])!;
  assertEquals(result.codecs, [{ payloadType: 9, name: "G722", clockRate: 8000, channels: 1 }]);
});

Deno.test("negotiate returns null without a common codec, for events only, for SRTP and for port 0", () => {
  const offer = parseSdp(POLYCOM);
  assertEquals(negotiate(offer.media[0]!, [{ name: "opus", clockRate: 48000 }]), null);
  assertEquals(negotiate(offer.media[0]!, [{ name: "telephone-event", clockRate: 8000 }]), null);
  const cnOnly = parseSdp(WEBRTC.replace("UDP/TLS/RTP/SAVPF", "RTP/AVP"));
  assertEquals(negotiate(cnOnly.media[0]!, [{ name: "CN", clockRate: 8000 }]), null);
  assertEquals(negotiate(parseSdp(WEBRTC).media[0]!, OURS), null);
  assertEquals(negotiate(parseSdp(YEALINK.replace("11780", "0")).media[0]!, OURS), null);
});

Deno.test("negotiate answers hold offers with the RFC 3264 direction", () => {
  const cases: [string, string][] = [
    ["a=sendonly", "recvonly"],
    ["a=recvonly", "sendonly"],
    ["a=inactive", "inactive"],
  ];
  for (const [attr, expected] of cases) {
    const offer = parseSdp(YEALINK.replace("a=sendrecv", attr));
    assertEquals(negotiate(offer.media[0]!, OURS, { session: offer })?.direction, expected, attr);
  }
  const legacy = parseSdp(YEALINK.replace("c=IN IP4 192.168.1.50", "c=IN IP4 0.0.0.0"));
  assertEquals(negotiate(legacy.media[0]!, OURS, { session: legacy })?.direction, "recvonly");
  const ourHold = parseSdp(YEALINK);
  assertEquals(negotiate(ourHold.media[0]!, OURS, { direction: "sendonly" })?.direction, "sendonly");
});

Deno.test("answer to audio+video accepts audio and rejects the second m-line with port 0", () => {
  const offer = parseSdp(AUDIO_VIDEO);
  const picked = negotiateAudio(offer, OURS)!;
  assertEquals(picked.mediaIndex, 0);
  const answer = createAnswer(offer, {
    address: "198.51.100.9",
    port: 30000,
    negotiated: picked.negotiated,
    sessionId: 42,
  });
  const text = serializeSdp(answer);
  const back = parseSdp(text);
  assertEquals(back.media.map((m) => [m.type, m.port, m.formats]), [
    ["audio", 30000, ["0"]],
    ["video", 0, ["31", "32"]],
  ]);
  assertEquals(back.connection?.address, "198.51.100.9");
  assertEquals(back.origin.sessionId, "42");
  assertEquals(directionOf(back.media[0]!, back), "sendrecv");
  assertEquals(codecsOf(back.media[0]!), [{ payloadType: 0, name: "PCMU", clockRate: 8000, channels: 1 }]);
});

Deno.test("an unusable first audio stream is rejected and the usable second one answered", () => {
  const offer = parseSdp(
    "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" +
      "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:xyz\r\n" +
      "m=audio 4002 RTP/AVP 8 0\r\n",
  );
  const picked = negotiateAudio(offer, OURS)!;
  assertEquals(picked.mediaIndex, 1);
  const answer = createAnswer(offer, { address: "192.0.2.9", port: 5000, ...picked });
  assertEquals(answer.media.map((m) => [m.port, m.protocol, m.formats]), [
    [0, "RTP/SAVP", ["0"]],
    [5000, "RTP/AVP", ["8", "0"]],
  ]);
  assertEquals(negotiateAudio(parseSdp(POLYCOM), [{ name: "opus", clockRate: 48000 }]), null);
});

Deno.test("answer carries telephone-event, ptime and the answer direction", () => {
  const offer = parseSdp(YEALINK.replace("a=sendrecv", "a=sendonly"));
  const negotiated = negotiate(offer.media[0]!, OURS, { session: offer })!;
  const answer = parseSdp(
    serializeSdp(
      createAnswer(offer, {
        address: "10.1.1.1",
        port: 40000,
        negotiated,
        attributes: [{ name: "rtcp-mux" }],
      }),
    ),
  );
  const m = answer.media[0]!;
  assertEquals(m.formats, ["0", "8", "9", "101"]);
  assertEquals(m.attributes.map((a) => a.value === undefined ? a.name : `${a.name}:${a.value}`), [
    "rtpmap:0 PCMU/8000",
    "rtpmap:8 PCMA/8000",
    "rtpmap:9 G722/8000",
    "rtpmap:101 telephone-event/8000",
    "fmtp:101 0-15",
    "ptime:20",
    "rtcp-mux",
    "recvonly",
  ]);
});

Deno.test("createOffer assigns static and dynamic payload types and round-trips", () => {
  const offer = createOffer({
    address: "192.0.2.10",
    port: 20000,
    codecs: [
      { name: "opus", clockRate: 48000, channels: 2, fmtp: "useinbandfec=1" },
      { name: "G722", clockRate: 16000 },
      { name: "PCMU", clockRate: 8000 },
      { name: "iLBC", clockRate: 8000, payloadType: 97 },
      { name: "speex", clockRate: 16000 },
    ],
    telephoneEvent: true,
    ptime: 20,
    sessionId: "123",
    sessionVersion: 7,
  });
  const back = parseSdp(serializeSdp(offer));
  assertEquals(back, offer);
  assertEquals(back.origin.sessionVersion, "7");
  assertEquals(
    codecsOf(back.media[0]!).map((c) => `${c.payloadType} ${c.name}/${c.clockRate}/${c.channels}`),
    [
      "96 opus/48000/2",
      "9 G722/8000/1",
      "0 PCMU/8000/1",
      "97 iLBC/8000/1",
      "98 speex/16000/1",
      "101 telephone-event/8000/1",
    ],
  );
  assert(serializeSdp(offer).includes("a=fmtp:101 0-16\r\n"));
  assert(serializeSdp(offer).includes("a=sendrecv\r\n"));
  // Our own offer negotiates against our own list.
  assertEquals(names(negotiate(back.media[0]!, OURS)!.codecs), ["G722", "PCMU"]);
});

Deno.test("createOffer rejects bad ports and clashing payload types", () => {
  assertThrows(
    () => createOffer({ address: "1.2.3.4", port: 70000, codecs: [{ name: "PCMU", clockRate: 8000 }] }),
    RangeError,
  );
  assertThrows(() => createOffer({ address: "1.2.3.4", port: 4000, codecs: [] }), RangeError);
  assertThrows(
    () =>
      createOffer({
        address: "1.2.3.4",
        port: 4000,
        codecs: [{ name: "PCMU", clockRate: 8000 }, { name: "x", clockRate: 8000, payloadType: 0 }],
      }),
    RangeError,
  );
  assertThrows(
    () =>
      createOffer({
        address: "1.2.3.4",
        port: 4000,
        codecs: [{ name: "x", clockRate: 8000, payloadType: 200 }],
      }),
    RangeError,
  );
  const ipv6 = createOffer({
    address: "2001:db8::1",
    port: 4000,
    codecs: [{ name: "PCMU", clockRate: 8000 }],
  });
  assertEquals(ipv6.connection?.addrType, "IP6");
});

Deno.test("rewriteConnection anchors c=, o= and ports, drops a=rtcp and bumps the version", () => {
  const original = parseSdp(BARESIP);
  const out = rewriteConnection(original, { address: "10.9.9.9", ports: [31000] });
  assertEquals(out.connection?.address, "10.9.9.9");
  assertEquals(out.origin.address, "10.9.9.9");
  assertEquals(out.origin.sessionVersion, "2396218544");
  assertEquals(out.media[0]?.port, 31000);
  assertEquals(rtcpOf(out.media[0]!), undefined);
  assertEquals(out.media[0]?.attributes.some((a) => a.name === "rtcp-mux"), true);
  // The input is untouched.
  assertEquals(serializeSdp(original), BARESIP);
  // Nothing to change: same version.
  assertEquals(
    rewriteConnection(out, { address: "10.9.9.9", ports: [31000] }).origin.sessionVersion,
    "2396218544",
  );
});

Deno.test("rewriteConnection keeps rejected streams at port 0 and legacy hold addresses", () => {
  const sd = parseSdp(AUDIO_VIDEO.replace("m=video 51372", "m=video 0"));
  const out = rewriteConnection(sd, { address: "10.0.0.1", ports: [32000, 32002] });
  assertEquals(out.media.map((m) => m.port), [32000, 0]);
  const held = parseSdp(YEALINK.replace("c=IN IP4 192.168.1.50", "c=IN IP4 0.0.0.0"));
  const heldOut = rewriteConnection(held, { address: "10.0.0.1", ports: [32000] });
  assertEquals(heldOut.connection?.address, "0.0.0.0");
  assertEquals(directionOf(heldOut.media[0]!, heldOut), "sendonly");
  const media = parseSdp(
    "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 1.1.1.1\r\n" +
      "a=candidate:1 1 UDP 2130706431 1.1.1.1 4000 typ host\r\n",
  );
  const mediaOut = rewriteConnection(media, { address: "10.0.0.1", ports: [] });
  assertEquals(mediaOut.media[0]?.connection?.address, "10.0.0.1");
  assertEquals(mediaOut.connection?.address, "10.0.0.1");
  assertEquals(mediaOut.media[0]?.attributes, []);
  assertThrows(() => rewriteConnection(media, { address: "x", ports: [-1] }), RangeError);
});

Deno.test("bumpVersion increments beyond 2^53 exactly", () => {
  const sd = parseSdp("v=0\r\no=- 1 9007199254740993 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\n");
  assertEquals(bumpVersion(sd).origin.sessionVersion, "9007199254740994");
  assertEquals(sd.origin.sessionVersion, "9007199254740993");
});
