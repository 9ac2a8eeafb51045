/** The Via header field value (RFC 3261 sections 20.42 and 18.2.1, RFC 3581 rport). */

import { formatParams, isTokenCode, parseParams, show, skipWs, trimWs } from "./_scan.ts";
import { parseHostPort } from "./uri.ts";

/**
 * One Via value. `transport` is upper-case ("UDP", "TCP", "TLS", "WS", ...); `host` has no IPv6
 * brackets. `params` has lower-cased names: `branch`, `received`, `rport` (null when present
 * without value), `maddr`, `ttl`, ...
 */
export interface Via {
  protocol: "SIP/2.0";
  transport: string;
  host: string;
  port?: number;
  params: Map<string, string | null>;
}

function readToken(s: string, i: number): number {
  while (i < s.length && isTokenCode(s.charCodeAt(i))) i++;
  return i;
}

function expectSlash(s: string, i: number): number {
  const j = skipWs(s, i);
  if (s.charCodeAt(j) !== 0x2f) throw new SyntaxError(`Expected "/" in Via sent-protocol of ${show(s)}`);
  return skipWs(s, j + 1);
}

/**
 * Parses one Via value such as `SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776;rport`. LWS is allowed
 * around "/", ";" and "=" (RFC 4475 wsinv). Only SIP/2.0 is accepted. Throws SyntaxError.
 */
export function parseVia(text: string): Via {
  const s = trimWs(text);
  let i = 0;
  let j = readToken(s, i);
  const name = s.slice(i, j);
  i = expectSlash(s, j);
  j = readToken(s, i);
  const version = s.slice(i, j);
  i = expectSlash(s, j);
  j = readToken(s, i);
  const transport = s.slice(i, j);
  if (name.toUpperCase() !== "SIP" || version !== "2.0") {
    throw new SyntaxError(`Via ${show(s)} is not SIP/2.0`);
  }
  if (transport.length === 0) throw new SyntaxError(`Via ${show(s)} has no transport`);
  i = skipWs(s, j);
  if (i === j) throw new SyntaxError(`Via ${show(s)} needs a space before the sent-by host`);
  // sent-by = host [ COLON port ]; LWS is allowed around the colon.
  let end = i;
  if (s.charCodeAt(end) === 0x5b) {
    const close = s.indexOf("]", end);
    end = close < 0 ? s.length : close + 1;
  } else {
    while (end < s.length) {
      const c = s.charCodeAt(end);
      if (c === 0x3a || c === 0x3b || c === 0x20 || c === 0x09 || c === 0x2c) break;
      end++;
    }
  }
  let hostPort = s.slice(i, end);
  let k = skipWs(s, end);
  if (s.charCodeAt(k) === 0x3a) {
    const ps = skipWs(s, k + 1);
    let pe = ps;
    while (pe < s.length && s.charCodeAt(pe) >= 0x30 && s.charCodeAt(pe) <= 0x39) pe++;
    hostPort += ":" + s.slice(ps, pe);
    k = pe;
  }
  const hp = parseHostPort(hostPort, s);
  const via: Via = {
    protocol: "SIP/2.0",
    transport: transport.toUpperCase(),
    host: hp.host,
    params: parseParams(s, k, "Via"),
  };
  if (hp.port !== undefined) via.port = hp.port;
  return via;
}

/** Formats a Via value: `SIP/2.0/UDP host:port;params`. */
export function formatVia(via: Via): string {
  const host = via.host.indexOf(":") >= 0 ? `[${via.host}]` : via.host;
  const port = via.port === undefined ? "" : `:${via.port}`;
  return `SIP/2.0/${via.transport} ${host}${port}${formatParams(via.params)}`;
}

/** The parsed CSeq header (RFC 3261 section 20.16). */
export interface CSeq {
  seq: number;
  method: string;
}

/** Parses `CSeq: 4711 INVITE`; the number must fit 32 bits, the method must be a token. */
export function parseCSeq(text: string): CSeq {
  const s = trimWs(text);
  let i = 0;
  while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
  if (i === 0) throw new SyntaxError(`CSeq ${show(s)} does not start with a number`);
  const digits = s.slice(0, i).replace(/^0+(?=\d)/, "");
  const seq = digits.length > 10 ? Infinity : Number(digits);
  if (seq > 0xffffffff) throw new SyntaxError(`CSeq number in ${show(s)} exceeds 2**32-1`);
  const ms = skipWs(s, i);
  if (ms === i) throw new SyntaxError(`CSeq ${show(s)} needs a space between number and method`);
  const me = readToken(s, ms);
  if (me === ms || me !== s.length) throw new SyntaxError(`CSeq ${show(s)} has an invalid method`);
  return { seq, method: s.slice(ms) };
}
