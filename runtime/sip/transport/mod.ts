/**
 * SIP transport (RFC 3261 sections 18 and 26, RFC 3581): UDP and TCP on one port, TLS on its own, Via stamping on receive,
 * Via-based response routing, TCP framing, keepalives and connection reuse.
 *
 * @module
 */
export {
  startTransports,
  type TlsListenOptions,
  type TransportErrorInfo,
  type TransportLayer,
  type TransportLogger,
  type TransportOptions,
} from "./transport.ts";
