/**
 * Parsing of SIP messages from bytes (RFC 3261 section 7), strict enough for the RFC 4475 invalid
 * messages and liberal where RFC 4475 asks for it (folding, compact forms, odd case, leading zeros).
 */

import type { SipHeader, SipMessage, SipRequest, SipResponse } from "./types.ts";
import { SipParseError } from "./errors.ts";
import { canonicalHeaderName } from "./headers.ts";
import { parseNameAddr } from "./name_addr.ts";
import { isToken, isWs, show, splitListRaw, trimWs } from "./_scan.ts";
import { isUriScheme, parseUri } from "./uri.ts";
import { parseCSeq, parseVia } from "./via.ts";

const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** Result of parsing the start line and headers, before the body is attached. @internal */
export interface ParsedHead {
  /** The message so far (empty body); undefined when the start line was unreadable. */
  msg?: SipMessage;
  /** First error found, if any. */
  error?: { message: string; status: number };
  /** Content-Length value; undefined when absent. Invalid values are reported in `error`. */
  contentLength?: number;
}

/** Locates the empty line ending the headers. Returns [end of header text, body start] or null. */
export function findHeaderEnd(data: Uint8Array, from: number): [number, number] | null {
  let i = data.indexOf(10, from);
  while (i >= 0) {
    const n = data[i + 1];
    if (n === 10) return [i, i + 2];
    if (n === 13 && data[i + 2] === 10) return [i, i + 3];
    if (n === undefined || (n === 13 && i + 2 >= data.length)) return null;
    i = data.indexOf(10, i + 1);
  }
  return null;
}

/** Skips CR/LF bytes that precede a start line (RFC 3261 section 7.5). */
export function skipLeadingCrlf(data: Uint8Array, from = 0): number {
  let i = from;
  while (i < data.length && (data[i] === 13 || data[i] === 10)) i++;
  return i;
}

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function isSipVersion(v: string): boolean {
  return /^SIP\/\d{1,9}\.\d{1,9}$/i.test(v);
}

class Problems {
  error: { message: string; status: number } | undefined;
  fail(message: string, status = 400): void {
    if (this.error === undefined) this.error = { message, status };
  }
}

function parseRequestLine(line: string, p: Problems): SipRequest | undefined {
  const sp1 = line.indexOf(" ");
  if (sp1 <= 0) {
    p.fail(`Malformed start line ${show(line)}`);
    return undefined;
  }
  const method = line.slice(0, sp1);
  if (!isToken(method)) {
    p.fail(`Invalid method ${show(method)} in start line`);
    return undefined;
  }
  const sp2 = line.indexOf(" ", sp1 + 1);
  const uri = sp2 < 0 ? line.slice(sp1 + 1) : line.slice(sp1 + 1, sp2);
  const version = sp2 < 0 ? "" : line.slice(sp2 + 1);
  const req: SipRequest = { type: "request", method, uri, headers: [], body: EMPTY };
  if (sp2 < 0 || uri.length === 0 || version.indexOf(" ") >= 0 || /[\t]/.test(line)) {
    p.fail(`Request line ${show(line)} must be "Method SP Request-URI SP SIP-Version" with single spaces`);
    return req;
  }
  if (!isSipVersion(version)) {
    p.fail(`Invalid SIP version ${show(version)} in request line`);
    return req;
  }
  if (version.toUpperCase() !== "SIP/2.0") {
    p.fail(`Unsupported SIP version ${show(version)}`, 505);
    return req;
  }
  checkRequestUri(uri, p);
  return req;
}

function checkRequestUri(uri: string, p: Problems): void {
  const colon = uri.indexOf(":");
  if (colon <= 0 || !isUriScheme(uri.slice(0, colon))) {
    p.fail(`Request-URI ${show(uri)} is not an absolute URI`);
    return;
  }
  const scheme = uri.slice(0, colon).toLowerCase();
  if (scheme === "sip" || scheme === "sips" || scheme === "tel") {
    try {
      const u = parseUri(uri);
      // RFC 3261 section 19.1.1: headers are not allowed in a Request-URI (RFC 4475 escruri).
      if (u.headers.size > 0) p.fail(`Request-URI ${show(uri)} must not contain headers`);
    } catch (e) {
      p.fail(`Invalid Request-URI: ${(e as Error).message}`);
    }
    return;
  }
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x3c || c === 0x3e || c === 0x22) {
      p.fail(`Request-URI ${show(uri)} contains an invalid character`);
      return;
    }
  }
}

function parseStatusLine(line: string, p: Problems): SipResponse | undefined {
  const sp1 = line.indexOf(" ");
  const version = sp1 < 0 ? line : line.slice(0, sp1);
  const sp2 = sp1 < 0 ? -1 : line.indexOf(" ", sp1 + 1);
  const code = sp1 < 0 ? "" : sp2 < 0 ? line.slice(sp1 + 1) : line.slice(sp1 + 1, sp2);
  const reason = sp2 < 0 ? "" : line.slice(sp2 + 1);
  if (code.length !== 3 || !isDigits(code) || code.charCodeAt(0) < 0x31 || code.charCodeAt(0) > 0x36) {
    p.fail(`Invalid status code ${show(code)} in status line`);
    return undefined;
  }
  const res: SipResponse = { type: "response", status: Number(code), reason, headers: [], body: EMPTY };
  if (!isSipVersion(version)) p.fail(`Invalid SIP version ${show(version)} in status line`);
  else if (version.toUpperCase() !== "SIP/2.0") p.fail(`Unsupported SIP version ${show(version)}`, 505);
  return res;
}

/** Splits the header block into unfolded header fields. */
function parseHeaderLines(lines: string[], p: Problems): SipHeader[] {
  const headers: SipHeader[] = [];
  let last: SipHeader | undefined;
  for (let n = 1; n < lines.length; n++) {
    let line = lines[n] as string;
    if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
    if (line.length === 0) continue;
    if (line.indexOf("\r") >= 0) {
      p.fail(`Bare CR in header line ${show(line)}`);
      continue;
    }
    if (isWs(line.charCodeAt(0))) {
      // Folding: LWS continuation is equivalent to a single SP (RFC 3261 section 7.3.1).
      const more = trimWs(line);
      if (last === undefined) {
        p.fail(`Continuation line ${show(line)} before any header`);
      } else if (more.length > 0) {
        last.value = last.value.length === 0 ? more : last.value + " " + more;
      }
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) {
      p.fail(`Header line without colon: ${show(line)}`);
      last = undefined;
      continue;
    }
    const rawName = trimWs(line.slice(0, colon));
    if (!isToken(rawName)) {
      p.fail(`Invalid header name ${show(rawName)}`);
      last = undefined;
      continue;
    }
    last = { name: canonicalHeaderName(rawName), value: trimWs(line.slice(colon + 1)) };
    headers.push(last);
  }
  return headers;
}

function checkNameAddrList(name: string, value: string, p: Problems, allowStar: boolean): void {
  const parts = splitListRaw(value);
  for (const part of parts) {
    if (part.length === 0) {
      p.fail(`Empty element in ${name} header ${show(value)}`);
      return;
    }
    if (allowStar && part === "*") {
      if (parts.length > 1) p.fail(`Contact "*" must be alone`);
      continue;
    }
    try {
      parseNameAddr(part);
    } catch (e) {
      p.fail(`Invalid ${name} header: ${(e as Error).message}`);
      return;
    }
  }
}

const SINGLE = ["To", "From", "Call-ID", "CSeq", "Content-Length", "Max-Forwards"];
const REQUIRED = ["To", "From", "Call-ID", "CSeq", "Via"];

/** Validates the headers RFC 3261 and RFC 4475 care about; returns Content-Length if present. */
function validateHeaders(msg: SipMessage, p: Problems): number | undefined {
  const counts = new Map<string, number>();
  let contentLength: number | undefined;
  for (const h of msg.headers) {
    counts.set(h.name, (counts.get(h.name) ?? 0) + 1);
    const v = h.value;
    switch (h.name) {
      case "Via": {
        for (const part of splitListRaw(v)) {
          if (part.length === 0) {
            p.fail(`Empty element in Via header ${show(v)}`);
            break;
          }
          try {
            parseVia(part);
          } catch (e) {
            p.fail(`Invalid Via header: ${(e as Error).message}`);
            break;
          }
        }
        break;
      }
      case "From":
      case "To":
        try {
          parseNameAddr(v);
        } catch (e) {
          p.fail(`Invalid ${h.name} header: ${(e as Error).message}`);
        }
        break;
      case "Contact":
        checkNameAddrList("Contact", v, p, true);
        break;
      case "Route":
      case "Record-Route":
        checkNameAddrList(h.name, v, p, false);
        break;
      case "CSeq":
        try {
          const cseq = parseCSeq(v);
          if (msg.type === "request" && cseq.method !== msg.method) {
            p.fail(`CSeq method ${show(cseq.method)} does not match request method ${show(msg.method)}`);
          }
        } catch (e) {
          p.fail(`Invalid CSeq header: ${(e as Error).message}`);
        }
        break;
      case "Call-ID":
        if (v.length === 0 || /\s/.test(v)) p.fail(`Invalid Call-ID ${show(v)}`);
        break;
      case "Max-Forwards":
        if (!isDigits(v) || v.length > 10 || Number(v) > 255) p.fail(`Invalid Max-Forwards ${show(v)}`);
        break;
      case "Content-Length":
        if (!isDigits(v) || v.length > 10) p.fail(`Invalid Content-Length ${show(v)}`);
        else contentLength = Number(v);
        break;
    }
  }
  for (const name of SINGLE) {
    if ((counts.get(name) ?? 0) > 1) p.fail(`Header ${name} appears more than once`);
  }
  for (const name of REQUIRED) {
    if (!counts.has(name)) p.fail(`Missing mandatory header ${name}`);
  }
  return contentLength;
}

/**
 * Parses the start line and header block (already decoded text, without the empty line).
 * @internal Used by parseMessage and StreamFramer.
 */
export function parseHead(text: string): ParsedHead {
  const p = new Problems();
  const lines = text.split("\n");
  let first = lines[0] as string;
  if (first.charCodeAt(first.length - 1) === 13) first = first.slice(0, -1);
  if (first.indexOf("\r") >= 0) {
    return { error: { message: `Bare CR in start line ${show(first)}`, status: 400 } };
  }
  const msg = first.length >= 4 && first.slice(0, 4).toUpperCase() === "SIP/"
    ? parseStatusLine(first, p)
    : parseRequestLine(first, p);
  const headers = parseHeaderLines(lines, p);
  if (msg === undefined) return p.error ? { error: p.error } : {};
  msg.headers = headers;
  const contentLength = validateHeaders(msg, p);
  const out: ParsedHead = { msg };
  if (p.error !== undefined) out.error = p.error;
  if (contentLength !== undefined) out.contentLength = contentLength;
  return out;
}

/** Builds the error thrown for a failed parse, attaching the readable part when there is one. */
export function headError(head: ParsedHead, fallback: string): SipParseError {
  const e = head.error ?? { message: fallback, status: 400 };
  return head.msg === undefined
    ? new SipParseError(e.message, { status: e.status })
    : new SipParseError(e.message, { status: e.status, partial: head.msg });
}

/**
 * Parses one SIP message from a datagram (or a frame cut by StreamFramer).
 *
 * Leading CRLFs are skipped. The body is cut to Content-Length (extra octets are ignored, RFC 3261
 * section 18.3); a body shorter than Content-Length is an error; without Content-Length the body is
 * the rest of the datagram. Throws {@link SipParseError} with `partial` (start line and headers)
 * when those were readable, and `status` 400 or 505.
 */
export function parseMessage(data: Uint8Array): SipMessage {
  const start = skipLeadingCrlf(data);
  if (start >= data.length) throw new SipParseError("Empty SIP message");
  const end = findHeaderEnd(data, start);
  const textEnd = end === null ? data.length : end[0];
  const head = parseHead(decoder.decode(data.subarray(start, textEnd)));
  if (end === null) {
    const e = head.error?.message ?? "Message has no empty line after the headers";
    throw headError({ ...head, error: { message: e, status: 400 } }, e);
  }
  if (head.error !== undefined || head.msg === undefined) throw headError(head, "Unreadable start line");
  const msg = head.msg;
  const bodyStart = end[1];
  const available = data.length - bodyStart;
  if (head.contentLength === undefined) {
    msg.body = available > 0 ? data.slice(bodyStart) : EMPTY;
  } else if (head.contentLength > available) {
    throw new SipParseError(
      `Body is ${available} bytes but Content-Length says ${head.contentLength}`,
      { partial: msg },
    );
  } else if (head.contentLength > 0) {
    msg.body = data.slice(bodyStart, bodyStart + head.contentLength);
  }
  return msg;
}
