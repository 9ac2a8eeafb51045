/**
 * What the call engine needs to send a call out of a trunk or take one in from it, as plain data a
 * feature (runtime/features/trunks) computes and the B2BUA sends: the outbound leg (Request-URI,
 * next hop, From/To, caller-ID headers, offered codecs, extra body parts such as a PIDF-LO) and the
 * decision on an inbound request. The engine never reads trunk configuration itself.
 * @module
 */
import type { SipHeader } from "../sip/message/types.ts";

/** One outbound INVITE toward a trunk. */
export interface OutboundLeg {
  /** The trunk's id (live calls and channel counts carry it). */
  trunk: string;
  /** Request-URI, e.g. `sip:15551234567@carrier.example`. */
  uri: string;
  /** Next hop (the carrier or its outbound proxy). */
  target: { transport: "udp" | "tcp"; address: string; port: number };
  /** From name-addr without a tag. */
  from: string;
  /** To name-addr. */
  to: string;
  /** Extra headers: P-Asserted-Identity, Privacy, Geolocation, Identity, ... */
  headers: readonly SipHeader[];
  /** Codec names offered (upper case, e.g. PCMU); empty or absent: what the caller offered. */
  codecs?: readonly string[];
  /** Body parts sent with the SDP as multipart/mixed (RFC 6442: a PIDF-LO by Content-ID). */
  parts?: readonly BodyPart[];
  /** Digest credentials for a carrier that challenges INVITEs (401/407): answered once per fork. */
  auth?: { username: string; password: string };
  /** How digits go to the trunk: RFC 4733 (default), SIP INFO (dtmf-relay), or tones in the audio. */
  dtmf?: TrunkDtmf;
}

/** A trunk's DTMF mode. */
export type TrunkDtmf = "rfc4733" | "info" | "inband";

/** A body part of a multipart/mixed body. */
export interface BodyPart {
  contentType: string;
  /** Content-ID without angle brackets (`loc-1@pbx.local`), referenced as `cid:` from a header. */
  contentId?: string;
  body: string;
}

/** A trunk step's set-up: the leg to send, or a refusal (`failover`: the route's next trunk may try). */
export type OutboundDecision =
  | { ok: true; leg: OutboundLeg }
  | { ok: false; status: number; reason: string; failover?: boolean };

/** What a trunk destination is asked with at call time. */
export interface OutboundRequest {
  trunk: string;
  /** The number to send (after strip/prepend). */
  number: string;
  /** The outbound route it came from (its class and caller ID), if any. */
  route?: string | undefined;
  /** The calling extension (or the number a trunk delivered, for a call forwarded out). */
  caller: string;
  /**
   * The extension the call goes out for when that is not the caller: the one whose forwarding or
   * follow-me sent it out, or the one an application places the call for. Permissions and the fraud
   * guard are checked against it (default `caller`).
   */
  onBehalfOf?: string | undefined;
  /** The caller's Call-ID (one call, however many trunks it tries). */
  callId: string;
  /** The number as dialled. */
  dialled: string;
}

/** How an INVITE from a trunk is taken in. */
export type InboundDecision =
  | {
    kind: "accept";
    trunk: string;
    caller: string;
    /** The DID, looked up in the inbound scope. */
    dialled: string;
    /** URI parameters for the caller's From toward phones (RFC 8588 `verstat=...`). */
    callerParams?: string;
    /** The trunk's DTMF mode (digits from the phone go back to it so). */
    dtmf?: TrunkDtmf;
  }
  | { kind: "refuse"; status: number; reason: string };

/** Build a multipart/mixed body (RFC 2046) of the SDP and `parts`; returns body and Content-Type. */
export function multipartBody(
  sdp: string,
  parts: readonly BodyPart[],
): { body: string; contentType: string } {
  const boundary = `pbx-${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  let body = `--${boundary}\r\nContent-Type: application/sdp\r\n\r\n${sdp}`;
  if (!body.endsWith("\r\n")) body += "\r\n";
  for (const p of parts) {
    body += `--${boundary}\r\nContent-Type: ${p.contentType}\r\n`;
    if (p.contentId !== undefined) body += `Content-ID: <${p.contentId}>\r\n`;
    body += `\r\n${p.body}`;
    if (!body.endsWith("\r\n")) body += "\r\n";
  }
  body += `--${boundary}--\r\n`;
  return { body, contentType: `multipart/mixed;boundary=${boundary}` };
}
