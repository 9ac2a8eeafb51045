/**
 * Glue between the codec plan and the media plane for one call: which codecs each side's SDP lists,
 * how each media leg is configured and whether the bridge transcodes. Pure functions.
 */
import { type Codec, codecsOf, ptimeOf } from "../sdp/mod.ts";
import type { SdpInfo } from "./_sdp.ts";
import type { AnswerPlan } from "./_codec_plan.ts";
import type { MediaPort, MediaTranscode } from "./types.ts";

/** The codecs of a side's anchored audio stream, in m= order; empty when it has none. */
export function audioCodecs(info: SdpInfo): Codec[] {
  const m = info.sd.media[info.audioIndex];
  return m === undefined ? [] : codecsOf(m);
}

/** The a=ptime of a side's audio stream, when given and sane. */
export function audioPtime(info: SdpInfo): number | undefined {
  const m = info.sd.media[info.audioIndex];
  const p = m === undefined ? undefined : ptimeOf(m, info.sd);
  return p !== undefined && Number.isInteger(p) && p >= 10 && p <= 120 ? p : undefined;
}

type LegConfig = Parameters<MediaPort["configureLeg"]>[1];
type BridgeOptions = NonNullable<Parameters<MediaPort["bridge"]>[2]>;

/** Leg configurations and bridge options that carry out a plan. */
export function mediaSetup(
  plan: Exclude<AnswerPlan, { kind: "reject" }>,
  aOffer: SdpInfo,
  bAnswer: SdpInfo,
): { a: LegConfig; b: LegConfig; bridge: BridgeOptions } {
  const aPtime = audioPtime(aOffer);
  const bPtime = audioPtime(bAnswer);
  const a: LegConfig = { payloadMap: plan.aMap, ...(aPtime !== undefined ? { ptime: aPtime } : {}) };
  const b: LegConfig = { payloadMap: plan.bMap, ...(bPtime !== undefined ? { ptime: bPtime } : {}) };
  if (plan.kind === "passthrough") return { a, b, bridge: {} };
  const ref = (c: Codec, ptime: number | undefined) => ({
    codec: `${c.name}/${c.clockRate}`,
    pt: c.payloadType,
    ...(c.fmtp !== undefined ? { fmtp: c.fmtp } : {}),
    ...(ptime !== undefined ? { ptime } : {}),
  });
  const aRef = ref(plan.aCodec, aPtime);
  const bRef = ref(plan.bCodec, bPtime);
  const aToB: MediaTranscode = { from: aRef, to: bRef };
  const bToA: MediaTranscode = { from: bRef, to: aRef };
  return { a, b, bridge: { transcode: { aToB, bToA } } };
}

/**
 * A DTMF digit from a SIP INFO body: application/dtmf-relay (`Signal=5` / `Duration=160`) or
 * application/dtmf (the digit alone). Returns null when the content type is not DTMF, and throws
 * SyntaxError when it is but the body names no digit.
 */
export function parseInfoDtmf(
  contentType: string | undefined,
  body: string,
): { digit: string; durationMs: number } | null {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/dtmf-relay" && type !== "application/dtmf") return null;
  let signal: string | undefined;
  let duration = 160;
  if (type === "application/dtmf") signal = body.trim();
  else {
    for (const line of body.split(/\r?\n/)) {
      const m = /^\s*([A-Za-z-]+)\s*=\s*(\S+)\s*$/.exec(line);
      if (m === null) continue;
      const key = m[1]!.toLowerCase();
      if (key === "signal") signal = m[2]!;
      else if (key === "duration") {
        const d = Number(m[2]);
        if (Number.isFinite(d) && d > 0) duration = d;
      }
    }
  }
  // RFC 4733 codes are accepted too: Signal=10 is '*', 11 '#', 12-15 A-D, 16 flash.
  const CODES = "0123456789*#ABCD";
  if (signal !== undefined && /^\d+$/.test(signal) && Number(signal) >= 10 && Number(signal) <= 16) {
    signal = Number(signal) === 16 ? "!" : CODES[Number(signal)];
  }
  if (signal === undefined || !/^[0-9*#A-Da-d!]$/.test(signal)) {
    throw new SyntaxError(`INFO DTMF body names no digit: ${JSON.stringify(body.slice(0, 60))}`);
  }
  return { digit: signal.toUpperCase(), durationMs: Math.min(Math.max(duration, 40), 5000) };
}
