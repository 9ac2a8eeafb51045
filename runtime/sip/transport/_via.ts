import { formatVia, getHeaderValues, parseVia } from "../message/mod.ts";
import type { Peer, SipMessage, SipRequest } from "../message/types.ts";

/** Strip IPv6 brackets and the IPv4-mapped prefix so addresses compare as plain text. */
export function normalizeAddress(address: string): string {
  let a = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  if (a.toLowerCase().startsWith("::ffff:") && a.includes(".")) a = a.slice(7);
  return a.toLowerCase();
}

/**
 * Stamp the top Via of an inbound request with where it really came from (RFC 3261 section 18.2.1,
 * RFC 3581 section 4): `received` when the sent-by host differs from the source address (always
 * when `rport` is present), and the source port in an empty `rport`. Over TCP the source port is
 * always recorded, so that `sendResponse()` can find the connection the request arrived on
 * (section 18.2.2 asks for that association). Returns false when the request has no usable Via.
 */
export function stampVia(req: SipRequest, source: Peer): boolean {
  const index = req.headers.findIndex((h) => h.name === "Via");
  const header = req.headers[index];
  if (header === undefined) return false;
  // A header line may hold several Via values; only the first one is stamped.
  const values = getHeaderValues({ ...req, headers: [header] } as SipMessage, "Via");
  const first = values[0];
  if (first === undefined) return false;
  let via;
  try {
    via = parseVia(first);
  } catch {
    return false;
  }
  const address = normalizeAddress(source.address);
  const rport = via.params.get("rport");
  const forceRport = source.transport === "tcp" && !via.params.has("rport");
  if (rport === null || forceRport) {
    via.params.set("rport", String(source.port));
    via.params.set("received", address);
  } else if (normalizeAddress(via.host) !== address) {
    via.params.set("received", address);
  } else {
    return true;
  }
  header.value = formatVia(via);
  if (values.length > 1) req.headers.splice(index + 1, 0, { name: "Via", value: values.slice(1).join(", ") });
  return true;
}
