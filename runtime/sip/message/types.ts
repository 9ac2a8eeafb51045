/**
 * The SIP message model shared by every layer of the stack (RFC 3261 section 7).
 *
 * Headers keep their order and repetition exactly as received. Names are stored in their canonical
 * long form (e.g. `v` becomes `Via`, `i` becomes `Call-ID`) so lookups need no compact-form logic.
 * A header line that carried several comma-separated values stays one entry; use
 * `getHeaderValues()` to split it.
 */

/** One header field line: canonical long-form name and the raw (trimmed, unfolded) value. */
export interface SipHeader {
  name: string;
  value: string;
}

/** A SIP request (RFC 3261 section 7.1). */
export interface SipRequest {
  readonly type: "request";
  method: string;
  /** The Request-URI as text. */
  uri: string;
  headers: SipHeader[];
  body: Uint8Array;
}

/** A SIP response (RFC 3261 section 7.2). */
export interface SipResponse {
  readonly type: "response";
  status: number;
  reason: string;
  headers: SipHeader[];
  body: Uint8Array;
}

/** Either kind of SIP message. */
export type SipMessage = SipRequest | SipResponse;

/** Where a message came from or goes to at the transport level. */
export interface Peer {
  /**
   * `tls` is SIP over TLS (RFC 3261 section 26) on the TLS port; `ws`/`wss` SIP over WebSocket
   * (RFC 7118) on the web ports: `port` is then the client's source port, naming its connection.
   */
  transport: "udp" | "tcp" | "tls" | "ws" | "wss";
  address: string;
  port: number;
}
