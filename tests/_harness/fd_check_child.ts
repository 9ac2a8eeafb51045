/**
 * File-descriptor leak checks, run in a process of their own: `deno test --parallel` runs several
 * test files in one process, so counting /proc/self/fd there also counts other tests' sockets.
 * Usage: deno run --allow-all tests/_harness/fd_check_child.ts <check>; prints one JSON line
 * {ok, detail} and exits 0 when the check passed.
 */
import { UdpPoller } from "../../drivers/udp/mod.ts";
import { bindRelaySocket } from "../../runtime/media/relay/_udp.ts";

function fdCount(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

const checks: Record<string, () => Promise<string | null>> = {
  // A bind that fails (port taken) must close the socket it opened.
  async "native-bind-conflict"() {
    const p = UdpPoller.open();
    try {
      const a = p.bind(0, "127.0.0.1");
      const before = fdCount();
      try {
        p.bind(a.port, "127.0.0.1");
        return "binding a taken port did not throw";
      } catch (e) {
        if (!(e instanceof Deno.errors.AddrInUse)) return `expected AddrInUse, got ${e}`;
      }
      await a.close();
      return fdCount() === before - 1 ? null : `fds ${fdCount()} after, expected ${before - 1}`;
    } finally {
      await p.close();
    }
  },
  // Closing sockets frees their fds; the poller keeps only its own.
  async "native-close"() {
    const p = UdpPoller.open();
    try {
      const warm = p.bind(0, "127.0.0.1");
      await warm.close();
      const base = fdCount();
      const socks = Array.from({ length: 20 }, () => p.bind(0, "127.0.0.1"));
      if (fdCount() !== base + 20) return `20 binds opened ${fdCount() - base} fds`;
      for (const s of socks) await s.close();
      await socks[0]!.close(); // twice is fine
      return fdCount() <= base ? null : `fds ${fdCount()} after close, expected <= ${base}`;
    } finally {
      await p.close();
    }
  },
  async "relay-close-native"() {
    return await relayClose("native");
  },
  async "relay-close-dgram"() {
    return await relayClose("dgram");
  },
};

async function relayClose(io: "native" | "dgram"): Promise<string | null> {
  // The first bind may open the poller's own epoll and event fds: count after it.
  const warm = await bindRelaySocket(0, "127.0.0.1", { io });
  await warm.close();
  const before = fdCount();
  const socks = await Promise.all(Array.from({ length: 10 }, () => bindRelaySocket(0, "127.0.0.1", { io })));
  if (fdCount() < before + 10) return `10 binds opened ${fdCount() - before} fds`;
  for (const s of socks) await s.close();
  await socks[0]!.close();
  return fdCount() === before ? null : `fds ${fdCount()} after close, expected ${before}`;
}

const name = Deno.args[0] ?? "";
const check = checks[name];
if (!check) {
  console.log(JSON.stringify({ ok: false, detail: `unknown check ${JSON.stringify(name)}` }));
  Deno.exit(2);
}
const problem = await check();
console.log(JSON.stringify({ ok: problem === null, detail: problem ?? "" }));
Deno.exit(problem === null ? 0 : 1);
