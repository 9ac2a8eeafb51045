import type { SipMessage } from "./types.ts";

/** Options for {@link SipParseError}. */
export interface SipParseErrorOptions {
  /** What could be read of the message (start line and headers), to answer with a 4xx/5xx. */
  partial?: SipMessage;
  /** The status a server should answer a request with (400, 505 or 513). Default 400. */
  status?: number;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * A SIP message could not be parsed or framed (RFC 3261 section 7, RFC 4475).
 *
 * When the start line and headers were readable, `partial` carries them so a server can still build
 * a response (Via, From, To, Call-ID, CSeq). `status` says which response fits: 400 Bad Request,
 * 505 Version Not Supported, or 513 Message Too Large.
 */
export class SipParseError extends SyntaxError {
  /** The readable part of the message, when there was one. */
  readonly partial?: SipMessage;
  /** The response status a server should send for a request that failed this way. */
  readonly status: number;

  /** Creates a parse error; see {@link SipParseErrorOptions}. */
  constructor(message: string, options: SipParseErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SipParseError";
    this.status = options.status ?? 400;
    if (options.partial !== undefined) this.partial = options.partial;
  }
}

/**
 * A message (or the headers of one) is larger than the configured limit. A server answers a request
 * with 513 Message Too Large (RFC 3261 section 21.5.14); on a stream the connection is unusable.
 */
export class MessageTooLargeError extends SipParseError {
  /** The size seen or announced, in bytes. */
  readonly size: number;
  /** The configured maximum, in bytes. */
  readonly limit: number;

  /** Creates the error for a message of `size` bytes over `limit`. */
  constructor(size: number, limit: number, options: Omit<SipParseErrorOptions, "status"> = {}) {
    super(`SIP message of ${size} bytes exceeds the limit of ${limit} bytes`, { ...options, status: 513 });
    this.name = "MessageTooLargeError";
    this.size = size;
    this.limit = limit;
  }
}
