/**
 * The request router above the transaction layer: every request that is not a retransmission
 * lands here. REGISTER goes to the registrar, a new INVITE to the B2BUA after authentication,
 * in-dialog requests to their call (through the `CallRegistry`), methods registered by features in
 * the `MethodRegistry` (see methods.ts) to their handler, and everything else gets the answer RFC
 * 3261 asks for. `Allow` and `Allow-Events` are computed from the registered methods and packages.
 */
import type { Peer, SipRequest, SipResponse } from "../sip/message/types.ts";
import { addHeader, createResponse, getHeader, parseNameAddr, parseUri } from "../sip/message/mod.ts";
import type { ServerTransaction } from "../sip/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Clock } from "../clock/mod.ts";
import { type Authorizer, handleRegister, type RegistrarOptions } from "../registrar/mod.ts";
import type { B2bua, StepFailure } from "./b2bua.ts";
import type { Binding } from "../registrar/mod.ts";
import type { GroupMember, GroupStrategy } from "./route/mod.ts";
import type { LocalCallHandler, LocalCalls } from "./local.ts";
import { MethodRegistry } from "./methods.ts";
import { type CallRegistry, tagOf } from "./registry.ts";
import type { InboundDecision, OutboundDecision, OutboundRequest } from "./trunk.ts";

/** Methods we know (405 with Allow) as opposed to unknown ones (501). */
const KNOWN_METHODS = new Set([
  "INVITE",
  "ACK",
  "CANCEL",
  "BYE",
  "OPTIONS",
  "REGISTER",
  "INFO",
  "UPDATE",
  "PRACK",
  "SUBSCRIBE",
  "NOTIFY",
  "PUBLISH",
  "MESSAGE",
  "REFER",
]);

/**
 * What a route step asks for after a ringing step ended unanswered: the target that follows (the
 * dialplan's `next`, see runtime/call/route).
 */
export type Continue = (failure: StepFailure) => RouteTarget;

/**
 * What a dialled number (or a route's next step) resolves to: ring an extension or a group, a
 * feature the box answers itself, or the end (`status`, default 404). A ringing target's `next`
 * says what follows busy, no answer, unavailable or failed; without it the caller gets the failure.
 */
export type RouteTarget =
  | {
    kind: "extension";
    number: string;
    ringSeconds?: number;
    next?: Continue;
    /** Extra headers on the callee's INVITEs (intercom's auto-answer header). */
    headers?: readonly { name: string; value: string }[];
  }
  | {
    kind: "group";
    members: readonly GroupMember[];
    strategy: GroupStrategy;
    ringSeconds?: number;
    next?: Continue;
  }
  | { kind: "local"; handler: LocalCallHandler }
  /** Out of a trunk: `prepare` gives the leg (or a refusal) for this caller; see trunk.ts. */
  | {
    kind: "trunk";
    trunk: string;
    number: string;
    prepare(request: OutboundRequest): OutboundDecision | Promise<OutboundDecision>;
    ringSeconds?: number;
    next?: Continue;
  }
  /**
   * Call pickup: answer the call ringing at `extension`; without one (group pickup), a call
   * ringing at any extension `allowed` says the picker may take (its pickup groups), or any.
   */
  | {
    kind: "pickup";
    extension?: string | undefined;
    allowed?: ((picker: string, callee: string) => boolean) | undefined;
  }
  | { kind: "none"; status?: number; reason?: string };

/** A route being run on one INVITE: cancelled by the caller; a ringing step sent 100 already. */
interface Run {
  cancelled: boolean;
  trying: boolean;
  /** A call from a trunk: its id, and URI parameters for the caller's From (verstat). */
  trunk?: string;
  callerParams?: string;
  /** The trunk's DTMF mode (info: the B2BUA sends the phone's digits to it as SIP INFO). */
  trunkDtmf?: "rfc4733" | "info" | "inband";
}

type FailureKindSeen = "noAnswer" | "busy" | "unavailable";

/** Ring time of a step without its own `ringSeconds` (the B2BUA's no-answer default applies). */
type RingMs = number | undefined;

/** Hook for requests a feature wants before the generic handling (e.g. SIP plug-and-play SUBSCRIBE). */
export type RequestHook = (req: SipRequest, tx: ServerTransaction, source: Peer) => boolean;

/** Options for the dispatcher. */
export interface DispatcherOptions {
  authorizer: Authorizer;
  registrar: RegistrarOptions;
  b2bua: B2bua;
  /** Calls the box answers itself (paging, later voicemail/IVR). */
  local?: LocalCalls;
  /** Resolve a dialled number. */
  route(number: string): RouteTarget;
  /** Whether an extension has a live binding. */
  hasBindings(number: string): boolean;
  /** An extension's live bindings (group steps fork to them); default the B2BUA's own lookup. */
  bindings?(number: string): Binding[];
  /** Find the INVITE transaction a CANCEL refers to (RFC 3261 9.2). */
  findInviteForCancel(cancel: SipRequest): ServerTransaction | undefined;
  clock: Clock;
  log: Logger;
  hooks?: RequestHook[];
  /** The dialogs' owner: in-dialog requests are routed to their usage here first. */
  registry?: CallRegistry;
  /** Methods and event packages registered by features; Allow/Allow-Events are computed from it. */
  methods?: MethodRegistry;
  /**
   * True while the box is overloaded: new calls get 503 with Retry-After so calls in progress and
   * registrations keep being served, instead of everything slowing into retransmission storms.
   */
  overloaded?(req?: SipRequest, source?: Peer): boolean;
  /**
   * Trunk ingress, before extension auth: undefined when the INVITE is not from a trunk, else take
   * it in (its DID is routed by `routeInbound`) or refuse it (no DID: 404, never a phone).
   */
  trunkInbound?(
    req: SipRequest,
    source: Peer,
  ): InboundDecision | undefined | Promise<InboundDecision | undefined>;
  /** Resolve a DID a trunk delivered (the inbound scope of the number plan). */
  routeInbound?(number: string): RouteTarget;
  /** Emergency numbers (911): never shed under overload (Kari's Law). */
  isEmergency?(dialled: string): boolean;
}

/** Seconds a caller is asked to wait when the box sheds a new call (RFC 3261 21.5.4). */
export const OVERLOAD_RETRY_AFTER = 5;

/** Build the function the transaction layer calls for each new request. */
export function createDispatcher(
  options: DispatcherOptions,
): (req: SipRequest, tx: ServerTransaction | undefined, source: Peer) => void {
  const { authorizer, b2bua, log, clock } = options;
  const methods = options.methods ?? new MethodRegistry();
  const withAllow = (res: SipResponse): SipResponse => {
    addHeader(res, "Allow", methods.allow());
    const events = methods.allowEvents();
    if (events !== undefined) addHeader(res, "Allow-Events", events);
    return res;
  };

  const respondLater = (tx: ServerTransaction, res: SipResponse, delayMs: number) => {
    if (delayMs <= 0) tx.respond(res);
    else clock.setTimeout(() => tx.respond(res), delayMs);
  };

  // Routes being run, by their INVITE transaction: a CANCEL between two steps stops the next one.
  const runs = new WeakMap<ServerTransaction, Run>();

  const handle = async (req: SipRequest, tx: ServerTransaction | undefined, source: Peer): Promise<void> => {
    const toTag = tagOf(getHeader(req, "To"));
    if (req.method === "ACK") {
      if (
        toTag !== undefined && !options.registry?.route(req, undefined, source) &&
        !options.local?.handleInDialog(req, undefined, source)
      ) {
        b2bua.handleInDialog(req, undefined, source);
      }
      return; // ACK never gets a response
    }
    if (!tx) return;
    for (const hook of options.hooks ?? []) if (hook(req, tx, source)) return;

    if (req.method === "CANCEL") {
      // RFC 3261 9.2: answer the CANCEL itself first, then the INVITE gets its 487.
      const invite = options.findInviteForCancel(req);
      if (!invite) {
        tx.respond(createResponse(req, 481));
        return;
      }
      tx.respond(createResponse(req, 200));
      const run = runs.get(invite);
      if (run !== undefined) run.cancelled = true; // a route between steps stops with 487
      if (options.local?.cancel(invite)) return; // a feature answering it: 487 from there
      b2bua.cancel(invite); // false when already answered: the 200 above still stands per 9.2
      return;
    }
    if (toTag !== undefined) {
      if (options.registry?.route(req, tx, source)) return;
      if (options.local?.handleInDialog(req, tx, source)) return;
      if (!b2bua.handleInDialog(req, tx, source)) {
        tx.respond(createResponse(req, 481));
      }
      return;
    }
    switch (req.method) {
      case "OPTIONS": {
        const res = withAllow(createResponse(req, 200));
        addHeader(res, "Accept", "application/sdp");
        tx.respond(res);
        return;
      }
      case "REGISTER": {
        const auth = authorizer.authorize(req, source);
        if (!auth.ok) return respondLater(tx, auth.response, auth.delayMs);
        tx.respond(await handleRegister(req, { username: auth.username, source }, options.registrar));
        return;
      }
      case "INVITE":
        return await handleInvite(req, tx, source);
      case "BYE":
        tx.respond(createResponse(req, 481));
        return;
      default: {
        const handler = methods.handler(req.method);
        if (handler !== undefined) return await handler(req, tx, source);
        if (!KNOWN_METHODS.has(req.method)) {
          tx.respond(createResponse(req, 501));
          return;
        }
        tx.respond(withAllow(createResponse(req, 405)));
      }
    }
  };

  const handleInvite = async (req: SipRequest, tx: ServerTransaction, source: Peer) => {
    if (options.overloaded?.(req, source) && !emergency(req)) {
      // Shed before the digest check: under overload the cheapest answer is the right one.
      const res = createResponse(req, 503, { reason: "Service Unavailable (overloaded)" });
      addHeader(res, "Retry-After", String(OVERLOAD_RETRY_AFTER));
      tx.respond(res);
      return;
    }
    // A trunk's INVITE is matched by its address before extension auth (ingress classification).
    const inbound = options.trunkInbound === undefined ? undefined : await options.trunkInbound(req, source);
    if (inbound?.kind === "refuse") {
      tx.respond(createResponse(req, inbound.status, { reason: inbound.reason }));
      return;
    }
    if (inbound?.kind === "accept") {
      const first = options.routeInbound?.(inbound.dialled) ?? { kind: "none" as const };
      if (first.kind === "none" && first.status === undefined) {
        log.info("trunk call to a number that is no DID", { trunk: inbound.trunk, dialled: inbound.dialled });
      }
      return await runRoute(req, tx, source, inbound.caller, inbound.dialled, first, {
        trunk: inbound.trunk,
        ...(inbound.callerParams === undefined ? {} : { callerParams: inbound.callerParams }),
        ...(inbound.dtmf === undefined ? {} : { trunkDtmf: inbound.dtmf }),
      });
    }
    const auth = authorizer.authorize(req, source);
    if (!auth.ok) return respondLater(tx, auth.response, auth.delayMs);
    let fromUser: string | undefined;
    let dialled: string | undefined;
    try {
      fromUser = parseUri(parseNameAddr(getHeader(req, "From") ?? "").uri).user;
      dialled = parseUri(req.uri).user;
    } catch {
      tx.respond(createResponse(req, 400, { reason: "Bad Request (unparsable From or Request-URI)" }));
      return;
    }
    if (fromUser !== auth.username) {
      tx.respond(createResponse(req, 403, { reason: "Forbidden (From user does not match credentials)" }));
      return;
    }
    if (dialled === undefined) {
      tx.respond(createResponse(req, 404, { reason: "Not Found (no number dialled)" }));
      return;
    }
    // RFC 3891: an INVITE with Replaces takes over a dialog of the box (pickup, attended transfer).
    if (await b2bua.acceptReplaces?.(req, tx, { caller: auth.username, source })) return;
    await runRoute(req, tx, source, auth.username, dialled, options.route(dialled));
  };

  /**
   * Run a route on one INVITE transaction: each ringing step that ends unanswered (busy, no answer,
   * unavailable, failed) goes on with its `next` target on the same transaction, which has had no
   * final response yet; a feature step or the end answers it.
   */
  const runRoute = async (
    req: SipRequest,
    tx: ServerTransaction,
    source: Peer,
    caller: string,
    dialled: string,
    first: RouteTarget,
    from: { trunk?: string; callerParams?: string; trunkDtmf?: "rfc4733" | "info" | "inband" } = {},
  ): Promise<void> => {
    const run: Run = { cancelled: false, trying: false, ...from };
    runs.set(tx, run);
    let target = first;
    for (let steps = 0;; steps++) {
      if (run.cancelled) {
        tx.respond(createResponse(req, 487));
        return;
      }
      if (steps > 64) target = { kind: "none", status: 483, reason: "Too Many Hops (route steps)" };
      if (target.kind === "none") {
        // A route that ends at once with its own status (DND's 486) is logged by the router instead.
        if (steps === 0 && (target.status ?? 404) === 404) {
          log.info("call to unknown number", { caller, dialled });
        }
        const status = target.status ?? 404;
        const reason = target.reason ?? (status === 404 ? "Not Found" : undefined);
        tx.respond(createResponse(req, status, reason !== undefined ? { reason } : {}));
        return;
      }
      if (target.kind === "pickup") {
        const allowed = target.allowed;
        const picked = await b2bua.pickup(req, tx, {
          caller,
          source,
          extension: target.extension,
          ...(allowed !== undefined ? { allowed: (callee: string) => allowed(caller, callee) } : {}),
        });
        if (!picked) {
          log.info("no call to pick up", {
            caller,
            extension: target.extension ?? "any",
            ...(allowed !== undefined ? { within: "pickup-groups" } : {}),
          });
          tx.respond(createResponse(req, 480, { reason: "Temporarily Unavailable (no call to pick up)" }));
        }
        return;
      }
      if (target.kind === "local") {
        if (!options.local) {
          tx.respond(createResponse(req, 404, { reason: "Not Found" }));
          return;
        }
        await options.local.answer(req, tx, { caller, dialled, source, handler: target.handler });
        return;
      }
      if (target.kind === "trunk") {
        const decision = await target.prepare({
          trunk: target.trunk,
          number: target.number,
          caller,
          callId: getHeader(req, "Call-ID") ?? "",
          dialled,
        });
        if (!decision.ok) {
          log.info("trunk step refused", { caller, dialled, trunk: target.trunk, status: decision.status });
          if (decision.failover !== true || target.next === undefined) {
            tx.respond(createResponse(req, decision.status, { reason: decision.reason }));
            return;
          }
          target = target.next({ kind: "failed", status: decision.status, reason: decision.reason });
          continue;
        }
        const failure = await ringTrunk(req, tx, source, caller, target, decision.leg, run);
        if (failure === undefined) return;
        if (target.next === undefined) {
          tx.respond(
            createResponse(
              req,
              failure.status,
              failure.reason !== undefined ? { reason: failure.reason } : {},
            ),
          );
          return;
        }
        log.info("route goes on", { caller, dialled, after: failure.kind, status: failure.status });
        target = target.next(failure);
        continue;
      }
      const failure = target.kind === "extension"
        ? await ringOnce(
          req,
          tx,
          source,
          caller,
          target.number,
          [target.number],
          ms(target.ringSeconds),
          run,
          target.next !== undefined,
          undefined,
          target.headers,
        )
        : await ringGroup(req, tx, source, caller, dialled, target, run);
      if (failure === undefined) return; // answered, cancelled or answered with its failure
      if (target.next === undefined) {
        // As a plain call answers: no response or an unreachable phone is "unavailable" (480).
        const status = failure.status === 408 || failure.status === 503 ? 480 : failure.status;
        const reason = status === failure.status ? failure.reason : undefined;
        tx.respond(createResponse(req, status, reason !== undefined ? { reason } : {}));
        return;
      }
      log.info("route goes on", { caller, dialled, after: failure.kind, status: failure.status });
      target = target.next(failure);
    }
  };

  const ms = (seconds: number | undefined): RingMs => seconds === undefined ? undefined : seconds * 1000;

  const emergency = (req: SipRequest): boolean => {
    if (options.isEmergency === undefined) return false;
    try {
      const user = parseUri(req.uri).user;
      return user !== undefined && options.isEmergency(user);
    } catch {
      return false;
    }
  };

  /** A trunk step: one INVITE out of the trunk; resolves with the failure as `ringOnce` does. */
  const ringTrunk = (
    req: SipRequest,
    tx: ServerTransaction,
    source: Peer,
    caller: string,
    target: Extract<RouteTarget, { kind: "trunk" }>,
    leg: Parameters<B2bua["startCall"]>[2]["outbound"] & object,
    run: Run,
  ): Promise<StepFailure | undefined> => {
    const first = !run.trying;
    run.trying = true;
    const goesOn = target.next !== undefined;
    return new Promise((resolve) => {
      const started = b2bua.startCall(req, tx, {
        caller,
        callee: target.number,
        source,
        outbound: leg,
        ringMs: ms(target.ringSeconds) ?? 180_000,
        ...(first ? {} : { continued: true }),
        ...(goesOn ? { onFailure: resolve } : {}),
      });
      if (!goesOn) started.then(() => resolve(undefined), () => resolve(undefined));
      else started.catch(() => resolve(undefined));
    });
  };

  /**
   * Ring `numbers` (one extension, or a group's members at once) as one B2BUA call. Resolves with
   * the failure when the step ended unanswered and the route goes on (or the caller must still be
   * answered); never resolves when the call was answered or otherwise ended (the B2BUA answered A).
   */
  const ringOnce = (
    req: SipRequest,
    tx: ServerTransaction,
    source: Peer,
    caller: string,
    callee: string,
    numbers: readonly string[],
    ringMs: RingMs,
    run: Run,
    goesOn: boolean,
    more?: () => { bindings: Binding[]; ringMs?: number | undefined } | undefined,
    headers?: readonly { name: string; value: string }[],
  ): Promise<StepFailure | undefined> => {
    const registered = numbers.filter((n) => options.hasBindings(n));
    if (registered.length === 0) {
      log.info("callee not registered", { caller, callee });
      return Promise.resolve({
        kind: "unavailable",
        status: 480,
        reason: "Temporarily Unavailable (not registered)",
      });
    }
    const single = numbers.length === 1 && numbers[0] === callee;
    const first = !run.trying;
    run.trying = true;
    return new Promise((resolve) => {
      const started = b2bua.startCall(req, tx, {
        caller,
        callee,
        source,
        ...(single ? {} : { bindings: registered.flatMap((n) => options.bindings?.(n) ?? []) }),
        ...(ringMs !== undefined ? { ringMs } : {}),
        ...(first ? {} : { continued: true }),
        // Without a continuation the B2BUA answers the caller itself, as a plain call.
        ...(goesOn ? { onFailure: resolve } : {}),
        ...(more !== undefined ? { more } : {}),
        ...(headers !== undefined ? { headers } : {}),
        ...(run.trunk !== undefined ? { trunk: run.trunk } : {}),
        ...(run.trunkDtmf !== undefined ? { trunkDtmf: run.trunkDtmf } : {}),
        ...(run.callerParams !== undefined ? { callerParams: run.callerParams } : {}),
      });
      if (!goesOn) started.then(() => resolve(undefined), () => resolve(undefined));
      else started.catch(() => resolve(undefined));
    });
  };

  /**
   * A group step: ringAll forks to every member's contacts at once; hunt rings one member after
   * another (each its own ringSeconds); memoryHunt keeps the members already rung ringing as it
   * adds the next (forks added to the same call at each ring timeout). A member already on a call,
   * answering busy, or not registered is skipped.
   * The group's failure: noAnswer when anyone was rung unanswered, else busy when anyone was busy,
   * else unavailable.
   */
  const ringGroup = async (
    req: SipRequest,
    tx: ServerTransaction,
    source: Peer,
    caller: string,
    dialled: string,
    group: Extract<RouteTarget, { kind: "group" }>,
    run: Run,
  ): Promise<StepFailure | undefined> => {
    const numbers = group.members.map((m) => m.number);
    if (group.strategy === "ringAll") {
      return await ringOnce(
        req,
        tx,
        source,
        caller,
        dialled,
        numbers,
        ms(group.ringSeconds),
        run,
        true,
      );
    }
    const seen = new Set<FailureKindSeen>();
    /** Whether member `m` can ring now: registered and not on a call (else noted and skipped). */
    const free = (m: GroupMember): boolean => {
      if (!options.hasBindings(m.number)) {
        seen.add("unavailable");
        return false;
      }
      if (b2bua.busyExtensions().has(m.number)) {
        seen.add("busy"); // already on a call: the next member rings instead
        return false;
      }
      return true;
    };
    const ringOf = (m: GroupMember) => ms(m.ringSeconds ?? group.ringSeconds);
    const members = group.members;
    for (let i = 0; i < members.length; i++) {
      if (run.cancelled) break;
      const m = members[i]!;
      if (!free(m)) continue;
      // memoryHunt: at each ring timeout the next free member's contacts join the ringing ones.
      const more = group.strategy !== "memoryHunt" ? undefined : () => {
        while (++i < members.length) {
          const next = members[i]!;
          if (free(next)) return { bindings: options.bindings?.(next.number) ?? [], ringMs: ringOf(next) };
        }
        return undefined;
      };
      const callee = group.strategy === "memoryHunt" ? dialled : m.number;
      const f = await ringOnce(req, tx, source, caller, callee, [m.number], ringOf(m), run, true, more);
      if (f === undefined) return undefined;
      seen.add(f.kind === "noAnswer" ? "noAnswer" : f.kind === "busy" ? "busy" : "unavailable");
    }
    if (run.cancelled) {
      tx.respond(createResponse(req, 487));
      return undefined;
    }
    if (seen.has("noAnswer")) return { kind: "noAnswer", status: 480, reason: "No Answer" };
    if (seen.has("busy")) return { kind: "busy", status: 486, reason: "Busy Here" };
    return { kind: "unavailable", status: 480, reason: "Temporarily Unavailable" };
  };

  return (req, tx, source) => {
    handle(req, tx, source).catch((e) => {
      log.error("request handling failed", {
        method: req.method,
        error: e as Error,
        stack: (e as Error).stack,
      });
      if (tx && req.method !== "ACK") {
        try {
          tx.respond(createResponse(req, 500));
        } catch {
          // the transaction may already be final
        }
      }
    });
  };
}
