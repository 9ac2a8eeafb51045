/**
 * SIP session timers (RFC 4028): what the box offers and accepts, and the per-dialog timer that
 * refreshes a session or ends it when the refresher stops refreshing. Pure negotiation functions
 * plus one small class on the injected clock; the B2BUA sends the requests.
 */
import { getHeader, getHeaderValues, type SipMessage } from "../sip/message/mod.ts";
import type { Clock, TimerId } from "../clock/mod.ts";

/** Session timer settings of the box. */
export interface SessionTimerConfig {
  /** Session interval the box offers and accepts at most, seconds; 0 = session timers off. */
  expiresSec: number;
  /** Smallest interval accepted (Min-SE, RFC 4028 section 5); RFC 4028 requires at least 90. */
  minSeSec: number;
}

/** Defaults: 30 minutes (RFC 4028 recommends 1800 s), Min-SE 90 s. */
export const SESSION_TIMER_DEFAULTS: SessionTimerConfig = { expiresSec: 1800, minSeSec: 90 };

/** Who refreshes: the UAC or the UAS of the dialog's initial INVITE. */
export type Refresher = "uac" | "uas";

/** A parsed Session-Expires header field. */
export interface SessionExpires {
  seconds: number;
  refresher?: Refresher;
}

/** Session-Expires of a request or response; undefined when absent or malformed. */
export function sessionExpiresOf(msg: SipMessage): SessionExpires | undefined {
  const v = getHeader(msg, "Session-Expires");
  if (v === undefined) return undefined;
  const [first = "", ...params] = v.split(";");
  if (!/^\s*\d{1,10}\s*$/.test(first)) return undefined;
  const seconds = Number(first.trim());
  if (seconds < 1) return undefined;
  const out: SessionExpires = { seconds };
  for (const p of params) {
    const [k = "", val = ""] = p.split("=");
    if (k.trim().toLowerCase() !== "refresher") continue;
    const r = val.trim().toLowerCase();
    if (r === "uac" || r === "uas") out.refresher = r;
  }
  return out;
}

/** Min-SE of a request or response (seconds), undefined when absent or malformed. */
export function minSeOf(msg: SipMessage): number | undefined {
  const v = getHeader(msg, "Min-SE")?.split(";")[0]?.trim();
  return v !== undefined && /^\d{1,10}$/.test(v) ? Number(v) : undefined;
}

/** Whether an option tag is listed in a header (Supported, Require). */
export function hasOptionTag(msg: SipMessage, header: string, tag: string): boolean {
  return getHeaderValues(msg, header).some((t) => t.trim().toLowerCase() === tag);
}

/** Whether a method is in the Allow header field of a message. */
export function allows(msg: SipMessage, method: string): boolean {
  return getHeaderValues(msg, "Allow").some((m) => m.trim().toUpperCase() === method);
}

/** What the box (as UAS) does with an initial INVITE (RFC 4028 section 9). */
export type UasDecision =
  | { kind: "none" }
  | { kind: "reject"; minSeSec: number }
  | {
    kind: "timer";
    seconds: number;
    refresher: Refresher;
    /** The UAC supports timers: the 2xx carries Require: timer. */
    require: boolean;
  };

/**
 * Decide on the caller's INVITE: 422 when its Session-Expires is below the box's Min-SE; else the
 * interval (the caller's, capped at the box's) and the refresher. A caller that names one gets it;
 * else the caller refreshes when it supports timers, and the box itself when the caller only allows
 * UPDATE (the box refreshes with UPDATE). Without either, no timer (RFC 4028 section 9: only the
 * UAS as refresher, which needs a way to refresh the caller accepts).
 */
export function decideUas(invite: SipMessage, config: SessionTimerConfig): UasDecision {
  if (config.expiresSec <= 0) return { kind: "none" };
  const se = sessionExpiresOf(invite);
  if (se !== undefined && se.seconds < config.minSeSec) return { kind: "reject", minSeSec: config.minSeSec };
  const supported = hasOptionTag(invite, "Supported", "timer") || hasOptionTag(invite, "Require", "timer");
  const seconds = Math.min(se?.seconds ?? config.expiresSec, config.expiresSec);
  const interval = Math.max(seconds, minSeOf(invite) ?? 0, config.minSeSec);
  if (supported) {
    return { kind: "timer", seconds: interval, refresher: se?.refresher ?? "uac", require: true };
  }
  if (allows(invite, "UPDATE")) return { kind: "timer", seconds: interval, refresher: "uas", require: false };
  return { kind: "none" };
}

/** The headers of a 2xx that accepts a session timer (and of the answer to each refresh). */
export function uasHeaders(d: Extract<UasDecision, { kind: "timer" }>): { name: string; value: string }[] {
  const out = [{ name: "Session-Expires", value: `${d.seconds};refresher=${d.refresher}` }];
  if (d.require) out.push({ name: "Require", value: "timer" });
  return out;
}

/** The headers the box adds to an INVITE it sends (the offer of a session timer, section 7.1). */
export function uacOfferHeaders(config: SessionTimerConfig): { name: string; value: string }[] {
  if (config.expiresSec <= 0) return [];
  return [
    { name: "Supported", value: "timer" },
    { name: "Session-Expires", value: String(config.expiresSec) },
    { name: "Min-SE", value: String(config.minSeSec) },
  ];
}

/**
 * The timer of a dialog the box sent the INVITE for, from the callee's 2xx (section 7.2): none
 * when the 2xx carries no Session-Expires; else who refreshes (refresher=uac means the box).
 */
export function decideUac(ok: SipMessage): { seconds: number; weRefresh: boolean } | undefined {
  const se = sessionExpiresOf(ok);
  if (se === undefined) return undefined;
  return { seconds: se.seconds, weRefresh: se.refresher !== "uas" };
}

/** How the box's own refresh went. */
export type RefreshOutcome = "ok" | "failed" | "retry";

/** Options of a {@linkcode SessionTimer}. */
export interface SessionTimerOptions {
  clock: Clock;
  seconds: number;
  /** The box refreshes (at half the interval); otherwise it waits for the peer's refreshes. */
  weRefresh: boolean;
  /** Send a refresh (UPDATE or re-INVITE); resolves with how it went. */
  refresh(): Promise<RefreshOutcome>;
  /** The session expired (no refresh came, or the box's refresh failed): end the call. */
  expired(why: "no-refresh" | "refresh-failed"): void;
}

/** One dialog's session timer. */
export class SessionTimer {
  #o: SessionTimerOptions;
  #timer: TimerId | undefined;
  #seconds: number;
  #stopped = false;

  constructor(options: SessionTimerOptions) {
    this.#o = options;
    this.#seconds = options.seconds;
    this.#arm();
  }

  /** The session interval now in force, seconds. */
  get seconds(): number {
    return this.#seconds;
  }

  /** Whether the box is the refresher. */
  get weRefresh(): boolean {
    return this.#o.weRefresh;
  }

  /** The peer refreshed the session (a re-INVITE or UPDATE arrived): start the interval again. */
  refreshed(seconds?: number): void {
    if (this.#stopped) return;
    if (seconds !== undefined && seconds > 0) this.#seconds = seconds;
    this.#arm();
  }

  /** The call ended. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    const { clock } = this.#o;
    if (this.#timer !== undefined) clock.clearTimeout(this.#timer);
    const ms = this.#seconds * 1000;
    if (this.#o.weRefresh) {
      // Section 10: the refresher refreshes at half the interval.
      this.#timer = clock.setTimeout(() => void this.#refresh(), ms / 2);
    } else {
      // Section 10: the other side sends BYE at the interval minus min(32 s, a third of it).
      this.#timer = clock.setTimeout(() => this.#expire("no-refresh"), ms - Math.min(32_000, ms / 3));
    }
  }

  async #refresh(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    let outcome: RefreshOutcome;
    try {
      outcome = await this.#o.refresh();
    } catch {
      outcome = "failed";
    }
    if (this.#stopped) return;
    if (outcome === "failed") return this.#expire("refresh-failed");
    if (outcome === "retry") {
      // Another request was in progress (glare): try again shortly, within the interval.
      this.#timer = this.#o.clock.setTimeout(() => void this.#refresh(), Math.min(2000, this.#seconds * 100));
      return;
    }
    this.#arm();
  }

  #expire(why: "no-refresh" | "refresh-failed"): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    this.#stopped = true;
    this.#o.expired(why);
  }
}
