/**
 * The SIP side of STIR/SHAKEN: the `Identity` header (RFC 8224 full form), telephone-number
 * normalization for comparing PASSporT `orig`/`dest` with From/To/P-Asserted-Identity, and the
 * `verstat` URI parameter (ATIS-1000074) that tells phones how the verification went.
 *
 * @module
 */

/** The three `verstat` values of ATIS-1000074 / 3GPP TS 24.229. */
export type Verstat = "TN-Validation-Passed" | "TN-Validation-Failed" | "No-TN-Validation";

/** A parsed `Identity` header value. */
export interface IdentityHeader {
  /** The PASSporT in JWS compact serialization (`header.payload.signature`). */
  passport: string;
  /** The `info` parameter without angle brackets: where the signing certificate lives. */
  info: string;
  /** The `alg` parameter, if present (RFC 8224 says ES256 when absent). */
  alg: string | undefined;
  /** The `ppt` parameter, if present. */
  ppt: string | undefined;
  /** Every parameter, lower-cased names, values as written (info without brackets). */
  params: Record<string, string>;
}

/** Longest `Identity` header value accepted (a SHAKEN PASSporT is well under 1 KiB). */
export const MAX_IDENTITY_LENGTH = 8192;

const B64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Parse an RFC 8224 `Identity` header value:
 * `<jws compact>;info=<https://cert.example/sp.pem>;alg=ES256;ppt=shaken`.
 * Only the full form is accepted (RFC 8225 compact form with an empty payload cannot be checked
 * without rebuilding the claims and is refused). Throws `SyntaxError` with a reason on bad input.
 */
export function parseIdentityHeader(value: string): IdentityHeader {
  if (value.length > MAX_IDENTITY_LENGTH) {
    throw new SyntaxError(`Identity header longer than ${MAX_IDENTITY_LENGTH} characters`);
  }
  const parts = splitParams(value.trim());
  const passport = (parts.shift() ?? "").trim();
  const segs = passport.split(".");
  if (segs.length !== 3) throw new SyntaxError("Identity: PASSporT is not a JWS compact serialization");
  const [h, p, s] = segs as [string, string, string];
  if (!B64URL.test(h) || !B64URL.test(s)) throw new SyntaxError("Identity: PASSporT is not base64url");
  if (p === "") throw new SyntaxError("Identity: compact-form PASSporT (empty payload) is not supported");
  if (!B64URL.test(p)) throw new SyntaxError("Identity: PASSporT is not base64url");
  const params: Record<string, string> = {};
  for (const raw of parts) {
    const eq = raw.indexOf("=");
    const name = (eq < 0 ? raw : raw.slice(0, eq)).trim().toLowerCase();
    let val = eq < 0 ? "" : raw.slice(eq + 1).trim();
    if (name === "") continue;
    if (val.startsWith("<") && val.endsWith(">")) val = val.slice(1, -1).trim();
    else if (val.startsWith('"') && val.endsWith('"') && val.length >= 2) val = val.slice(1, -1);
    params[name] = val;
  }
  const info = params["info"];
  if (info === undefined || info === "") throw new SyntaxError("Identity: missing info parameter");
  return { passport, info, alg: params["alg"], ppt: params["ppt"], params };
}

/** Split on `;` outside `<...>` and quotes. */
function splitParams(value: string): string[] {
  const out: string[] = [];
  let cur = "";
  let angle = false;
  let quote = false;
  for (const ch of value) {
    if (ch === '"' && !angle) quote = !quote;
    else if (ch === "<" && !quote) angle = true;
    else if (ch === ">" && !quote) angle = false;
    if (ch === ";" && !angle && !quote) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Build an `Identity` header value from a signed PASSporT and the URL of its certificate. */
export function formatIdentityHeader(
  passport: string,
  options: { info: string; alg?: string; ppt?: string },
): string {
  if (/[<>\s;]/.test(options.info)) throw new TypeError("Identity: info URL contains < > ; or space");
  return `${passport};info=<${options.info}>;alg=${options.alg ?? "ES256"};ppt=${options.ppt ?? "shaken"}`;
}

/**
 * Normalize a telephone number for comparison (RFC 8224 section 8.3 in short): drop a leading
 * `+` and the visual separators `-` `.` `(` `)` and spaces. Returns `undefined` when what is left
 * is not 1..20 digits (a non-numeric user part is not a telephone number).
 */
export function normalizeTn(value: string): string | undefined {
  const s = value.trim().replace(/^\+/, "").replace(/[-.() ]/g, "");
  return /^[0-9]{1,20}$/.test(s) ? s : undefined;
}

/**
 * The normalized telephone number in a From/To/P-Asserted-Identity value or a bare URI:
 * `"Bob" <sip:+1-215-555-1212@host;user=phone>;tag=x`, `tel:+12155551212`, `sip:2155551212@h`.
 * Returns `undefined` when the user part is not a telephone number.
 */
export function tnFromUri(value: string): string | undefined {
  let uri = value.trim();
  const lt = uri.indexOf("<");
  if (lt >= 0) {
    const gt = uri.indexOf(">", lt);
    uri = uri.slice(lt + 1, gt < 0 ? undefined : gt);
  }
  const m = /^(sips?|tel):/i.exec(uri);
  if (!m) return undefined;
  let rest = uri.slice(m[0].length);
  if (m[1]!.toLowerCase() !== "tel") {
    const at = rest.indexOf("@");
    if (at < 0) return undefined;
    rest = rest.slice(0, at);
  }
  rest = rest.split(/[;?]/)[0] ?? "";
  try {
    rest = decodeURIComponent(rest);
  } catch {
    return undefined;
  }
  return normalizeTn(rest);
}

/**
 * Put `;verstat=<value>` on the URI in a From/P-Asserted-Identity value (inside the angle
 * brackets when there are any, before URI headers), replacing an existing verstat (a caller must
 * not be able to claim its own). A value with no recognizable URI is returned unchanged.
 */
export function withVerstat(value: string, verstat: Verstat): string {
  const lt = value.indexOf("<");
  if (lt >= 0) {
    const gt = value.indexOf(">", lt);
    if (gt < 0) return value;
    return value.slice(0, lt + 1) + uriWithVerstat(value.slice(lt + 1, gt), verstat) + value.slice(gt);
  }
  // addr-spec without brackets: header parameters (;tag=) belong to the header, so the URI ends
  // at the first ';' -- RFC 3261 20.10. Rewrite it as a name-addr to carry the URI parameter.
  const semi = value.indexOf(";");
  const uri = (semi < 0 ? value : value.slice(0, semi)).trim();
  if (!/^(sips?|tel):/i.test(uri)) return value;
  return `<${uriWithVerstat(uri, verstat)}>${semi < 0 ? "" : value.slice(semi)}`;
}

function uriWithVerstat(uri: string, verstat: Verstat): string {
  const q = uri.indexOf("?");
  const base = q < 0 ? uri : uri.slice(0, q);
  const headers = q < 0 ? "" : uri.slice(q);
  const kept = base.split(";").filter((p, i) => i === 0 || !/^verstat(=|$)/i.test(p.trim()));
  return `${kept.join(";")};verstat=${verstat}${headers}`;
}
