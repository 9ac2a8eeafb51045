/**
 * Free loopback ports for peers the tests start. A port found free can still be taken by someone
 * else before it is used; the ranges below keep that unlikely (see pickPortRange).
 *
 * @module
 */
import dgram from "node:dgram";

/** True when a UDP socket can bind 127.0.0.1:`port` right now. */
export async function udpBindable(port: number): Promise<boolean> {
  const socket = dgram.createSocket("udp4");
  try {
    return await new Promise<boolean>((resolve) => {
      socket.once("error", () => resolve(false));
      socket.bind(port, "127.0.0.1", () => resolve(true));
    });
  } finally {
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve(); // never bound
      }
    });
  }
}

// Ports handed out by this process recently: concurrent callers must not get the same one (the
// kernel may return a just-closed port again).
const handedOut = new Set<number>();

function remember(port: number): number {
  handedOut.add(port);
  if (handedOut.size > 5000) handedOut.delete(handedOut.values().next().value!);
  return port;
}

/** A port free on 127.0.0.1 for both TCP and UDP (SIP listens on both), chosen by the kernel. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    if (handedOut.has(port)) continue;
    if (await udpBindable(port)) return remember(port);
  }
  throw new Error("freePort: no port free for both TCP and UDP after 50 attempts");
}

/** A UDP port free on 127.0.0.1. */
export async function freeUdpPort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/** `count` distinct ports, each free on 127.0.0.1 for TCP and UDP. */
export async function freePorts(count: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < count) out.add(await freePort());
  return [...out];
}

/**
 * Port bands, kept apart because test files run in separate processes that cannot see each other's
 * picks: an appliance binds its RTP ports lazily (per call), so a sipp media port picked from the same
 * band could be taken by a relay leg of another test's appliance, or the other way round.
 */
export const APPLIANCE_RTP_BAND = { low: 10000, high: 26000 } as const;
/** Media ports of the test peers: sipp, baresip, test RTP sockets (see APPLIANCE_RTP_BAND). */
export const PEER_MEDIA_BAND = { low: 26000, high: 32000 } as const;

/**
 * A block of `size` consecutive UDP ports (RTP ranges, media ports) whose first, last and a few
 * sampled ports bind. Blocks start below the kernel's ephemeral range (32768+), so port-0 binds
 * elsewhere in the test run do not land inside them; the start is random so parallel test
 * processes rarely pick the same block.
 */
export async function pickPortRange(
  size = 200,
  band: { low: number; high: number } = APPLIANCE_RTP_BAND,
): Promise<[number, number]> {
  if (!Number.isInteger(size) || size < 1 || size > 2000) throw new RangeError(`bad range size ${size}`);
  const low = band.low;
  const high = band.high - size;
  for (let attempt = 0; attempt < 50; attempt++) {
    const min = low + 2 * Math.floor(Math.random() * ((high - low) / 2));
    const max = min + size - 1;
    if ([...handedOut].some((p) => p >= min && p <= max)) continue;
    const samples = [min, min + 1, max, min + Math.floor(size / 2)];
    let ok = true;
    for (const p of samples) {
      if (!(await udpBindable(p))) {
        ok = false;
        break;
      }
    }
    if (ok) {
      // Reserve the whole block against this process's later picks.
      for (let p = min; p <= max; p++) remember(p);
      return [min, max];
    }
  }
  throw new Error(`pickPortRange: no free block of ${size} ports found`);
}

/**
 * True when process `pid` has a UDP socket bound to local `port` (Linux /proc), so a caller can
 * tell "the child bound it" from "someone else took it". False when /proc is unreadable.
 */
export async function udpPortOwnedBy(pid: number, port: number): Promise<boolean> {
  try {
    const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
    const inodes = new Set<string>();
    for (const table of ["/proc/net/udp", "/proc/net/udp6"]) {
      const text = await Deno.readTextFile(table).catch(() => "");
      for (const line of text.split("\n").slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols[1]?.endsWith(`:${hexPort}`) && cols[9] !== undefined) inodes.add(cols[9]);
      }
    }
    if (inodes.size === 0) return false;
    for await (const fd of Deno.readDir(`/proc/${pid}/fd`)) {
      const link = await Deno.readLink(`/proc/${pid}/fd/${fd.name}`).catch(() => "");
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m !== null && inodes.has(m[1]!)) return true;
    }
  } catch { /* process gone or no /proc */ }
  return false;
}
