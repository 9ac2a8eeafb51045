/** Building responses to requests (RFC 3261 section 8.2.6). */

import type { SipHeader, SipRequest, SipResponse } from "./types.ts";
import { canonicalHeaderName } from "./headers.ts";
import { getTag } from "./name_addr.ts";

const REASONS: Record<number, string> = {
  100: "Trying",
  180: "Ringing",
  181: "Call Is Being Forwarded",
  182: "Queued",
  183: "Session Progress",
  199: "Early Dialog Terminated",
  200: "OK",
  202: "Accepted",
  204: "No Notification",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Moved Temporarily",
  305: "Use Proxy",
  380: "Alternative Service",
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  410: "Gone",
  412: "Conditional Request Failed",
  413: "Request Entity Too Large",
  414: "Request-URI Too Long",
  415: "Unsupported Media Type",
  416: "Unsupported URI Scheme",
  417: "Unknown Resource-Priority",
  420: "Bad Extension",
  421: "Extension Required",
  422: "Session Interval Too Small",
  423: "Interval Too Brief",
  428: "Use Identity Header",
  429: "Provide Referrer Identity",
  430: "Flow Failed",
  433: "Anonymity Disallowed",
  436: "Bad Identity-Info",
  437: "Unsupported Certificate",
  438: "Invalid Identity Header",
  439: "First Hop Lacks Outbound Support",
  440: "Max-Breadth Exceeded",
  469: "Bad Info Package",
  470: "Consent Needed",
  480: "Temporarily Unavailable",
  481: "Call/Transaction Does Not Exist",
  482: "Loop Detected",
  483: "Too Many Hops",
  484: "Address Incomplete",
  485: "Ambiguous",
  486: "Busy Here",
  487: "Request Terminated",
  488: "Not Acceptable Here",
  489: "Bad Event",
  491: "Request Pending",
  493: "Undecipherable",
  494: "Security Agreement Required",
  500: "Server Internal Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Server Time-out",
  505: "Version Not Supported",
  513: "Message Too Large",
  555: "Push Notification Service Not Supported",
  580: "Precondition Failure",
  600: "Busy Everywhere",
  603: "Decline",
  604: "Does Not Exist Anywhere",
  606: "Not Acceptable",
  607: "Unwanted",
  608: "Rejected",
};

const CLASS_REASONS = [
  "",
  "Provisional",
  "Success",
  "Redirection",
  "Client Error",
  "Server Error",
  "Global Failure",
];

/** The standard reason phrase for a status code; a generic one for its class when unregistered. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? CLASS_REASONS[Math.floor(status / 100)] ?? "";
}

/** 64 random bits as hex (section 19.3 asks for at least 32). */
function randomTag(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** Options for {@link createResponse}. */
export interface CreateResponseOptions {
  /** Reason phrase; defaults to {@link reasonPhrase}. */
  reason?: string;
  /**
   * Tag added to To when the request's To has none (the UAS's dialog tag). Without it, every
   * response but 100 gets a fresh random tag (section 8.2.6.2: a UAS adds a tag to the To of a
   * response to a request outside a dialog, e.g. OPTIONS and REGISTER). `null` leaves To as it is
   * (responses a UAC synthesises for itself, section 8.1.3.1, come from no UAS).
   */
  toTag?: string | null;
  /** Extra headers appended after the copied ones. */
  headers?: SipHeader[];
  /** Response body. */
  body?: Uint8Array;
  /** Content-Type for the body. */
  contentType?: string;
}

/**
 * Builds a response to `req` (RFC 3261 section 8.2.6.2): copies every Via in order, From, To (adding
 * `toTag`, or a random tag unless the status is 100, when To has no tag yet), Call-ID and CSeq, and
 * Timestamp for a 100 (section 8.2.6.1).
 * Record-Route is not copied; dialog-creating responses add it themselves. Throws RangeError for a
 * status outside 100..699.
 */
export function createResponse(
  req: SipRequest,
  status: number,
  options: CreateResponseOptions = {},
): SipResponse {
  if (!Number.isInteger(status) || status < 100 || status > 699) {
    throw new RangeError(`SIP status must be an integer in 100..699, got ${status}`);
  }
  const headers: SipHeader[] = [];
  for (const h of req.headers) if (h.name === "Via") headers.push({ name: "Via", value: h.value });
  for (const name of ["From", "To", "Call-ID", "CSeq"]) {
    const h = req.headers.find((x) => x.name === name);
    if (h === undefined) continue;
    let value = h.value;
    if (name === "To" && getTag(value) === undefined) {
      const tag = options.toTag === null
        ? undefined
        : options.toTag ?? (status === 100 ? undefined : randomTag());
      if (tag !== undefined) value += `;tag=${tag}`;
    }
    headers.push({ name, value });
  }
  if (status === 100) {
    const ts = req.headers.find((x) => x.name === "Timestamp");
    if (ts !== undefined) headers.push({ name: "Timestamp", value: ts.value });
  }
  if (options.headers) {
    for (const h of options.headers) headers.push({ name: canonicalHeaderName(h.name), value: h.value });
  }
  if (options.contentType !== undefined) headers.push({ name: "Content-Type", value: options.contentType });
  return {
    type: "response",
    status,
    reason: options.reason ?? reasonPhrase(status),
    headers,
    body: options.body ?? new Uint8Array(0),
  };
}
