/**
 * Locating a SIP server (RFC 3263 section 4) for a host name the box sends to (a trunk's carrier or
 * its outbound proxy): an IP address is used as it is; a name with an explicit port is looked up
 * with A records only; otherwise, when no transport is given, NAPTR records (optional, RFC 3403)
 * pick `SIP+D2U` / `SIP+D2T` by order and preference; then SRV records `_sip._udp.<host>` /
 * `_sip._tcp.<host>` (RFC 2782: lowest priority first, weighted random within one priority; a
 * single "." target means no service), each target resolved with A; with no SRV records, A records
 * of the host itself on port 5060. The result is the ordered list of servers to try.
 *
 * The resolver is injectable (`DnsResolver`); `nodeDnsResolver()` is `node:dns`'s.
 * @module
 */
import { Resolver } from "node:dns/promises";
import { isIP } from "node:net";

/** One NAPTR record (RFC 3403). */
export interface NaptrRecord {
  order: number;
  preference: number;
  flags: string;
  service: string;
  regexp: string;
  replacement: string;
}

/** One SRV record (RFC 2782). */
export interface SrvRecord {
  priority: number;
  weight: number;
  port: number;
  name: string;
}

/** The DNS look-ups locating needs; each rejects (or gives []) when there are no records. */
export interface DnsResolver {
  naptr?(name: string): Promise<NaptrRecord[]>;
  srv(name: string): Promise<SrvRecord[]>;
  a(name: string): Promise<string[]>;
}

/** A server to send to. */
export interface LocatedServer {
  transport: "udp" | "tcp";
  address: string;
  port: number;
  /** How it was found (logs, the trunk's state). */
  via: "ip" | "a" | "srv" | "naptr";
}

/** node:dns as a `DnsResolver` (a timeout per query, two tries). */
export function nodeDnsResolver(options: { timeoutMs?: number; servers?: string[] } = {}): DnsResolver {
  const r = new Resolver({ timeout: options.timeoutMs ?? 3000, tries: 2 });
  if (options.servers !== undefined) r.setServers(options.servers);
  return {
    naptr: async (name) =>
      (await r.resolveNaptr(name)).map((x) => ({
        order: x.order,
        preference: x.preference,
        flags: x.flags,
        service: x.service,
        regexp: x.regexp,
        replacement: x.replacement,
      })),
    srv: async (name) => await r.resolveSrv(name),
    a: async (name) => await r.resolve4(name),
  };
}

const SERVICES: Record<string, "udp" | "tcp"> = { "SIP+D2U": "udp", "SIP+D2T": "tcp" };

const none = <T>(p: Promise<T[]> | undefined): Promise<T[]> =>
  p === undefined ? Promise.resolve([]) : p.catch(() => [] as T[]);

/** RFC 2782 order: by priority, then a weighted random pick within each priority. */
export function orderSrv(records: readonly SrvRecord[], random: () => number = Math.random): SrvRecord[] {
  const out: SrvRecord[] = [];
  const priorities = [...new Set(records.map((r) => r.priority))].sort((a, b) => a - b);
  for (const p of priorities) {
    // Zero-weight records first in the list, as RFC 2782 has it, so they are picked rarely.
    const left = records.filter((r) => r.priority === p).sort((a, b) => a.weight - b.weight);
    while (left.length > 0) {
      const total = left.reduce((s, r) => s + r.weight, 0);
      const pick = random() * (total + 1);
      let sum = 0;
      let i = left.findIndex((r) => (sum += r.weight) >= pick);
      if (i < 0) i = left.length - 1;
      out.push(left.splice(i, 1)[0]!);
    }
  }
  return out;
}

/**
 * The servers for `host` (see the module doc). `transport`: the one configured (SRV for it only,
 * no NAPTR); `port`: an explicit port (A records only). Rejects with an Error naming the host
 * when nothing resolves.
 */
export async function locateSipServers(
  host: string,
  options: { transport?: "udp" | "tcp"; port?: number; resolver: DnsResolver; random?: () => number },
): Promise<LocatedServer[]> {
  const h = host.replace(/^\[|\]$/g, "");
  const r = options.resolver;
  if (isIP(h) !== 0) {
    return [{ transport: options.transport ?? "udp", address: h, port: options.port ?? 5060, via: "ip" }];
  }
  const byA = async (port: number, transport: "udp" | "tcp"): Promise<LocatedServer[]> =>
    (await none(r.a(h))).map((address) => ({ transport, address, port, via: "a" as const }));
  if (options.port !== undefined) {
    const a = await byA(options.port, options.transport ?? "udp");
    if (a.length === 0) throw new Error(`${h} does not resolve (A)`);
    return a;
  }
  // Which SRV names to ask, and for which transport (NAPTR when the transport is not fixed).
  let queries: { name: string; transport: "udp" | "tcp"; via: "srv" | "naptr" }[] = [];
  if (options.transport === undefined) {
    const naptr = (await none(r.naptr?.(h)))
      .filter((n) => n.flags.toLowerCase() === "s" && SERVICES[n.service.toUpperCase()] !== undefined)
      .sort((a, b) => a.order - b.order || a.preference - b.preference);
    queries = naptr.map((n) => ({
      name: n.replacement.replace(/\.$/, ""),
      transport: SERVICES[n.service.toUpperCase()]!,
      via: "naptr" as const,
    }));
  }
  if (queries.length === 0) {
    const transports: ("udp" | "tcp")[] = options.transport !== undefined
      ? [options.transport]
      : ["udp", "tcp"];
    queries = transports.map((t) => ({ name: `_sip._${t}.${h}`, transport: t, via: "srv" as const }));
  }
  const out: LocatedServer[] = [];
  let srvSeen = false;
  for (const q of queries) {
    const records = await none(r.srv(q.name));
    if (records.length === 0) continue;
    srvSeen = true;
    // A single "." target: the service is decidedly not available at this domain (RFC 2782).
    if (records.length === 1 && (records[0]!.name === "." || records[0]!.name === "")) continue;
    for (const s of orderSrv(records, options.random)) {
      for (const address of await none(r.a(s.name.replace(/\.$/, "")))) {
        out.push({ transport: q.transport, address, port: s.port, via: q.via });
      }
    }
  }
  if (out.length > 0) return out;
  if (!srvSeen) {
    const a = await byA(5060, options.transport ?? "udp");
    if (a.length > 0) return a;
  }
  throw new Error(`${h} does not resolve (${srvSeen ? "SRV targets" : "NAPTR, SRV, A"})`);
}
