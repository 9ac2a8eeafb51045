import assert from "node:assert/strict";
import { negotiateAudio, parseSdp } from "../sdp/mod.ts";
import { localCodecPreferences } from "./local.ts";

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
