/**
 * The factory-reset button through the real appliance process: a file-backed input line
 * (PBX_FACTORY_RESET_BUTTON=file:...) held for PBX_FACTORY_RESET_HOLD_SEC makes the app ask the
 * privileged helper for `factory-reset`, exactly as POST /api/system/factory-reset does. The helper
 * is this test's stand-in on a unix socket (the real one, appliance/box/pbx-helper, is tested in
 * appliance/box/pbx_helper_test.ts and in the qemu image).
 */
import { deepStrictEqual, ok } from "node:assert";
import { startAppliance } from "../tests/_harness/mod.ts";

/** A helper socket that answers "ok" to every request and records them. */
function fakeHelper(path: string) {
  const requests: string[] = [];
  const listener = Deno.listen({ transport: "unix", path });
  const served = (async () => {
    for await (const conn of listener) {
      const buf = new Uint8Array(4096);
      let text = "";
      for (;;) {
        const n = await conn.read(buf).catch(() => null);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      requests.push(text.trim());
      await conn.write(new TextEncoder().encode("ok\n")).catch(() => {});
      conn.close();
    }
  })();
  return {
    requests,
    async close() {
      listener.close();
      await served.catch(() => {});
    },
  };
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test("holding the factory-reset button asks the privileged helper for factory-reset; a short press does not", async () => {
  const work = await Deno.makeTempDir({ prefix: "pbx-button-" });
  const helper = fakeHelper(`${work}/helper.sock`);
  try {
    const button = `${work}/button`;
    Deno.mkdirSync(`${work}/root`);
    await using app = await startAppliance({
      env: {
        PBX_HOST: "systemd",
        PBX_HOST_ROOT: `${work}/root`,
        PBX_HOST_IFACE: "eth0",
        PBX_HOST_HELPER: `${work}/helper.sock`,
        PBX_FACTORY_RESET_BUTTON: `file:${button}`,
        PBX_FACTORY_RESET_HOLD_SEC: "2",
      },
    });
    await app.waitForLog(/factory reset button watched .*holdSec=2/);
    // A short press: pressed, then released before the hold time.
    Deno.writeTextFileSync(button, "1");
    await app.waitForLog(/factory reset button pressed/);
    Deno.writeTextFileSync(button, "0");
    await app.waitForLog(/factory reset button released early; no reset/);
    ok(!helper.requests.includes("factory-reset"), JSON.stringify(helper.requests));
    // Held: the reset goes to the helper (HostControl schedules it about a second later).
    Deno.writeTextFileSync(button, "1");
    await app.waitForLog(/factory reset button held: factory reset/);
    await until("factory-reset request at the helper", () => helper.requests.includes("factory-reset"));
    deepStrictEqual(helper.requests.filter((r) => r === "factory-reset"), ["factory-reset"]);
  } finally {
    await helper.close();
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("a factory-reset button that cannot be had is logged and the box starts anyway", async () => {
  const work = await Deno.makeTempDir({ prefix: "pbx-button-" });
  try {
    await using app = await startAppliance({
      env: { PBX_FACTORY_RESET_BUTTON: "gpiochip97:27:active-low" },
    });
    await app.waitForLog(/factory reset button not available .*gpiochip97.*not found/);
    const res = await fetch(`${app.baseUrl}/api/health`);
    ok(res.status === 200, `health ${res.status}`);
    await res.body?.cancel();
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
