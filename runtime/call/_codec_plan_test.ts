import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import type { Codec } from "../sdp/mod.ts";
import {
  type AnswerPlan,
  type BoxCodec,
  boxOfferCodecs,
  delayedOfferForA,
  planAnswer,
  planDelayedAnswer,
  planOffer,
} from "./_codec_plan.ts";

function passthrough(p: AnswerPlan): Extract<AnswerPlan, { kind: "passthrough" }> {
  if (p.kind !== "passthrough") throw new Error(`expected passthrough, got ${JSON.stringify(p)}`);
  return p;
}

const BOX: BoxCodec[] = [
  { name: "opus", clockRate: 48000, channels: 2, fmtp: "minptime=10;useinbandfec=1" },
  { name: "G722", clockRate: 8000, channels: 1, staticPayloadType: 9 },
  { name: "PCMU", clockRate: 8000, channels: 1, staticPayloadType: 0 },
  { name: "PCMA", clockRate: 8000, channels: 1, staticPayloadType: 8 },
  { name: "G729", clockRate: 8000, channels: 1, staticPayloadType: 18, fmtp: "annexb=no" },
];

const c = (payloadType: number, name: string, clockRate = 8000, channels = 1, fmtp?: string): Codec => ({
  payloadType,
  name,
  clockRate,
  channels,
  ...(fmtp !== undefined ? { fmtp } : {}),
});
const OPUS = c(96, "opus", 48000, 2);
const TE_A = c(101, "telephone-event", 8000, 1, "0-15");

Deno.test("the offer to B keeps A's codecs in A's order and PTs, then appends the box's others", () => {
  const offer = planOffer([OPUS, TE_A], BOX);
  assertEquals(offer.map((x) => `${x.payloadType} ${x.name}`), [
    "96 opus",
    "101 telephone-event",
    "9 G722",
    "0 PCMU",
    "8 PCMA",
    "18 G729",
  ]);
});

Deno.test("appended codecs avoid payload types A already uses", () => {
  // A (oddly) uses 0 and 9 for dynamic codecs, and 96/97 too.
  const a = [c(0, "speex", 16000), c(9, "iLBC"), c(96, "AMR"), c(97, "telephone-event")];
  const offer = planOffer(a, BOX);
  const pts = offer.map((x) => x.payloadType);
  assertEquals(new Set(pts).size, pts.length, `duplicate PT in ${pts}`);
  assertEquals(offer.find((x) => x.name === "PCMU")!.payloadType >= 96, true);
  assertEquals(offer.find((x) => x.name === "PCMA")!.payloadType, 8);
  assertEquals(offer.find((x) => x.name === "opus")!.payloadType, 98);
});

Deno.test("telephone-event is added to B's offer when A has none", () => {
  const offer = planOffer([c(0, "PCMU")], BOX);
  const te = offer.filter((x) => x.name === "telephone-event");
  assertEquals(te.length, 1);
  assert(te[0]!.payloadType >= 96);
});

Deno.test("an empty box (no transcoding) offers A's codecs unchanged", () => {
  assertEquals(planOffer([c(0, "PCMU"), TE_A], []), [c(0, "PCMU"), TE_A]);
});

Deno.test("B choosing a codec A offered passes through, answering A with A's PTs", () => {
  const plan = planAnswer([c(8, "PCMA"), c(0, "PCMU"), TE_A], [c(0, "PCMU"), c(101, "telephone-event")], BOX);
  assertEquals(plan.kind, "passthrough");
  if (plan.kind !== "passthrough") return;
  assertEquals(plan.aAnswer.map((x) => x.payloadType), [0, 101]);
  assertEquals(plan.aMap, { 0: "PCMU/8000", 101: "telephone-event/8000" });
  assertEquals(plan.bMap, { 0: "PCMU/8000", 101: "telephone-event/8000" });
});

Deno.test("B choosing a box codec A did not offer means transcoding from A's first supported codec", () => {
  const plan = planAnswer([c(110, "AMR-WB", 16000), OPUS, c(0, "PCMU"), TE_A], [c(18, "G729")], BOX);
  assertEquals(plan.kind, "transcode");
  if (plan.kind !== "transcode") return;
  assertEquals(plan.aCodec.name, "opus");
  assertEquals(plan.bCodec.name, "G729");
  assertEquals(plan.aAnswer.map((x) => x.name), ["opus", "telephone-event"]);
  assertEquals(plan.aMap, { 96: "opus/48000", 101: "telephone-event/8000" });
  assertEquals(plan.bMap, { 18: "G729/8000" });
});

Deno.test("telephone-event: PT rewritten when both have it, kept on A when B can take tones", () => {
  // A uses 101, B answers the event format on 100: both maps carry it, the plane rewrites.
  const both = passthrough(planAnswer([c(0, "PCMU"), TE_A], [c(0, "PCMU"), c(100, "telephone-event")], BOX));
  assertEquals(both.aMap[101], "telephone-event/8000");
  assertEquals(both.bMap[100], "telephone-event/8000");
  // B without events on G.711: A keeps 4733 (the box writes tones into B's audio).
  const g711 = passthrough(planAnswer([c(0, "PCMU"), TE_A], [c(0, "PCMU")], BOX));
  assertEquals(g711.aAnswer.map((x) => x.name), ["PCMU", "telephone-event"]);
  // B without events on passed-through Opus: the box cannot write tones, so A sends them in-band.
  const opus = passthrough(planAnswer([OPUS, TE_A], [OPUS], BOX));
  assertEquals(opus.aAnswer.map((x) => x.name), ["opus"]);
});

Deno.test("nothing decodable on A and nothing shared with B is rejected (488)", () => {
  const plan = planAnswer([c(110, "AMR-WB", 16000)], [c(0, "PCMU")], BOX);
  assertEquals(plan.kind, "reject");
});

Deno.test("B answering only telephone-event, or a codec nobody offered, is rejected", () => {
  assertEquals(planAnswer([c(0, "PCMU")], [c(101, "telephone-event")], BOX).kind, "reject");
  assertEquals(planAnswer([c(0, "PCMU")], [c(3, "GSM")], BOX).kind, "reject");
});

Deno.test("delayed offer: B is offered every codec of the box plus telephone-event; G.711 without a plane", () => {
  assertEquals(boxOfferCodecs(BOX).map((x) => `${x.payloadType} ${x.name}`), [
    "96 opus",
    "9 G722",
    "0 PCMU",
    "8 PCMA",
    "18 G729",
    "97 telephone-event",
  ]);
  assertEquals(boxOfferCodecs([]).map((x) => `${x.payloadType} ${x.name}`), [
    "0 PCMU",
    "8 PCMA",
    "101 telephone-event",
  ]);
});

Deno.test("delayed offer: A's offer leads with B's chosen codecs and PTs, then the box's others", () => {
  const offer = delayedOfferForA([c(0, "PCMU"), c(100, "telephone-event", 8000, 1, "0-16")], BOX);
  assertEquals(offer.map((x) => `${x.payloadType} ${x.name}`), [
    "0 PCMU",
    "100 telephone-event",
    "96 opus",
    "9 G722",
    "8 PCMA",
    "18 G729",
  ]);
});

Deno.test("delayed offer: A accepting B's codec is pass-through; a codec B also listed is preferred to transcoding", () => {
  const same = passthrough(planDelayedAnswer([c(0, "PCMU")], [c(0, "PCMU"), c(8, "PCMA")], BOX));
  assertEquals(same.aMap, { 0: "PCMU/8000" });
  // B listed PCMA second: B accepts it too, so A's PCMA goes through untouched.
  const second = passthrough(planDelayedAnswer([c(8, "PCMA")], [c(0, "PCMU"), c(8, "PCMA")], BOX));
  assertEquals(second.aMap, { 8: "PCMA/8000" });
  assertEquals(second.bMap, { 8: "PCMA/8000", 0: "PCMU/8000" });
});

Deno.test("delayed offer: A picking a codec B did not list is transcoded; no audio or no way is rejected", () => {
  const p = planDelayedAnswer([c(9, "G722")], [c(0, "PCMU")], BOX);
  assert(p.kind === "transcode", JSON.stringify(p));
  assertEquals([p.aCodec.name, p.bCodec.name], ["G722", "PCMU"]);
  assertEquals(planDelayedAnswer([TE_A], [c(0, "PCMU")], BOX).kind, "reject");
  assertEquals(planDelayedAnswer([], [c(0, "PCMU")], BOX).kind, "reject");
  // A plane that transcodes nothing can only pass a codec both sides have.
  assertEquals(planDelayedAnswer([c(8, "PCMA")], [c(0, "PCMU")], []).kind, "reject");
});

Deno.test("an Opus-only A with only telephone-event/48000: B is also offered te/8000, A is answered te/48000", () => {
  const te48 = c(110, "telephone-event", 48000, 1, "0-15");
  const offer = planOffer([OPUS, te48], BOX);
  assert(offer.some((x) => x.name === "telephone-event" && x.clockRate === 48000));
  const te8 = offer.find((x) => x.name === "telephone-event" && x.clockRate === 8000);
  assert(te8 !== undefined, "te/8000 offered to B");
  // B picks PCMU with te/8000: transcoding, A keeps its events at 48000.
  const plan = planAnswer([OPUS, te48], [c(0, "PCMU"), { ...te8 }], BOX);
  if (plan.kind !== "transcode") throw new Error(`expected transcode, got ${plan.kind}`);
  assertEquals(plan.aAnswer.map((x) => `${x.name}/${x.clockRate}`), ["opus/48000", "telephone-event/48000"]);
  assertEquals(plan.bMap[te8.payloadType], "telephone-event/8000");
  // B picks opus with te/48000: pass-through, te/48000 both sides.
  const same = passthrough(planAnswer([OPUS, te48], [OPUS, te48], BOX));
  assertEquals(same.aAnswer.map((x) => `${x.name}/${x.clockRate}`), ["opus/48000", "telephone-event/48000"]);
});
