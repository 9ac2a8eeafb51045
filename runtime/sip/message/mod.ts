/**
 * The SIP message layer (RFC 3261 section 7): parse and serialize messages, look up and edit
 * headers, parse URIs, name-addrs, Via and CSeq values, build responses, and frame TCP streams.
 *
 * @module
 */

export type { Peer, SipHeader, SipMessage, SipRequest, SipResponse } from "./types.ts";
export { MessageTooLargeError, SipParseError, type SipParseErrorOptions } from "./errors.ts";
export { parseMessage } from "./parse.ts";
export { serializeMessage } from "./serialize.ts";
export {
  addHeader,
  canonicalHeaderName,
  detachString,
  getHeader,
  getHeaderValues,
  isSingleValueHeader,
  prependHeader,
  removeHeader,
  setHeader,
} from "./headers.ts";
export { formatUri, parseUri, type SipUri, uriUnescape } from "./uri.ts";
export { formatNameAddr, getTag, type NameAddr, parseNameAddr } from "./name_addr.ts";
export { type CSeq, formatVia, parseCSeq, parseVia, type Via } from "./via.ts";
export { createResponse, type CreateResponseOptions, reasonPhrase } from "./response.ts";
export { type StreamFrame, StreamFramer, type StreamFramerOptions } from "./stream_framer.ts";
