/** Read-only TFTP server (RFC 1350, 2347, 2348, 2349, 7440) and its packet codec. */
export {
  checkTftpPath,
  MAX_BLKSIZE,
  MIN_BLKSIZE,
  startTftpServer,
  type TftpClient,
  type TftpLogger,
  type TftpServer,
  type TftpServerOptions,
} from "./server.ts";
export {
  decodePacket,
  encodeAck,
  encodeData,
  encodeError,
  encodeOack,
  encodeRequest,
  Opcode,
  TftpErrorCode,
  type TftpPacket,
  toNetascii,
} from "./packet.ts";
