import { deepStrictEqual as assertEquals } from "node:assert";
import { parseSdp } from "./parse.ts";
import { BARESIP, POLYCOM, WEBRTC, YEALINK } from "./_samples_test_data.ts";
import {
  answerDirection,
  codecsOf,
  directionOf,
  isHold,
  maxPtimeOf,
  ptimeOf,
  rtcpMuxOf,
  rtcpOf,
  telephoneEventOf,
} from "./media.ts";
import type { MediaDescription } from "./types.ts";

function media(sdp: string, index = 0): MediaDescription {
  return parseSdp(sdp).media[index]!;
}

function audio(lines: string[], session: string[] = []): string {
  return ["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0", ...session, ...lines]
    .join("\r\n") + "\r\n";
}

Deno.test("codecsOf reads rtpmap and fmtp in m= order (Yealink)", () => {
  assertEquals(codecsOf(media(YEALINK)), [
    { payloadType: 0, name: "PCMU", clockRate: 8000, channels: 1 },
    { payloadType: 8, name: "PCMA", clockRate: 8000, channels: 1 },
    { payloadType: 18, name: "G729", clockRate: 8000, channels: 1, fmtp: "annexb=no" },
    { payloadType: 9, name: "G722", clockRate: 8000, channels: 1 },
    { payloadType: 101, name: "telephone-event", clockRate: 8000, channels: 1, fmtp: "0-15" },
  ]);
});

Deno.test("codecsOf reads Opus with channels and fmtp (baresip)", () => {
  assertEquals(codecsOf(media(BARESIP))[0], {
    payloadType: 96,
    name: "opus",
    clockRate: 48000,
    channels: 2,
    fmtp: "stereo=1;sprop-stereo=1",
  });
});

Deno.test("static payload types without rtpmap use RFC 3551 defaults; unmapped dynamic ones are skipped", () => {
  const codecs = codecsOf(media(audio(["m=audio 4000 RTP/AVP 0 3 4 8 9 13 18 96"])));
  assertEquals(codecs.map((c) => `${c.payloadType} ${c.name}/${c.clockRate}`), [
    "0 PCMU/8000",
    "3 GSM/8000",
    "4 G723/8000",
    "8 PCMA/8000",
    "9 G722/8000",
    "13 CN/8000",
    "18 G729/8000",
  ]);
});

Deno.test("G722 written as 16000 is read with its 8000 Hz RTP clock", () => {
  const codecs = codecsOf(media(audio(["m=audio 4000 RTP/AVP 9", "a=rtpmap:9 G722/16000"])));
  assertEquals(codecs, [{ payloadType: 9, name: "G722", clockRate: 8000, channels: 1 }]);
});

Deno.test("telephone-event is found, preferring the codec's clock rate", () => {
  assertEquals(telephoneEventOf(media(BARESIP))?.payloadType, 101);
  assertEquals(telephoneEventOf(media(BARESIP))?.fmtp, "0-16");
  assertEquals(telephoneEventOf(media(POLYCOM))?.payloadType, 127);
  assertEquals(telephoneEventOf(media(WEBRTC), 48000)?.payloadType, 110);
  assertEquals(telephoneEventOf(media(WEBRTC), 8000)?.payloadType, 126);
  assertEquals(telephoneEventOf(media(WEBRTC))?.payloadType, 126);
  assertEquals(telephoneEventOf(media(audio(["m=audio 4000 RTP/AVP 0"]))), undefined);
});

Deno.test("direction: media level overrides session level, default sendrecv", () => {
  const sd = parseSdp(POLYCOM);
  assertEquals(directionOf(sd), "sendrecv");
  assertEquals(directionOf(sd.media[0]!, sd), "sendrecv");
  const held = parseSdp(audio(["m=audio 4000 RTP/AVP 0", "a=recvonly"], ["a=sendonly"]));
  assertEquals(directionOf(held), "sendonly");
  assertEquals(directionOf(held.media[0]!, held), "recvonly");
  const sessionOnly = parseSdp(audio(["m=audio 4000 RTP/AVP 0"], ["a=inactive"]));
  assertEquals(directionOf(sessionOnly.media[0]!, sessionOnly), "inactive");
  assertEquals(directionOf(sessionOnly.media[0]!), "sendrecv");
});

Deno.test("hold: sendonly, inactive and legacy c=0.0.0.0 read as hold; port 0 is inactive", () => {
  const sendonly = parseSdp(audio(["m=audio 4000 RTP/AVP 0", "a=sendonly"]));
  assertEquals(isHold(sendonly.media[0]!, sendonly), true);
  const inactive = parseSdp(audio(["m=audio 4000 RTP/AVP 0", "a=inactive"]));
  assertEquals(directionOf(inactive.media[0]!, inactive), "inactive");
  const legacy = parseSdp(
    audio(["m=audio 4000 RTP/AVP 0"]).replace("c=IN IP4 192.0.2.1", "c=IN IP4 0.0.0.0"),
  );
  assertEquals(directionOf(legacy.media[0]!, legacy), "sendonly");
  assertEquals(isHold(legacy.media[0]!, legacy), true);
  const legacyRecvonly = parseSdp(audio(["m=audio 4000 RTP/AVP 0", "c=IN IP4 0.0.0.0", "a=recvonly"]));
  assertEquals(directionOf(legacyRecvonly.media[0]!, legacyRecvonly), "inactive");
  const rejected = parseSdp(audio(["m=audio 0 RTP/AVP 0"]));
  assertEquals(directionOf(rejected.media[0]!, rejected), "inactive");
  assertEquals(isHold(media(YEALINK)), false);
});

Deno.test("answerDirection follows RFC 3264 section 6.1", () => {
  assertEquals(answerDirection("sendrecv"), "sendrecv");
  assertEquals(answerDirection("sendonly"), "recvonly");
  assertEquals(answerDirection("recvonly"), "sendonly");
  assertEquals(answerDirection("inactive"), "inactive");
  assertEquals(answerDirection("sendrecv", "sendonly"), "sendonly");
  assertEquals(answerDirection("sendonly", "sendonly"), "inactive");
  assertEquals(answerDirection("recvonly", "inactive"), "inactive");
});

Deno.test("ptime, maxptime, rtcp and rtcp-mux are read", () => {
  assertEquals(ptimeOf(media(YEALINK)), 20);
  assertEquals(ptimeOf(media(BARESIP)), undefined);
  const sd = parseSdp(audio(["m=audio 4000 RTP/AVP 0", "a=maxptime:40"], ["a=ptime:30"]));
  assertEquals(ptimeOf(sd.media[0]!, sd), 30);
  assertEquals(maxPtimeOf(sd.media[0]!, sd), 40);
  assertEquals(rtcpOf(media(BARESIP)), { port: 10031, address: "127.0.0.1" });
  assertEquals(rtcpOf(media(audio(["m=audio 4000 RTP/AVP 0", "a=rtcp:4005"]))), { port: 4005 });
  assertEquals(rtcpOf(media(audio(["m=audio 4000 RTP/AVP 0", "a=rtcp:junk"]))), undefined);
  assertEquals(rtcpOf(media(YEALINK)), undefined);
  assertEquals(rtcpMuxOf(media(BARESIP)), true);
  assertEquals(rtcpMuxOf(media(YEALINK)), false);
});
