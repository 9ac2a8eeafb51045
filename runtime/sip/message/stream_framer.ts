/**
 * Cuts a byte stream (TCP, TLS) into SIP messages (RFC 3261 section 18.3) and keep-alive pings
 * (RFC 5626 section 3.5.1).
 */

import type { SipMessage } from "./types.ts";
import { MessageTooLargeError, SipParseError } from "./errors.ts";
import { findHeaderEnd, headError, type ParsedHead, parseHead } from "./parse.ts";

const decoder = new TextDecoder();

/**
 * One item cut from the stream. Exactly one of `message`, `error` or `ping` is set.
 * - `message`: a complete, valid message.
 * - `error`: a framed but invalid message (`fatal` false: answer 400 and carry on), or a framing
 *   failure (`fatal` true: answer if `error.partial` allows, then close the connection; the framer
 *   yields nothing more). A {@link MessageTooLargeError} is always fatal (answer 513).
 * - `ping`: a CRLFCRLF keep-alive; the transport answers with a single CRLF pong.
 */
export interface StreamFrame {
  /** The exact bytes consumed for this item. */
  raw: Uint8Array;
  message?: SipMessage;
  error?: SipParseError;
  fatal?: boolean;
  ping?: true;
}

/** Options for {@link StreamFramer}. */
export interface StreamFramerOptions {
  /** Largest message (headers and body) accepted, in bytes. Default 65535. */
  maxMessageSize?: number;
}

interface Pending {
  head: ParsedHead;
  bodyOffset: number;
  total: number;
}

/**
 * Incremental framer for stream transports. Feed bytes with {@link push}, then call {@link next}
 * until it returns undefined. It never throws on bad input; see {@link StreamFrame}.
 */
export class StreamFramer {
  #buf: Uint8Array = new Uint8Array(4096);
  #start = 0;
  #end = 0;
  #scanFrom = 0;
  #pending: Pending | undefined;
  #broken = false;
  readonly #max: number;

  /** Creates a framer; `maxMessageSize` defaults to 65535 bytes. */
  constructor(options: StreamFramerOptions = {}) {
    const max = options.maxMessageSize ?? 65535;
    if (!Number.isInteger(max) || max < 64) {
      throw new RangeError(`maxMessageSize must be an integer >= 64, got ${max}`);
    }
    this.#max = max;
  }

  /** Bytes received but not yet returned by {@link next}. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** True after a fatal framing error: the connection should be closed. */
  get broken(): boolean {
    return this.#broken;
  }

  /** Appends received bytes. Ignored after a fatal error. */
  push(chunk: Uint8Array): void {
    if (this.#broken || chunk.length === 0) return;
    const need = this.#end + chunk.length;
    if (need > this.#buf.length) {
      const live = this.#end - this.#start;
      if (live + chunk.length <= this.#buf.length && this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        const bigger = new Uint8Array(Math.max(this.#buf.length * 2, live + chunk.length));
        bigger.set(this.#buf.subarray(this.#start, this.#end), 0);
        this.#buf = bigger;
      }
      this.#scanFrom = Math.max(0, this.#scanFrom - this.#start);
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  #take(n: number): Uint8Array {
    const raw = this.#buf.slice(this.#start, this.#start + n);
    this.#start += n;
    this.#scanFrom = this.#start;
    if (this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
      this.#scanFrom = 0;
    }
    return raw;
  }

  #fatal(error: SipParseError): StreamFrame {
    const raw = this.#buf.slice(this.#start, this.#end);
    this.#broken = true;
    this.#start = 0;
    this.#end = 0;
    this.#pending = undefined;
    this.#buf = new Uint8Array(0);
    return { raw, error, fatal: true };
  }

  /** The next complete item, or undefined when more bytes are needed (or after a fatal error). */
  next(): StreamFrame | undefined {
    if (this.#broken) return undefined;
    const buf = this.#buf;
    if (this.#pending === undefined) {
      // Keep-alives and stray CRLFs between messages (RFC 3261 7.5, RFC 5626 3.5.1).
      while (this.#start < this.#end) {
        const s = this.#start;
        const b = buf[s];
        if (b !== 13 && b !== 10) break;
        const avail = this.#end - s;
        if (b === 13 && avail >= 4 && buf[s + 1] === 10 && buf[s + 2] === 13 && buf[s + 3] === 10) {
          return { raw: this.#take(4), ping: true };
        }
        if (b === 13 && avail < 4) {
          // Could still become CRLFCRLF: wait, unless a non-CRLF byte proves otherwise.
          let prefix = true;
          for (let k = 1; k < avail; k++) if (buf[s + k] !== (k % 2 === 1 ? 10 : 13)) prefix = false;
          if (prefix) return undefined;
        }
        this.#take(b === 13 && buf[s + 1] === 10 ? 2 : 1);
      }
      if (this.#start === this.#end) return undefined;

      const found = findHeaderEnd(buf.subarray(0, this.#end), Math.max(this.#start, this.#scanFrom));
      if (found === null) {
        if (this.#end - this.#start > this.#max) {
          return this.#fatal(new MessageTooLargeError(this.#end - this.#start, this.#max));
        }
        this.#scanFrom = Math.max(this.#start, this.#end - 3);
        return undefined;
      }
      const [textEnd, bodyStart] = found;
      const head = parseHead(decoder.decode(buf.subarray(this.#start, textEnd)));
      const msg = head.msg;
      if (msg === undefined) return this.#fatal(headError(head, "Unreadable start line"));
      const partial = { partial: msg };
      if (head.contentLength === undefined) {
        const present = msg.headers.some((h) => h.name === "Content-Length");
        return this.#fatal(
          present ? headError(head, "Invalid Content-Length") : new SipParseError(
            "Missing Content-Length on a stream transport (RFC 3261 section 18.3)",
            partial,
          ),
        );
      }
      const bodyOffset = bodyStart - this.#start;
      const total = bodyOffset + head.contentLength;
      if (total > this.#max) return this.#fatal(new MessageTooLargeError(total, this.#max, partial));
      this.#pending = { head, bodyOffset, total };
    }

    const pending = this.#pending;
    if (this.#end - this.#start < pending.total) return undefined;
    this.#pending = undefined;
    const raw = this.#take(pending.total);
    const { head } = pending;
    if (head.error !== undefined || head.msg === undefined) {
      return { raw, error: headError(head, "Invalid message"), fatal: false };
    }
    head.msg.body = raw.subarray(pending.bodyOffset);
    return { raw, message: head.msg };
  }
}
