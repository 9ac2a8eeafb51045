/**
 * Onward routing from an answered leg the box holds (an application's caller, or an originated
 * leg): like Asterisk's Dial() from the dialplan. `runOnward` runs a dispatcher `RouteTarget`
 * (usually `route(number)`, the dialplan with its continuations) for the leg: an extension or a
 * group is rung with an outbound leg (`originate`, offering the leg's own codec so the bridge
 * relays), the caller hears ringback meanwhile, and on answer the two media legs are bridged until
 * one side hangs up. A ringing step that ends busy, unanswered, unavailable or failed goes on with
 * its `next` (the route's continuation); an application step (voicemail after no answer) takes
 * the leg over (`handOver`). What it resolves with is the outcome, so an application can go on.
 */
import type { Binding } from "../registrar/mod.ts";
import type { Codec } from "../sdp/mod.ts";
import type { RouteTarget } from "./dispatcher.ts";
import type { LocalCallHandler } from "./local.ts";
import {
  type AnsweredCodec,
  originate,
  type OriginateResult,
  type OutboundCall,
  type OutboundDeps,
} from "./outbound.ts";
import type { MediaPort, MediaTranscode } from "./types.ts";
import type { StepFailure } from "./b2bua.ts";
import type { OutboundLeg } from "./trunk.ts";

/** How `dial` (or `continueTo`) ended. */
export type DialResult =
  /** Bridged to `number`; the bridge ended when `by` hung up. */
  | { outcome: "answered"; number: string; by: "caller" | "callee" }
  /** The route went on to an application, which has the leg now. */
  | { outcome: "handedOver"; number: string }
  /** Nobody answered: the route's last outcome and the SIP status it means. */
  | { outcome: "busy" | "noAnswer" | "unavailable" | "failed"; status: number; reason?: string }
  /** The caller hung up before anyone answered. */
  | { outcome: "cancelled" };

/** What `runOnward` needs from the box. */
export interface OnwardDeps extends OutboundDeps {
  /** The dialplan: a number to its first target (continuations in `next`). */
  route(number: string): RouteTarget;
  /** An extension's live contacts. */
  bindings(number: string): Binding[];
  /** Whether an extension is on a call already (hunt groups skip it). */
  busy?(number: string): boolean;
  media: OutboundDeps["media"] & Pick<MediaPort, "bridge"> & {
    unbridge?(legId: string): Promise<void>;
    playTone?(legId: string, spec: string, options?: { durationMs?: number }): Promise<unknown>;
    stopPlay?(legId: string): Promise<unknown>;
  };
  /** The ringback cadence the caller hears while a target rings (default North American). */
  ringback?: string;
}

/** The leg routed onward. */
export interface OnwardLeg {
  legId: string;
  /** The call it belongs to: every record this writes is linked to it. */
  linkedId: string;
  caller: string;
  callerName?: string | undefined;
  /** The codec the leg speaks, offered to whoever is rung (so the bridge can relay). */
  codec: AnsweredCodec & { channels?: number; telephoneEventRate?: number };
  /** The extension an outside call is placed for, when not `caller` (permissions, fraud guard). */
  onBehalfOf?: string;
  /** Settles when the leg ends. */
  ended: Promise<unknown>;
  isEnded(): boolean;
  /** Hand the leg to an application's handler (the route went on to voicemail, an IVR, paging). */
  handOver(handler: LocalCallHandler, dialled: string): Promise<boolean>;
}

/** Options of one `runOnward`. */
export interface OnwardOptions {
  /** The number the route was entered with (records, logs). */
  dialled: string;
  /** Ring time of a step without its own (default the box's no-answer time). */
  ringMs?: number;
  /** Extra headers on the INVITEs. */
  headers?: readonly { name: string; value: string }[];
  /** A reason on the outbound legs' records. */
  reason?: string;
  /** Told when a target answered and was bridged (a REFER's NOTIFY 200). */
  onAnswered?(number: string): void;
}

const RINGBACK = "440+480/2000,0/4000";

/** The codecs an outbound leg offers for a leg speaking `codec`. */
export function offerFor(codec: OnwardLeg["codec"]): Codec[] {
  const out: Codec[] = [{
    payloadType: codec.payloadType,
    name: codec.name,
    clockRate: codec.clockRate,
    channels: codec.channels ?? (codec.name.toLowerCase() === "opus" ? 2 : 1),
  }];
  if (codec.telephoneEvent !== undefined) {
    out.push({
      payloadType: codec.telephoneEvent,
      name: "telephone-event",
      clockRate: codec.telephoneEventRate ?? 8000,
      channels: 1,
      fmtp: "0-16",
    } as Codec);
  }
  return out;
}

/**
 * The media plane's bridge options for two legs: none when they speak one codec (relay, payload
 * types rewritten), else a transcode both ways.
 */
export function bridgeOptions(
  a: AnsweredCodec | undefined,
  b: AnsweredCodec | undefined,
): { transcode?: { aToB: MediaTranscode; bToA: MediaTranscode } } {
  if (a === undefined || b === undefined) return {};
  if (a.name.toLowerCase() === b.name.toLowerCase() && a.clockRate === b.clockRate) return {};
  const ra = { codec: `${a.name}/${a.clockRate}`, pt: a.payloadType };
  const rb = { codec: `${b.name}/${b.clockRate}`, pt: b.payloadType };
  return { transcode: { aToB: { from: ra, to: rb }, bToA: { from: rb, to: ra } } };
}

/** Run `first` (and its continuations) for `leg`; see the module doc. */
export async function runOnward(
  leg: OnwardLeg,
  first: RouteTarget,
  deps: OnwardDeps,
  options: OnwardOptions,
): Promise<DialResult> {
  let target = first;
  let last: StepFailure | undefined;
  for (let steps = 0; steps < 64; steps++) {
    if (leg.isEnded()) return { outcome: "cancelled" };
    if (target.kind === "none") {
      const status = target.status ?? last?.status ?? 404;
      const kind = last?.kind ?? "failed";
      return { outcome: kind, status, reason: target.reason ?? last?.reason ?? "Not Found" };
    }
    if (target.kind === "local") {
      const ok = await leg.handOver(target.handler, options.dialled);
      if (ok) return { outcome: "handedOver", number: options.dialled };
      return { outcome: "failed", status: 500, reason: "the application refused the call" };
    }
    if (target.kind === "pickup") {
      return { outcome: "failed", status: 403, reason: "Forbidden (pickup from an application leg)" };
    }
    let result: DialResult | StepFailure;
    if (target.kind === "trunk") {
      // An outside line: the trunk feature decides (permissions for the leg's caller or the
      // extension it is placed for, fraud guard, caller ID, E911); a refusal that allows it fails
      // over to the route's next trunk.
      const decision = await target.prepare({
        trunk: target.trunk,
        number: target.number,
        caller: leg.caller,
        ...(leg.onBehalfOf !== undefined ? { onBehalfOf: leg.onBehalfOf } : {}),
        callId: leg.linkedId,
        dialled: options.dialled,
      });
      if (!decision.ok) {
        deps.log.info("onward trunk step refused", {
          caller: leg.caller,
          trunk: target.trunk,
          status: decision.status,
        });
        if (decision.failover !== true || target.next === undefined) {
          return { outcome: "failed", status: decision.status, reason: decision.reason };
        }
        last = { kind: "failed", status: decision.status, reason: decision.reason };
        target = target.next(last);
        continue;
      }
      result = await ringNumbers(
        leg,
        target.number,
        [],
        target.ringSeconds ?? 180,
        deps,
        options,
        decision.leg,
      );
    } else if (target.kind === "extension") {
      result = await ringNumbers(leg, target.number, [target.number], target.ringSeconds, deps, options);
    } else if (target.strategy === "ringAll") {
      result = await ringNumbers(
        leg,
        options.dialled,
        target.members.map((m) => m.number),
        target.ringSeconds,
        deps,
        options,
      );
    } else {
      // hunt (and memoryHunt, one member at a time here): each free member for its ring time.
      const seen = new Set<StepFailure["kind"]>();
      result = { kind: "unavailable", status: 480, reason: "Temporarily Unavailable" };
      for (const m of target.members) {
        if (deps.busy?.(m.number)) {
          seen.add("busy");
          continue;
        }
        const r = await ringNumbers(
          leg,
          m.number,
          [m.number],
          m.ringSeconds ?? target.ringSeconds,
          deps,
          options,
        );
        if ("outcome" in r) {
          result = r;
          break;
        }
        seen.add(r.kind);
      }
      if (!("outcome" in result)) {
        result = seen.has("noAnswer")
          ? { kind: "noAnswer", status: 480, reason: "No Answer" }
          : seen.has("busy")
          ? { kind: "busy", status: 486, reason: "Busy Here" }
          : result;
      }
    }
    if ("outcome" in result) return result;
    last = result;
    if (target.next === undefined) {
      return {
        outcome: result.kind,
        status: result.status,
        ...(result.reason !== undefined ? { reason: result.reason } : {}),
      };
    }
    deps.log.info("onward route goes on", { dialled: options.dialled, after: result.kind });
    target = target.next(result);
  }
  return { outcome: "failed", status: 483, reason: "Too Many Hops (route steps)" };
}

/** Ring the contacts of `numbers` as one outbound leg; bridge on answer and wait for the end. */
async function ringNumbers(
  leg: OnwardLeg,
  callee: string,
  numbers: readonly string[],
  ringSeconds: number | undefined,
  deps: OnwardDeps,
  options: OnwardOptions,
  trunk?: OutboundLeg,
): Promise<DialResult | StepFailure> {
  const bindings = numbers.flatMap((n) => deps.bindings(n));
  if (bindings.length === 0 && trunk === undefined) {
    return { kind: "unavailable", status: 480, reason: "Temporarily Unavailable (not registered)" };
  }
  let out: OutboundCall;
  try {
    out = await originate(deps, {
      to: callee,
      bindings,
      callerId: leg.caller,
      ...(leg.callerName !== undefined ? { callerName: leg.callerName } : {}),
      codecs: offerFor(leg.codec),
      linkedId: leg.linkedId,
      ...(ringSeconds !== undefined
        ? { ringMs: ringSeconds * 1000 }
        : options.ringMs !== undefined
        ? { ringMs: options.ringMs }
        : {}),
      ...(options.headers !== undefined ? { headers: options.headers } : {}),
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
      ...(trunk !== undefined ? { trunk } : {}),
    });
  } catch (e) {
    deps.log.error("onward leg could not start", { to: callee, error: e as Error });
    return { kind: "failed", status: 503, reason: "Service Unavailable (no media ports)" };
  }
  const m = deps.media;
  void m.playTone?.(leg.legId, deps.ringback ?? RINGBACK, { durationMs: 600_000 })?.catch(() => {});
  const r: OriginateResult | "caller" = await Promise.race([
    out.result,
    leg.ended.then(() => "caller" as const),
  ]);
  await m.stopPlay?.(leg.legId)?.catch(() => {});
  if (r === "caller") {
    out.hangup("caller hung up");
    return { outcome: "cancelled" };
  }
  if (r.outcome !== "answered") {
    return { kind: r.kind, status: r.status, ...(r.reason ? { reason: r.reason } : {}) };
  }
  try {
    await m.bridge(leg.legId, out.leg.legId, bridgeOptions(leg.codec, out.codec()));
  } catch (e) {
    deps.log.error("onward bridge failed", { to: callee, error: e as Error });
    out.hangup("media");
    return { kind: "failed", status: 500, reason: "Server Internal Error (media)" };
  }
  deps.log.info("onward call bridged", { caller: leg.caller, to: callee, linked: leg.linkedId });
  try {
    options.onAnswered?.(callee);
  } catch (e) {
    deps.log.warn("onward answer listener failed", { error: e as Error });
  }
  const by = await Promise.race([
    out.ended.then(() => "callee" as const),
    leg.ended.then(() => "caller" as const),
  ]);
  if (by === "caller") out.hangup("caller hung up");
  else await m.unbridge?.(leg.legId).catch(() => {});
  return { outcome: "answered", number: callee, by };
}
