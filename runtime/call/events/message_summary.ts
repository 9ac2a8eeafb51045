/**
 * The `message-summary` event package (RFC 3842, message waiting). State is set per mailbox
 * through {@link MessageSummaryState.set} (today from the REST API; voicemail will call the same
 * setter). A subscriber may watch only its own mailbox.
 */
import type { EventPackage } from "./types.ts";

/** Media type of the package. */
export const MESSAGE_SUMMARY_TYPE = "application/simple-message-summary";

/** Counts of one mailbox. */
export interface MailboxCounts {
  newMessages: number;
  oldMessages: number;
  urgentNew?: number;
  urgentOld?: number;
}

/** The RFC 3842 body. */
export function messageSummaryBody(account: string, c: MailboxCounts): string {
  const urgent = c.urgentNew !== undefined || c.urgentOld !== undefined
    ? ` (${c.urgentNew ?? 0}/${c.urgentOld ?? 0})`
    : "";
  return `Messages-Waiting: ${c.newMessages > 0 ? "yes" : "no"}\r\n` +
    `Message-Account: ${account}\r\n` +
    `Voice-Message: ${c.newMessages}/${c.oldMessages}${urgent}\r\n`;
}

/** Mailbox counts with change notification. */
export class MessageSummaryState {
  #counts = new Map<string, MailboxCounts>();
  #listeners = new Set<(mailbox: string) => number | void>();

  /** Counts of a mailbox (zeros when never set). */
  get(mailbox: string): MailboxCounts {
    return { ...(this.#counts.get(mailbox) ?? { newMessages: 0, oldMessages: 0 }) };
  }

  /**
   * Set a mailbox's counts; throws RangeError on a negative or non-integer count. Returns how many
   * listeners' subscriptions were notified (what the listeners return, summed).
   */
  set(mailbox: string, counts: MailboxCounts): number {
    for (const [k, v] of Object.entries(counts)) {
      if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 1_000_000)) {
        throw new RangeError(`${k} must be an integer 0..1000000, got ${v}`);
      }
    }
    this.#counts.set(mailbox, { ...counts });
    let n = 0;
    for (const l of this.#listeners) n += l(mailbox) ?? 0;
    return n;
  }

  /** Listen to changes; returns an unsubscribe function. */
  onChange(listener: (mailbox: string) => number | void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** The message-summary package. */
export function messageSummaryPackage(
  options: { state: MessageSummaryState; domain: string; exists(mailbox: string): boolean },
): EventPackage {
  return {
    name: "message-summary",
    accept: [MESSAGE_SUMMARY_TYPE],
    authorize(sub) {
      if (!options.exists(sub.resource)) return { status: 404, reason: "Not Found (no such mailbox)" };
      if (sub.subscriber !== sub.resource) return { status: 403, reason: "Forbidden (not your mailbox)" };
      return undefined;
    },
    render: (sub) => ({
      contentType: MESSAGE_SUMMARY_TYPE,
      body: messageSummaryBody(`sip:${sub.resource}@${options.domain}`, options.state.get(sub.resource)),
    }),
  };
}
