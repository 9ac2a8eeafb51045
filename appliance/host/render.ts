/**
 * Pure functions: the OS files the appliance writes for network and time settings, and the parsers
 * for what the OS reports back (`ip -j addr show`, the timesyncd drop-in). No I/O here.
 */
import type { HostNetworkSettings, HostState, HostTimeSettings } from "../../web/types.ts";

/** Network settings as the web layer stores them (System > Network): web's contract type. */
export type NetworkConfig = HostNetworkSettings;

/** Time settings as the web layer stores them (System > Time): web's contract type. */
export type TimeConfig = HostTimeSettings;

/** One network interface as the OS reports it (GET /api/system/host). */
export type HostInterface = HostState["interfaces"][number];

/** One address of an interface as the OS reports it. */
export type HostAddress = HostInterface["addresses"][number];

/** Where the appliance's systemd-networkd file lives (below the root prefix). */
export const NETWORK_FILE = "/etc/systemd/network/20-pbx-lan.network";
/** The timesyncd drop-in with the NTP servers. */
export const TIMESYNCD_FILE = "/etc/systemd/timesyncd.conf.d/50-pbx.conf";
/** The interfaces the network file matches when no concrete name is known. */
export const FALLBACK_MATCH = "en* eth*";

const IPV4_RE =
  /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/;
const HOSTNAME_RE = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const NTP_RE =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IFACE_RE = /^[A-Za-z0-9_.:@*-]+( [A-Za-z0-9_.:@*-]+)*$/;
const ZONE_RE = /^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+){0,3}$/;

/** The IPv4 address as a 32-bit unsigned number; RangeError when it is not one. */
export function ipv4ToNumber(address: string): number {
  if (!IPV4_RE.test(address)) throw new RangeError(`not an IPv4 address: ${JSON.stringify(address)}`);
  return address.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

/** The netmask of a prefix length 0-32 as a 32-bit unsigned number. */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * What is wrong with a static address/prefix/gateway triple, or null when it is usable: the address
 * must not be the subnet's network or broadcast address (below /31) and the gateway must be another
 * host in the same subnet.
 */
export function staticAddressProblem(address: string, prefix: number, gateway: string): string | null {
  const a = ipv4ToNumber(address);
  const g = ipv4ToNumber(gateway);
  const mask = prefixMask(prefix);
  const net = (a & mask) >>> 0;
  const broadcast = (net | (~mask >>> 0)) >>> 0;
  if (prefix <= 30) {
    if (a === net) return `address ${address} is the network address of ${address}/${prefix}`;
    if (a === broadcast) return `address ${address} is the broadcast address of ${address}/${prefix}`;
  }
  if (((g & mask) >>> 0) !== net) {
    return `gateway ${gateway} is outside the subnet ${numberToIpv4(net)}/${prefix}`;
  }
  if (g === a) return `gateway ${gateway} is the box's own address`;
  if (prefix <= 30 && (g === net || g === broadcast)) {
    return `gateway ${gateway} is the ${g === net ? "network" : "broadcast"} address of the subnet`;
  }
  return null;
}

function numberToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Throw a RangeError naming the first value that cannot go into an OS file. */
export function checkNetworkConfig(n: NetworkConfig): void {
  if (n.mode !== "dhcp" && n.mode !== "static") {
    throw new RangeError(`network mode must be dhcp or static, got ${JSON.stringify(n.mode)}`);
  }
  if (typeof n.hostname !== "string" || !HOSTNAME_RE.test(n.hostname)) {
    throw new RangeError(`not a host name label: ${JSON.stringify(n.hostname)}`);
  }
  for (const d of n.dns ?? []) ipv4ToNumber(d);
  if (n.mode === "static") {
    if (n.address === undefined || n.prefix === undefined || n.gateway === undefined) {
      throw new RangeError("static mode needs address, prefix and gateway");
    }
    if (!Number.isInteger(n.prefix) || n.prefix < 1 || n.prefix > 32) {
      throw new RangeError(`prefix must be 1-32, got ${n.prefix}`);
    }
    const problem = staticAddressProblem(n.address, n.prefix, n.gateway);
    if (problem !== null) throw new RangeError(problem);
  }
}

/** `[Match] Name=` value: a concrete interface name or the `en* eth*` fallback. */
export function checkInterfaceMatch(match: string): string {
  if (!IFACE_RE.test(match) || match.length > 64) {
    throw new RangeError(`not an interface name: ${JSON.stringify(match)}`);
  }
  return match;
}

const HEADER = "# Written by the PBX appliance (web UI: System > Network). Changes here are overwritten.\n";

/** The systemd-networkd `.network` file for the LAN interface. */
export function renderNetworkFile(n: NetworkConfig, match: string): string {
  checkNetworkConfig(n);
  checkInterfaceMatch(match);
  const lines = ["[Match]", `Name=${match}`, "", "[Network]"];
  if (n.mode === "dhcp") {
    lines.push("DHCP=ipv4");
  } else {
    lines.push(`Address=${n.address}/${n.prefix}`, `Gateway=${n.gateway}`);
  }
  for (const d of n.dns ?? []) lines.push(`DNS=${d}`);
  return HEADER + lines.join("\n") + "\n";
}

/** The content of /etc/hostname. */
export function renderHostname(n: NetworkConfig): string {
  checkNetworkConfig(n);
  return `${n.hostname}\n`;
}

/** Throw a RangeError unless `tz` looks like an IANA zone name that is safe in a file path. */
export function checkTimeZone(tz: string): string {
  if (typeof tz !== "string" || !ZONE_RE.test(tz) || tz.length > 64) {
    throw new RangeError(`not a time zone name: ${JSON.stringify(tz)}`);
  }
  return tz;
}

/** The timesyncd drop-in. An empty list writes `NTP=` so timesyncd falls back to its defaults. */
export function renderTimesyncd(t: TimeConfig): string {
  for (const s of t.ntpServers) {
    if (typeof s !== "string" || !NTP_RE.test(s)) {
      throw new RangeError(`not an NTP server: ${JSON.stringify(s)}`);
    }
  }
  return "# Written by the PBX appliance (web UI: System > Time). Changes here are overwritten.\n" +
    `[Time]\nNTP=${t.ntpServers.join(" ")}\n`;
}

/** The NTP servers named in a timesyncd drop-in (the last `NTP=` line in a [Time] section wins). */
export function parseTimesyncd(text: string): string[] {
  let section = "";
  let servers: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!;
      continue;
    }
    const kv = /^NTP\s*=\s*(.*)$/.exec(line);
    if (section === "Time" && kv) servers = kv[1]!.split(/\s+/).filter((s) => s !== "");
  }
  return servers;
}

/** The zone name from an /etc/localtime link target (`/usr/share/zoneinfo/Europe/Berlin`). */
export function zoneFromLink(target: string): string | null {
  const m = /(?:^|\/)zoneinfo\/(.+)$/.exec(target);
  if (!m) return null;
  // Debian's tzdata links "posix/" and "right/" variants; the zone name is the same.
  return m[1]!.replace(/^(posix|right)\//, "");
}

/** Interfaces with their addresses from `ip -j addr show`; loopback is left out. */
export function parseIpAddr(json: string): HostInterface[] {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw new SyntaxError(`ip -j addr show: not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(data)) throw new SyntaxError("ip -j addr show: expected a JSON array");
  const out: HostInterface[] = [];
  for (const link of data as Record<string, unknown>[]) {
    if (typeof link !== "object" || link === null || typeof link.ifname !== "string") continue;
    if (link.link_type === "loopback") continue;
    const addresses: HostAddress[] = [];
    for (const a of Array.isArray(link.addr_info) ? link.addr_info as Record<string, unknown>[] : []) {
      if (typeof a?.local !== "string" || typeof a.prefixlen !== "number") continue;
      if (a.family === "inet6" && a.scope === "link") continue; // fe80:: is on every link, says nothing
      addresses.push({ address: a.local, prefix: a.prefixlen, dynamic: a.dynamic === true });
    }
    out.push({
      name: link.ifname,
      mac: typeof link.address === "string" ? link.address : null,
      addresses,
    });
  }
  return out;
}

/** Interfaces from Deno.networkInterfaces() (no dynamic flag: Deno cannot tell); loopback left out. */
export function interfacesFromDeno(list: Deno.NetworkInterfaceInfo[]): HostInterface[] {
  const byName = new Map<string, HostInterface>();
  for (const ni of list) {
    if (isLoopback(ni)) continue;
    let entry = byName.get(ni.name);
    if (entry === undefined) {
      entry = { name: ni.name, mac: realMac(ni.mac), addresses: [] };
      byName.set(ni.name, entry);
    }
    if (ni.family === "IPv6" && ni.address.toLowerCase().startsWith("fe80:")) continue;
    const prefix = Number(ni.cidr.split("/")[1]);
    entry.addresses.push({
      address: ni.address,
      prefix: Number.isInteger(prefix) ? prefix : 0,
      dynamic: null,
    });
  }
  return [...byName.values()];
}

function isLoopback(ni: Deno.NetworkInterfaceInfo): boolean {
  return ni.name === "lo" || ni.address.startsWith("127.") || ni.address === "::1";
}

function realMac(mac: string): string | null {
  return /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac) && mac !== "00:00:00:00:00:00" ? mac : null;
}

/**
 * The LAN interface: the first non-loopback interface with a MAC address, else null (the caller
 * then matches `en* eth*`).
 */
export function pickLanInterface(list: Deno.NetworkInterfaceInfo[]): string | null {
  for (const ni of list) {
    if (!isLoopback(ni) && realMac(ni.mac) !== null) return ni.name;
  }
  return null;
}
