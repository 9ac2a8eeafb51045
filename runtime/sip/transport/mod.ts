/**
 * SIP transport (RFC 3261 section 18, RFC 3581): UDP and TCP on one port, Via stamping on receive,
 * Via-based response routing, TCP framing, keepalives and connection reuse.
 *
 * @module
 */
export {
  startTransports,
  type TransportErrorInfo,
  type TransportLayer,
  type TransportLogger,
  type TransportOptions,
} from "./transport.ts";
