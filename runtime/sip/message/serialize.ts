/** Serialization of the message model to bytes (RFC 3261 section 7). */

import type { SipMessage } from "./types.ts";

const encoder = new TextEncoder();

function checkText(what: string, s: string): void {
  if (s.indexOf("\n") >= 0 || s.indexOf("\r") >= 0) {
    throw new TypeError(`${what} ${JSON.stringify(s.slice(0, 80))} contains CR or LF`);
  }
}

/**
 * Serializes a message with CRLF line ends. Content-Length is always written from the body length:
 * an existing Content-Length header is replaced in place, otherwise one is appended. Throws
 * TypeError when a header name or value, the Request-URI or the reason contains CR or LF (that would
 * let a value inject headers).
 */
export function serializeMessage(msg: SipMessage): Uint8Array {
  let text: string;
  if (msg.type === "request") {
    checkText("Request-URI", msg.uri);
    checkText("Method", msg.method);
    text = `${msg.method} ${msg.uri} SIP/2.0\r\n`;
  } else {
    checkText("Reason phrase", msg.reason);
    text = `SIP/2.0 ${msg.status} ${msg.reason}\r\n`;
  }
  const cl = `Content-Length: ${msg.body.length}\r\n`;
  let wroteLength = false;
  for (const h of msg.headers) {
    if (h.name === "Content-Length" || h.name.toLowerCase() === "content-length" || h.name === "l") {
      if (!wroteLength) text += cl;
      wroteLength = true;
      continue;
    }
    checkText("Header name", h.name);
    checkText(`Header ${h.name} value`, h.value);
    text += `${h.name}: ${h.value}\r\n`;
  }
  if (!wroteLength) text += cl;
  text += "\r\n";
  if (msg.body.length === 0) return encoder.encode(text);
  const head = encoder.encode(text);
  const out = new Uint8Array(head.length + msg.body.length);
  out.set(head, 0);
  out.set(msg.body, head.length);
  return out;
}
