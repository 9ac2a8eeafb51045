/**
 * SDP (RFC 8866) parsing and serialization, media helpers, and the offer/answer model (RFC 3264).
 * Pure functions over plain data; knows nothing of SIP transport or RTP sockets.
 *
 * @module
 */

export type {
  Attribute,
  Bandwidth,
  Codec,
  CodecPreference,
  Connection,
  Direction,
  MediaDescription,
  Origin,
  OtherLine,
  SessionDescription,
  Timing,
} from "./types.ts";
export { parseSdp, serializeSdp } from "./parse.ts";
export {
  answerDirection,
  attributeValue,
  codecsOf,
  connectionAddressOf,
  directionOf,
  hasAttribute,
  isComfortNoise,
  isHold,
  isTelephoneEvent,
  maxPtimeOf,
  ptimeOf,
  type RtcpAddress,
  rtcpMuxOf,
  rtcpOf,
  rtpClockRate,
  STATIC_PAYLOAD_TYPES,
  staticPayloadType,
  telephoneEventOf,
} from "./media.ts";
export {
  bumpVersion,
  createAnswer,
  type CreateAnswerOptions,
  createOffer,
  type CreateOfferOptions,
  negotiate,
  negotiateAudio,
  type Negotiated,
  type NegotiateOptions,
  rewriteConnection,
  type RewriteConnectionOptions,
} from "./offer_answer.ts";
