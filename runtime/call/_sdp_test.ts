import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { audioCodecs } from "./_call_media.ts";
import { describeSdp, localOfferInfo, SdpSession } from "./_sdp.ts";

const CODECS = [
  { payloadType: 0, name: "PCMU", clockRate: 8000, channels: 1 },
  { payloadType: 96, name: "opus", clockRate: 48000, channels: 2, fmtp: "useinbandfec=1" },
];

Deno.test("the box's own offer (delayed offer) lists its codecs on one sendrecv audio stream at its address", () => {
  const info = localOfferInfo("192.0.2.10", CODECS);
  assertEquals(info.audioIndex, 0);
  assertEquals(info.remote?.address, "192.0.2.10");
  assertEquals(audioCodecs(info).map((c) => `${c.payloadType} ${c.name}/${c.clockRate}`), [
    "0 PCMU/8000",
    "96 opus/48000",
  ]);
  const sdp = new SdpSession("192.0.2.10").offerFrom(info, 20000);
  assert(sdp.includes("m=audio 20000 RTP/AVP 0 96\r\n"), sdp);
  assert(sdp.includes("a=fmtp:96 useinbandfec=1"), sdp);
  assert(sdp.includes("a=sendrecv"), "not on hold");
  assert(!sdp.includes("a=sendonly"), sdp);
});

Deno.test("the box's own offer uses IP6 for an IPv6 address", () => {
  const info = localOfferInfo("2001:db8::1", CODECS);
  assertEquals(info.remote?.address, "2001:db8::1");
  assert(new SdpSession("2001:db8::1").offerFrom(info, 20000).includes("c=IN IP6 2001:db8::1"));
});

Deno.test("topology hiding: the SDP toward one side names only the box, never the other party", () => {
  const text = [
    "v=0",
    "o=baresip 3 4 IN IP4 192.0.2.77",
    "s=baresip session",
    "e=alice@example.com",
    "c=IN IP4 192.0.2.77",
    "b=AS:128",
    "t=0 0",
    "a=tool:baresip 1.0.0",
    "a=group:BUNDLE 0",
    "m=audio 4000 RTP/AVP 0 101",
    "i=alice's microphone",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    "a=ptime:20",
    "a=ssrc:1234 cname:sip:1003@192.0.2.77",
    "a=label:1",
    "a=rtcp:4001",
    "a=sendrecv",
    "",
  ].join("\r\n");
  const sdp = new SdpSession("198.51.100.1").offerFrom(describeSdp(text), 20000);
  for (const leak of ["baresip", "192.0.2.77", "alice", "ssrc", "label", "BUNDLE", "AS:128", "rtcp:"]) {
    assert(!sdp.includes(leak), `${leak} crossed: ${sdp}`);
  }
  assert(sdp.includes("a=rtpmap:101 telephone-event/8000") && sdp.includes("a=fmtp:101 0-15"), sdp);
  assert(sdp.includes("a=ptime:20") && sdp.includes("a=sendrecv"), sdp);
  assert(sdp.includes("m=audio 20000 RTP/AVP 0 101"), sdp);
});

// ---- SDES SRTP (RFC 4568) per side ----

const PHONE_SDP = (proto: string, crypto: string[] = []) =>
  [
    "v=0",
    "o=phone 1 1 IN IP4 192.0.2.5",
    "s=-",
    "c=IN IP4 192.0.2.5",
    "t=0 0",
    `m=audio 4000 ${proto} 0`,
    "a=rtpmap:0 PCMU/8000",
    ...crypto.map((c) => `a=crypto:${c}`),
    "a=sendrecv",
    "",
  ].join("\r\n");

const KEY30 = btoa(String.fromCharCode(...new Uint8Array(30).map((_, i) => i + 1)));

Deno.test("SDES: no a=crypto toward a side whose signalling is plain UDP, whatever its policy allows", () => {
  for (const policy of ["off", "offered"] as const) {
    const s = new SdpSession("192.0.2.10", { policy, secure: false });
    const sdp = s.offerFrom(describeSdp(PHONE_SDP("RTP/AVP")), 20000);
    assert(!sdp.includes("a=crypto") && sdp.includes("RTP/AVP 0"), sdp);
    assertEquals(s.offerError(), undefined);
  }
  const req = new SdpSession("192.0.2.10", { policy: "required", secure: false });
  assert(/not TLS/.test(req.offerError() ?? ""), "required over UDP cannot offer");
});

Deno.test("SDES: offers over TLS carry fresh a=crypto (RTP/AVP when offered, RTP/SAVP when required); the answer's key reaches the leg", () => {
  const other = describeSdp(PHONE_SDP("RTP/AVP"));
  const offered = new SdpSession("192.0.2.10", { policy: "offered", secure: true });
  const o1 = offered.offerFrom(other, 20000);
  assert(o1.includes("m=audio 20000 RTP/AVP 0"), o1);
  assertEquals((o1.match(/a=crypto:/g) ?? []).length, 4);
  const required = new SdpSession("192.0.2.10", { policy: "required", secure: true });
  const o2 = required.offerFrom(other, 20002);
  assert(o2.includes("m=audio 20002 RTP/SAVP 0"), o2);
  const line = /a=crypto:(\d+) AES_CM_128_HMAC_SHA1_80 inline:(\S+)/.exec(o2)!;
  const keys: unknown[] = [];
  required.bindKeys((k) => keys.push(k));
  assertEquals(
    required.takeAnswer(
      describeSdp(PHONE_SDP("RTP/SAVP", [`${line[1]} AES_CM_128_HMAC_SHA1_80 inline:${KEY30}`])),
    ),
    undefined,
  );
  assertEquals(required.srtpSuite, "AES_CM_128_HMAC_SHA1_80");
  const k = keys[0] as { suite: string; sendKey: Uint8Array; recvKey: Uint8Array };
  assertEquals(k.suite, "AES_CM_128_HMAC_SHA1_80");
  assertEquals(btoa(String.fromCharCode(...k.sendKey)), line[2]); // we protect with what we offered
  assertEquals(btoa(String.fromCharCode(...k.recvKey)), KEY30); // and unprotect with the phone's
  // An answer without crypto is refused under "required", accepted (plain) under "offered".
  const r2 = new SdpSession("192.0.2.10", { policy: "required", secure: true });
  r2.offerFrom(other, 20004);
  assert(/answer has no a=crypto/.test(r2.takeAnswer(describeSdp(PHONE_SDP("RTP/AVP"))) ?? ""));
  assertEquals(offered.takeAnswer(describeSdp(PHONE_SDP("RTP/AVP"))), undefined);
  assertEquals(offered.srtpSuite, null);
});

Deno.test("SDES: a side's SRTP offer is answered with the same tag and a fresh key, keys never cross to the other side", () => {
  const a = new SdpSession("192.0.2.10", { policy: "offered", secure: true });
  const offer = describeSdp(PHONE_SDP("RTP/SAVP", [`7 AES_CM_128_HMAC_SHA1_32 inline:${KEY30}`]));
  assertEquals(a.takeOffer(offer), undefined);
  const keys: { sendKey: Uint8Array; recvKey: Uint8Array }[] = [];
  a.bindKeys((k) => void (k !== null && keys.push(k))); // keys negotiated before binding arrive at once
  assertEquals(keys.length, 1);
  assertEquals(btoa(String.fromCharCode(...keys[0]!.recvKey)), KEY30);
  const b = new SdpSession("192.0.2.10", { policy: "off", secure: true });
  const toB = b.offerFrom(offer, 20002);
  assert(!toB.includes("a=crypto") && !toB.includes(KEY30) && toB.includes("RTP/AVP 0"), toB);
  const answer = a.answerFrom(describeSdp(PHONE_SDP("RTP/AVP")), 20000);
  const m = /a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:(\S+)/.exec(answer);
  assert(m !== null && answer.includes("m=audio 20000 RTP/SAVP 0"), answer);
  assertEquals(m[1], btoa(String.fromCharCode(...keys[0]!.sendKey)));
  // A re-offer with the same suite (new phone key) keeps our key: the outbound session survives.
  const KEY2 = btoa(String.fromCharCode(...new Uint8Array(30).fill(9)));
  assertEquals(
    a.takeOffer(describeSdp(PHONE_SDP("RTP/SAVP", [`7 AES_CM_128_HMAC_SHA1_32 inline:${KEY2}`]))),
    undefined,
  );
  assertEquals(keys.length, 2);
  assertEquals(keys[1]!.sendKey, keys[0]!.sendKey);
  assertEquals(btoa(String.fromCharCode(...keys[1]!.recvKey)), KEY2);
});

Deno.test("SDES: policy refusals name the reason without key material", () => {
  const savp = describeSdp(PHONE_SDP("RTP/SAVP", [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY30}`]));
  const off = new SdpSession("192.0.2.10", { policy: "off", secure: true }).takeOffer(savp);
  assertEquals(off, "SRTP not enabled for this extension");
  const udp = new SdpSession("192.0.2.10", { policy: "required", secure: false }).takeOffer(
    describeSdp(PHONE_SDP("RTP/AVP")),
  );
  assert(/TLS/.test(udp ?? "") && !(udp ?? "").includes(KEY30));
  const none = new SdpSession("192.0.2.10", { policy: "required", secure: true }).takeOffer(
    describeSdp(PHONE_SDP("RTP/AVP")),
  );
  assertEquals(none, "SRTP required: offer has no a=crypto");
  // "offered" over TLS, the phone offers plain RTP: a plain answer.
  const plain = new SdpSession("192.0.2.10", { policy: "offered", secure: true });
  assertEquals(plain.takeOffer(describeSdp(PHONE_SDP("RTP/AVP"))), undefined);
  const ans = plain.answerFrom(describeSdp(PHONE_SDP("RTP/AVP")), 20000);
  assert(!ans.includes("a=crypto") && ans.includes("RTP/AVP 0"), ans);
});

// ---- DTLS-SRTP (WebRTC) ----

const FP = Array.from({ length: 32 }, (_, i) => (i * 7 % 256).toString(16).padStart(2, "0").toUpperCase())
  .join(":");
const BOX_FP = Array.from({ length: 32 }, () => "AB").join(":");

const WEBRTC_OFFER = [
  "v=0",
  "o=- 1 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0",
  `a=fingerprint:sha-256 ${FP}`,
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 0",
  "c=IN IP4 0.0.0.0",
  "a=rtcp:9 IN IP4 0.0.0.0",
  "a=ice-ufrag:abcd",
  "a=ice-pwd:abcdefghijklmnopqrstuvwx",
  "a=setup:actpass",
  "a=mid:0",
  "a=sendrecv",
  "a=rtcp-mux",
  "a=rtpmap:111 opus/48000/2",
  "a=rtpmap:0 PCMU/8000",
  "",
].join("\r\n");

Deno.test("WebRTC offer: answered with the box's fingerprint, setup passive, ICE-lite, rtcp-mux and BUNDLE; not a hold", () => {
  const s = new SdpSession("192.0.2.10", { policy: "off", secure: true, dtlsFingerprint: () => BOX_FP });
  const offer = describeSdp(WEBRTC_OFFER);
  assert(offer.ice === true && offer.remote === undefined);
  const legs: unknown[] = [];
  s.bindDtls((d) => legs.push(d));
  assertEquals(s.takeOffer(offer), undefined);
  const leg = legs[0] as {
    role: string;
    peerFingerprint: string;
    ice: { localUfrag: string; localPwd: string };
  };
  assertEquals([leg.role, leg.peerFingerprint], ["server", FP]);
  const ans = s.answerFrom(describeSdp(PHONE_SDP("RTP/AVP")), 20000);
  for (
    const want of [
      "m=audio 20000 UDP/TLS/RTP/SAVPF 0",
      `a=fingerprint:sha-256 ${BOX_FP}`,
      "a=setup:passive",
      `a=ice-ufrag:${leg.ice.localUfrag}`,
      `a=ice-pwd:${leg.ice.localPwd}`,
      "a=candidate:1 1 udp 2130706431 192.0.2.10 20000 typ host",
      "a=rtcp-mux",
      "a=mid:0",
      "a=ice-lite",
      "a=group:BUNDLE 0",
    ]
  ) assert(ans.includes(want), `${want} missing:\n${ans}`);
  // The other side gets plain RTP, and the browser's c=0.0.0.0 with ICE is no hold.
  const toB = new SdpSession("192.0.2.10").offerFrom(offer, 20002);
  assert(
    toB.includes("m=audio 20002 RTP/AVP 111 0") && toB.includes("a=sendrecv") && !toB.includes("ice"),
    toB,
  );
  // Without a box certificate, or without a SHA-256 fingerprint: 488 reasons.
  const none = new SdpSession("192.0.2.10", { policy: "off", secure: true });
  assertEquals(none.takeOffer(offer), "DTLS-SRTP is not available");
  const sha1 = describeSdp(WEBRTC_OFFER.replace(`sha-256 ${FP}`, "sha-1 AA:BB"));
  assert(
    /sha-256/.test(
      new SdpSession("x", {
        policy: "off",
        secure: true,
        dtlsFingerprint: () => BOX_FP,
      }).takeOffer(sha1)!,
    ),
  );
});

Deno.test("a WebRTC callee gets a DTLS-SRTP offer (actpass); its active answer makes the box the DTLS server", () => {
  const s = new SdpSession("192.0.2.10", {
    policy: "offered",
    secure: true,
    webrtc: true,
    dtlsFingerprint: () => BOX_FP,
  });
  const offer = s.offerFrom(describeSdp(PHONE_SDP("RTP/AVP")), 20004);
  for (
    const want of ["UDP/TLS/RTP/SAVPF 0", "a=setup:actpass", "a=ice-lite", "a=rtcp-mux", "a=group:BUNDLE 0"]
  ) {
    assert(offer.includes(want), `${want} missing:\n${offer}`);
  }
  assert(!offer.includes("a=crypto"), "no SDES keys in a WebRTC offer");
  const legs: { role: string; peerFingerprint: string }[] = [];
  s.bindDtls((d) => void (d !== null && legs.push(d)));
  const answer = WEBRTC_OFFER.replace("a=setup:actpass", "a=setup:active");
  assertEquals(s.takeAnswer(describeSdp(answer)), undefined);
  assertEquals([legs[0]?.role, legs[0]?.peerFingerprint], ["server", FP]);
  // A re-offer keeps the roles (the box stays passive) and the ICE credentials.
  const ufrag = /a=ice-ufrag:(\S+)/.exec(offer)![1];
  const re = s.offerFrom(describeSdp(PHONE_SDP("RTP/AVP")), 20004);
  assert(re.includes("a=setup:passive") && re.includes(`a=ice-ufrag:${ufrag}`), re);
  assert(/RTP\/AVP/.test(s.takeAnswer(describeSdp(PHONE_SDP("RTP/AVP"))) ?? ""), "a plain answer is refused");
});

Deno.test("DTLS-SRTP offer to a SIP phone (dtlsOffer): UDP/TLS/RTP/SAVP, fingerprint, actpass, no ICE; its answer keys the leg", () => {
  const FP = Array.from({ length: 32 }, (_, i) => (i + 16).toString(16).toUpperCase()).join(":");
  const PEER = FP.replaceAll("1", "A");
  const legs: unknown[] = [];
  const sdp = new SdpSession("192.0.2.10", {
    policy: "required",
    secure: true,
    dtlsOffer: true,
    dtlsFingerprint: () => FP,
  });
  sdp.bindDtls((d) => legs.push(d));
  const offer = sdp.offerFrom(localOfferInfo("192.0.2.10", CODECS), 20000);
  assert(offer.includes("m=audio 20000 UDP/TLS/RTP/SAVP 0 96\r\n"), offer);
  assert(offer.includes(`a=fingerprint:sha-256 ${FP}\r\n`) && offer.includes("a=setup:actpass\r\n"), offer);
  assert(!/a=crypto|a=ice-|a=candidate|BUNDLE/.test(offer), offer);
  const answer = describeSdp([
    "v=0",
    "o=- 1 1 IN IP4 192.0.2.77",
    "s=-",
    "c=IN IP4 192.0.2.77",
    "t=0 0",
    "m=audio 4000 UDP/TLS/RTP/SAVP 0",
    "a=rtpmap:0 PCMU/8000",
    `a=fingerprint:sha-256 ${PEER}`,
    "a=setup:active",
    "",
  ].join("\r\n"));
  assertEquals(sdp.takeAnswer(answer), undefined);
  assertEquals(legs, [{ role: "server", peerFingerprint: PEER, rtcpMux: false }]);
  // A re-offer keeps the roles: the box stays passive.
  assert(sdp.offerFrom(localOfferInfo("192.0.2.10", CODECS), 20000).includes("a=setup:passive"));
  // Over plain signalling, or with policy off, the box offers no DTLS (and no keys).
  for (
    const s of [{ policy: "required" as const, secure: false }, { policy: "off" as const, secure: true }]
  ) {
    const o = new SdpSession("192.0.2.10", { ...s, dtlsOffer: true, dtlsFingerprint: () => FP });
    assert(!o.offerFrom(localOfferInfo("192.0.2.10", CODECS), 20000).includes("UDP/TLS"));
  }
  // A phone answering plain RTP/AVP to the DTLS offer is refused.
  const plain = new SdpSession("192.0.2.10", {
    policy: "offered",
    secure: true,
    dtlsOffer: true,
    dtlsFingerprint: () => FP,
  });
  plain.offerFrom(localOfferInfo("192.0.2.10", CODECS), 20000);
  const avp = describeSdp(
    "v=0\r\no=- 1 1 IN IP4 192.0.2.77\r\ns=-\r\nc=IN IP4 192.0.2.77\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
  );
  assert(/answered with RTP\/AVP/.test(plain.takeAnswer(avp) ?? ""));
});
