/**
 * Character classes and small scanners shared by the header-value parsers (RFC 3261 section 25.1).
 * Everything here works on already-unfolded strings: line folding was replaced by a single SP.
 */

const TOKEN_EXTRA = "-.!%*_+`'~";

/** Lookup table for `token` characters (RFC 3261 section 25.1). */
const TOKEN = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;
for (const ch of TOKEN_EXTRA) TOKEN[ch.charCodeAt(0)] = 1;

/** True when the UTF-16 code unit is a `token` character. */
export function isTokenCode(c: number): boolean {
  return c < 128 && TOKEN[c] === 1;
}

/** True when the whole string is a non-empty `token`. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    if (!isTokenCode(s.charCodeAt(i))) return false;
  }
  return true;
}

/** True for SP or HTAB. */
export function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Index of the first non-SP/HTAB character at or after `i`. */
export function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

/** Trims SP/HTAB only; String.prototype.trim would also eat U+FEFF and other Unicode spaces. */
export function trimWs(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isWs(s.charCodeAt(a))) a++;
  while (b > a && isWs(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** Shortens a value for an error message, keeping it readable. */
export function show(s: string, max = 80): string {
  return JSON.stringify(s.length > max ? s.slice(0, max) + "..." : s);
}

/**
 * Scans a quoted-string whose opening DQUOTE is at `i`. Returns the index just past the closing
 * DQUOTE, or -1 when the string is unterminated. quoted-pair (backslash + any char) is honoured.
 */
export function scanQuoted(s: string, i: number): number {
  let j = i + 1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 0x5c) {
      j += 2;
      continue;
    }
    if (c === 0x22) return j + 1;
    j++;
  }
  return -1;
}

/** Removes the surrounding quotes and resolves quoted-pairs of a scanned quoted-string. */
export function unquote(q: string): string {
  const inner = q.slice(1, -1);
  if (inner.indexOf("\\") < 0) return inner;
  let out = "";
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i] as string;
    if (ch === "\\" && i + 1 < inner.length) {
      out += inner[i + 1];
      i++;
    } else {
      out += ch;
    }
  }
  return out;
}

/** Quotes a string as a quoted-string, escaping DQUOTE and backslash. */
export function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    if (ch === '"' || ch === "\\") out += "\\";
    out += ch;
  }
  return out + '"';
}

/** True for characters that may appear in an unquoted generic-param value (token / host, liberal). */
function isParamValueCode(c: number): boolean {
  if (c >= 128) return true; // UTF8-NONASCII is tolerated, as many stacks do
  if (c <= 0x20 || c === 0x7f) return false;
  // Separators that end a value; everything else visible is accepted (token, host, IPv6 refs).
  return c !== 0x3b && c !== 0x2c && c !== 0x22 && c !== 0x3c && c !== 0x3e && c !== 0x3d;
}

/**
 * Parses `*( SWS ";" SWS name [ SWS "=" SWS value ] ) SWS` from `i` to the end of `s`.
 * Names are lower-cased (parameter names are case-insensitive); quoted values keep their quotes so
 * formatting is lossless. Throws SyntaxError on empty parameters or trailing garbage.
 */
export function parseParams(s: string, i: number, what: string): Map<string, string | null> {
  const params = new Map<string, string | null>();
  let j = skipWs(s, i);
  while (j < s.length) {
    if (s.charCodeAt(j) !== 0x3b) {
      throw new SyntaxError(`${what}: unexpected text ${show(s.slice(j))} where ";" or end was expected`);
    }
    j = skipWs(s, j + 1);
    const nameStart = j;
    while (j < s.length && isTokenCode(s.charCodeAt(j))) j++;
    if (j === nameStart) throw new SyntaxError(`${what}: empty or invalid parameter in ${show(s)}`);
    const name = s.slice(nameStart, j).toLowerCase();
    j = skipWs(s, j);
    let value: string | null = null;
    if (j < s.length && s.charCodeAt(j) === 0x3d) {
      j = skipWs(s, j + 1);
      if (j < s.length && s.charCodeAt(j) === 0x22) {
        const end = scanQuoted(s, j);
        if (end < 0) throw new SyntaxError(`${what}: unterminated quoted parameter value in ${show(s)}`);
        value = s.slice(j, end);
        j = end;
      } else {
        const vStart = j;
        while (j < s.length && isParamValueCode(s.charCodeAt(j))) j++;
        if (j === vStart) throw new SyntaxError(`${what}: parameter ${show(name)} has an empty value`);
        value = s.slice(vStart, j);
      }
      j = skipWs(s, j);
    }
    if (!params.has(name)) params.set(name, value);
  }
  return params;
}

/** Formats a parameter map back to `;name=value` text. */
export function formatParams(params: ReadonlyMap<string, string | null>): string {
  let out = "";
  for (const [k, v] of params) out += v === null ? `;${k}` : `;${k}=${v}`;
  return out;
}

/**
 * Splits a header value at top-level commas (never inside quoted-strings or <...>), keeping empty
 * elements so callers can reject them. Elements are SP/HTAB-trimmed.
 */
export function splitListRaw(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x22 && !angle) {
      const end = scanQuoted(value, i);
      if (end < 0) break; // unterminated: the rest is one element; validators report it
      i = end - 1;
    } else if (c === 0x3c) {
      angle = true;
    } else if (c === 0x3e) {
      angle = false;
    } else if (c === 0x2c && !angle) {
      out.push(trimWs(value.slice(start, i)));
      start = i + 1;
    }
  }
  out.push(trimWs(value.slice(start)));
  return out;
}
