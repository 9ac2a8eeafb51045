/**
 * The call-control API features use beyond one caller's leg: `originate` an outbound leg to a
 * number (an extension's contacts or a group's members, as the dialplan resolves it) without an
 * inbound INVITE, `bridge` two legs (an application's caller, an originated leg) so they talk
 * (relayed when they speak one codec, transcoded when not), and `replace` a leg in a live bridge
 * with another (the one replaced is hung up). Originated legs are `CallLeg`s: play, record,
 * collect (RFC 4733 and SIP INFO digits), on, hangup, ended, dial; `answer`/`reject` do nothing
 * there (the far end answers). Each originated leg writes one call record, linked (`linkedId`) to
 * the call it serves, and releases its port however it ends.
 *
 * ```ts
 * // a wake-up call: ring 201, play a prompt, hang up
 * const leg = await calls.originate({ to: "201", callerId: "*411" });
 * if ((await leg.answered).outcome === "answered") {
 *   await leg.play({ file: "/data/prompts/wake-up.wav" });
 *   leg.hangup();
 * }
 * ```
 */
import type { Codec } from "../sdp/mod.ts";
import type { Binding } from "../registrar/mod.ts";
import {
  type Application,
  type ApplicationDeps,
  applicationHandler,
  type CallLeg,
  controlOf,
} from "./application.ts";
import type { RouteTarget } from "./dispatcher.ts";
import type { LocalCallControl, LocalSession } from "./local.ts";
import { originate, type OriginateResult, type OutboundDeps } from "./outbound.ts";
import { bridgeOptions, type OnwardDeps, runOnward } from "./onward.ts";
import type { MediaPort } from "./types.ts";
import type { OutboundLeg } from "./trunk.ts";

/** What `originate` is asked. */
export interface OriginateOptions {
  /** The number to ring: an extension or a group (through the dialplan). */
  to: string;
  /** The calling number the callee sees (and the record's caller). */
  callerId: string;
  callerName?: string;
  /** Extra headers on the INVITEs (Alert-Info, Call-Info answer-after for intercom). */
  headers?: readonly { name: string; value: string }[];
  /** Ring time before the outcome is noAnswer (default the box's no-answer time). */
  timeoutMs?: number;
  /** The call this leg belongs to (its records' link id); default its own Call-ID. */
  linkedId?: string;
  /** A reason on its call record ("park recall", "wake-up call"). */
  reason?: string;
  /**
   * For an outside number (the dialplan gives a trunk): the extension the call is placed for, whose
   * permissions and fraud-guard counters apply (default `callerId`).
   */
  onBehalfOf?: string;
}

/** An originated leg: a `CallLeg` plus how its ringing ended. */
export interface OriginatedLeg extends CallLeg {
  readonly callId: string;
  /** Settles when ringing ended: answered, or busy/noAnswer/unavailable/failed with the status. */
  readonly answered: Promise<OriginateResult>;
}

/** The API; see the module doc. */
export interface Calls {
  originate(options: OriginateOptions): Promise<OriginatedLeg>;
  /** Join two answered legs; a leg already bridged leaves its old bridge. */
  bridge(a: CallLeg, b: CallLeg): Promise<void>;
  /** Put `newLeg` where `oldLeg` is in a bridge (its partner now talks to `newLeg`); `oldLeg` is hung up. */
  replace(oldLeg: CallLeg, newLeg: CallLeg): Promise<void>;
  /** The leg bridged to `leg` by this API, if any. */
  partnerOf(leg: CallLeg): CallLeg | undefined;
}

/** What `createCalls` needs. */
export interface CallsDeps extends OutboundDeps {
  route(number: string): RouteTarget;
  bindings(number: string): Binding[];
  media: OnwardDeps["media"] & Pick<MediaPort, "bridge" | "codecs" | "on" | "sendDtmf">;
  /** Players for originated legs (the same as applications get). */
  players: ApplicationDeps["media"];
}

/** The codecs an originated leg offers: the media plane's (wideband first) and telephone-event. */
export function originateCodecs(
  plane: readonly {
    name: string;
    clockRate: number;
    channels: number;
    fmtp?: string;
    staticPayloadType?: number;
  }[],
): Codec[] {
  const order = ["opus", "g722", "pcmu", "pcma"];
  const list = plane.length > 0
    ? [...plane].filter((c) => order.includes(c.name.toLowerCase()))
    : [{ name: "PCMU", clockRate: 8000, channels: 1, staticPayloadType: 0 }];
  list.sort((a, b) => order.indexOf(a.name.toLowerCase()) - order.indexOf(b.name.toLowerCase()));
  let dynamic = 96;
  const out: Codec[] = list.map((c) => ({
    payloadType: c.staticPayloadType ??
      (c.name.toLowerCase() === "pcmu"
        ? 0
        : c.name.toLowerCase() === "pcma"
        ? 8
        : c.name.toLowerCase() === "g722"
        ? 9
        : dynamic++),
    name: c.name,
    clockRate: c.clockRate,
    channels: c.channels,
    ...(c.fmtp !== undefined ? { fmtp: c.fmtp } : {}),
  }));
  out.push(
    { payloadType: 101, name: "telephone-event", clockRate: 8000, channels: 1, fmtp: "0-16" } as Codec,
  );
  return out;
}

/** Build the API over the box's SIP, media and dialplan. */
export function createCalls(deps: CallsDeps): Calls {
  const partners = new Map<CallLeg, CallLeg>();
  const appDeps: ApplicationDeps = { media: deps.players, clock: deps.clock, log: deps.log };
  const forget = (leg: CallLeg) => {
    const p = partners.get(leg);
    partners.delete(leg);
    if (p !== undefined && partners.get(p) === leg) partners.delete(p);
  };
  const legOf = (leg: CallLeg, what: string): LocalCallControl => {
    const c = controlOf(leg);
    if (c === undefined) throw new Error(`${what}: the leg is not answered (or has ended)`);
    return c;
  };
  const bridge = async (a: CallLeg, b: CallLeg) => {
    const ca = legOf(a, "bridge");
    const cb = legOf(b, "bridge");
    if (ca.legId === cb.legId) throw new RangeError("bridge: a leg cannot be bridged to itself");
    forget(a);
    forget(b);
    const options = bridgeOptions(ca.codec, cb.codec);
    await deps.media.bridge(ca.legId, cb.legId, options);
    partners.set(a, b);
    partners.set(b, a);
    void a.ended.then(() => forget(a));
    void b.ended.then(() => forget(b));
    deps.log.info("legs bridged", { a: ca.callId, b: cb.callId, transcode: options.transcode !== undefined });
  };

  /**
   * The first trunk of an outside number's route that takes the call (a refusal that allows it
   * fails over); a refusal (403 permissions or fraud guard, ...) is a RangeError with its status.
   * Failover after the INVITE left (5xx from the carrier) is `dial`'s, not originate's.
   */
  const trunkLeg = async (first: RouteTarget, options: OriginateOptions): Promise<OutboundLeg> => {
    let t = first;
    for (let i = 0; i < 16; i++) {
      if (t.kind !== "trunk") break;
      const d = await t.prepare({
        trunk: t.trunk,
        number: t.number,
        caller: options.callerId,
        ...(options.onBehalfOf !== undefined ? { onBehalfOf: options.onBehalfOf } : {}),
        callId: options.linkedId ?? crypto.randomUUID(),
        dialled: options.to,
      });
      if (d.ok) return d.leg;
      if (d.failover !== true || t.next === undefined) {
        throw new RangeError(`originate: ${options.to} refused: ${d.status} ${d.reason}`);
      }
      t = t.next({ kind: "failed", status: d.status, reason: d.reason });
    }
    const why = t.kind === "none"
      ? `${t.status ?? 404} ${t.reason ?? "Not Found"}`
      : `the route goes on to ${t.kind}`;
    throw new RangeError(`originate: ${options.to} refused: ${why}`);
  };

  const originateLeg = async (options: OriginateOptions): Promise<OriginatedLeg> => {
    const target = deps.route(options.to);
    let numbers: string[] = [];
    let trunk: OutboundLeg | undefined;
    if (target.kind === "extension") numbers = [target.number];
    else if (target.kind === "group") numbers = target.members.map((m) => m.number);
    else if (target.kind === "trunk") trunk = await trunkLeg(target, options);
    else throw new RangeError(`originate: ${options.to} is not an extension, a group or an outside number`);
    const bindings = numbers.flatMap((n) => deps.bindings(n));
    if (bindings.length === 0 && trunk === undefined) {
      throw new RangeError(`originate: ${options.to} is not registered`);
    }
    const out = await originate(deps, {
      ...(trunk !== undefined ? { trunk } : {}),
      to: options.to,
      bindings,
      callerId: options.callerId,
      ...(options.callerName !== undefined ? { callerName: options.callerName } : {}),
      ...(options.headers !== undefined ? { headers: options.headers } : {}),
      ...(options.timeoutMs !== undefined ? { ringMs: options.timeoutMs } : {}),
      ...(options.linkedId !== undefined ? { linkedId: options.linkedId } : {}),
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
      codecs: originateCodecs(deps.media.codecs?.() ?? []),
    });
    // The leg as an application sees it: the application handler gives play/record/collect.
    let leg: CallLeg | undefined;
    const app: Application<null> = {
      name: "originate",
      run(l) {
        leg = l;
        l.answer();
      },
    };
    const verdict = await applicationHandler(app, null, appDeps).accept({
      caller: options.callerId,
      dialled: options.to,
      receivedAt: Date.now(),
      codec: "",
    });
    const session = verdict as LocalSession;
    const offMedia = deps.media.on?.((ev) => {
      if (ev.legId === out.leg.legId && ev.event === "dtmf" && "digit" in ev) {
        session.onDtmf?.(ev.digit, ev.source === "inband" ? "inband" : "rfc4733");
      }
    });
    out.on((ev) => {
      if (ev.type === "dtmf") session.onDtmf?.(ev.digit, "info");
      else if (ev.type === "hold" || ev.type === "resume") session.onHold?.(ev.type === "hold");
    });
    // In a CallLeg's words the far end is the "caller": the one the box talks to.
    void out.ended.then((by) => {
      offMedia?.();
      session.onEnd?.(by === "callee" ? "caller" : "system");
    });
    void out.result.then((r) => {
      if (r.outcome !== "answered") return;
      const codec = out.codec()!;
      const control: LocalCallControl = {
        hangup: () => out.hangup(),
        legId: out.leg.legId,
        callId: out.callId,
        codec,
        dial: (t) =>
          runOnward(
            {
              legId: out.leg.legId,
              linkedId: options.linkedId ?? out.callId,
              caller: options.callerId,
              ...(options.onBehalfOf !== undefined ? { onBehalfOf: options.onBehalfOf } : {}),
              codec,
              ended: out.ended,
              isEnded: () => out.state === "ended",
              handOver: () => Promise.resolve(false),
            },
            typeof t === "string" ? deps.route(t) : t,
            deps,
            { dialled: typeof t === "string" ? t : options.to },
          ),
      };
      session.onStart?.(control);
    });
    const l = leg!;
    const result: OriginatedLeg = {
      ...l,
      callId: out.callId,
      answered: out.result,
      hangup: (reason?: string) => out.state === "ringing" ? out.hangup(reason) : l.hangup(reason),
    };
    aliases.set(result, l);
    return result;
  };

  const aliases = new WeakMap<CallLeg, CallLeg>();
  const real = (leg: CallLeg) => aliases.get(leg) ?? leg;

  return {
    originate: originateLeg,
    bridge: (a, b) => bridge(real(a), real(b)),
    async replace(oldLeg, newLeg) {
      const old = real(oldLeg);
      const partner = partners.get(old);
      if (partner === undefined) throw new RangeError("replace: the leg is not in a bridge");
      await bridge(partner, real(newLeg));
      old.hangup("replaced");
    },
    partnerOf: (leg) => partners.get(real(leg)),
  };
}
