/**
 * The `refer` event package (RFC 3515): the implicit subscription a REFER creates. The call engine's
 * REFER handling answers 202 and then reports progress of the triggered INVITE with
 * `notifyReferProgress("SIP/2.0 180 Ringing")`; a final status line (>= 200) ends the subscription
 * (`terminated;reason=noresource`). NOTIFYs travel in the REFER's dialog, so they take their CSeq
 * from the dialog object the engine owns.
 */
import type { Peer, SipRequest } from "../../sip/message/types.ts";
import type { DialogRequestOptions } from "../../sip/dialog/mod.ts";
import type { EventTransactions } from "./core.ts";

/** Media type of the refer package. */
export const SIPFRAG_TYPE = "message/sipfrag;version=2.0";

/** What the refer subscription needs of the dialog the REFER came in (runtime/sip's Dialog fits). */
export interface ReferDialog {
  createRequest(method: string, options: DialogRequestOptions): SipRequest;
}

/** Options for {@link startReferSubscription}. */
export interface ReferSubscriptionOptions {
  transactions: EventTransactions;
  dialog: ReferDialog;
  /** Where the referrer is reached. */
  peer: Peer;
  /** Our Via sent-by. */
  via: DialogRequestOptions["via"];
  /** The REFER's CSeq number: the `id` parameter of the Event header (RFC 3515 section 2.4.6). */
  referCSeq?: number;
  /** Seconds the implicit subscription lasts (Subscription-State expires), default 60. */
  expires?: number;
}

/** The implicit subscription of one REFER. */
export interface ReferSubscription {
  /**
   * Send a NOTIFY with `statusLine` (e.g. "SIP/2.0 100 Trying") as sipfrag. Resolves with the
   * referrer's answer status (408 on timeout). After a final status line further calls do nothing
   * and resolve 0.
   */
  notifyReferProgress(statusLine: string): Promise<number>;
  /** True once a final status was sent or the referrer refused a NOTIFY. */
  readonly terminated: boolean;
}

/** Start the implicit subscription; send the first NOTIFY (100 Trying) yourself right after the 202. */
export function startReferSubscription(options: ReferSubscriptionOptions): ReferSubscription {
  let terminated = false;
  const expires = options.expires ?? 60;
  const event = options.referCSeq === undefined ? "refer" : `refer;id=${options.referCSeq}`;
  return {
    get terminated() {
      return terminated;
    },
    notifyReferProgress(statusLine) {
      if (terminated) return Promise.resolve(0);
      const m = /^SIP\/2\.0 (\d{3})(?: .*)?$/.exec(statusLine.trim());
      if (!m) throw new SyntaxError(`not a SIP status line: "${statusLine.slice(0, 60)}"`);
      const final = Number(m[1]) >= 200;
      if (final) terminated = true;
      const req = options.dialog.createRequest("NOTIFY", {
        via: options.via,
        headers: [
          { name: "Event", value: event },
          {
            name: "Subscription-State",
            value: final ? "terminated;reason=noresource" : `active;expires=${expires}`,
          },
        ],
        body: `${statusLine.trim()}\r\n`,
        contentType: SIPFRAG_TYPE,
      });
      return new Promise((resolve) => {
        options.transactions.sendRequest(req, options.peer, {
          onResponse: (res) => {
            if (res.status < 200) return;
            if (res.status >= 300) terminated = true; // 481: the referrer is gone
            resolve(res.status);
          },
          onTimeout: () => {
            terminated = true;
            resolve(408);
          },
          onTransportError: () => {
            terminated = true;
            resolve(503);
          },
        });
      });
    },
  };
}
