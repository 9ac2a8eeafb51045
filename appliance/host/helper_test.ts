import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { askHelper, helperRequest, helperRunner } from "./helper.ts";
import type { CommandRunner } from "./runner.ts";

Deno.test("helperRequest maps exactly HostControl's privileged commands to the helper's command set", () => {
  deepStrictEqual(helperRequest("hostname", ["pbx-office"]), "hostname pbx-office");
  deepStrictEqual(helperRequest("networkctl", ["reload"]), "network-reload");
  deepStrictEqual(helperRequest("networkctl", ["reconfigure", "ens3"]), "network-reconfigure ens3");
  deepStrictEqual(
    helperRequest("ip", ["-4", "address", "flush", "dev", "ens3", "scope", "global"]),
    "address-flush ens3",
  );
  deepStrictEqual(helperRequest("systemctl", ["try-restart", "systemd-timesyncd"]), "time-apply");
  deepStrictEqual(helperRequest("systemctl", ["reboot"]), "reboot");
  deepStrictEqual(helperRequest("systemctl", ["--no-block", "restart", "pbx.service"]), "restart-pbx");
  deepStrictEqual(helperRequest("/usr/lib/pbx/pbx-helper", ["factory-reset"]), "factory-reset");
  // Not in the set.
  strictEqual(helperRequest("systemctl", ["--no-block", "restart", "sshd.service"]), null);
  strictEqual(helperRequest("systemctl", ["stop", "pbx.service"]), null);
  strictEqual(helperRequest("rm", ["-rf", "/"]), null);
});

Deno.test("helperRunner: queries run directly, other commands are refused with 126", async () => {
  const direct: string[] = [];
  const run: CommandRunner = (cmd, args) => {
    direct.push([cmd, ...args].join(" "));
    return Promise.resolve({ code: 0, stdout: "[]", stderr: "" });
  };
  const runner = helperRunner("/nonexistent/helper.sock", run);
  strictEqual((await runner("ip", ["-j", "addr", "show"])).stdout, "[]");
  strictEqual((await runner("timedatectl", ["show", "-p", "NTPSynchronized", "--value"])).code, 0);
  deepStrictEqual(direct, ["ip -j addr show", "timedatectl show -p NTPSynchronized --value"]);
  const refused = await runner("chmod", ["777", "/etc"]);
  strictEqual(refused.code, 126);
  ok(refused.stderr.includes("not in the privileged helper's command set"), refused.stderr);
  const unreachable = await runner("systemctl", ["reboot"]);
  strictEqual(unreachable.code, 127);
  ok(unreachable.stderr.includes("not reachable"), unreachable.stderr);
});

Deno.test("askHelper sends one line and maps `ok` / `error: ...` answers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pbx-helper-test-" });
  const path = `${dir}/helper.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const seen: string[] = [];
  const serve = (async () => {
    for (let i = 0; i < 2; i++) {
      const conn = await listener.accept();
      const buf = new Uint8Array(256);
      const n = (await conn.read(buf)) ?? 0;
      const line = new TextDecoder().decode(buf.subarray(0, n)).trim();
      seen.push(line);
      await conn.write(new TextEncoder().encode(line === "reboot" ? "ok\n" : "error: unknown command 'x'\n"));
      conn.close();
    }
  })();
  try {
    deepStrictEqual(await askHelper(path, "reboot"), { code: 0, stdout: "", stderr: "" });
    deepStrictEqual(await askHelper(path, "x"), {
      code: 1,
      stdout: "",
      stderr: "error: unknown command 'x'",
    });
    await serve;
    deepStrictEqual(seen, ["reboot", "x"]);
    let err: unknown;
    try {
      await askHelper(path, "reboot\nrm -rf /");
    } catch (e) {
      err = e;
    }
    ok(err instanceof RangeError, String(err));
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});
