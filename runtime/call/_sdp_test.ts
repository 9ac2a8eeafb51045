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
