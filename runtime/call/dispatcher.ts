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
import type { B2bua } from "./b2bua.ts";
import type { LocalCallHandler, LocalCalls } from "./local.ts";
import { MethodRegistry } from "./methods.ts";
import { type CallRegistry, tagOf } from "./registry.ts";

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

/** What a dialled number resolves to: an extension, a feature the box answers itself, or nothing. */
export type RouteTarget =
  | { kind: "extension"; number: string }
  | { kind: "local"; handler: LocalCallHandler }
  | { kind: "none" };

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
  overloaded?(): boolean;
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
    if (options.overloaded?.()) {
      // Shed before the digest check: under overload the cheapest answer is the right one.
      const res = createResponse(req, 503, { reason: "Service Unavailable (overloaded)" });
      addHeader(res, "Retry-After", String(OVERLOAD_RETRY_AFTER));
      tx.respond(res);
      return;
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
    const target = options.route(dialled);
    if (target.kind === "none") {
      log.info("call to unknown number", { caller: auth.username, dialled });
      tx.respond(createResponse(req, 404, { reason: "Not Found" }));
      return;
    }
    if (target.kind === "local") {
      if (!options.local) {
        tx.respond(createResponse(req, 404, { reason: "Not Found" }));
        return;
      }
      await options.local.answer(req, tx, {
        caller: auth.username,
        dialled,
        source,
        handler: target.handler,
      });
      return;
    }
    if (!options.hasBindings(target.number)) {
      log.info("callee not registered", { caller: auth.username, callee: target.number });
      tx.respond(createResponse(req, 480, { reason: "Temporarily Unavailable (not registered)" }));
      return;
    }
    await b2bua.startCall(req, tx, { caller: auth.username, callee: target.number, source });
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
