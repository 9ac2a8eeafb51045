/**
 * Codec planning for the anchored B2BUA, as pure functions over SDP codec lists.
 *
 * The offer to the callee (B) is the caller's (A's) codecs in A's order with A's payload types, then
 * every other codec the box can transcode, on payload types A does not use. When B picks a codec A
 * offered, media passes through untouched; when B picks one of the box's, A is answered with its own
 * first codec the box can decode and the media plane transcodes both ways. RFC 4733 telephone-event
 * is PT-rewritten when both sides have it, otherwise mapped to or from in-band tones by the plane.
 */
import type { Codec } from "../sdp/mod.ts";

/** A codec the media plane can decode and encode. */
export interface BoxCodec {
  /** SDP encoding name ("opus", "G722", "PCMU", ...). */
  name: string;
  /** RTP clock rate as written in a=rtpmap. */
  clockRate: number;
  /** Channels as written in a=rtpmap (2 for opus). */
  channels: number;
  /** RFC 3551 static payload type, when one is assigned. */
  staticPayloadType?: number;
  /** fmtp the box offers. */
  fmtp?: string;
}

/** PT -> "name/rate", as the media plane's payload maps want. */
export type PayloadMapping = Record<number, string>;

/** What to do with the media of an answered call. */
export type AnswerPlan =
  | {
    kind: "passthrough";
    /** Codecs for the answer to A (A's payload types). */
    aAnswer: Codec[];
    aMap: PayloadMapping;
    bMap: PayloadMapping;
  }
  | {
    kind: "transcode";
    /** A's codec (its first one the box supports) and B's chosen codec. */
    aCodec: Codec;
    bCodec: Codec;
    aAnswer: Codec[];
    aMap: PayloadMapping;
    bMap: PayloadMapping;
  }
  | { kind: "reject"; reason: string };

const isTe = (c: { name: string }) => c.name.toLowerCase() === "telephone-event";
const isCn = (c: { name: string }) => c.name.toLowerCase() === "cn";

/** Whether two codec descriptions name the same format (name case-insensitive, rate, channels). */
export function sameCodec(
  a: { name: string; clockRate: number; channels?: number },
  b: { name: string; clockRate: number; channels?: number },
): boolean {
  return a.name.toLowerCase() === b.name.toLowerCase() && a.clockRate === b.clockRate &&
    (a.channels ?? 1) === (b.channels ?? 1);
}

function boxSupports(box: readonly BoxCodec[], c: Codec): boolean {
  return box.some((b) => sameCodec(b, c));
}

/** The lowest dynamic payload type (96-127) not in `used`; RangeError when all are taken. */
function freeDynamicPt(used: Set<number>): number {
  for (let pt = 96; pt <= 127; pt++) if (!used.has(pt)) return pt;
  throw new RangeError(`no free dynamic payload type (${used.size} in use)`);
}

/**
 * The codec list offered to B: A's codecs as they are, then the box's other codecs on payload types
 * that do not collide with A's (the static one when free), then telephone-event/8000 if A had none
 * (the box can turn B's events into in-band tones toward A).
 */
export function planOffer(aOffer: readonly Codec[], box: readonly BoxCodec[]): Codec[] {
  const out = aOffer.map((c) => ({ ...c }));
  const used = new Set(out.map((c) => c.payloadType));
  for (const b of box) {
    if (out.some((c) => sameCodec(c, b))) continue;
    const pt = b.staticPayloadType !== undefined && !used.has(b.staticPayloadType)
      ? b.staticPayloadType
      : freeDynamicPt(used);
    used.add(pt);
    const c: Codec = { payloadType: pt, name: b.name, clockRate: b.clockRate, channels: b.channels };
    if (b.fmtp !== undefined) c.fmtp = b.fmtp;
    out.push(c);
  }
  // te/8000 for B's narrowband (and G.722) codecs unless A offered it (an Opus-only A may offer only te/48000).
  if (box.length > 0 && !aOffer.some((c) => isTe(c) && c.clockRate === 8000)) {
    out.push({
      payloadType: freeDynamicPt(used),
      name: "telephone-event",
      clockRate: 8000,
      channels: 1,
      fmtp: "0-16",
    });
  }
  return out;
}

/**
 * The telephone-event of a codec list at the audio codec's clock rate (RFC 4733: events share the
 * audio's timestamps), else at 8000, else any.
 */
function teAt(codecs: readonly Codec[], clockRate: number): Codec | undefined {
  const te = codecs.filter(isTe);
  return te.find((c) => c.clockRate === clockRate) ?? te.find((c) => c.clockRate === 8000) ?? te[0];
}

function mapOf(codecs: readonly Codec[]): PayloadMapping {
  const m: PayloadMapping = {};
  for (const c of codecs) m[c.payloadType] = `${c.name}/${c.clockRate}`;
  return m;
}

const isG711 = (c: Codec) => ["pcmu", "pcma"].includes(c.name.toLowerCase()) && c.clockRate === 8000;

/**
 * Decide pass-through or transcoding once B answered. `aOffer` is what A offered, `bAnswer` the
 * codecs in B's answer (to our planOffer offer), `box` what the plane can transcode.
 */
export function planAnswer(
  aOffer: readonly Codec[],
  bAnswer: readonly Codec[],
  box: readonly BoxCodec[],
): AnswerPlan {
  const bAudio = bAnswer.filter((c) => !isTe(c) && !isCn(c));
  const chosen = bAudio[0];
  if (chosen === undefined) return { kind: "reject", reason: "callee answered no audio codec" };
  const bTe = teAt(bAnswer, chosen.clockRate);
  const inA = (c: Codec) => aOffer.find((a) => sameCodec(a, c));
  if (inA(chosen) !== undefined) {
    // Pass-through: A is answered with what B accepted of A's own codecs (same payload types).
    const answer: Codec[] = [];
    for (const c of bAnswer) {
      if (isTe(c)) continue;
      const a = inA(c);
      if (a !== undefined) answer.push({ ...c, payloadType: a.payloadType });
    }
    const aTe = teAt(aOffer, chosen.clockRate);
    // A's events are deliverable when B has events too, or as tones the box writes into G.711.
    if (aTe !== undefined && (bTe !== undefined || isG711(chosen))) answer.push({ ...aTe });
    const bMap = mapOf(bAnswer);
    return { kind: "passthrough", aAnswer: answer, aMap: mapOf(answer), bMap };
  }
  if (!boxSupports(box, chosen)) {
    return {
      kind: "reject",
      reason: `callee chose ${chosen.name}/${chosen.clockRate}, which A did not offer`,
    };
  }
  const aCodec = aOffer.find((c) => !isTe(c) && !isCn(c) && boxSupports(box, c));
  if (aCodec === undefined) {
    return { kind: "reject", reason: "no codec in common and none of the caller's codecs can be transcoded" };
  }
  const aAnswer: Codec[] = [{ ...aCodec }];
  const aTe = teAt(aOffer, aCodec.clockRate);
  // Transcoding decodes both ways, so events can always be mapped to tones and back.
  if (aTe !== undefined) aAnswer.push({ ...aTe });
  const bSide: Codec[] = [{ ...chosen }];
  if (bTe !== undefined) bSide.push({ ...bTe });
  return { kind: "transcode", aCodec, bCodec: chosen, aAnswer, aMap: mapOf(aAnswer), bMap: mapOf(bSide) };
}

/** G.711 and telephone-event: what the box offers when the plane transcodes nothing (pass-through only). */
const PASS_THROUGH_OFFER: readonly Codec[] = [
  { payloadType: 0, name: "PCMU", clockRate: 8000, channels: 1 },
  { payloadType: 8, name: "PCMA", clockRate: 8000, channels: 1 },
  { payloadType: 101, name: "telephone-event", clockRate: 8000, channels: 1, fmtp: "0-16" },
];

/**
 * Delayed offer (the caller's INVITE had no SDP): the box's own offer to B, every codec the plane
 * can relay or transcode in its preference order plus telephone-event; G.711 when it transcodes nothing.
 */
export function boxOfferCodecs(box: readonly BoxCodec[]): Codec[] {
  return box.length > 0 ? planOffer([], box) : PASS_THROUGH_OFFER.map((c) => ({ ...c }));
}

/**
 * Delayed offer: the offer the box puts in its 200 to A once B answered. B's codecs come first with
 * B's payload types, so A picking the first one needs no transcoding; then whatever else the box can
 * transcode (see planOffer).
 */
export function delayedOfferForA(bAnswer: readonly Codec[], box: readonly BoxCodec[]): Codec[] {
  return planOffer(bAnswer, box);
}

/**
 * Delayed offer: pass-through or transcoding once A's ACK carried its answer to our offer. When A
 * picked a codec B listed in its answer, that codec is used both ways (B accepts every codec its
 * answer lists); otherwise the plane transcodes between B's first codec and A's.
 */
export function planDelayedAnswer(
  aAnswer: readonly Codec[],
  bAnswer: readonly Codec[],
  box: readonly BoxCodec[],
): AnswerPlan {
  const aFirst = aAnswer.find((c) => !isTe(c) && !isCn(c));
  if (aFirst === undefined) return { kind: "reject", reason: "caller answered no audio codec" };
  const i = bAnswer.findIndex((c) => sameCodec(c, aFirst));
  const b = i > 0 ? [bAnswer[i]!, ...bAnswer.filter((_, j) => j !== i)] : bAnswer;
  return planAnswer(aAnswer, b, box);
}
