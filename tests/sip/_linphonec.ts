/** linphonec (Debian linphone-cli) driven on its command line, as a phone nobody here wrote. */
import { freeUdpPort } from "../_harness/mod.ts";
import { EXT, type Pbx } from "./_setup.ts";

/**
 * Run linphonec as 201 with `commands` (each followed by its pause in ms); resolves with its stdout.
 * `sip` adds lines to the [sip] section of its rc file (e.g. `use_info=1` for SIP INFO DTMF).
 */
export async function linphonec(
  pbx: Pbx,
  commands: [string, number][],
  options: { sip?: string[] } = {},
): Promise<string> {
  const home = await Deno.makeTempDir({ prefix: "linphonec-" });
  try {
    await Deno.mkdir(`${home}/.local/share/linphone`, { recursive: true });
    const rc = `${home}/rc`;
    const sipPort = await freeUdpPort();
    const rtpPort = await freeUdpPort();
    await Deno.writeTextFile(
      rc,
      `[sip]\nsip_port=${sipPort}\nsip_tcp_port=0\n${(options.sip ?? []).map((l) => `${l}\n`).join("")}` +
        `[sound]\n[rtp]\naudio_rtp_port=${rtpPort}\n`,
    );
    const p = new Deno.Command("linphonec", {
      args: ["-c", rc, "-d", "0"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
      env: { HOME: home },
    }).spawn();
    const w = p.stdin.getWriter();
    const all: [string, number][] = [
      [`register sip:201@${pbx.target} sip:${pbx.target} ${EXT["201"]}`, 2000],
      ...commands,
      ["quit", 500],
    ];
    for (const [line, ms] of all) {
      await w.write(new TextEncoder().encode(line + "\n"));
      await new Promise((r) => setTimeout(r, ms));
    }
    await w.close().catch(() => {});
    const out = await p.output();
    return new TextDecoder().decode(out.stdout);
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}
