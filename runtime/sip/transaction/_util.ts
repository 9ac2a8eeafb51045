import { getHeader, getHeaderValues, getTag, parseCSeq, parseVia } from "../message/mod.ts";
import type { SipMessage, SipRequest } from "../message/types.ts";
import { BRANCH_MAGIC_COOKIE } from "./ids.ts";

/** A parsed Via header value as the message module returns it. */
export type Via = ReturnType<typeof parseVia>;

/** The top Via of a message, or undefined when it is absent or unparsable. */
export function topVia(msg: SipMessage): Via | undefined {
  const first = getHeaderValues(msg, "Via")[0];
  if (first === undefined) return undefined;
  try {
    return parseVia(first);
  } catch {
    return undefined;
  }
}

/** The CSeq of a message, or undefined when it is absent or unparsable. */
export function cseqOf(msg: SipMessage): { seq: number; method: string } | undefined {
  const value = getHeader(msg, "CSeq");
  if (value === undefined) return undefined;
  try {
    return parseCSeq(value);
  } catch {
    return undefined;
  }
}

/** The branch parameter of a Via, or undefined. */
export function branchOf(via: Via): string | undefined {
  const b = via.params.get("branch");
  return b === null || b === undefined || b === "" ? undefined : b;
}

/**
 * The server transaction key of a request (RFC 3261 section 17.2.3): branch, sent-by and method, with
 * ACK folded onto INVITE so it finds the INVITE transaction. Requests without the magic cookie fall
 * back to an RFC 2543 style key (Request-URI, From tag, Call-ID, CSeq number, top Via). `method`
 * overrides the request's own method (CANCEL matching, section 9.2).
 */
export function serverKey(req: SipRequest, method = req.method): string | undefined {
  const via = topVia(req);
  if (via === undefined) return undefined;
  const m = method === "ACK" ? "INVITE" : method;
  const branch = branchOf(via);
  if (branch !== undefined && branch.startsWith(BRANCH_MAGIC_COOKIE)) {
    return `${branch}\n${via.host.toLowerCase()}:${via.port ?? ""}\n${m}`;
  }
  const cseq = cseqOf(req);
  const from = getHeader(req, "From");
  const callId = getHeader(req, "Call-ID");
  if (cseq === undefined || from === undefined || callId === undefined) return undefined;
  const via0 = getHeaderValues(req, "Via")[0] ?? "";
  // RFC 2543 ACK for a non-2xx carries the Request-URI of the INVITE, so the URI stays in the key.
  return `2543\n${req.uri}\n${getTag(from) ?? ""}\n${callId}\n${cseq.seq}\n${via0}\n${m}`;
}

/** The client transaction key (section 17.1.3): top Via branch plus CSeq method. */
export function clientKey(msg: SipMessage): string | undefined {
  const via = topVia(msg);
  if (via === undefined) return undefined;
  const branch = branchOf(via);
  const cseq = cseqOf(msg);
  if (branch === undefined || cseq === undefined) return undefined;
  return `${branch}\n${cseq.method}`;
}
