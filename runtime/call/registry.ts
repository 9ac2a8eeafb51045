/**
 * The call registry: the one owner of every dialog the box is a party to, keyed by Call-ID and the
 * box's own tag. The B2BUA and the calls the box answers itself (`LocalCalls`) register their INVITE
 * usages here; an event package can register a subscription usage the same way (`kind:
 * "subscription"`). The dispatcher routes every in-dialog request (a To tag present) through
 * `route()`, so there is one lookup however many features own dialogs.
 *
 * A usage that ends calls `linger()` rather than `unregister()`: its dialog keeps matching late
 * retransmissions (BYE, ACK) for Timer J (32 s, RFC 3261 17.2.2) and then leaves the registry. The
 * registry's `size` is what leak tests check: after every call has ended and lingered it is 0.
 */
import type { Peer, SipRequest } from "../sip/message/types.ts";
import { getHeader, getTag } from "../sip/message/mod.ts";
import type { ServerTransaction } from "../sip/mod.ts";
import type { Clock, TimerId } from "../clock/mod.ts";

/** How long an ended dialog keeps matching retransmissions (RFC 3261 Timer J, 64*T1). */
export const DIALOG_LINGER_MS = 32_000;

/** One usage of a dialog (RFC 5057): an INVITE session or a subscription. */
export interface DialogUsage {
  kind: "invite" | "subscription";
  /** An in-dialog request for this usage; `tx` is undefined for ACK. */
  handle(req: SipRequest, tx: ServerTransaction | undefined, source: Peer): void;
}

/**
 * The tag a header (From or To) carries, or undefined. The one way the call layer reads tags.
 */
export function tagOf(headerValue: string | undefined): string | undefined {
  if (headerValue === undefined) return undefined;
  try {
    return getTag(headerValue) ?? undefined;
  } catch {
    return undefined;
  }
}

function key(callId: string, localTag: string): string {
  return `${callId}\n${localTag}`;
}

/** Owns dialogs by id; see the module doc. */
export class CallRegistry {
  #usages = new Map<string, DialogUsage>();
  #lingering = new Map<string, TimerId>();
  #clock: Clock;
  #lingerMs: number;

  constructor(options: { clock: Clock; lingerMs?: number }) {
    this.#clock = options.clock;
    this.#lingerMs = options.lingerMs ?? DIALOG_LINGER_MS;
  }

  /** Register a usage under Call-ID and the box's tag; a lingering entry under the same key is replaced. */
  register(callId: string, localTag: string, usage: DialogUsage): void {
    const k = key(callId, localTag);
    const t = this.#lingering.get(k);
    if (t !== undefined) {
      this.#clock.clearTimeout(t);
      this.#lingering.delete(k);
    }
    this.#usages.set(k, usage);
  }

  /** The usage for Call-ID and the box's tag. */
  lookup(callId: string, localTag: string): DialogUsage | undefined {
    return this.#usages.get(key(callId, localTag));
  }

  /** Forget a dialog now (a set-up that failed before anything could be retransmitted to it). */
  unregister(callId: string, localTag: string): void {
    const k = key(callId, localTag);
    const t = this.#lingering.get(k);
    if (t !== undefined) this.#clock.clearTimeout(t);
    this.#lingering.delete(k);
    this.#usages.delete(k);
  }

  /** Keep the dialog matching retransmissions for the linger time, then forget it. */
  linger(callId: string, localTag: string): void {
    const k = key(callId, localTag);
    if (!this.#usages.has(k) || this.#lingering.has(k)) return;
    this.#lingering.set(
      k,
      this.#clock.setTimeout(() => {
        this.#lingering.delete(k);
        this.#usages.delete(k);
      }, this.#lingerMs),
    );
  }

  /**
   * Route an in-dialog request by Call-ID and To tag (the box's tag for requests it receives).
   * Returns false when no dialog matches, so the dispatcher answers 481.
   */
  route(req: SipRequest, tx: ServerTransaction | undefined, source: Peer): boolean {
    const toTag = tagOf(getHeader(req, "To"));
    if (toTag === undefined) return false;
    const usage = this.#usages.get(key(getHeader(req, "Call-ID") ?? "", toTag));
    if (usage === undefined) return false;
    usage.handle(req, tx, source);
    return true;
  }

  /** Dialogs registered (live or lingering). */
  get size(): number {
    return this.#usages.size;
  }

  /** Dialogs registered and not lingering (calls and subscriptions in progress). */
  get active(): number {
    return this.#usages.size - this.#lingering.size;
  }
}
