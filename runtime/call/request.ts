/**
 * The request builder: every out-of-dialog request the call layer (and provisioning, events) sends
 * is built here, so no code above the transport writes a Via string by hand. In-dialog requests are
 * built by `Dialog.createRequest()` from the dialog state; both take the box's sent-by from `viaFor`.
 */
import type { Peer, SipHeader, SipRequest } from "../sip/message/types.ts";
import { formatVia } from "../sip/message/mod.ts";
import { newBranch, newCallId, newTag, type ViaAddress } from "../sip/mod.ts";

const TEXT = new TextEncoder();

/** The box's sent-by for a request going out over `transport`. */
export function viaFor(
  box: { publicAddress: string; sipPort: number },
  transport: Peer["transport"],
): ViaAddress {
  return { transport, host: box.publicAddress, port: box.sipPort };
}

/** The box's Contact (name-addr) for a dialog over `transport`. */
export function contactFor(
  box: { publicAddress: string; sipPort: number },
  transport: Peer["transport"],
): string {
  // TLS keeps the plain form here: the transport rewrites it to the TLS port (advertiseTls).
  const t = transport === "tcp" || transport === "ws" || transport === "wss" ? `;transport=${transport}` : "";
  return `<sip:pbx@${box.publicAddress}:${box.sipPort}${t}>`;
}

/** What an out-of-dialog request is made of. */
export interface RequestSpec {
  method: string;
  uri: string;
  /** Our sent-by; a fresh branch (and `rport`, RFC 3581) is added. */
  via: ViaAddress;
  /** From name-addr without tag; a tag is added (`fromTag` or a fresh one). */
  from: string;
  fromTag?: string;
  /** To name-addr (with a tag only inside an existing dialog). */
  to: string;
  callId?: string;
  cseq?: number;
  contact?: string;
  /** Route headers (RFC 3327 Path of the contact), in order. */
  route?: readonly string[];
  /** Extra headers, after the standard ones. */
  headers?: readonly SipHeader[];
  body?: Uint8Array | string;
  contentType?: string;
}

/** Build an out-of-dialog request (RFC 3261 8.1.1): Via, Max-Forwards, From/To/Call-ID/CSeq, Contact. */
export function buildRequest(spec: RequestSpec): SipRequest {
  const host = spec.via.host;
  const headers: SipHeader[] = [{
    name: "Via",
    value: formatVia({
      protocol: "SIP/2.0",
      transport: spec.via.transport.toUpperCase(),
      host,
      port: spec.via.port,
      params: new Map<string, string | null>([["branch", newBranch()], ["rport", null]]),
    }),
  }];
  for (const r of spec.route ?? []) headers.push({ name: "Route", value: r });
  headers.push(
    { name: "Max-Forwards", value: "70" },
    { name: "From", value: `${spec.from};tag=${spec.fromTag ?? newTag()}` },
    { name: "To", value: spec.to },
    { name: "Call-ID", value: spec.callId ?? newCallId(host) },
    { name: "CSeq", value: `${spec.cseq ?? 1} ${spec.method}` },
  );
  if (spec.contact !== undefined) headers.push({ name: "Contact", value: spec.contact });
  for (const h of spec.headers ?? []) headers.push({ name: h.name, value: h.value });
  const body = typeof spec.body === "string" ? TEXT.encode(spec.body) : spec.body ?? new Uint8Array(0);
  if (body.length > 0 && spec.contentType !== undefined) {
    headers.push({ name: "Content-Type", value: spec.contentType });
  }
  return { type: "request", method: spec.method, uri: spec.uri, headers, body };
}
