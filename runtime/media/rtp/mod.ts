/** RTP and RTCP packet handling, RFC 4733 telephone-event payloads. @module */
export {
  decodeTelephoneEvent,
  encodeTelephoneEvent,
  parseRtp,
  readU32,
  RTP_HEADER_SIZE,
  type RtpHeader,
  type RtpHeaderFields,
  setRtpPayloadType,
  TELEPHONE_EVENT_SIZE,
  type TelephoneEvent,
  writeRtpHeader,
  writeU32,
} from "./rtp.ts";
export {
  buildRtcpRr,
  buildRtcpSr,
  looksLikeRtcp,
  parseRtcp,
  readReportBlocks,
  type ReportBlock,
  type RtcpPacket,
  RtcpType,
  type SenderReport,
  toNtp,
} from "./rtcp.ts";
