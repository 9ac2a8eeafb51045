/**
 * The privileged helper's client: a {@linkcode CommandRunner} for HostControl on a box where the
 * PBX runs unprivileged. The commands HostControl needs root for are mapped to the helper's fixed
 * command set (appliance/box/pbx-helper, reached over its socket, pbx-helper.socket); read-only
 * queries (`ip -j addr show`, `timedatectl show ...`) run directly; anything else is refused.
 */
import type { CommandResult, CommandRunner } from "./runner.ts";

/** The helper request for `cmd args`, or null when the command is not a privileged act. */
export function helperRequest(cmd: string, args: string[]): string | null {
  const a = args.join(" ");
  if (cmd === "hostname" && args.length === 1) return `hostname ${args[0]}`;
  if (cmd === "networkctl" && a === "reload") return "network-reload";
  if (cmd === "networkctl" && args.length === 2 && args[0] === "reconfigure") {
    return `network-reconfigure ${args[1]}`;
  }
  if (
    cmd === "ip" && args.length === 7 && a.startsWith("-4 address flush dev ") && a.endsWith(" scope global")
  ) {
    return `address-flush ${args[4]}`;
  }
  if (cmd === "systemctl" && a === "try-restart systemd-timesyncd") return "time-apply";
  if (cmd === "systemctl" && a === "reboot") return "reboot";
  if (cmd.endsWith("/pbx-helper") && a === "factory-reset") return "factory-reset";
  if (cmd === "systemctl" && args.length === 3 && args[0] === "--no-block" && args[1] === "restart") {
    return args[2] === "pbx.service" ? "restart-pbx" : null;
  }
  return null;
}

/** Commands that only read the OS and run as the PBX user. */
function isQuery(cmd: string, args: string[]): boolean {
  return (cmd === "ip" && args[0] === "-j") || (cmd === "timedatectl" && args[0] === "show");
}

/** Sends one request line to the helper socket and reads its one-line answer. */
export async function askHelper(socketPath: string, request: string): Promise<CommandResult> {
  if (/[\r\n]/.test(request)) throw new RangeError("helper request must be one line");
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path: socketPath });
  } catch (e) {
    return {
      code: 127,
      stdout: "",
      stderr: `privileged helper ${socketPath} not reachable: ${(e as Error).message}`,
    };
  }
  try {
    await conn.write(new TextEncoder().encode(request + "\n"));
    await conn.closeWrite();
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(4096);
    let total = 0;
    while (total < 65536) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
      total += n;
    }
    const text = new TextDecoder().decode(
      chunks.reduce((acc, c) => {
        const out = new Uint8Array(acc.length + c.length);
        out.set(acc);
        out.set(c, acc.length);
        return out;
      }, new Uint8Array(0)),
    ).trim();
    if (text === "ok") return { code: 0, stdout: "", stderr: "" };
    return { code: 1, stdout: "", stderr: text === "" ? "privileged helper gave no answer" : text };
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/**
 * A runner that sends privileged acts to the helper at `socketPath` and runs queries with
 * `direct`. A command that is neither gets exit code 126 and a message naming it.
 */
export function helperRunner(socketPath: string, direct: CommandRunner): CommandRunner {
  return (cmd, args) => {
    const request = helperRequest(cmd, args);
    if (request !== null) return askHelper(socketPath, request);
    if (isQuery(cmd, args)) return direct(cmd, args);
    return Promise.resolve({
      code: 126,
      stdout: "",
      stderr: `${[cmd, ...args].join(" ")}: not in the privileged helper's command set`,
    });
  };
}
