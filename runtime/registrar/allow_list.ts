/**
 * An allow-list of networks (CIDR, IPv4 and IPv6): addresses in it are never blocked by source
 * (the office's own networks). Extension lockout still applies to them.
 */

interface Network {
  v6: boolean;
  base: bigint;
  prefix: number;
  text: string;
}

function parseV4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = (n << 8n) | BigInt(v);
  }
  return n;
}

function parseV6(text: string): bigint | undefined {
  let s = text;
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two groups.
  const lastColon = s.lastIndexOf(":");
  if (s.includes(".") && lastColon >= 0) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] === "" ? [] : halves[0]!.split(":");
  const tail = halves.length === 2 ? (halves[1] === "" ? [] : halves[1]!.split(":")) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  return n;
}

/** An address as [isV6, value]; IPv4-mapped IPv6 addresses count as IPv4. Undefined if invalid. */
function parseAddress(text: string): [boolean, bigint] | undefined {
  const v4 = parseV4(text);
  if (v4 !== undefined) return [false, v4];
  const v6 = text.includes(":") ? parseV6(text.replace(/^\[|\]$/g, "")) : undefined;
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return [false, v6 & 0xffffffffn];
  return [true, v6];
}

function mask(v6: boolean, prefix: number): bigint {
  const bits = v6 ? 128 : 32;
  return ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
}

/** Parse `a.b.c.d/n`, `x::y/n` or a bare address (a /32 or /128). Throws RangeError when malformed. */
export function parseNetwork(text: string): { text: string; v6: boolean; base: bigint; prefix: number } {
  const t = String(text).trim();
  const slash = t.indexOf("/");
  const addr = slash < 0 ? t : t.slice(0, slash);
  const parsed = parseAddress(addr);
  if (parsed === undefined || (slash >= 0 && !/^\d{1,3}$/.test(t.slice(slash + 1)))) {
    throw new RangeError(
      `not a network (CIDR such as 192.168.1.0/24 or 2001:db8::/32): ${JSON.stringify(text)}`,
    );
  }
  const [v6, value] = parsed;
  const max = v6 ? 128 : 32;
  const prefix = slash < 0 ? max : Number(t.slice(slash + 1));
  if (prefix > max) throw new RangeError(`prefix of ${JSON.stringify(text)} must be at most ${max}`);
  const base = value & mask(v6, prefix);
  return { text: `${addr}/${prefix}`, v6, base, prefix };
}

/** A set of networks with a membership test for addresses. */
export class AllowList {
  #networks: Network[] = [];

  /** Build from CIDR strings; throws RangeError naming the first malformed one. */
  constructor(networks: readonly string[] = []) {
    this.set(networks);
  }

  /** Replace the networks; throws RangeError (and keeps the old list) when one is malformed. */
  set(networks: readonly string[]): void {
    this.#networks = networks.map((n) => parseNetwork(n));
  }

  /** The networks, normalised to `address/prefix`. */
  get networks(): string[] {
    return this.#networks.map((n) => n.text);
  }

  /** Whether `address` (IPv4, IPv6, IPv4-mapped IPv6) is in one of the networks. */
  has(address: string): boolean {
    if (this.#networks.length === 0) return false;
    const parsed = parseAddress(address);
    if (parsed === undefined) return false;
    const [v6, value] = parsed;
    return this.#networks.some((n) => n.v6 === v6 && (value & mask(v6, n.prefix)) === n.base);
  }
}
