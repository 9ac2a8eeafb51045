/** Self-test of startAppliance/api against a fake appliance (tests/_harness/fake_appliance.ts). */
import { deepStrictEqual, ok, rejects } from "node:assert/strict";
import { api, startAppliance, TEST_ADMIN_PASSWORD } from "./appliance.ts";

const FAKE = "tests/_harness/fake_appliance.ts";

Deno.test("startAppliance passes ports and data dir, waits for health, and stop() cleans up", async () => {
  const app = await startAppliance({ entry: FAKE });
  try {
    deepStrictEqual(await Deno.readTextFile(`${app.dataDir}/marker`), String(app.sipPort));
    ok(app.rtpPorts[1] - app.rtpPorts[0] === 199);
    ok(new Set([app.sipPort, app.httpPort, app.tftpPort]).size === 3);
    const health = await api(app.baseUrl).get<{ rtp: string }>("/api/health");
    deepStrictEqual(health.rtp, `${app.rtpPorts[0]}-${app.rtpPorts[1]}`);
    deepStrictEqual(await app.adminToken(), "tok-123");
    const admin = await app.adminApi();
    deepStrictEqual(await admin.createExtension({ number: "1001", name: "A", password: "p" }), {
      number: "1001",
      name: "A",
      password: "p",
    });
    await rejects(api(app.baseUrl).post("/api/extensions", {}), /HTTP 401/);
    deepStrictEqual(app.adminPassword, TEST_ADMIN_PASSWORD);
  } finally {
    await app.stop();
  }
  ok(app.logs().includes("fake appliance stopped"), app.logs());
  await rejects(Deno.stat(app.dataDir), Deno.errors.NotFound);
});

Deno.test("startAppliance rejects with the appliance's output when it exits during start", async () => {
  await rejects(
    startAppliance({ entry: FAKE, env: { FAKE_APPLIANCE_FAIL: "1" } }),
    (e: Error) => e.message.includes("exited with code 3") && e.message.includes("failing on purpose"),
  );
});

Deno.test("kill9 ends the appliance at once and a restart can reuse its data dir", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "pbx-harness-" });
  try {
    const first = await startAppliance({ entry: FAKE, dataDir });
    await first.kill9();
    deepStrictEqual(first.status()?.signal, "SIGKILL");
    await using second = await startAppliance({ entry: FAKE, dataDir });
    deepStrictEqual(await Deno.readTextFile(`${dataDir}/marker`), String(second.sipPort));
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
