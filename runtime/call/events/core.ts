/**
 * The SUBSCRIBE/NOTIFY core (RFC 6665). A subscription is a dialog usage of its own: Call-ID, tags,
 * CSeq, route set and remote target live here, keyed by dialog id. Packages register on the core
 * and call `notify()` when the state they publish changes; the core handles authentication,
 * `489 Bad Event`, Expires negotiation (423 + Min-Expires, a maximum), the 200 and the immediate
 * NOTIFY, refresh, unsubscribe, expiry, cleanup when a NOTIFY is refused (481, 408, ...), limits per
 * source and overall, and persistence: after a restart `restore()` resumes every stored
 * subscription with a full-state NOTIFY in its stored dialog.
 */
import type { Peer, SipRequest, SipResponse } from "../../sip/message/types.ts";
import { addHeader, createResponse, getHeader, parseUri } from "../../sip/message/mod.ts";
import { Dialog, dialogKey } from "../../sip/dialog/mod.ts";
import { newTag } from "../../sip/transaction/mod.ts";
import type { ClientTransactionHandlers } from "../../sip/transaction/mod.ts";
import type { Authorizer } from "../../registrar/mod.ts";
import type { Clock, TimerId } from "../../clock/mod.ts";
import type { Logger } from "../../log/mod.ts";
import {
  DEFAULT_EVENT_LIMITS,
  type EventLimits,
  type EventPackage,
  type NotifyReason,
  type StoredSubscription,
  type SubscriptionStore,
  type SubscriptionView,
} from "./types.ts";

/** What the core needs of a server transaction. */
export interface EventServerTransaction {
  respond(res: SipResponse): void;
}

/** What the core needs of the transaction layer. */
export interface EventTransactions {
  sendRequest(req: SipRequest, target: Peer, handlers: ClientTransactionHandlers): unknown;
}

/** Options for {@link EventCore}. */
export interface EventCoreOptions {
  transactions: EventTransactions;
  /** The digest authorizer the dispatcher uses for INVITE. */
  authorizer: Authorizer;
  clock: Clock;
  log: Logger;
  /** Address and port the box's Contact and Via name. */
  publicAddress: string;
  sipPort: number;
  store?: SubscriptionStore;
  limits?: Partial<EventLimits>;
  /**
   * The call registry (runtime/call/registry.ts): each subscription's dialog is registered there as
   * a `subscription` usage, so in-dialog SUBSCRIBEs (refresh, unsubscribe) reach the core through
   * the dispatcher's one dialog lookup, and an ended subscription lingers there like a call. Without
   * it, `handleRequest` takes in-dialog SUBSCRIBEs itself.
   */
  registry?: SubscriptionDialogs;
}

/** What the core needs of the call registry (CallRegistry satisfies it). */
export interface SubscriptionDialogs {
  register(
    callId: string,
    localTag: string,
    usage: {
      kind: "subscription";
      handle(req: SipRequest, tx: EventServerTransaction | undefined, source: Peer): void;
    },
  ): void;
  linger(callId: string, localTag: string): void;
}

/** A subscription the core holds (the view packages see, plus dialog and timers). */
interface Sub extends SubscriptionView {
  dialog: Dialog;
  peer: Peer;
  expiresAt: number;
  timer: TimerId | undefined;
  inFlight: boolean;
  /** A NOTIFY that waits for the one in flight: full state (coalesced) or the final one. */
  queued: "state" | "final" | undefined;
  finalReason: string | undefined;
  terminated: boolean;
}

/**
 * Send one NOTIFY that belongs to no subscription (RFC 6665 leaves these to packages such as
 * check-sync; the request says `Subscription-State: terminated`). Resolves with the final status:
 * 408 when unanswered, 503 when it could not be sent.
 */
export function sendUnsolicitedNotify(
  transactions: EventTransactions,
  request: SipRequest,
  target: Peer,
): Promise<number> {
  return new Promise((resolve) => {
    try {
      transactions.sendRequest(request, target, {
        onResponse: (res) => {
          if (res.status >= 200) resolve(res.status);
        },
        onTimeout: () => resolve(408),
        onTransportError: () => resolve(503),
      });
    } catch {
      resolve(503);
    }
  });
}

/** The Event header split into package and `id` parameter. */
export function parseEventHeader(value: string): { name: string; id: string | null } {
  const [pkg, ...params] = value.split(";");
  let id: string | null = null;
  for (const p of params) {
    const [k, v] = p.split("=");
    if (k?.trim().toLowerCase() === "id") id = (v ?? "").trim();
  }
  return { name: (pkg ?? "").trim().toLowerCase(), id };
}

/** The SUBSCRIBE/NOTIFY core. */
export class EventCore {
  #o: EventCoreOptions;
  #limits: EventLimits;
  #packages = new Map<string, EventPackage>();
  #subs = new Map<string, Sub>();
  #closed = false;

  constructor(options: EventCoreOptions) {
    this.#o = options;
    this.#limits = { ...DEFAULT_EVENT_LIMITS, ...options.limits };
    if (this.#limits.minExpires > this.#limits.maxExpires) {
      throw new RangeError(
        `minExpires ${this.#limits.minExpires} is above maxExpires ${this.#limits.maxExpires}`,
      );
    }
  }

  /** The limits in force. */
  get limits(): Readonly<EventLimits> {
    return this.#limits;
  }

  /** Register a package; throws TypeError when one of that name exists. Returns an unregister function. */
  register(pkg: EventPackage): () => void {
    const name = pkg.name.toLowerCase();
    if (this.#packages.has(name)) throw new TypeError(`event package "${name}" is already registered`);
    this.#packages.set(name, pkg);
    return () => {
      if (this.#packages.get(name) === pkg) this.#packages.delete(name);
    };
  }

  /** Package names for `Allow-Events`. */
  allowEvents(): string[] {
    return [...this.#packages.keys()];
  }

  /** Active subscriptions (optionally of one package and resource), for the API and tests. */
  subscriptions(filter: { event?: string; resource?: string } = {}): SubscriptionView[] {
    return [...this.#subs.values()].filter((s) =>
      !s.terminated && (filter.event === undefined || s.event === filter.event) &&
      (filter.resource === undefined || s.resource === filter.resource)
    );
  }

  /**
   * The dispatcher hook: takes every SUBSCRIBE (new or in-dialog) and returns true; anything else
   * returns false.
   */
  handleRequest(req: SipRequest, tx: EventServerTransaction | undefined, source: Peer): boolean {
    if (req.method !== "SUBSCRIBE") return false;
    // In-dialog SUBSCRIBEs go through the registry when there is one (see EventCoreOptions.registry).
    if (this.#o.registry !== undefined && getTagOf(getHeader(req, "To")) !== undefined) return false;
    if (!tx) return true;
    try {
      this.#subscribe(req, tx, source);
    } catch (e) {
      this.#o.log.warn("SUBSCRIBE handling failed", { error: e as Error });
      try {
        tx.respond(createResponse(req, 500));
      } catch { /* already answered */ }
    }
    return true;
  }

  /**
   * Tell subscribers of `event` for `resource` that its state changed. `change` goes to the
   * package's `render` (e.g. the one dialog that changed, for partial state).
   */
  notify(event: string, resource: string, change?: unknown): number {
    let n = 0;
    for (const s of this.#subs.values()) {
      if (s.terminated || s.event !== event || s.resource !== resource) continue;
      this.#send(s, "change", change);
      n++;
    }
    return n;
  }

  /** End every subscription of `event` (optionally for one resource) with a final NOTIFY. */
  terminate(event: string, options: { resource?: string; reason?: string } = {}): void {
    for (const s of [...this.#subs.values()]) {
      if (s.event !== event || (options.resource !== undefined && s.resource !== options.resource)) continue;
      this.#end(s, options.reason ?? "noresource");
    }
  }

  /**
   * Resume the subscriptions in the store (after a restart): each gets a full-state NOTIFY in its
   * stored dialog. Expired ones and those of packages no longer registered are dropped. The CSeq
   * and package counters jump ahead, since the ones of NOTIFYs sent after the last store write
   * are not stored.
   */
  restore(): number {
    const store = this.#o.store;
    if (!store) return 0;
    let n = 0;
    for (const st of store.list()) {
      if (this.#subs.has(st.id)) continue;
      if (st.expiresAt <= this.#o.clock.wallNow() || !this.#packages.has(st.event)) {
        store.remove(st.id);
        continue;
      }
      const dialog = new Dialog({ ...st.dialog, localSeq: (st.dialog.localSeq ?? 0) + 1000 });
      const data = { ...st.data };
      if (typeof data.version === "number") data.version += 1000;
      const sub = this.#make({ ...st, data, dialog });
      this.#arm(sub);
      this.#send(sub, "refresh");
      n++;
    }
    if (n > 0) this.#o.log.info("subscriptions resumed after restart", { count: n });
    return n;
  }

  /** Stop timers. Stored subscriptions stay stored, so a restart resumes them. */
  close(): void {
    this.#closed = true;
    for (const s of this.#subs.values()) {
      if (s.timer !== undefined) this.#o.clock.clearTimeout(s.timer);
      this.#o.registry?.linger(s.dialog.callId, s.dialog.localTag);
    }
    this.#subs.clear();
  }

  /** Send one NOTIFY outside any subscription (check-sync); resolves with the final status. */
  sendUnsolicited(request: SipRequest, target: Peer): Promise<number> {
    return sendUnsolicitedNotify(this.#o.transactions, request, target);
  }

  /** Our Contact (name-addr). */
  get contact(): string {
    return `<sip:pbx@${this.#o.publicAddress}:${this.#o.sipPort}>`;
  }

  // ------------------------------------------------------------------------------------------

  #respond(tx: EventServerTransaction, res: SipResponse, delayMs = 0): void {
    if (delayMs <= 0) tx.respond(res);
    else this.#o.clock.setTimeout(() => tx.respond(res), delayMs);
  }

  #subscribe(req: SipRequest, tx: EventServerTransaction, source: Peer): void {
    const eventValue = getHeader(req, "Event");
    const toTag = getTagOf(getHeader(req, "To"));
    if (toTag !== undefined) return this.#inDialog(req, tx, source, toTag);
    if (eventValue === undefined) {
      return tx.respond(createResponse(req, 400, { reason: "Bad Request (no Event header)" }));
    }
    const event = parseEventHeader(eventValue);
    const pkg = this.#packages.get(event.name);
    let subscriber = "";
    if (pkg?.authenticate !== false) {
      const auth = this.#o.authorizer.authorize(req, source);
      if (!auth.ok) return this.#respond(tx, auth.response, auth.delayMs);
      subscriber = auth.username;
    }
    if (!pkg) return tx.respond(this.#badEvent(req));
    const accept = getHeader(req, "Accept");
    if (accept !== undefined && accept.trim() !== "" && !acceptsAny(accept, pkg.accept)) {
      const res = createResponse(req, 406, {
        reason: `Not Acceptable (this package sends ${pkg.accept[0]})`,
      });
      addHeader(res, "Accept", pkg.accept.join(", "));
      return tx.respond(res);
    }
    const expires = this.#expires(req, tx, pkg);
    if (expires === undefined) return;
    let resource: string;
    try {
      resource = parseUri(req.uri).user ?? "";
    } catch {
      return tx.respond(createResponse(req, 400, { reason: "Bad Request (unparsable Request-URI)" }));
    }
    if (!pkg.oneShot) {
      const live = [...this.#subs.values()].filter((s) => !s.terminated);
      if (live.length >= this.#limits.total) {
        this.#o.log.warn("subscription refused: box limit reached", { limit: this.#limits.total });
        return tx.respond(this.#busy(req, "too many subscriptions"));
      }
      const fromSource = live.filter((s) => s.peer.address === source.address).length;
      if (fromSource >= this.#limits.perSource) {
        this.#o.log.warn("subscription refused: per-source limit reached", {
          source: source.address,
          limit: this.#limits.perSource,
        });
        return tx.respond(this.#busy(req, "too many subscriptions from this address"));
      }
    }
    const localTag = newTag();
    let dialog: Dialog;
    try {
      dialog = Dialog.fromUasRequest(req, localTag, this.contact);
    } catch (e) {
      return tx.respond(
        createResponse(req, 400, { reason: `Bad Request (${(e as Error).message})`.slice(0, 120) }),
      );
    }
    const sub = this.#make({
      id: dialog.key,
      event: pkg.name,
      eventId: event.id,
      resource,
      subscriber,
      dialog,
      peer: source,
      expiresAt: this.#o.clock.wallNow() + expires * 1000,
      data: {},
    });
    const refusal = pkg.authorize?.(sub, req, source);
    if (refusal) {
      this.#drop(sub);
      return tx.respond(
        createResponse(req, refusal.status, { reason: refusal.reason, headers: refusal.headers ?? [] }),
      );
    }
    const granted = pkg.oneShot ? 0 : expires;
    tx.respond(createResponse(req, 200, {
      toTag: localTag,
      headers: [{ name: "Expires", value: String(granted) }, { name: "Contact", value: this.contact }],
    }));
    this.#o.log.info("subscription", { event: pkg.name, resource, subscriber, expires: granted });
    if (granted === 0) {
      // A fetch (Expires: 0, RFC 6665 section 4.2.1.1) or a one-shot package: one final NOTIFY.
      this.#end(sub, "timeout", "initial");
      return;
    }
    this.#arm(sub);
    this.#send(sub, "initial");
    this.#o.store?.put(this.#stored(sub)); // after the NOTIFY: its CSeq and package data are stored
  }

  #inDialog(req: SipRequest, tx: EventServerTransaction, source: Peer, toTag: string): void {
    const callId = getHeader(req, "Call-ID") ?? "";
    const fromTag = getTagOf(getHeader(req, "From")) ?? "";
    const sub = this.#subs.get(dialogKey(callId, toTag, fromTag));
    if (!sub || sub.terminated) {
      return tx.respond(createResponse(req, 481, { reason: "Subscription Does Not Exist" }));
    }
    const pkg = this.#packages.get(sub.event);
    const event = parseEventHeader(getHeader(req, "Event") ?? "");
    if (!pkg || event.name !== sub.event || event.id !== sub.eventId) {
      return tx.respond(this.#badEvent(req));
    }
    if (pkg.authenticate !== false) {
      const auth = this.#o.authorizer.authorize(req, source);
      if (!auth.ok) return this.#respond(tx, auth.response, auth.delayMs);
      if (auth.username !== sub.subscriber) {
        return tx.respond(createResponse(req, 403, { reason: "Forbidden (not your subscription)" }));
      }
    }
    if (!sub.dialog.acceptsRequest(req)) {
      return tx.respond(createResponse(req, 500, { reason: "Server Internal Error (CSeq out of order)" }));
    }
    const expires = this.#expires(req, tx, pkg);
    if (expires === undefined) return;
    sub.peer = source;
    tx.respond(createResponse(req, 200, {
      headers: [{ name: "Expires", value: String(expires) }, { name: "Contact", value: this.contact }],
    }));
    if (expires === 0) {
      this.#o.log.info("unsubscribe", { event: sub.event, resource: sub.resource });
      this.#end(sub, "timeout");
      return;
    }
    sub.expiresAt = this.#o.clock.wallNow() + expires * 1000;
    this.#arm(sub);
    this.#send(sub, "refresh");
    this.#o.store?.put(this.#stored(sub));
  }

  /** Negotiated expiry in seconds, or undefined after answering 400/423. */
  #expires(req: SipRequest, tx: EventServerTransaction, pkg: EventPackage): number | undefined {
    const raw = getHeader(req, "Expires");
    let expires = this.#limits.defaultExpires;
    if (raw !== undefined) {
      if (!/^\s*\d{1,10}\s*$/.test(raw)) {
        tx.respond(createResponse(req, 400, { reason: `Bad Request (Expires "${raw.slice(0, 20)}")` }));
        return undefined;
      }
      expires = Number(raw);
    }
    if (pkg.oneShot || expires === 0) return 0;
    if (expires < this.#limits.minExpires) {
      const res = createResponse(req, 423, { reason: "Interval Too Brief" });
      addHeader(res, "Min-Expires", String(this.#limits.minExpires));
      tx.respond(res);
      return undefined;
    }
    return Math.min(expires, this.#limits.maxExpires);
  }

  #badEvent(req: SipRequest): SipResponse {
    const res = createResponse(req, 489, { reason: "Bad Event" });
    addHeader(res, "Allow-Events", this.allowEvents().join(", "));
    return res;
  }

  #busy(req: SipRequest, why: string): SipResponse {
    const res = createResponse(req, 503, { reason: `Service Unavailable (${why})` });
    addHeader(res, "Retry-After", "60");
    return res;
  }

  #make(st: Omit<StoredSubscription, "dialog"> & { dialog: Dialog }): Sub {
    const sub: Sub = {
      ...st,
      timer: undefined,
      inFlight: false,
      queued: undefined,
      finalReason: undefined,
      terminated: false,
    };
    this.#subs.set(sub.id, sub);
    this.#o.registry?.register(sub.dialog.callId, sub.dialog.localTag, {
      kind: "subscription",
      handle: (req, tx, source) => {
        if (tx === undefined) return;
        if (req.method !== "SUBSCRIBE") {
          // Only SUBSCRIBE refreshes come in a subscription's dialog (RFC 6665 section 4.1.2).
          return tx.respond(createResponse(req, 405, { headers: [{ name: "Allow", value: "SUBSCRIBE" }] }));
        }
        try {
          this.#inDialog(req, tx, source, sub.dialog.localTag);
        } catch (e) {
          this.#o.log.warn("SUBSCRIBE handling failed", { error: e as Error });
          try {
            tx.respond(createResponse(req, 500));
          } catch { /* already answered */ }
        }
      },
    });
    return sub;
  }

  /** Forget a subscription; its dialog lingers in the registry for late retransmissions. */
  #drop(s: Sub): void {
    if (this.#subs.get(s.id) !== s) return;
    this.#subs.delete(s.id);
    this.#o.registry?.linger(s.dialog.callId, s.dialog.localTag);
  }

  #stored(s: Sub): StoredSubscription {
    const d = s.dialog;
    return {
      id: s.id,
      event: s.event,
      eventId: s.eventId,
      resource: s.resource,
      subscriber: s.subscriber,
      dialog: {
        callId: d.callId,
        localTag: d.localTag,
        remoteTag: d.remoteTag,
        localSeq: d.localSeq,
        remoteSeq: d.remoteSeq,
        localUri: d.localUri,
        remoteUri: d.remoteUri,
        remoteTarget: d.remoteTarget,
        routeSet: [...d.routeSet],
        secure: d.secure,
        localContact: d.localContact,
      },
      peer: { ...s.peer },
      expiresAt: s.expiresAt,
      data: s.data,
    };
  }

  #arm(s: Sub): void {
    if (s.timer !== undefined) this.#o.clock.clearTimeout(s.timer);
    const ms = Math.max(0, s.expiresAt - this.#o.clock.wallNow());
    s.timer = this.#o.clock.setTimeout(() => {
      s.timer = undefined;
      this.#o.log.info("subscription expired", { event: s.event, resource: s.resource });
      this.#end(s, "timeout");
    }, ms);
  }

  /** Final NOTIFY with `terminated;reason=...`, then forget the subscription. */
  #end(s: Sub, reason: string, why: NotifyReason = "final"): void {
    if (s.terminated) return;
    s.terminated = true;
    s.finalReason = reason;
    if (s.timer !== undefined) this.#o.clock.clearTimeout(s.timer);
    s.timer = undefined;
    this.#o.store?.remove(s.id);
    if (s.inFlight) s.queued = "final";
    else this.#transmit(s, why, undefined);
  }

  #send(s: Sub, reason: NotifyReason, change?: unknown): void {
    if (s.terminated) return;
    if (s.inFlight) {
      s.queued = "state"; // coalesced: the next NOTIFY carries full state
      return;
    }
    this.#transmit(s, reason, change);
  }

  #forget(s: Sub): void {
    s.terminated = true;
    if (s.timer !== undefined) this.#o.clock.clearTimeout(s.timer);
    s.timer = undefined;
    this.#drop(s);
    this.#o.store?.remove(s.id);
  }

  #transmit(s: Sub, reason: NotifyReason, change: unknown): void {
    if (this.#closed) return;
    const pkg = this.#packages.get(s.event);
    if (!pkg) return this.#forget(s);
    const final = s.terminated;
    const remaining = Math.max(0, Math.round((s.expiresAt - this.#o.clock.wallNow()) / 1000));
    const state = final
      ? `terminated;reason=${s.finalReason ?? "noresource"}`
      : `active;expires=${remaining}`;
    let body;
    try {
      body = pkg.render(s, final ? (reason === "initial" ? "initial" : "final") : reason, change);
    } catch (e) {
      this.#o.log.warn("event package failed to render", { event: s.event, error: e as Error });
      body = { contentType: pkg.accept[0] ?? "text/plain", body: "" };
    }
    const req = s.dialog.createRequest("NOTIFY", {
      via: { transport: s.peer.transport, host: this.#o.publicAddress, port: this.#o.sipPort },
      headers: [
        { name: "Event", value: s.eventId === null ? s.event : `${s.event};id=${s.eventId}` },
        { name: "Subscription-State", value: state },
        { name: "User-Agent", value: "pbx-appliance" },
      ],
      body: body.body,
      contentType: body.contentType,
    });
    s.inFlight = true;
    const done = (status: number) => {
      s.inFlight = false;
      if (final) {
        this.#drop(s);
        return;
      }
      if (status >= 300 && status !== 401 && status !== 407 && status !== 491) {
        // RFC 6665 section 4.2.2: a NOTIFY refused (481 above all) or unanswered ends the subscription.
        this.#o.log.info("subscription dropped: NOTIFY refused", {
          event: s.event,
          resource: s.resource,
          status,
        });
        this.#forget(s);
        return;
      }
      const q = s.queued;
      s.queued = undefined;
      if (q === "final") this.#transmit(s, "final", undefined);
      else if (q === "state" && !s.terminated) this.#transmit(s, "change", undefined);
    };
    try {
      this.#o.transactions.sendRequest(req, s.peer, {
        onResponse: (res) => {
          if (res.status >= 200) done(res.status);
        },
        onTimeout: () => done(408),
        onTransportError: () => done(503),
      });
    } catch (e) {
      this.#o.log.warn("NOTIFY could not be sent", { event: s.event, error: e as Error });
      s.inFlight = false;
      this.#forget(s);
    }
  }
}

function getTagOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = /;\s*tag\s*=\s*([^;>\s,]+)/i.exec(value.replace(/"[^"]*"/g, ""));
  return m?.[1];
}

function acceptsAny(accept: string, offered: readonly string[]): boolean {
  const types = accept.split(",").map((t) => (t.split(";")[0] ?? "").trim().toLowerCase());
  return offered.some((o) => {
    const [main] = o.toLowerCase().split("/");
    return types.some((t) => t === "*/*" || t === o.toLowerCase() || t === `${main}/*`);
  });
}
