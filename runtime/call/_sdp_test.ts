import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import { audioCodecs } from "./_call_media.ts";
import { localOfferInfo, SdpSession } from "./_sdp.ts";

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
