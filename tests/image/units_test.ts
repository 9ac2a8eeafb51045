/**
 * The systemd units in appliance/box/systemd/ carry the brief's contract and pass
 * `systemd-analyze verify` (fast: no image, no qemu).
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { hasBinary } from "../_harness/process.ts";

const UNITS = new URL("../../appliance/box/systemd/", import.meta.url).pathname;

/** `Key=value` lines of one section; repeated keys keep every value in order. */
function section(text: string, name: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = header[1]!;
      continue;
    }
    if (current !== name) continue;
    const eq = line.indexOf("=");
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

function environment(service: Map<string, string[]>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of service.get("Environment") ?? []) {
    for (const pair of v.split(/\s+/)) {
      const eq = pair.indexOf("=");
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

Deno.test("pbx.service runs pbx-launch, always restarts after 2 s, with the systemd host env and box ports", () => {
  const text = Deno.readTextFileSync(`${UNITS}pbx.service`);
  const service = section(text, "Service");
  deepStrictEqual(service.get("ExecStart"), ["/usr/lib/pbx/pbx-launch"]);
  deepStrictEqual(service.get("Restart"), ["always"]);
  deepStrictEqual(service.get("RestartSec"), ["2"]);
  const env = environment(service);
  strictEqual(env.PBX_HOST, "systemd");
  strictEqual(env.PBX_DATA_DIR, "/var/lib/pbx");
  strictEqual(env.PBX_HTTP_PORT, "80");
  strictEqual(env.PBX_SIP_PORT, "5060");
  strictEqual(env.PBX_TFTP_PORT, "69");
  // Unprivileged: /etc is written by pbx-helper only, so the whole OS is read-only to the service.
  deepStrictEqual(service.get("User"), ["pbx"]);
  deepStrictEqual(service.get("ProtectSystem"), ["strict"]);
  deepStrictEqual(service.get("CapabilityBoundingSet"), ["CAP_NET_BIND_SERVICE"]);
  deepStrictEqual(service.get("AmbientCapabilities"), ["CAP_NET_BIND_SERVICE"]);
  for (
    const key of ["ProtectHome", "PrivateTmp", "NoNewPrivileges", "RestrictAddressFamilies", "MemoryMax"]
  ) {
    ok(service.has(key), key);
  }
  deepStrictEqual(service.get("ExecStartPre"), ["+/usr/lib/pbx/pbx-helper stage-init"]);
  strictEqual(env.PBX_HOST_HELPER, "/run/pbx/helper.sock");
  // V8 writes executable code at run time.
  strictEqual(service.get("MemoryDenyWriteExecute"), undefined);
  deepStrictEqual(section(text, "Unit").get("StartLimitIntervalSec"), ["0"]);
  deepStrictEqual(section(text, "Install").get("WantedBy"), ["multi-user.target"]);
});

Deno.test("pbx-firstboot.service runs once (marker) before pbx.service and makes the data dir", () => {
  const text = Deno.readTextFileSync(`${UNITS}pbx-firstboot.service`);
  const unit = section(text, "Unit");
  deepStrictEqual(unit.get("ConditionPathExists"), ["!/var/lib/pbx/.firstboot-done"]);
  ok(unit.get("Before")?.[0]?.split(/\s+/).includes("pbx.service"));
  const exec = text.slice(text.indexOf("ExecStart="));
  ok(exec.includes("install -d -m 0700 /var/lib/pbx"), exec);
  ok(exec.includes("systemd-machine-id-setup"), exec);
  ok(exec.includes("/var/lib/pbx/.firstboot-done"), exec);
});

Deno.test({
  name: "systemd-analyze verify finds nothing wrong in the units but the launcher missing on this machine",
  ignore: !hasBinary("systemd-analyze"),
}, async () => {
  const out = await new Deno.Command("systemd-analyze", {
    args: [
      "verify",
      ...["pbx.service", "pbx-firstboot.service", "pbx-factory-reset.service", "pbx-helper.socket"].map((u) =>
        `${UNITS}${u}`
      ),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const problems = text.split("\n").filter((l) =>
    l.trim() !== "" && !/\/usr\/lib\/pbx\/pbx-(launch|helper) is not executable/.test(l)
  );
  deepStrictEqual(problems, []);
});
