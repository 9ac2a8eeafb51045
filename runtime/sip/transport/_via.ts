import {
  formatNameAddr,
  formatUri,
  formatVia,
  getHeaderValues,
  parseNameAddr,
  parseUri,
  parseVia,
} from "../message/mod.ts";
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
  const forceRport = source.transport !== "udp" && !via.params.has("rport");
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

/**
 * The box's own addresses in a message leaving on a TLS connection: a top Via `SIP/2.0/TLS` whose
 * sent-by port is the plain SIP port gets the TLS port, and a single Contact at the plain SIP port
 * without a TLS transport gets the TLS port and `transport=tls` (`sips:` when the request's
 * Request-URI is `sips:`, RFC 3261 section 8.1.1.8). The call layer builds its Via and Contact
 * from one SIP port; this keeps phones on TLS talking to the TLS port. REGISTER responses are
 * left alone (their Contacts are the phone's bindings), so are Contacts naming other ports.
 */
export function advertiseTls(msg: SipMessage, ports: { plain: number; tls: number }): void {
  if (ports.plain === ports.tls) return;
  if (msg.type === "request") {
    const index = msg.headers.findIndex((h) => h.name === "Via");
    const header = msg.headers[index];
    if (header !== undefined) {
      const values = getHeaderValues({ ...msg, headers: [header] } as SipMessage, "Via");
      try {
        const via = parseVia(values[0] ?? "");
        if (via.transport === "TLS" && (via.port === undefined || via.port === ports.plain)) {
          via.port = ports.tls;
          values[0] = formatVia(via);
          header.value = values.join(", ");
        }
      } catch {
        // not ours to fix
      }
    }
  } else {
    const cseq = msg.headers.find((h) => h.name === "CSeq")?.value ?? "";
    if (/\bREGISTER\s*$/i.test(cseq)) return;
  }
  const contacts = msg.headers.filter((h) => h.name === "Contact");
  if (contacts.length !== 1) return;
  const contact = contacts[0]!;
  try {
    const na = parseNameAddr(contact.value);
    const uri = parseUri(na.uri);
    if (uri.scheme !== "sip" && uri.scheme !== "sips") return;
    if ((uri.port ?? 5060) !== ports.plain) return;
    const t = uri.params.get("transport")?.toLowerCase();
    if (t !== undefined && t !== "udp" && t !== "tcp") return;
    uri.port = ports.tls;
    if (msg.type === "request" && msg.uri.toLowerCase().startsWith("sips:")) {
      uri.scheme = "sips";
      uri.params.delete("transport");
    } else if (uri.scheme === "sip") uri.params.set("transport", "tls");
    contact.value = formatNameAddr({ ...na, uri: formatUri(uri) });
  } catch {
    // an unparsable Contact stays as it is
  }
}
