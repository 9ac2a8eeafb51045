/**
 * Intercom: the auto-answer header each phone vendor understands, sent on the INVITE to the called
 * extension (sources in provisioning/templates/SOURCES.md, "Intercom / auto-answer").
 *
 * - Grandstream, Polycom, Cisco, Snom, Gigaset, AudioCodes: `Call-Info: <sip:box>;answer-after=0`
 *   (answer after 0 seconds);
 * - Yealink: `Alert-Info: <sip:box>;info=alert-autoanswer;delay=0` besides Call-Info (Yealink phones
 *   take `info=alert-autoanswer` from Alert-Info once provisioned to, and answer-after too);
 * - unknown vendor (no provisioning record): both headers, which most phones accept one of.
 * @module
 */

/** A header to add to the callee's INVITE. */
export interface Header {
  name: string;
  value: string;
}

/** The auto-answer headers for a phone of `vendor` (as the device record spells it), for box `uri`. */
export function autoAnswerHeaders(vendor: string | null | undefined, uri: string): Header[] {
  const callInfo = { name: "Call-Info", value: `<${uri}>;answer-after=0` };
  const alertInfo = { name: "Alert-Info", value: `<${uri}>;info=alert-autoanswer;delay=0` };
  switch ((vendor ?? "").toLowerCase()) {
    case "grandstream":
    case "polycom":
    case "cisco":
    case "snom":
      return [callInfo];
    case "yealink":
      return [callInfo, alertInfo];
    default:
      return [callInfo, alertInfo];
  }
}
