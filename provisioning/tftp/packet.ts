/**
 * TFTP packet encoding and decoding (RFC 1350, options per RFC 2347).
 * Pure functions: no sockets here, so the parser can be fed hostile bytes in tests.
 */

/** TFTP opcodes (RFC 1350 section 5, RFC 2347 for OACK). */
export const Opcode = {
  RRQ: 1,
  WRQ: 2,
  DATA: 3,
  ACK: 4,
  ERROR: 5,
  OACK: 6,
} as const;

/** TFTP error codes (RFC 1350 appendix, RFC 2347 code 8). */
export const TftpErrorCode = {
  NOT_DEFINED: 0,
  FILE_NOT_FOUND: 1,
  ACCESS_VIOLATION: 2,
  DISK_FULL: 3,
  ILLEGAL_OPERATION: 4,
  UNKNOWN_TID: 5,
  FILE_EXISTS: 6,
  NO_SUCH_USER: 7,
  OPTION_REFUSED: 8,
} as const;

/** A decoded TFTP packet. Option names are lower-cased (RFC 2347: case-insensitive). */
export type TftpPacket =
  | { op: "rrq" | "wrq"; filename: string; mode: string; options: Map<string, string> }
  | { op: "data"; block: number; data: Uint8Array }
  | { op: "ack"; block: number }
  | { op: "error"; code: number; message: string }
  | { op: "oack"; options: Map<string, string> };

const decoder = new TextDecoder("latin1");
const encoder = new TextEncoder();

function readStrings(buf: Uint8Array, start: number): string[] {
  const out: string[] = [];
  let i = start;
  while (i < buf.length) {
    const end = buf.indexOf(0, i);
    if (end < 0) throw new SyntaxError(`TFTP string at offset ${i} is not NUL-terminated`);
    out.push(decoder.decode(buf.subarray(i, end)));
    i = end + 1;
  }
  return out;
}

/** Decode one datagram; throws SyntaxError naming what is wrong for anything malformed. */
export function decodePacket(buf: Uint8Array): TftpPacket {
  if (buf.length < 2) throw new SyntaxError(`TFTP packet too short: ${buf.length} bytes`);
  const op = (buf[0]! << 8) | buf[1]!;
  switch (op) {
    case Opcode.RRQ:
    case Opcode.WRQ: {
      const parts = readStrings(buf, 2);
      if (parts.length < 2) throw new SyntaxError("TFTP request lacks filename or mode");
      if (parts.length % 2 !== 0) throw new SyntaxError("TFTP request has an option without a value");
      const options = new Map<string, string>();
      for (let i = 2; i < parts.length; i += 2) options.set(parts[i]!.toLowerCase(), parts[i + 1]!);
      return {
        op: op === Opcode.RRQ ? "rrq" : "wrq",
        filename: parts[0]!,
        mode: parts[1]!.toLowerCase(),
        options,
      };
    }
    case Opcode.DATA:
      if (buf.length < 4) throw new SyntaxError(`TFTP DATA too short: ${buf.length} bytes`);
      return { op: "data", block: (buf[2]! << 8) | buf[3]!, data: buf.subarray(4) };
    case Opcode.ACK:
      if (buf.length < 4) throw new SyntaxError(`TFTP ACK too short: ${buf.length} bytes`);
      return { op: "ack", block: (buf[2]! << 8) | buf[3]! };
    case Opcode.ERROR: {
      if (buf.length < 4) throw new SyntaxError(`TFTP ERROR too short: ${buf.length} bytes`);
      const end = buf.indexOf(0, 4);
      const message = decoder.decode(buf.subarray(4, end < 0 ? buf.length : end));
      return { op: "error", code: (buf[2]! << 8) | buf[3]!, message };
    }
    case Opcode.OACK: {
      const parts = readStrings(buf, 2);
      if (parts.length % 2 !== 0) throw new SyntaxError("TFTP OACK has an option without a value");
      const options = new Map<string, string>();
      for (let i = 0; i < parts.length; i += 2) options.set(parts[i]!.toLowerCase(), parts[i + 1]!);
      return { op: "oack", options };
    }
    default:
      throw new SyntaxError(`unknown TFTP opcode ${op}`);
  }
}

/** Encode a DATA packet. */
export function encodeData(block: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  out[1] = Opcode.DATA;
  out[2] = (block >> 8) & 0xff;
  out[3] = block & 0xff;
  out.set(data, 4);
  return out;
}

/** Encode an ACK packet. */
export function encodeAck(block: number): Uint8Array {
  return Uint8Array.of(0, Opcode.ACK, (block >> 8) & 0xff, block & 0xff);
}

/** Encode an ERROR packet. */
export function encodeError(code: number, message: string): Uint8Array {
  const msg = encoder.encode(message);
  const out = new Uint8Array(5 + msg.length);
  out[1] = Opcode.ERROR;
  out[2] = (code >> 8) & 0xff;
  out[3] = code & 0xff;
  out.set(msg, 4);
  return out;
}

function encodeStrings(op: number, strings: string[]): Uint8Array {
  const parts = strings.map((s) => encoder.encode(s));
  const out = new Uint8Array(2 + parts.reduce((n, p) => n + p.length + 1, 0));
  out[1] = op;
  let i = 2;
  for (const p of parts) {
    out.set(p, i);
    i += p.length + 1;
  }
  return out;
}

/** Encode an OACK packet. */
export function encodeOack(options: Map<string, string>): Uint8Array {
  return encodeStrings(Opcode.OACK, [...options].flat());
}

/** Encode a read (or write) request; used by tests and tools. */
export function encodeRequest(
  op: "rrq" | "wrq",
  filename: string,
  options: { mode?: string; options?: Record<string, string> } = {},
): Uint8Array {
  const opts = Object.entries(options.options ?? {}).flat();
  return encodeStrings(op === "rrq" ? Opcode.RRQ : Opcode.WRQ, [filename, options.mode ?? "octet", ...opts]);
}

/** Convert bytes to netascii (RFC 764): LF -> CR LF, bare CR -> CR NUL. */
export function toNetascii(data: Uint8Array): Uint8Array {
  let extra = 0;
  for (const b of data) if (b === 10 || b === 13) extra++;
  if (extra === 0) return data;
  const out = new Uint8Array(data.length + extra);
  let j = 0;
  for (const b of data) {
    if (b === 10) {
      out[j++] = 13;
      out[j++] = 10;
    } else if (b === 13) {
      out[j++] = 13;
      out[j++] = 0;
    } else out[j++] = b;
  }
  return out;
}
