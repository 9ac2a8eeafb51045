/**
 * Parsing and formatting of the auth-param lists carried by WWW-Authenticate, Proxy-Authenticate,
 * Authorization and Proxy-Authorization (RFC 3261 section 25.1, RFC 7235 section 2.1).
 */

/** A parsed credentials or challenge header value: the scheme and its parameters. */
export interface AuthParams {
  /** The scheme as written (`Digest`); compare case-insensitively. */
  scheme: string;
  /** Parameters keyed by lower-case name, values unquoted and unescaped. */
  params: Map<string, string>;
}

// RFC 3261 token characters, as a lookup table for speed.
const TOKEN = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~") {
  TOKEN[c.charCodeAt(0)] = 1;
}

function isLws(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a;
}

function isToken(code: number): boolean {
  return code < 128 && TOKEN[code] === 1;
}

/**
 * Parse `Digest username="bob", realm="x", nc=00000001` into scheme and parameters.
 * Quoted strings may contain backslash escapes; parameter names are lower-cased.
 * Throws SyntaxError (naming the position) on a malformed list or a repeated parameter.
 */
export function parseAuthParams(headerValue: string): AuthParams {
  const s = headerValue;
  const n = s.length;
  let i = 0;
  while (i < n && isLws(s.charCodeAt(i))) i++;
  const schemeStart = i;
  while (i < n && isToken(s.charCodeAt(i))) i++;
  if (i === schemeStart) {
    throw new SyntaxError(`Auth header has no scheme: ${JSON.stringify(headerValue.slice(0, 80))}`);
  }
  const scheme = s.slice(schemeStart, i);
  if (i < n && !isLws(s.charCodeAt(i))) {
    throw new SyntaxError(`Unexpected ${JSON.stringify(s[i])} after auth scheme at offset ${i}`);
  }
  const params = new Map<string, string>();
  for (;;) {
    // Skip whitespace and empty list elements (RFC 7230 section 7 allows `a, , b`).
    while (i < n) {
      const c = s.charCodeAt(i);
      if (isLws(c) || c === 0x2c) i++;
      else break;
    }
    if (i >= n) break;
    const nameStart = i;
    while (i < n && isToken(s.charCodeAt(i))) i++;
    if (i === nameStart) {
      throw new SyntaxError(`Unexpected ${JSON.stringify(s[i])} in auth params at offset ${i}`);
    }
    const name = s.slice(nameStart, i).toLowerCase();
    while (i < n && isLws(s.charCodeAt(i))) i++;
    if (s.charCodeAt(i) !== 0x3d) {
      throw new SyntaxError(`Auth param ${JSON.stringify(name)} has no "=" (offset ${i})`);
    }
    i++;
    while (i < n && isLws(s.charCodeAt(i))) i++;
    let value: string;
    if (s.charCodeAt(i) === 0x22) {
      i++;
      let out = "";
      let runStart = i;
      let closed = false;
      while (i < n) {
        const c = s.charCodeAt(i);
        if (c === 0x22) {
          out += s.slice(runStart, i);
          i++;
          closed = true;
          break;
        }
        if (c === 0x5c) {
          out += s.slice(runStart, i);
          if (i + 1 >= n) break;
          out += s[i + 1];
          i += 2;
          runStart = i;
          continue;
        }
        i++;
      }
      if (!closed) {
        throw new SyntaxError(`Unterminated quoted value for auth param ${JSON.stringify(name)}`);
      }
      value = out;
    } else {
      // Unquoted values are tokens by the grammar, but some clients send `uri=sip:x@y`: take
      // everything up to the next comma or whitespace.
      const valueStart = i;
      while (i < n) {
        const c = s.charCodeAt(i);
        if (c === 0x2c || isLws(c) || c === 0x22) break;
        i++;
      }
      value = s.slice(valueStart, i);
    }
    if (params.has(name)) {
      throw new SyntaxError(`Auth param ${JSON.stringify(name)} appears twice`);
    }
    params.set(name, value);
    while (i < n && isLws(s.charCodeAt(i))) i++;
    if (i < n && s.charCodeAt(i) !== 0x2c) {
      throw new SyntaxError(`Expected "," after auth param ${JSON.stringify(name)} at offset ${i}`);
    }
  }
  return { scheme, params };
}

/** Quote a value as an RFC 3261 quoted-string, escaping `"` and `\`. */
export function quote(value: string): string {
  return `"${value.replace(/["\\]/g, "\\$&")}"`;
}

/** What goes into one Digest challenge. */
export interface ChallengeFields {
  realm: string;
  nonce: string;
  /** `MD5`, `SHA-256`, ...; omitted from the header when undefined (which means MD5). */
  algorithm?: string;
  /** qop-options, e.g. `auth` or `auth,auth-int`; omitted when undefined (RFC 2069 style). */
  qop?: string;
  opaque?: string;
  /** Adds `stale=TRUE`: the credentials were right but the nonce had expired. */
  stale?: boolean;
  /** Protection-space URIs, space-separated. */
  domain?: string;
}

/**
 * Format one Digest challenge value for WWW-Authenticate / Proxy-Authenticate, e.g.
 * `Digest realm="pbx", nonce="...", opaque="...", algorithm=SHA-256, qop="auth"`.
 */
export function formatChallenge(fields: ChallengeFields): string {
  let out = `Digest realm=${quote(fields.realm)}`;
  if (fields.domain !== undefined) out += `, domain=${quote(fields.domain)}`;
  out += `, nonce=${quote(fields.nonce)}`;
  if (fields.opaque !== undefined) out += `, opaque=${quote(fields.opaque)}`;
  if (fields.stale) out += ", stale=TRUE";
  if (fields.algorithm !== undefined) out += `, algorithm=${fields.algorithm}`;
  if (fields.qop !== undefined) out += `, qop=${quote(fields.qop)}`;
  return out;
}
