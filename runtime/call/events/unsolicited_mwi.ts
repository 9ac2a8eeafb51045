/**
 * Unsolicited message waiting (the "unsolicited MWI" of Asterisk and most PBXes): a phone that has
 * not subscribed to `message-summary` for its own mailbox still learns about new voicemail, by an
 * out-of-dialog NOTIFY to each of its registered contacts (Yealink, Polycom, Grandstream, Cisco and
 * Snom phones light their lamp on it; a phone set not to accept it answers 481 or 489, which is
 * logged at debug and otherwise ignored). A phone that subscribes gets the subscription's NOTIFYs
 * instead, never both. Sent when a mailbox's counts change and when an extension comes online
 * with messages waiting.
 */
import type { Peer, SipRequest } from "../../sip/message/types.ts";
import type { Binding } from "../../registrar/mod.ts";
import { peerOfBinding } from "../b2bua.ts";
import { buildRequest, contactFor, viaFor } from "../request.ts";
import { type MailboxCounts, MESSAGE_SUMMARY_TYPE, messageSummaryBody } from "./message_summary.ts";

/** The NOTIFY for one registered contact of the mailbox's extension. */
export function unsolicitedMwiRequest(
  binding: Binding,
  counts: MailboxCounts,
  options: { publicAddress: string; sipPort: number },
): { request: SipRequest; target: Peer } {
  const target = peerOfBinding(binding);
  const box = `${options.publicAddress}:${options.sipPort}`;
  const account = `sip:${binding.extension}@${options.publicAddress}`;
  const request = buildRequest({
    method: "NOTIFY",
    uri: binding.contactUri,
    via: viaFor(options, target.transport),
    route: binding.path ?? [],
    from: `<sip:${binding.extension}@${box}>`,
    to: `<sip:${binding.extension}@${box}>`,
    contact: contactFor(options, target.transport),
    headers: [
      { name: "Event", value: "message-summary" },
      // What phones expect of an unsolicited MWI NOTIFY (there is no subscription to end).
      { name: "Subscription-State", value: "active" },
      { name: "User-Agent", value: "pbx-appliance" },
    ],
    body: messageSummaryBody(account, counts),
    contentType: MESSAGE_SUMMARY_TYPE,
  });
  return { request, target };
}
