/**
 * The trunk feature's configuration types and their checks: trunks (registration or IP peer),
 * DIDs, outbound routes, outside-call permissions and E911 locations. Every check throws a
 * TypeError or RangeError naming the field and the value, which the API answers as 400.
 * @module
 */
import { parsePattern, parseRange } from "../../call/route/mod.ts";

/** Outside-call classes an extension may be permitted. */
export const CALL_CLASSES = ["internal", "local", "national", "international", "premium"] as const;
/** One outside-call class. */
export type CallClass = typeof CALL_CLASSES[number];
/** What an extension without its own row may dial: international and premium are refused by default. */
export const DEFAULT_CLASSES: readonly CallClass[] = ["internal", "local", "national"];

/** How a trunk presents the caller (RFC 3325). */
export type CallerIdMode = "from" | "pai" | "both";

/** A trunk as stored (the password lives sealed beside it, never here). */
export interface Trunk {
  id: string;
  name: string;
  /** `register`: the box registers to the carrier; `peer`: IP-authenticated, no registration. */
  kind: "register" | "peer";
  enabled: boolean;
  /** Carrier host (IP address or name) and port. */
  host: string;
  port: number;
  transport: "udp" | "tcp";
  /**
   * How a host name is looked up: `srv` (RFC 3263: SRV `_sip._<transport>.<host>`, then A on 5060;
   * the port comes from DNS) or `a` (A records, `port`). Default `srv` for a name given without a
   * port, else `a`. An IP address is used as it is.
   */
  lookup: "srv" | "a";
  /** Registration: username (the AOR's user), auth username (default username), expiry seconds. */
  username?: string;
  authUsername?: string;
  expires: number;
  /** Addresses/ranges calls from this trunk come from (peer trunks: required; register: default host). */
  addresses: string[];
  /** Send requests via this proxy (`host:port`) instead of `host`. */
  outboundProxy?: string;
  /** User and domain of the From URI toward the carrier (default: the caller ID and `host`). */
  fromUser?: string;
  fromDomain?: string;
  /** Caller ID presentation: in From, in P-Asserted-Identity, or both. */
  callerIdMode: CallerIdMode;
  /** The caller ID sent when neither the route nor the extension gives one. */
  callerId?: string;
  /** Codec names offered on this trunk, in order (empty: whatever the caller offered). */
  codecs: string[];
  dtmf: "rfc4733" | "info" | "inband";
  /** Concurrent calls at most (0: no limit); emergency calls are never refused for it. */
  maxChannels: number;
  /** OPTIONS keepalive every so many seconds (0: off). */
  keepaliveSeconds: number;
  /** Where the dialled number of an inbound call is: the To user or the Request-URI user. */
  didFrom: "to" | "request-uri";
}

/** A DID: a number a trunk delivers, and the internal number (any dialplan destination) it rings. */
export interface Did {
  number: string;
  /** Only from this trunk (default any trunk). */
  trunk?: string;
  /** An internal number: extension, group, IVR, voicemail, queue, conference, paging zone. */
  destination: string;
  name: string;
}

/** The class of an outbound route's numbers (what permission a caller needs), or emergency. */
export type RouteClass = Exclude<CallClass, "internal"> | "emergency";

/** An outbound route. */
export interface OutboundRoute {
  id: string;
  name: string;
  /** Dial patterns, `9|NXXNXXXXXX` or `011.` (a leading `_` is optional); `|` marks what is stripped. */
  patterns: string[];
  /** Digits put before the number after stripping. */
  prepend: string;
  class: RouteClass;
  /** Trunk ids tried in order (failover on 5xx, 408 and transport failure). */
  trunks: string[];
  /** Caller ID on this route (default: the extension's, then the trunk's). */
  callerId?: string;
  /** Caller ID (callback number) for emergency calls on this route. */
  emergencyCallerId?: string;
  enabled: boolean;
}

/** A dispatchable location (Ray Baum's Act). */
export interface Location {
  /** Street address, e.g. "100 Main St, Springfield, IL 62701". */
  address: string;
  /** Country code for PIDF-LO civic address (default US). */
  country: string;
  /** State/region (A1), city (A3), street (RD), house number (HNO), postal code (PC). */
  state?: string;
  city?: string;
  street?: string;
  houseNumber?: string;
  postalCode?: string;
  building?: string;
  floor?: string;
  room?: string;
}

const ID_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const HOST_RE =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$/;
const USER_RE = /^[A-Za-z0-9+._~*#-]{1,64}$/;
const NUMBER_RE = /^\+?[0-9*#]{1,32}$/;
const CODECS = new Set(["PCMU", "PCMA", "G722", "OPUS", "G729", "TELEPHONE-EVENT"]);
// deno-lint-ignore no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new TypeError(`${what} must be a JSON object`);
  }
  return v as Record<string, unknown>;
}

function str(
  v: unknown,
  field: string,
  opts: { max?: number; re?: RegExp; optional?: boolean } = {},
): string | undefined {
  if (v === undefined || v === null || v === "") {
    if (opts.optional) return undefined;
    throw new TypeError(`${field} is required`);
  }
  if (typeof v !== "string") throw new TypeError(`${field} must be a string, got ${typeof v}`);
  if (v.length > (opts.max ?? 200) || CONTROL_RE.test(v)) {
    throw new RangeError(`${field} must be at most ${opts.max ?? 200} printable characters`);
  }
  if (opts.re && !opts.re.test(v)) {
    throw new RangeError(`${field} ${JSON.stringify(v.slice(0, 80))} is not valid`);
  }
  return v;
}

function int(v: unknown, field: string, min: number, max: number, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${field} must be a whole number ${min}-${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function oneOf<T extends string>(v: unknown, field: string, values: readonly T[], dflt: T): T {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "string" || !values.includes(v as T)) {
    throw new RangeError(`${field} must be one of ${values.join(", ")}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

function bool(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "boolean") throw new TypeError(`${field} must be true or false`);
  return v;
}

function list(v: unknown, field: string, max = 32): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new TypeError(`${field} must be a list`);
  if (v.length > max) throw new RangeError(`${field} may hold at most ${max} entries`);
  return v;
}

/** Check an id (trunk, route): lower-case letters, digits, - and _, 1-32 characters. */
export function checkId(v: unknown, what: string): string {
  return str(v, `${what} id`, { max: 32, re: ID_RE })!;
}

/**
 * Check a trunk body (the password, if any, is returned apart: it never enters the stored config).
 */
export function checkTrunk(input: unknown, id: string): { trunk: Trunk; password?: string } {
  const b = obj(input, "trunk");
  const kind = oneOf(b.kind, "kind", ["register", "peer"] as const, "peer");
  const host = str(b.host, "host", { max: 253, re: HOST_RE })!;
  const addresses = list(b.addresses, "addresses").map((a, i) => {
    const s = str(a, `addresses[${i}]`, { max: 64 })!;
    parseRange(s); // RangeError naming it
    return s;
  });
  if (kind === "peer" && addresses.length === 0) {
    throw new RangeError("a peer trunk needs addresses: calls are accepted only from them");
  }
  const trunk: Trunk = {
    id: checkId(id, "trunk"),
    name: str(b.name, "name", { max: 80, optional: true }) ?? id,
    kind,
    enabled: bool(b.enabled, "enabled", true),
    host,
    port: int(b.port, "port", 1, 65535, 5060),
    transport: oneOf(b.transport, "transport", ["udp", "tcp"] as const, "udp"),
    lookup: oneOf(
      b.lookup,
      "lookup",
      ["srv", "a"] as const,
      b.port === undefined || b.port === null ? "srv" : "a",
    ),
    expires: int(b.expires, "expires", 60, 86400, 300),
    addresses,
    callerIdMode: oneOf(b.callerIdMode, "callerIdMode", ["from", "pai", "both"] as const, "both"),
    codecs: list(b.codecs, "codecs", 8).map((c, i) => {
      const s = str(c, `codecs[${i}]`, { max: 20 })!;
      if (!CODECS.has(s.toUpperCase())) {
        throw new RangeError(`codecs[${i}] ${JSON.stringify(s)} is not one of ${[...CODECS].join(", ")}`);
      }
      return s.toUpperCase();
    }),
    dtmf: oneOf(b.dtmf, "dtmf", ["rfc4733", "info", "inband"] as const, "rfc4733"),
    maxChannels: int(b.maxChannels, "maxChannels", 0, 10000, 0),
    keepaliveSeconds: int(b.keepaliveSeconds, "keepaliveSeconds", 0, 3600, 0),
    didFrom: oneOf(
      b.didFrom,
      "didFrom",
      ["to", "request-uri"] as const,
      kind === "register" ? "to" : "request-uri",
    ),
  };
  if (trunk.keepaliveSeconds > 0 && trunk.keepaliveSeconds < 5) {
    throw new RangeError("keepaliveSeconds must be 0 (off) or at least 5");
  }
  const opt = <K extends keyof Trunk>(k: K, v: Trunk[K] | undefined) => {
    if (v !== undefined) trunk[k] = v;
  };
  opt("username", str(b.username, "username", { re: USER_RE, optional: true }));
  opt("authUsername", str(b.authUsername, "authUsername", { re: USER_RE, optional: true }));
  opt("fromUser", str(b.fromUser, "fromUser", { re: USER_RE, optional: true }));
  opt("fromDomain", str(b.fromDomain, "fromDomain", { max: 253, re: HOST_RE, optional: true }));
  opt("callerId", str(b.callerId, "callerId", { re: NUMBER_RE, optional: true }));
  const proxy = str(b.outboundProxy, "outboundProxy", { max: 260, optional: true });
  if (proxy !== undefined) {
    parseHostPort(proxy, "outboundProxy");
    trunk.outboundProxy = proxy;
  }
  const password = str(b.password, "password", { max: 128, optional: true });
  if (kind === "register" && trunk.username === undefined) {
    throw new TypeError("a registration trunk needs a username");
  }
  return password === undefined ? { trunk } : { trunk, password };
}

const IP_LITERAL = /^(\d{1,3}(\.\d{1,3}){3}|\[?[0-9a-fA-F:]+:[0-9a-fA-F:.]*\]?)$/;

/**
 * Where a trunk's requests go: its outbound proxy or its host, with the port, and whether the
 * name is located by SRV (RFC 3263; `lookup: srv`, a name, and for a proxy no port in the text).
 */
export function trunkHop(t: Trunk): { host: string; port: number; srv: boolean } {
  if (t.outboundProxy !== undefined) {
    const p = parseHostPort(t.outboundProxy, "outboundProxy");
    const explicit = /:\d+$/.test(t.outboundProxy) && !/^[^[]*:[^\]]*:/.test(t.outboundProxy);
    return { ...p, srv: t.lookup === "srv" && !explicit && !IP_LITERAL.test(p.host) };
  }
  return { host: t.host, port: t.port, srv: t.lookup === "srv" && !IP_LITERAL.test(t.host) };
}

/** The host part of the trunk's Request-URIs and To: no port when SRV locates the server. */
export function trunkHostPart(t: Trunk): string {
  return t.port === 5060 || (t.lookup === "srv" && !IP_LITERAL.test(t.host)) ? t.host : `${t.host}:${t.port}`;
}

/** Parse `host[:port]` (`[v6]:port` too); RangeError naming `field` when malformed. */
export function parseHostPort(text: string, field: string): { host: string; port: number } {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:\[\]]+)(?::(\d{1,5}))?$/.exec(text);
  const port = m?.[2] === undefined ? 5060 : Number(m[2]);
  if (!m || !HOST_RE.test(m[1]!) || port < 1 || port > 65535) {
    throw new RangeError(`${field} must be host or host:port, got ${JSON.stringify(text.slice(0, 80))}`);
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}

/** A route's dial pattern in number-plan syntax (a leading `_` added where the text is a pattern). */
export function planPattern(text: string): string {
  return text.startsWith("_") || /^[0-9*#+]+$/.test(text) ? text : `_${text}`;
}

/** Check a DID body. */
export function checkDid(input: unknown, number: string): Did {
  const b = obj(input, "DID");
  const did: Did = {
    number: str(number, "number", { max: 32, re: NUMBER_RE })!,
    destination: str(b.destination, "destination", { max: 32, re: /^[0-9A-Za-z*#+_.-]{1,32}$/ })!,
    name: str(b.name, "name", { max: 80, optional: true }) ?? "",
  };
  const trunk = b.trunk === undefined || b.trunk === null || b.trunk === ""
    ? undefined
    : checkId(b.trunk, "trunk");
  if (trunk !== undefined) did.trunk = trunk;
  return did;
}

/** Check an outbound route body. */
export function checkRoute(input: unknown, id: string): OutboundRoute {
  const b = obj(input, "route");
  const patterns = list(b.patterns, "patterns", 16).map((p, i) => {
    const s = str(p, `patterns[${i}]`, { max: 64 })!;
    try {
      parsePattern(planPattern(s));
    } catch (e) {
      throw new RangeError(`patterns[${i}]: ${(e as Error).message}`);
    }
    return s;
  });
  if (patterns.length === 0) throw new RangeError("a route needs at least one dial pattern");
  const trunks = list(b.trunks, "trunks", 8).map((t, i) => checkId(t, `trunks[${i}]`));
  if (trunks.length === 0) throw new RangeError("a route needs at least one trunk");
  const route: OutboundRoute = {
    id: checkId(id, "route"),
    name: str(b.name, "name", { max: 80, optional: true }) ?? id,
    patterns,
    prepend: str(b.prepend, "prepend", { max: 16, re: /^\+?[0-9*#]{1,16}$/, optional: true }) ?? "",
    class: oneOf(
      b.class,
      "class",
      ["local", "national", "international", "premium", "emergency"] as const,
      "national",
    ),
    trunks,
    enabled: bool(b.enabled, "enabled", true),
  };
  const cid = str(b.callerId, "callerId", { re: NUMBER_RE, optional: true });
  if (cid !== undefined) route.callerId = cid;
  const ecid = str(b.emergencyCallerId, "emergencyCallerId", { re: NUMBER_RE, optional: true });
  if (ecid !== undefined) route.emergencyCallerId = ecid;
  return route;
}

/** Check a permission list. */
export function checkClasses(input: unknown): CallClass[] {
  const b = obj(input, "permissions");
  const out = list(b.classes, "classes", 8).map((c, i) =>
    oneOf(c, `classes[${i}]`, CALL_CLASSES, "internal")
  );
  return [...new Set(out)];
}

/** Check a location body. */
export function checkLocation(input: unknown): Location {
  const b = obj(input, "location");
  const loc: Location = {
    address: str(b.address, "address", { max: 200 })!,
    country: str(b.country, "country", { max: 2, re: /^[A-Z]{2}$/, optional: true }) ?? "US",
  };
  for (
    const k of ["state", "city", "street", "houseNumber", "postalCode", "building", "floor", "room"] as const
  ) {
    const v = str(b[k], k, { max: 80, optional: true });
    if (v !== undefined) loc[k] = v;
  }
  return loc;
}
