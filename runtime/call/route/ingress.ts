/**
 * Request classification by ingress, before authorization: a request comes from a trunk (matched
 * by its source address against the trunks' address ranges, as IP-authenticated peer trunks are),
 * from an extension (which must then pass the digest check), or from something unknown. Nothing
 * here authenticates: an `extension` answer only says which digest to ask for, so calls from
 * trunks become possible without weakening "an unauthenticated INVITE never reaches a phone".
 * @module
 */

/** A trunk as ingress sees it: where its requests come from. */
export interface TrunkIngress {
  /** The trunk's id (its key in the trunk store). */
  id: string;
  /** Addresses and CIDR ranges its requests come from: `192.0.2.10`, `198.51.100.0/24`, `2001:db8::/32`. */
  addresses: readonly string[];
  /** Source port it must come from; any without. */
  port?: number;
  /** Transports it may use; any without. */
  transports?: readonly string[];
}

/** Configuration of the classifier. */
export interface IngressConfig {
  trunks: readonly TrunkIngress[];
  /** Whether a From user is an extension of this box; without it any user that looks like one (2-8 digits). */
  isExtension?: (user: string) => boolean;
}

/** What is known about a request before it is authorized. */
export interface IngressRequest {
  source: { address: string; port: number; transport?: string };
  /** User parts of the From URI, the To URI and the Request-URI (undefined when absent or unparsable). */
  fromUser?: string | undefined;
  toUser?: string | undefined;
  requestUser?: string | undefined;
}

/** How a request entered the box. */
export type Ingress =
  /** From a trunk's address: trusted by address; `dialled` is looked up in the inbound (DID) scope. */
  | { kind: "trunk"; trunk: string; auth: "address"; caller?: string; dialled?: string }
  /** Claims to be an extension: must pass the digest check as `user` before anything else. */
  | { kind: "extension"; user: string; auth: "digest"; dialled?: string }
  /** Neither: never routed; challenge it (so scanners learn nothing) or refuse it. */
  | { kind: "unknown"; auth: "digest"; reason: string };

const EXTENSION_RE = /^[0-9]{2,8}$/;

/** Classify a request; pure over its addressing and the config. */
export function classifyIngress(request: IngressRequest, config: IngressConfig): Ingress {
  const dialled = request.requestUser ?? request.toUser;
  const addr = parseIp(request.source.address);
  if (addr !== undefined) {
    for (const t of config.trunks) {
      if (t.port !== undefined && t.port !== request.source.port) continue;
      if (t.transports && request.source.transport !== undefined) {
        const tr = request.source.transport.toLowerCase();
        if (!t.transports.some((x) => x.toLowerCase() === tr)) continue;
      }
      if (t.addresses.some((range) => inRange(addr, range))) {
        return {
          kind: "trunk",
          trunk: t.id,
          auth: "address",
          ...(request.fromUser === undefined ? {} : { caller: request.fromUser }),
          ...(dialled === undefined ? {} : { dialled }),
        };
      }
    }
  }
  const user = request.fromUser;
  if (user === undefined || user === "") return { kind: "unknown", auth: "digest", reason: "no From user" };
  const isExtension = config.isExtension ?? ((u: string) => EXTENSION_RE.test(u));
  if (!isExtension(user)) {
    return {
      kind: "unknown",
      auth: "digest",
      reason: `From user ${JSON.stringify(user.slice(0, 40))} is no extension`,
    };
  }
  return { kind: "extension", user, auth: "digest", ...(dialled === undefined ? {} : { dialled }) };
}

/** An address as bytes (4 for IPv4, 16 for IPv6); IPv4-mapped IPv6 becomes IPv4. */
type Ip = Uint8Array;

/** Parse an IPv4 or IPv6 address (brackets and a zone id allowed); undefined when it is neither. */
export function parseIp(text: string): Ip | undefined {
  let s = text.trim();
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  const v4 = parseV4(s);
  if (v4) return v4;
  const v6 = parseV6(s);
  if (!v6) return undefined;
  const mapped = v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}

function parseV4(s: string): Ip | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const bytes = m.slice(1).map(Number);
  return bytes.every((b) => b <= 255) ? new Uint8Array(bytes) : undefined;
}

function parseV6(s: string): Ip | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(s) || s.split("::").length > 2) return undefined;
  const expand = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const groups = part.split(":");
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i === groups.length - 1 && g.includes(".")) {
        const v4 = parseV4(g);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return undefined;
    }
    return out;
  };
  const [head, tail] = s.split("::") as [string, string | undefined];
  const h = expand(head);
  const t = tail === undefined ? [] : expand(tail);
  if (!h || !t) return undefined;
  const missing = 8 - h.length - t.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const words = [...h, ...new Array<number>(tail === undefined ? 0 : missing).fill(0), ...t];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/**
 * Validate an address range (`192.0.2.1`, `192.0.2.0/24`, `2001:db8::/32`); RangeError naming it
 * when malformed. For trunk forms, so a typo is refused instead of never matching.
 */
export function parseRange(range: string): { network: Ip; bits: number } {
  const slash = range.indexOf("/");
  const network = parseIp(slash < 0 ? range : range.slice(0, slash));
  if (!network) throw new RangeError(`address range ${JSON.stringify(range)}: not an IPv4 or IPv6 address`);
  const max = network.length * 8;
  const bitsText = slash < 0 ? String(max) : range.slice(slash + 1);
  const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
  if (!(bits >= 0 && bits <= max)) {
    throw new RangeError(`address range ${JSON.stringify(range)}: prefix length must be 0-${max}`);
  }
  return { network, bits };
}

function inRange(addr: Ip, range: string): boolean {
  let r: { network: Ip; bits: number };
  try {
    r = parseRange(range);
  } catch {
    return false; // a malformed range matches nothing
  }
  if (r.network.length !== addr.length) return false;
  let bits = r.bits;
  for (let i = 0; i < addr.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((addr[i]! & mask) !== (r.network[i]! & mask)) return false;
  }
  return true;
}
