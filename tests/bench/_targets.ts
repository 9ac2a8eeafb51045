/**
 * The two systems under test for the SIP benchmarks: the appliance (B2BUA) with bench extensions,
 * and kamailio as a stateful proxy + registrar with a fixed digest password (no database), both on
 * free loopback ports and both registered for cleanup.
 *
 * @module
 */
import { api, freePorts, hasBinary, pickPortRange, startAppliance } from "../_harness/mod.ts";
import { BENCH_PASSWORD, onCleanup, spawnTracked } from "./_lib.ts";

/** A SIP server under test. */
export interface SipTarget {
  name: "box" | "kamailio";
  /** "127.0.0.1:PORT" */
  address: string;
  /** Processes whose CPU counts for this target. */
  pids(): number[];
  stop(): Promise<void>;
}

/** True when the kamailio Debian package is installed (dpkg says so and the binary exists). */
export async function kamailioInstalled(): Promise<boolean> {
  if (!hasBinary("kamailio") && !(await Deno.stat("/usr/sbin/kamailio").then(() => true, () => false))) {
    return false;
  }
  const out = await new Deno.Command("dpkg", { args: ["-s", "kamailio"], stdout: "piped", stderr: "null" })
    .output().catch(() => null);
  return out !== null && out.success && new TextDecoder().decode(out.stdout).includes("install ok installed");
}

/** Starts the appliance and creates `numbers` as extensions with BENCH_PASSWORD. */
export async function startBox(
  numbers: string[],
  rtpPortCount = 2000,
): Promise<SipTarget & { appPid: number }> {
  const app = await startAppliance({
    env: { PBX_LOG_LEVEL: "warn" },
    rtpPorts: await pickPortRange(rtpPortCount),
  });
  const stop = onCleanup(() => app.stop());
  try {
    const client = api(app.baseUrl, await app.adminToken());
    for (let i = 0; i < numbers.length; i += 25) {
      await Promise.all(
        numbers.slice(i, i + 25).map((n) =>
          client.createExtension({ number: n, name: `Bench ${n}`, password: BENCH_PASSWORD })
        ),
      );
    }
  } catch (e) {
    await stop();
    throw e;
  }
  // The harness's LoggedProcess pid is the deno process itself.
  const pid = await appliancePid(app.sipPort);
  return { name: "box", address: `127.0.0.1:${app.sipPort}`, pids: () => [pid], stop, appPid: pid };
}

/** The pid owning UDP 127.0.0.1:port (from /proc/net/udp + /proc/<pid>/fd). */
export async function appliancePid(port: number): Promise<number> {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const udp = await Deno.readTextFile("/proc/net/udp");
  const inodes = new Set<string>();
  for (const line of udp.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1]?.endsWith(`:${hex}`)) inodes.add(f[9]!);
  }
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      for (const fd of Deno.readDirSync(`/proc/${e.name}/fd`)) {
        const link = Deno.readLinkSync(`/proc/${e.name}/fd/${fd.name}`);
        const m = link.match(/^socket:\[(\d+)\]$/);
        if (m !== null && inodes.has(m[1]!)) return Number(e.name);
      }
    } catch { /* gone or not ours */ }
  }
  throw new Error(`no process owns UDP port ${port}`);
}

/** kamailio config: stateful proxy, in-memory registrar, digest auth against one fixed password. */
function kamailioConfig(port: number): string {
  return `#!KAMAILIO
debug=0
log_stderror=yes
memdbg=5
memlog=5
listen=udp:127.0.0.1:${port}
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "auth.so"
modparam("usrloc", "db_mode", 0)
modparam("usrloc", "hash_size", 12)

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
    sl_send_reply("404", "Not here");
    exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
  if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
  if (is_method("REGISTER")) {
    if (!pv_www_authenticate("$td", "${BENCH_PASSWORD}", "0")) { www_challenge("$td", "0"); exit; }
    if (!save("location")) { sl_reply_error(); }
    exit;
  }
  if (is_method("INVITE")) {
    if (!pv_proxy_authenticate("$fd", "${BENCH_PASSWORD}", "0")) { proxy_challenge("$fd", "0"); exit; }
    consume_credentials();
    record_route();
    if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
    t_relay();
    exit;
  }
  sl_send_reply("405", "Method Not Allowed");
}
`;
}

/** Starts kamailio in the foreground with its own config in a temp dir. */
export async function startKamailio(): Promise<SipTarget> {
  const dir = await Deno.makeTempDir({ prefix: "bench-kamailio-" });
  const [port] = await freePorts(1);
  await Deno.writeTextFile(`${dir}/kamailio.cfg`, kamailioConfig(port!));
  const { proc, stop: stopProc } = spawnTracked("kamailio", {
    args: [
      "-f",
      `${dir}/kamailio.cfg`,
      "-DD",
      "-E",
      "-m",
      "512",
      "-M",
      "32",
      "-n",
      "2",
      "-Y",
      dir,
      "-P",
      `${dir}/kamailio.pid`,
      "-w",
      dir,
    ],
    cwd: dir,
    name: "kamailio",
  }, 5000);
  const stop = onCleanup(async () => {
    await stopProc();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  });
  // Ready when the UDP port is taken and the process is still alive.
  const { udpBindable } = await import("../_harness/mod.ts");
  const end = Date.now() + 15_000;
  while (true) {
    if (proc.status !== undefined) {
      await stop();
      throw new Error(`kamailio exited (code ${proc.status.code}):\n${proc.tail()}`);
    }
    if (!(await udpBindable(port!))) break;
    if (Date.now() > end) {
      await stop();
      throw new Error(`kamailio did not bind ${port} within 15 s:\n${proc.tail()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 500)); // children fork after the bind
  const pids = () => {
    const out: number[] = [proc.pid];
    try {
      const kids = Deno.readTextFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`).trim();
      if (kids !== "") out.push(...kids.split(" ").map(Number));
    } catch { /* gone */ }
    return out;
  };
  return { name: "kamailio", address: `127.0.0.1:${port}`, pids, stop };
}
