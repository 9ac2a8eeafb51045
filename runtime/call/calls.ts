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
 * The two parties of a phone-to-phone call (the B2BUA's) become legs on demand: `find` lists the
 * answered calls (of an extension), `legsOf(callId)` hands both parties over (B2bua.handOver) as
 * `CallLeg`s of the box, still bridged to each other in the media worker as they were (the relay
 * does not change), so a feature can then play to them, record them, bridge or replace one, or
 * join both to a conference room. While the two are still bridged to each other, one hanging up
 * hangs up the other (as the call did); once a leg leaves that pair (`bridge`, `replace`,
 * `joinMix`) each lives on its own.
 *
 * ```ts
 * // merge 201's call into conference room 800: both parties join it
 * const [call] = calls.find({ extension: "201" });
 * const [caller, callee] = await calls.legsOf(call.id);
 * await caller.joinMix!("conference:800");
 * await callee.joinMix!("conference:800");
 * ```
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
import type { LocalCallControl, LocalCallHandler, LocalSession } from "./local.ts";
import { originate, type OriginateResult, type OutboundDeps } from "./outbound.ts";
import { bridgeOptions, type OnwardDeps, runOnward } from "./onward.ts";
import type { LiveCall, MediaPort } from "./types.ts";
import type { AdoptedParty } from "./b2bua.ts";
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
  /** The answered phone-to-phone calls (all, or those with `extension` as caller or callee). */
  find(query?: { extension?: string }): LiveCall[];
  /**
   * Both parties of an answered phone-to-phone call as legs: [caller's, callee's], bridged to each
   * other. Rejects (RangeError) for an unknown call, one not confirmed yet or in a transfer.
   */
  legsOf(callId: string): Promise<[CallLeg, CallLeg]>;
  /**
   * Whom `leg` hears in the mixing room `room` it joined (CallLeg.joinMix): only `others` (legs
   * of the same room), or everyone but itself with null (the default). Supervisor whisper: the
   * caller hears only the agent while the agent hears the caller and the supervisor.
   */
  hearOnly(room: string, leg: CallLeg, others: readonly CallLeg[] | null): Promise<void>;
  /** The media leg id of an answered leg (a recording names its legs by it); undefined otherwise. */
  mediaLegOf(leg: CallLeg): string | undefined;
}

/** What `createCalls` needs. */
export interface CallsDeps extends OutboundDeps {
  route(number: string): RouteTarget;
  bindings(number: string): Binding[];
  media: OnwardDeps["media"] & Pick<MediaPort, "bridge" | "codecs" | "on" | "sendDtmf">;
  /** Players for originated legs (the same as applications get). */
  players: ApplicationDeps["media"];
  /** The phone-to-phone calls (`find`, `legsOf`); absent: none. */
  b2bua?: {
    calls(): LiveCall[];
    handOver(
      callId: string,
      adopt: (party: AdoptedParty, side: "a" | "b") => Promise<boolean>,
    ): Promise<{ a: boolean; b: boolean }>;
  };
  /** Takes a party over as a local call run by an application (LocalCalls.adopt). */
  adopt?(
    options: AdoptedParty & { handler: LocalCallHandler },
  ): Promise<boolean | { status: number; reason?: string | undefined }>;
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
  /** The handle a feature holds for a leg (the wrapper `legsOf` returned), for `partnerOf`. */
  const faces = new WeakMap<CallLeg, CallLeg>();

  const legsOf = async (callId: string): Promise<[CallLeg, CallLeg]> => {
    const { b2bua, adopt } = deps;
    if (b2bua === undefined || adopt === undefined) {
      throw new RangeError("legsOf: no phone-to-phone calls here");
    }
    const legs: { a?: CallLeg; b?: CallLeg } = {};
    const taken = await b2bua.handOver(callId, (party, side) => {
      const app: Application<null> = {
        name: "call-party",
        run(l) {
          legs[side] = l;
          l.answer();
        },
      };
      return adopt({ ...party, handler: applicationHandler(app, null, appDeps) }).then((r) => r === true);
    });
    const a = legs.a;
    const b = legs.b;
    if (!taken.a || !taken.b || a === undefined || b === undefined || !controlOf(a) || !controlOf(b)) {
      a?.hangup("the other party could not be taken over");
      b?.hangup("the other party could not be taken over");
      throw new Error(`legsOf: the parties of call ${callId} could not be taken over`);
    }
    // Still bridged in the media worker (the call's own bridge): only the pairing is recorded here.
    partners.set(a, b);
    partners.set(b, a);
    const together = (x: CallLeg, y: CallLeg) =>
      void x.ended.then(() => {
        const p = partners.get(x);
        forget(x);
        if (p === y && controlOf(y) !== undefined) y.hangup("the other party hung up");
      });
    together(a, b);
    together(b, a);
    const face = (l: CallLeg): CallLeg => {
      const f: CallLeg = {
        ...l,
        // Joining a room leaves the pair: the other party no longer goes down with this one.
        joinMix: async (room, options) => {
          if (l.joinMix === undefined) throw new Error("joinMix: no mixer in the media plane");
          forget(l);
          await l.joinMix(room, options);
        },
      };
      aliases.set(f, l);
      faces.set(l, f);
      return f;
    };
    deps.log.info("call parties taken as legs", { call: callId });
    return [face(a), face(b)];
  };

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
    partnerOf: (leg) => {
      const p = partners.get(real(leg));
      return p === undefined ? undefined : faces.get(p) ?? p;
    },
    find: (query = {}) =>
      (deps.b2bua?.calls() ?? []).filter((c) =>
        c.state === "answered" &&
        (query.extension === undefined || c.caller === query.extension || c.callee === query.extension)
      ),
    legsOf,
    async hearOnly(room, leg, others) {
      const id = legOf(real(leg), "hearOnly").legId;
      const ids = others === null ? null : others.map((o) => legOf(real(o), "hearOnly").legId);
      if (deps.players.hearInMix === undefined) throw new Error("hearOnly: no mixer in the media plane");
      await deps.players.hearInMix(id, room, ids);
    },
    mediaLegOf: (leg) => controlOf(real(leg))?.legId,
  };
}
