/**
 * Unsolicited NOTIFYs (sent through the events core's `sendUnsolicitedNotify`): out-of-dialog NOTIFYs the box sends to phones: today `check-sync`, which makes a phone fetch its
 * configuration now (re-provisioning). Yealink, Polycom, Grandstream and Snom act on
 * `Event: check-sync` (with `;reboot=false` the Yealink and Grandstream phones reload without a
 * restart); Cisco SPA/MPP phones use `Event: resync`. The phone answers 200, or refuses (e.g. 481
 * or 489) when it is set not to accept unsolicited NOTIFYs.
 */
import type { Peer, SipRequest } from "../../sip/message/types.ts";
import type { Binding } from "../../registrar/mod.ts";
import { peerOfBinding } from "../b2bua.ts";
import { buildRequest, contactFor, viaFor } from "../request.ts";
import { type EventTransactions, sendUnsolicitedNotify } from "./core.ts";

/** The Event header value that makes a phone of `vendor` re-fetch its configuration. */
export function checkSyncEvent(vendor: string | undefined): string {
  return vendor?.toLowerCase() === "cisco" ? "resync" : "check-sync;reboot=false";
}

/** Build the NOTIFY for one registered contact. */
export function checkSyncRequest(
  binding: Binding,
  options: { publicAddress: string; sipPort: number; vendor?: string | undefined },
): { request: SipRequest; target: Peer } {
  const target = peerOfBinding(binding);
  const box = `${options.publicAddress}:${options.sipPort}`;
  const request = buildRequest({
    method: "NOTIFY",
    uri: binding.contactUri,
    via: viaFor(options, target.transport),
    // RFC 3327: a contact registered through proxies is reached along its Path.
    route: binding.path ?? [],
    from: `<sip:pbx@${box}>`,
    to: `<sip:${binding.extension}@${box}>`,
    contact: contactFor(options, target.transport),
    headers: [
      { name: "Event", value: checkSyncEvent(options.vendor) },
      // An unsolicited NOTIFY has no subscription behind it (RFC 6665): say it is over.
      { name: "Subscription-State", value: "terminated" },
      { name: "User-Agent", value: "pbx-appliance" },
    ],
  });
  return { request, target };
}

/**
 * Send check-sync to every contact in `bindings`; resolves with each contact's final status
 * (408 when it did not answer, 503 when it could not be reached).
 */
export function sendCheckSync(
  bindings: readonly Binding[],
  options: {
    transactions: EventTransactions;
    publicAddress: string;
    sipPort: number;
    vendor?: string | undefined;
  },
): Promise<{ contact: string; status: number }[]> {
  return Promise.all(bindings.map(async (b) => {
    const { request, target } = checkSyncRequest(b, options);
    return {
      contact: b.contactUri,
      status: await sendUnsolicitedNotify(options.transactions, request, target),
    };
  }));
}
