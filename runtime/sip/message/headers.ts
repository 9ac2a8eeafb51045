/**
 * Header lookup and editing on the message model: names are matched case-insensitively and compact
 * forms (RFC 3261 section 7.3.3 and later extensions) are understood.
 */

import type { SipHeader, SipMessage } from "./types.ts";
import { splitListRaw } from "./_scan.ts";

const KNOWN_HEADERS = [
  "Accept",
  "Accept-Contact",
  "Accept-Encoding",
  "Accept-Language",
  "Accept-Resource-Priority",
  "Alert-Info",
  "Allow",
  "Allow-Events",
  "Answer-Mode",
  "Authentication-Info",
  "Authorization",
  "Call-ID",
  "Call-Info",
  "Contact",
  "Content-Disposition",
  "Content-Encoding",
  "Content-Language",
  "Content-Length",
  "Content-Transfer-Encoding",
  "Content-Type",
  "CSeq",
  "Date",
  "Diversion",
  "Error-Info",
  "Event",
  "Expires",
  "Flow-Timer",
  "From",
  "History-Info",
  "Identity",
  "Identity-Info",
  "In-Reply-To",
  "Join",
  "Max-Breadth",
  "Max-Forwards",
  "MIME-Version",
  "Min-Expires",
  "Min-SE",
  "Organization",
  "P-Access-Network-Info",
  "P-Asserted-Identity",
  "P-Called-Party-ID",
  "P-Charging-Vector",
  "P-Preferred-Identity",
  "Path",
  "Priority",
  "Privacy",
  "Proxy-Authenticate",
  "Proxy-Authorization",
  "Proxy-Require",
  "RAck",
  "Reason",
  "Record-Route",
  "Refer-Sub",
  "Refer-To",
  "Referred-By",
  "Reject-Contact",
  "Remote-Party-ID",
  "Replaces",
  "Reply-To",
  "Request-Disposition",
  "Require",
  "Resource-Priority",
  "Retry-After",
  "Route",
  "RSeq",
  "Security-Client",
  "Security-Server",
  "Security-Verify",
  "Server",
  "Service-Route",
  "Session-Expires",
  "Session-ID",
  "SIP-ETag",
  "SIP-If-Match",
  "Subject",
  "Subscription-State",
  "Supported",
  "Target-Dialog",
  "Timestamp",
  "To",
  "Unsupported",
  "User-Agent",
  "Via",
  "Warning",
  "WWW-Authenticate",
];

/** Compact forms: RFC 3261 7.3.3, RFC 3265 (o, u), RFC 3515 (r), RFC 3892 (b), RFC 4028 (x),
 * RFC 4474 (y, n), RFC 3841 (a, j, d). */
const COMPACT: Record<string, string> = {
  a: "Accept-Contact",
  b: "Referred-By",
  c: "Content-Type",
  d: "Request-Disposition",
  e: "Content-Encoding",
  f: "From",
  i: "Call-ID",
  j: "Reject-Contact",
  k: "Supported",
  l: "Content-Length",
  m: "Contact",
  n: "Identity-Info",
  o: "Event",
  r: "Refer-To",
  s: "Subject",
  t: "To",
  u: "Allow-Events",
  v: "Via",
  x: "Session-Expires",
  y: "Identity",
};

const CANONICAL = new Map<string, string>();
for (const h of KNOWN_HEADERS) CANONICAL.set(h.toLowerCase(), h);
for (const [k, v] of Object.entries(COMPACT)) CANONICAL.set(k, v);

/** Headers whose single value may contain commas, so they are never split into a list. */
const NOT_LISTS = new Set([
  "Authentication-Info",
  "Authorization",
  "Call-ID",
  "Content-Disposition",
  "Content-Length",
  "Content-Type",
  "CSeq",
  "Date",
  "Event",
  "Expires",
  "From",
  "Identity",
  "Identity-Info",
  "Max-Forwards",
  "MIME-Version",
  "Min-Expires",
  "Min-SE",
  "Organization",
  "Priority",
  "Proxy-Authenticate",
  "Proxy-Authorization",
  "RAck",
  "Refer-To",
  "Referred-By",
  "Replaces",
  "Reply-To",
  "Retry-After",
  "RSeq",
  "Server",
  "Session-Expires",
  "SIP-ETag",
  "SIP-If-Match",
  "Subject",
  "Subscription-State",
  "Timestamp",
  "To",
  "User-Agent",
  "WWW-Authenticate",
]);

/**
 * The canonical long form of a header name: compact forms expand (`v` -> `Via`), well-known names
 * get their registered capitalization (`call-id` -> `Call-ID`), unknown names are returned trimmed.
 */
export function canonicalHeaderName(name: string): string {
  const trimmed = name.trim();
  return CANONICAL.get(trimmed.toLowerCase()) ?? trimmed;
}

/** True when `h` is the header `canonical` (already canonical). Unknown names compare caselessly. */
function matches(h: SipHeader, canonical: string, lower: string): boolean {
  return h.name === canonical || (h.name.length === lower.length && h.name.toLowerCase() === lower);
}

/** The value of the first header named `name` (any case, compact forms accepted), if present. */
export function getHeader(msg: SipMessage, name: string): string | undefined {
  const canonical = canonicalHeaderName(name);
  const lower = canonical.toLowerCase();
  for (const h of msg.headers) {
    if (matches(h, canonical, lower)) return h.value;
  }
  return undefined;
}

/**
 * All values of the header `name`, in order. Comma-separated lines are split at top-level commas
 * (never inside quotes or <...>) except for headers whose values hold commas (WWW-Authenticate,
 * Authorization, Date, ...), which are returned whole. Empty list elements are dropped.
 */
export function getHeaderValues(msg: SipMessage, name: string): string[] {
  const canonical = canonicalHeaderName(name);
  const lower = canonical.toLowerCase();
  const split = !NOT_LISTS.has(canonical);
  const out: string[] = [];
  for (const h of msg.headers) {
    if (!matches(h, canonical, lower)) continue;
    if (!split || h.value.indexOf(",") < 0) {
      out.push(h.value);
      continue;
    }
    for (const v of splitListRaw(h.value)) if (v.length > 0) out.push(v);
  }
  return out;
}

/** True when the header `name` is never split into a comma-separated list by getHeaderValues. */
export function isSingleValueHeader(name: string): boolean {
  return NOT_LISTS.has(canonicalHeaderName(name));
}

/** Removes every header named `name`; returns how many were removed. */
export function removeHeader(msg: SipMessage, name: string): number {
  const canonical = canonicalHeaderName(name);
  const lower = canonical.toLowerCase();
  const before = msg.headers.length;
  msg.headers = msg.headers.filter((h) => !matches(h, canonical, lower));
  return before - msg.headers.length;
}

/** Replaces all headers named `name` with one header, at the position of the first one (or last). */
export function setHeader(msg: SipMessage, name: string, value: string): void {
  const canonical = canonicalHeaderName(name);
  const lower = canonical.toLowerCase();
  const idx = msg.headers.findIndex((h) => matches(h, canonical, lower));
  if (idx < 0) {
    msg.headers.push({ name: canonical, value });
    return;
  }
  msg.headers = msg.headers.filter((h, i) => i === idx || !matches(h, canonical, lower));
  msg.headers[idx] = { name: canonical, value };
}

/** Appends a header (after all existing ones). */
export function addHeader(msg: SipMessage, name: string, value: string): void {
  msg.headers.push({ name: canonicalHeaderName(name), value });
}

/**
 * Inserts a header before the first existing header of the same name (e.g. a new topmost Via or
 * Record-Route), or at the very top when there is none.
 */
export function prependHeader(msg: SipMessage, name: string, value: string): void {
  const canonical = canonicalHeaderName(name);
  const lower = canonical.toLowerCase();
  const idx = msg.headers.findIndex((h) => matches(h, canonical, lower));
  msg.headers.splice(idx < 0 ? 0 : idx, 0, { name: canonical, value });
}

/**
 * A copy of `s` that does not share memory with the text it was cut from. Header values are slices
 * of the whole received message text (V8 keeps the parent string of a slice alive), so state kept
 * for the length of a call (dialogs, call ids) copies them out rather than pinning every message.
 */
export function detachString(s: string): string {
  // The concatenation is flattened into a new string by slice(); the result refers only to that copy.
  return s.length === 0 ? s : (" " + s).slice(1);
}
