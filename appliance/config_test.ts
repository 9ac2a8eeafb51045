import { deepStrictEqual as assertEquals, throws } from "node:assert";
import { loadConfig } from "./config.ts";

const noFile = () => undefined;

Deno.test("config uses embedded defaults with no file, env or flags", () => {
  const c = loadConfig({ readFile: noFile, env: {}, args: [] });
  assertEquals(c.sipPort, 5060);
  assertEquals(c.httpPort, 8080);
  assertEquals([c.rtpPortMin, c.rtpPortMax], [20000, 20999]);
  assertEquals(c.dataDir, "./data");
});

Deno.test("config file values are overridden by environment, and environment by flags", () => {
  const files: Record<string, string> = {
    "/d/config.json": JSON.stringify({ sipPort: 5070, httpPort: 8081, rtpPorts: "30000-30099" }),
  };
  const c = loadConfig({
    readFile: (p) => files[p],
    env: { PBX_DATA_DIR: "/d", PBX_HTTP_PORT: "9000", PBX_BIND: "127.0.0.1" },
    args: ["--http-port", "9100"],
  });
  assertEquals(c.sipPort, 5070);
  assertEquals(c.httpPort, 9100);
  assertEquals([c.rtpPortMin, c.rtpPortMax], [30000, 30099]);
  assertEquals(c.bind, "127.0.0.1");
  assertEquals(c.publicAddress, "127.0.0.1");
});

Deno.test("config rejects a bad port, a bad range, an unknown flag and broken JSON with clear errors", () => {
  throws(
    () => loadConfig({ readFile: noFile, env: { PBX_SIP_PORT: "70000" } }),
    (e: Error) => e instanceof RangeError && e.message.includes("PBX_SIP_PORT"),
  );
  throws(
    () => loadConfig({ readFile: noFile, env: { PBX_RTP_PORTS: "5-4" } }),
    (e: Error) => e instanceof RangeError && e.message.includes("PBX_RTP_PORTS"),
  );
  throws(
    () => loadConfig({ readFile: noFile, args: ["--nope", "1"] }),
    (e: Error) => e instanceof RangeError && e.message.includes("--nope"),
  );
  throws(
    () => loadConfig({ readFile: () => "{oops", env: {} }),
    (e: Error) => e instanceof SyntaxError && e.message.includes("config.json"),
  );
});

Deno.test("config never takes the admin password from config.json", () => {
  const c = loadConfig({ readFile: () => JSON.stringify({ adminPassword: "x" }), env: {} });
  assertEquals(c.adminPassword, undefined);
});

Deno.test("httpsPort defaults to 8443, takes a port or 0 from env and flags, and 'off' disables HTTPS", () => {
  assertEquals(loadConfig({ readFile: noFile, env: {} }).httpsPort, 8443);
  assertEquals(loadConfig({ readFile: noFile, env: { PBX_HTTPS_PORT: "0" } }).httpsPort, 0);
  assertEquals(loadConfig({ readFile: noFile, env: { PBX_HTTPS_PORT: "OFF" } }).httpsPort, null);
  assertEquals(
    loadConfig({ readFile: noFile, env: { PBX_HTTPS_PORT: "off" }, args: ["--https-port=9443"] }).httpsPort,
    9443,
  );
  assertEquals(loadConfig({ readFile: () => JSON.stringify({ httpsPort: "off" }), env: {} }).httpsPort, null);
  throws(
    () => loadConfig({ readFile: noFile, env: { PBX_HTTPS_PORT: "on" } }),
    (e: Error) =>
      e instanceof RangeError && e.message.includes("PBX_HTTPS_PORT") && e.message.includes('"on"'),
  );
});

Deno.test("SIP plug-and-play is off by default and PBX_PNP=1 turns it on", () => {
  assertEquals(loadConfig({ readFile: noFile, env: {} }).pnp, false);
  assertEquals(loadConfig({ readFile: noFile, env: { PBX_PNP: "1" } }).pnp, true);
  throws(() => loadConfig({ readFile: noFile, env: { PBX_PNP: "maybe" } }), RangeError);
});

Deno.test("host settings: none by default; PBX_HOST, PBX_HOST_ROOT, PBX_HOST_IFACE, PBX_NETWORK_CONFIRM_SEC parse and reject bad values", () => {
  const d = loadConfig({ readFile: noFile, env: {}, args: [] });
  assertEquals([d.hostMode, d.hostRoot, d.hostIface, d.networkConfirmSec], ["none", "/", "", 120]);
  const c = loadConfig({
    readFile: noFile,
    env: {
      PBX_HOST: "systemd",
      PBX_HOST_ROOT: "/tmp/root",
      PBX_HOST_IFACE: "enp1s0",
      PBX_NETWORK_CONFIRM_SEC: "300",
    },
  });
  assertEquals([c.hostMode, c.hostRoot, c.hostIface, c.networkConfirmSec], [
    "systemd",
    "/tmp/root",
    "enp1s0",
    300,
  ]);
  throws(
    () => loadConfig({ readFile: noFile, env: { PBX_HOST: "networkmanager" } }),
    /PBX_HOST must be systemd or none/,
  );
  throws(() => loadConfig({ readFile: noFile, env: { PBX_HOST_IFACE: "eth0; reboot" } }), /interface name/);
  throws(() => loadConfig({ readFile: noFile, env: { PBX_NETWORK_CONFIRM_SEC: "5" } }), /10-3600/);
});

Deno.test("firmware update settings: defaults, PBX_APP_ROOT, PBX_UPDATE_KEYS_DIR, PBX_UPDATE_CONFIRM_SEC, PBX_MAX_FIRMWARE_BYTES", () => {
  const d = loadConfig({ readFile: noFile, env: {} });
  assertEquals(
    [d.appRoot, d.updateKeysDir, d.updateConfirmSec, d.maxFirmwareBytes],
    ["/opt/pbx", "/etc/pbx/update-keys", 60, 1024 * 1024 * 1024],
  );
  const c = loadConfig({
    readFile: noFile,
    env: { PBX_APP_ROOT: "/srv/pbx", PBX_UPDATE_KEYS_DIR: "/k", PBX_UPDATE_CONFIRM_SEC: "5" },
    args: ["--max-firmware-bytes", "2097152"],
  });
  assertEquals([c.appRoot, c.updateKeysDir, c.updateConfirmSec, c.maxFirmwareBytes], [
    "/srv/pbx",
    "/k",
    5,
    2097152,
  ]);
  throws(
    () => loadConfig({ readFile: noFile, env: { PBX_UPDATE_CONFIRM_SEC: "0" } }),
    /PBX_UPDATE_CONFIRM_SEC/,
  );
  throws(() => loadConfig({ readFile: noFile, env: { PBX_MAX_FIRMWARE_BYTES: "1k" } }), /1 MiB to 16 GiB/);
});

Deno.test("factory-reset button: none by default; a GPIO or file spec and a hold time parse; bad values are refused", () => {
  const d = loadConfig({ readFile: noFile, env: {} });
  assertEquals([d.factoryResetButton, d.factoryResetHoldSec], ["", 10]);
  const c = loadConfig({
    readFile: noFile,
    env: { PBX_FACTORY_RESET_BUTTON: "gpiochip0:27:active-low", PBX_FACTORY_RESET_HOLD_SEC: "5" },
  });
  assertEquals([c.factoryResetButton, c.factoryResetHoldSec], ["gpiochip0:27:active-low", 5]);
  const f = loadConfig({
    readFile: noFile,
    env: {},
    args: ["--factory-reset-button", "file:/run/pbx-button"],
  });
  assertEquals(f.factoryResetButton, "file:/run/pbx-button");
  throws(
    () => loadConfig({ readFile: noFile, env: { PBX_FACTORY_RESET_BUTTON: "gpio27" } }),
    /PBX_FACTORY_RESET_BUTTON must be gpiochipN:LINE\[:active-low\] or file:\/path/,
  );
  throws(() => loadConfig({ readFile: noFile, env: { PBX_FACTORY_RESET_HOLD_SEC: "1" } }), /2-60/);
  throws(() => loadConfig({ readFile: noFile, env: { PBX_FACTORY_RESET_HOLD_SEC: "ten" } }), /2-60/);
});

Deno.test("SIP UDP: the native batched socket and a 2 MiB receive buffer by default; both configurable", () => {
  const d = loadConfig({ readFile: noFile, env: {} });
  assertEquals(d.sipUdpNative, true);
  assertEquals(d.sipUdpRcvbufKb, 2048);
  const c = loadConfig({
    readFile: noFile,
    env: { PBX_SIP_UDP_NATIVE: "0", PBX_SIP_UDP_RCVBUF_KB: "8192", PBX_SIP_TCP_MAX_PER_SOURCE: "100000" },
  });
  assertEquals([c.sipUdpNative, c.sipUdpRcvbufKb, c.sipTcpMaxPerSource], [false, 8192, 100000]);
  throws(
    () => loadConfig({ readFile: noFile, env: { PBX_SIP_UDP_RCVBUF_KB: "1" } }),
    (e: Error) => e instanceof RangeError && e.message.includes("PBX_SIP_UDP_RCVBUF_KB"),
  );
});
