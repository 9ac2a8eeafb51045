/**
 * Types of the SUBSCRIBE/NOTIFY core (RFC 6665): what an event package is, what a subscription
 * holds, and the store subscriptions are persisted in.
 */
import type { Peer, SipHeader, SipRequest } from "../../sip/message/types.ts";
import type { DialogState } from "../../sip/dialog/mod.ts";

/** A NOTIFY body a package produces. `body` may be empty (e.g. a package without state). */
export interface NotifyBody {
  contentType: string;
  body: string | Uint8Array;
}

/** What a package sees of a subscription when it renders a NOTIFY or decides on a SUBSCRIBE. */
export interface SubscriptionView {
  /** The dialog key (Call-ID, local tag, remote tag). */
  readonly id: string;
  /** Event package name. */
  readonly event: string;
  /** The Event header's `id` parameter, or null. */
  readonly eventId: string | null;
  /** The watched resource: the Request-URI user (an extension number, a mailbox). */
  readonly resource: string;
  /** The authenticated user that subscribed (empty for packages without authentication). */
  readonly subscriber: string;
  /**
   * Package data kept with the subscription and persisted with it (e.g. the RFC 4235 version
   * counter). Must stay JSON-serialisable.
   */
  data: Record<string, unknown>;
}

/** Why a NOTIFY is sent: the first one, a refresh, a state change, or the final one. */
export type NotifyReason = "initial" | "refresh" | "change" | "final";

/** An event package registered on the core. */
export interface EventPackage {
  /** The Event header token ("dialog", "presence", "message-summary"). */
  readonly name: string;
  /** Media types the package sends; an Accept header in the SUBSCRIBE must allow the first. */
  readonly accept: readonly string[];
  /** false: SUBSCRIBE needs no digest credentials (ua-profile at boot). Default true. */
  readonly authenticate?: boolean;
  /**
   * Refuse a subscription: return a status (403, 404) and reason, or undefined to accept. Called
   * after authentication, with the SUBSCRIBE and where it came from (a package may keep what it
   * needs of them in `sub.data`).
   */
  authorize?(
    sub: SubscriptionView,
    request: SipRequest,
    source: Peer,
  ): { status: number; reason: string; headers?: SipHeader[] } | undefined;
  /**
   * The NOTIFY body for `sub`. `change` is what the package passed to `EventCore.notify` (undefined
   * for initial, refresh and final NOTIFYs, and when changes were coalesced: then send full state).
   */
  render(sub: SubscriptionView, reason: NotifyReason, change?: unknown): NotifyBody;
  /**
   * One-shot packages answer with Expires: 0 and a single terminated NOTIFY (ua-profile). Default
   * false.
   */
  readonly oneShot?: boolean;
}

/** A subscription as the store keeps it. */
export interface StoredSubscription {
  id: string;
  event: string;
  eventId: string | null;
  resource: string;
  subscriber: string;
  /** Dialog state (RFC 3261 section 12) used to build every NOTIFY. */
  dialog: DialogState;
  /** Where NOTIFYs go (the SUBSCRIBE's source: works behind NAT). */
  peer: Peer;
  /** Wall-clock ms at which the subscription ends. */
  expiresAt: number;
  data: Record<string, unknown>;
}

/** Persistence for subscriptions, written on create, refresh and removal (not per NOTIFY). */
export interface SubscriptionStore {
  list(): StoredSubscription[];
  put(sub: StoredSubscription): void;
  remove(id: string): void;
}

/** Limits the core enforces; all in seconds or counts. */
export interface EventLimits {
  /** Below this a SUBSCRIBE gets 423 with Min-Expires (default 60). */
  minExpires: number;
  /** Longer requests are cut to this (default 3600). */
  maxExpires: number;
  /** Used when the SUBSCRIBE has no Expires (default 3600, RFC 6665 leaves it to the package). */
  defaultExpires: number;
  /** Subscriptions one source address may hold (default 100). */
  perSource: number;
  /** Subscriptions the box holds in all (default 10000). */
  total: number;
}

/** Defaults for {@link EventLimits}. */
export const DEFAULT_EVENT_LIMITS: EventLimits = {
  minExpires: 60,
  maxExpires: 3600,
  defaultExpires: 3600,
  perSource: 100,
  total: 10_000,
};
