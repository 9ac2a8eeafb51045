/**
 * SIP, SIPS and tel URIs (RFC 3261 section 19.1, RFC 3966). Other schemes are kept opaque.
 */

import { show } from "./_scan.ts";

/**
 * A parsed URI. Escaped characters (`%HH`) in user, password, parameters and headers are decoded;
 * {@link formatUri} escapes them again. IPv6 hosts are stored without brackets. Parameter names are
 * lower-cased; a parameter without value maps to `null`.
 *
 * For `tel:` URIs the telephone number is in `user` and `host` is empty. For unknown schemes
 * (`http:`, `urn:` ...) everything after the colon is in `opaque` and `host` is empty.
 */
export interface SipUri {
  scheme: "sip" | "sips" | "tel" | string;
  user?: string;
  password?: string;
  host: string;
  port?: number;
  params: Map<string, string | null>;
  headers: Map<string, string>;
  /** Scheme-specific part of a URI that is neither sip, sips nor tel. */
  opaque?: string;
}

const HEX = "0123456789ABCDEF";
const decoder = new TextDecoder();
const encoder = new TextEncoder();

function charSet(extra: string): Uint8Array {
  const t = new Uint8Array(128);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (const ch of "-_.!~*'()" + extra) t[ch.charCodeAt(0)] = 1;
  return t;
}

// unreserved plus the per-component extras of RFC 3261 section 25.1.
const USER = charSet("&=+$,;?/");
const PASSWORD = charSet("&=+$,");
const PARAM = charSet("[]/:&+$");
const HEADER = charSet("[]/?:+$");
const TEL = charSet("&=+$,;?/:[]#%");

function isHexCode(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** Decodes `%HH` escapes (as UTF-8); throws SyntaxError on a malformed escape. */
export function uriUnescape(s: string): string {
  if (s.indexOf("%") < 0) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const h1 = s.charCodeAt(i + 1);
      const h2 = s.charCodeAt(i + 2);
      if (!isHexCode(h1) || !isHexCode(h2)) {
        throw new SyntaxError(`Malformed %-escape in URI component ${show(s)}`);
      }
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 128) {
      bytes.push(c);
    } else {
      for (const b of encoder.encode(s[i] as string)) bytes.push(b);
    }
  }
  return decoder.decode(new Uint8Array(bytes));
}

/** Escapes every character outside `allowed` as `%HH` of its UTF-8 bytes. */
function escapeWith(s: string, allowed: Uint8Array): string {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || allowed[c] !== 1) {
      plain = false;
      break;
    }
  }
  if (plain) return s;
  let out = "";
  for (const b of encoder.encode(s)) {
    if (b < 128 && allowed[b] === 1) out += String.fromCharCode(b);
    else out += "%" + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

function checkUriChars(text: string): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // Whitespace, controls, non-ASCII and the delimiters < > " never appear unescaped in a URI.
    if (c <= 0x20 || c >= 0x7f || c === 0x3c || c === 0x3e || c === 0x22) {
      throw new SyntaxError(`URI ${show(text)} contains an invalid character at offset ${i}`);
    }
  }
}

/** True when `scheme` matches `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`. */
export function isUriScheme(scheme: string): boolean {
  if (scheme.length === 0) return false;
  for (let i = 0; i < scheme.length; i++) {
    const c = scheme.charCodeAt(i) | 0x20;
    const alpha = c >= 0x61 && c <= 0x7a;
    if (i === 0 ? !alpha : !(alpha || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e)) {
      return false;
    }
  }
  return true;
}

function parsePort(s: string, whole: string): number {
  if (s.length === 0 || s.length > 5) throw new SyntaxError(`Invalid port in URI ${show(whole)}`);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) throw new SyntaxError(`Invalid port in URI ${show(whole)}`);
  }
  const port = Number(s);
  if (port > 65535) throw new SyntaxError(`Port ${port} out of range in URI ${show(whole)}`);
  return port;
}

/** Validates a hostname or IPv4 address (letters, digits, "-", ".", and "_" tolerated). */
function checkHostname(host: string, whole: string): void {
  if (host.length === 0) throw new SyntaxError(`Empty host in URI ${show(whole)}`);
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x2d ||
      c === 0x2e || c === 0x5f;
    if (!ok) throw new SyntaxError(`Invalid host ${show(host)} in URI ${show(whole)}`);
  }
}

/** Validates the inside of an IPv6 reference: hex digits, ":" and "." (embedded IPv4). */
export function checkIpv6(host: string, whole: string): void {
  if (host.length < 2 || host.indexOf(":") < 0) throw new SyntaxError(`Invalid IPv6 host in ${show(whole)}`);
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (!(isHexCode(c) || c === 0x3a || c === 0x2e)) {
      throw new SyntaxError(`Invalid IPv6 host ${show(host)} in ${show(whole)}`);
    }
  }
}

/**
 * Splits `host[:port]` where host may be an IPv6 reference in brackets. Shared with the Via parser.
 * Returns the host without brackets.
 */
export function parseHostPort(hp: string, whole: string): { host: string; port?: number } {
  if (hp.charCodeAt(0) === 0x5b) {
    const close = hp.indexOf("]");
    if (close < 0) throw new SyntaxError(`Unterminated IPv6 reference in ${show(whole)}`);
    const host = hp.slice(1, close);
    checkIpv6(host, whole);
    const rest = hp.slice(close + 1);
    if (rest.length === 0) return { host };
    if (rest.charCodeAt(0) !== 0x3a) {
      throw new SyntaxError(`Unexpected text after IPv6 host in ${show(whole)}`);
    }
    return { host, port: parsePort(rest.slice(1), whole) };
  }
  const colon = hp.indexOf(":");
  if (colon < 0) {
    checkHostname(hp, whole);
    return { host: hp };
  }
  const host = hp.slice(0, colon);
  checkHostname(host, whole);
  return { host, port: parsePort(hp.slice(colon + 1), whole) };
}

function parseUriParams(s: string, whole: string): Map<string, string | null> {
  const params = new Map<string, string | null>();
  if (s.length === 0) return params;
  // s starts after the first ";"
  for (const part of s.split(";")) {
    if (part.length === 0) throw new SyntaxError(`Empty parameter in URI ${show(whole)}`);
    const eq = part.indexOf("=");
    const name = uriUnescape(eq < 0 ? part : part.slice(0, eq)).toLowerCase();
    if (name.length === 0) throw new SyntaxError(`Empty parameter name in URI ${show(whole)}`);
    const value = eq < 0 ? null : uriUnescape(part.slice(eq + 1));
    if (!params.has(name)) params.set(name, value);
  }
  return params;
}

function parseUriHeaders(s: string, whole: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const part of s.split("&")) {
    if (part.length === 0) continue;
    const eq = part.indexOf("=");
    if (eq <= 0) throw new SyntaxError(`Malformed header ${show(part)} in URI ${show(whole)}`);
    headers.set(uriUnescape(part.slice(0, eq)), uriUnescape(part.slice(eq + 1)));
  }
  return headers;
}

/** Parses a URI; throws SyntaxError naming the bad text when it is malformed. */
export function parseUri(text: string): SipUri {
  const colon = text.indexOf(":");
  if (colon <= 0) throw new SyntaxError(`URI ${show(text)} has no scheme`);
  const schemeText = text.slice(0, colon);
  if (!isUriScheme(schemeText)) throw new SyntaxError(`URI ${show(text)} has an invalid scheme`);
  checkUriChars(text);
  const scheme = schemeText.toLowerCase();
  const rest = text.slice(colon + 1);
  if (rest.length === 0) throw new SyntaxError(`URI ${show(text)} is empty after the scheme`);

  if (scheme === "tel") {
    const semi = rest.indexOf(";");
    const number = semi < 0 ? rest : rest.slice(0, semi);
    if (number.length === 0) throw new SyntaxError(`tel URI ${show(text)} has no number`);
    for (let i = 0; i < number.length; i++) {
      const c = number.charCodeAt(i);
      if (c >= 128 || TEL[c] !== 1) throw new SyntaxError(`Invalid character in tel URI ${show(text)}`);
    }
    return {
      scheme,
      user: number,
      host: "",
      params: semi < 0 ? new Map() : parseUriParams(rest.slice(semi + 1), text),
      headers: new Map(),
    };
  }
  if (scheme !== "sip" && scheme !== "sips") {
    return { scheme, host: "", params: new Map(), headers: new Map(), opaque: rest };
  }

  // The user part may hold ";", "?" and "," (RFC 3261 user-unreserved) but never an unescaped "@",
  // so the first "@" ends it.
  const at = rest.indexOf("@");
  const uri: SipUri = { scheme, host: "", params: new Map(), headers: new Map() };
  let hostStart = 0;
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const pc = userinfo.indexOf(":");
    const user = pc < 0 ? userinfo : userinfo.slice(0, pc);
    if (user.length === 0) throw new SyntaxError(`URI ${show(text)} has an empty user part`);
    uri.user = uriUnescape(user);
    if (pc >= 0) uri.password = uriUnescape(userinfo.slice(pc + 1));
    hostStart = at + 1;
  }
  let hostEnd = hostStart;
  if (rest.charCodeAt(hostStart) === 0x5b) {
    const close = rest.indexOf("]", hostStart);
    hostEnd = close < 0 ? rest.length : close;
  }
  while (hostEnd < rest.length) {
    const c = rest.charCodeAt(hostEnd);
    if (c === 0x3b || c === 0x3f) break;
    hostEnd++;
  }
  const hp = parseHostPort(rest.slice(hostStart, hostEnd), text);
  uri.host = hp.host;
  if (hp.port !== undefined) uri.port = hp.port;
  const q = rest.indexOf("?", hostEnd);
  const paramsText = rest.slice(hostEnd, q < 0 ? rest.length : q);
  if (paramsText.length > 0) uri.params = parseUriParams(paramsText.slice(1), text);
  if (q >= 0) uri.headers = parseUriHeaders(rest.slice(q + 1), text);
  return uri;
}

/** Formats a URI, escaping what needs escaping and bracketing IPv6 hosts. */
export function formatUri(u: SipUri): string {
  const scheme = u.scheme.toLowerCase();
  if (scheme === "tel") {
    let out = "tel:" + (u.user ?? "");
    for (const [k, v] of u.params) {
      out += ";" + escapeWith(k, PARAM);
      if (v !== null) out += "=" + escapeWith(v, PARAM);
    }
    return out;
  }
  if (scheme !== "sip" && scheme !== "sips") return `${u.scheme}:${u.opaque ?? u.host}`;
  let out = scheme + ":";
  if (u.user !== undefined) {
    out += escapeWith(u.user, USER);
    if (u.password !== undefined) out += ":" + escapeWith(u.password, PASSWORD);
    out += "@";
  }
  out += u.host.indexOf(":") >= 0 ? `[${u.host}]` : u.host;
  if (u.port !== undefined) out += ":" + u.port;
  for (const [k, v] of u.params) {
    out += ";" + escapeWith(k, PARAM);
    if (v !== null) out += "=" + escapeWith(v, PARAM);
  }
  let sep = "?";
  for (const [k, v] of u.headers) {
    out += sep + escapeWith(k, HEADER) + "=" + escapeWith(v, HEADER);
    sep = "&";
  }
  return out;
}
