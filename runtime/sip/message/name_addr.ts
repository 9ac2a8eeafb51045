/**
 * name-addr / addr-spec values as used by From, To, Contact, Route, Record-Route, Refer-To
 * (RFC 3261 sections 20 and 25.1).
 */

import {
  formatParams,
  isTokenCode,
  isWs,
  parseParams,
  quote,
  scanQuoted,
  show,
  skipWs,
  trimWs,
  unquote,
} from "./_scan.ts";
import { isUriScheme, parseUri } from "./uri.ts";

/**
 * One name-addr. `displayName` is unquoted (quoted-pairs resolved). `params` are the header
 * parameters (tag, expires, q, ...), names lower-cased, quoted values kept with their quotes.
 */
export interface NameAddr {
  displayName?: string;
  /** The URI text exactly as written between < and > (or the bare addr-spec). */
  uri: string;
  params: Map<string, string | null>;
}

/** Checks a URI for use in a header: a valid scheme, and a full parse for sip/sips. */
function checkUri(uri: string, whole: string): void {
  const colon = uri.indexOf(":");
  if (colon <= 0 || !isUriScheme(uri.slice(0, colon)) || colon === uri.length - 1) {
    throw new SyntaxError(`Invalid URI ${show(uri)} in ${show(whole)}`);
  }
  const scheme = uri.slice(0, colon).toLowerCase();
  if (scheme === "sip" || scheme === "sips" || scheme === "tel") {
    parseUri(uri);
    return;
  }
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x3c || c === 0x3e || c === 0x22) {
      throw new SyntaxError(`Invalid character in URI ${show(uri)} in ${show(whole)}`);
    }
  }
}

/**
 * Parses one name-addr or addr-spec. In the addr-spec form (no <...>) everything after the first
 * ";" is a header parameter, as RFC 3261 section 20 requires; such a URI may not hold "," or "?".
 * Throws SyntaxError for unterminated quotes or brackets, spaces inside <...>, unquoted display names
 * with non-token characters, and malformed parameters.
 */
export function parseNameAddr(text: string): NameAddr {
  const s = trimWs(text);
  if (s.length === 0) throw new SyntaxError("Empty name-addr");
  let i = 0;
  let displayName: string | undefined;
  let lt = -1;
  if (s.charCodeAt(0) === 0x22) {
    const end = scanQuoted(s, 0);
    if (end < 0) throw new SyntaxError(`Unterminated quoted display name in ${show(s)}`);
    displayName = unquote(s.slice(0, end));
    i = skipWs(s, end);
    if (s.charCodeAt(i) !== 0x3c) throw new SyntaxError(`Expected "<" after display name in ${show(s)}`);
    lt = i;
  } else {
    // A display name made of tokens and LWS, followed by "<" (LWS before "<" is optional, RFC 4475
    // lwsdisp). If the scan stops elsewhere, this is an addr-spec.
    let j = 0;
    while (j < s.length) {
      const c = s.charCodeAt(j);
      if (!isTokenCode(c) && !isWs(c) && c < 128) break;
      j++;
    }
    if (j < s.length && s.charCodeAt(j) === 0x3c) {
      lt = j;
      const name = trimWs(s.slice(0, j));
      if (name.length > 0) displayName = name;
    }
  }

  if (lt < 0) {
    const semi = s.indexOf(";");
    const uri = trimWs(semi < 0 ? s : s.slice(0, semi));
    if (uri.indexOf("<") >= 0) {
      throw new SyntaxError(`Display name before "<" must be tokens or a quoted string in ${show(s)}`);
    }
    if (uri.indexOf(",") >= 0 || uri.indexOf("?") >= 0 || /[\s>"]/.test(uri)) {
      throw new SyntaxError(`addr-spec ${show(uri)} needs <...> (it holds "," "?" or spaces)`);
    }
    checkUri(uri, s);
    return { uri, params: semi < 0 ? new Map() : parseParams(s, semi, "name-addr") };
  }

  const gt = s.indexOf(">", lt + 1);
  if (gt < 0) throw new SyntaxError(`Unterminated "<" in ${show(s)}`);
  const uri = s.slice(lt + 1, gt);
  if (uri.length === 0 || isWs(uri.charCodeAt(0)) || isWs(uri.charCodeAt(uri.length - 1))) {
    throw new SyntaxError(`Spaces or nothing inside <...> in ${show(s)}`);
  }
  checkUri(uri, s);
  const out: NameAddr = { uri, params: parseParams(s, gt + 1, "name-addr") };
  if (displayName !== undefined) out.displayName = displayName;
  return out;
}

/** Formats a name-addr, always in the <...> form; the display name is quoted unless it is tokens. */
export function formatNameAddr(na: NameAddr): string {
  let out = "";
  if (na.displayName !== undefined && na.displayName.length > 0) {
    let plain = true;
    for (let i = 0; i < na.displayName.length; i++) {
      const c = na.displayName.charCodeAt(i);
      if (!isTokenCode(c) && c !== 0x20) {
        plain = false;
        break;
      }
    }
    out = (plain && !na.displayName.startsWith(" ") && !na.displayName.endsWith(" ")
      ? na.displayName
      : quote(na.displayName)) + " ";
  }
  return out + "<" + na.uri + ">" + formatParams(na.params);
}

/** The `tag` parameter of a From/To header value, or undefined when absent or unparsable. */
export function getTag(headerValue: string): string | undefined {
  try {
    const tag = parseNameAddr(headerValue).params.get("tag");
    return tag === null ? undefined : tag;
  } catch {
    return undefined;
  }
}
