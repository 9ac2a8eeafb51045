import assert from "node:assert/strict";
import { VirtualClock } from "../../runtime/clock/mod.ts";
import { HostControl, type HostControlOptions } from "./host_control.ts";
import type { NetworkConfig } from "./render.ts";
import { type CommandResult, commandRunner } from "./runner.ts";

const NET_FILE = "/etc/systemd/network/20-pbx-lan.network";
const STATIC: NetworkConfig = {
  mode: "static",
  hostname: "pbx-office",
  address: "192.168.1.10",
  prefix: 24,
  gateway: "192.168.1.1",
  dns: ["192.168.1.1"],
};
const DHCP: NetworkConfig = { mode: "dhcp", hostname: "pbx" };

/** A temp OS root and data dir, a recording runner and a virtual clock. */
function fixture(overrides: Partial<HostControlOptions> = {}) {
  const root = Deno.makeTempDirSync({ prefix: "pbx-host-root-" });
  const dataDir = Deno.makeTempDirSync({ prefix: "pbx-host-data-" });
  Deno.mkdirSync(`${root}/usr/share/zoneinfo/Europe`, { recursive: true });
  Deno.writeTextFileSync(`${root}/usr/share/zoneinfo/Europe/Berlin`, "TZif fake");
  Deno.writeTextFileSync(`${root}/usr/share/zoneinfo/UTC`, "TZif fake");
  Deno.mkdirSync(`${root}/etc`, { recursive: true });
  Deno.writeTextFileSync(`${root}/etc/hostname`, "debian\n");
  Deno.mkdirSync(`${root}/proc/sys/kernel/random`, { recursive: true });
  Deno.writeTextFileSync(`${root}/proc/sys/kernel/hostname`, "debian\n");
  Deno.writeTextFileSync(`${root}/proc/sys/kernel/random/boot_id`, "0f0e0d0c-aaaa-bbbb-cccc-000000000001\n");
  const calls: string[] = [];
  const replies = new Map<string, CommandResult>();
  const reverts: [NetworkConfig | null, NetworkConfig][] = [];
  const exits: number[] = [];
  const clock = new VirtualClock();
  const make = (more: Partial<HostControlOptions> = {}) =>
    new HostControl({
      mode: "systemd",
      root,
      dataDir,
      iface: "eth0",
      clock,
      run: (cmd, args) => {
        const line = [cmd, ...args].join(" ");
        calls.push(line);
        return Promise.resolve(replies.get(line) ?? { code: 0, stdout: "", stderr: "" });
      },
      onRevert: (restored, rejected) => reverts.push([restored, rejected]),
      exit: (code) => exits.push(code),
      ...overrides,
      ...more,
    });
  return {
    root,
    dataDir,
    calls,
    replies,
    reverts,
    exits,
    clock,
    make,
    read: (p: string) => {
      try {
        return Deno.readTextFileSync(root + p);
      } catch {
        return null;
      }
    },
    [Symbol.dispose]() {
      Deno.removeSync(root, { recursive: true });
      Deno.removeSync(dataDir, { recursive: true });
    },
  };
}

Deno.test("applying static network settings writes the exact networkd file and hostname, then runs hostname, networkctl reload and reconfigure", async () => {
  using f = fixture();
  const host = f.make();
  const { confirmBy } = await host.applyNetwork(STATIC, { previous: DHCP });
  assert.equal(confirmBy, f.clock.wallNow() + 120_000);
  assert.equal(
    f.read(NET_FILE),
    "# Written by the PBX appliance (web UI: System > Network). Changes here are overwritten.\n" +
      "[Match]\nName=eth0\n\n[Network]\nAddress=192.168.1.10/24\nGateway=192.168.1.1\nDNS=192.168.1.1\n",
  );
  assert.equal(f.read("/etc/hostname"), "pbx-office\n");
  assert.deepEqual(f.calls, [
    "hostname pbx-office",
    "networkctl reload",
    "ip -4 address flush dev eth0 scope global",
    "networkctl reconfigure eth0",
  ]);
  assert.deepEqual(host.pendingNetwork(), { confirmBy, settings: STATIC });
  assert.deepEqual([...Deno.readDirSync(`${f.root}/etc`)].map((e) => e.name).sort(), [
    "hostname",
    "systemd",
  ], "no temp files left behind");
  host.stop();
});

Deno.test("an unconfirmed network change is reverted when the window ends: old files back, re-applied, onRevert told", async () => {
  using f = fixture();
  const host = f.make({ confirmSec: 60 });
  await host.applyNetwork(STATIC, { previous: DHCP });
  f.calls.length = 0;
  f.clock.advance(59_999);
  await host.settled();
  assert.equal(f.reverts.length, 0, "not before the window ends");
  f.clock.advance(1);
  await host.settled();
  assert.equal(f.read(NET_FILE), null, "the file did not exist before, so it is removed");
  assert.equal(f.read("/etc/hostname"), "debian\n");
  assert.deepEqual(f.calls, [
    "hostname debian",
    "networkctl reload",
    "ip -4 address flush dev eth0 scope global",
    "networkctl reconfigure eth0",
  ]);
  assert.deepEqual(f.reverts, [[DHCP, STATIC]]);
  assert.equal(host.pendingNetwork(), null);
  assert.equal(f.clock.pending, 0);
});

Deno.test("a confirmed network change stays; confirming twice finds nothing pending", async () => {
  using f = fixture();
  const host = f.make();
  await host.applyNetwork(STATIC);
  const confirmed = await host.confirmNetwork();
  assert.deepEqual(confirmed?.settings, STATIC);
  f.clock.advance(600_000);
  await host.settled();
  assert.equal(f.reverts.length, 0);
  assert.equal(f.read("/etc/hostname"), "pbx-office\n");
  assert.equal(await host.confirmNetwork(), null);
});

Deno.test("a second change inside the window reverts to the last confirmed files, not the first change", async () => {
  using f = fixture();
  Deno.mkdirSync(`${f.root}/etc/systemd/network`, { recursive: true });
  Deno.writeTextFileSync(`${f.root}${NET_FILE}`, "original\n");
  const host = f.make();
  await host.applyNetwork(STATIC, { previous: DHCP });
  f.clock.advance(30_000);
  await host.applyNetwork({ ...STATIC, address: "192.168.1.11" }, { previous: STATIC });
  f.clock.advance(119_999);
  await host.settled();
  assert.equal(f.reverts.length, 0, "the second change got a fresh window");
  f.clock.advance(1);
  await host.settled();
  assert.equal(f.read(NET_FILE), "original\n");
  assert.deepEqual(f.reverts, [[DHCP, { ...STATIC, address: "192.168.1.11" }]]);
});

Deno.test("a pending change survives a restart: a new HostControl resumes the window and reverts", async () => {
  using f = fixture();
  const first = f.make();
  await first.applyNetwork(STATIC, { previous: DHCP });
  first.stop(); // the process dies inside the window
  f.clock.advance(50_000);
  const second = f.make();
  assert.deepEqual(await second.start({ network: STATIC }), { network: "pending", time: "none" });
  f.clock.advance(69_999);
  await second.settled();
  assert.equal(f.reverts.length, 0);
  f.clock.advance(1);
  await second.settled();
  assert.deepEqual(f.reverts, [[DHCP, STATIC]]);
  assert.equal(f.read("/etc/hostname"), "debian\n");
});

Deno.test("a window already over at start reverts at once; a clock that jumped back is capped to one window", async () => {
  using f = fixture();
  const first = f.make({ confirmSec: 30 });
  await first.applyNetwork(STATIC);
  first.stop();
  f.clock.advance(3_600_000);
  const second = f.make({ confirmSec: 30 });
  await second.start({});
  f.clock.advance(0);
  await second.settled();
  assert.equal(f.reverts.length, 1);

  // confirmBy far in the future (wall clock was wrong when the change was made)
  await second.applyNetwork(STATIC);
  second.stop();
  const pendingPath = `${f.dataDir}/host/network-pending.json`;
  const p = JSON.parse(Deno.readTextFileSync(pendingPath));
  Deno.writeTextFileSync(pendingPath, JSON.stringify({ ...p, confirmBy: p.confirmBy + 86_400_000 }));
  const third = f.make({ confirmSec: 30 });
  await third.start({});
  f.clock.advance(30_000);
  await third.settled();
  assert.equal(f.reverts.length, 2);
});

Deno.test("a failing networkctl takes the change back at once and the error names the command", async () => {
  using f = fixture();
  f.replies.set("networkctl reload", { code: 1, stdout: "", stderr: "Failed to reload: Access denied\n" });
  const host = f.make();
  await assert.rejects(
    host.applyNetwork(STATIC, { previous: DHCP }),
    /networkctl reload failed \(exit 1\): Failed to reload: Access denied/,
  );
  assert.equal(f.read(NET_FILE), null);
  assert.equal(f.read("/etc/hostname"), "debian\n");
  assert.equal(host.pendingNetwork(), null);
  assert.equal(f.clock.pending, 0, "no revert timer left");
  assert.deepEqual(f.reverts, [[DHCP, STATIC]]);
});

Deno.test("bad network settings are refused before anything is written or run", async () => {
  using f = fixture();
  const host = f.make();
  assert.throws(() => host.applyNetwork({ ...STATIC, gateway: "10.0.0.1" }), /outside the subnet/);
  assert.throws(() => host.applyNetwork({ ...STATIC, hostname: "a\nb" }), RangeError);
  assert.throws(() => host.applyNetwork({ ...STATIC, address: "192.168.1.255" }), /broadcast/);
  await host.settled();
  assert.deepEqual(f.calls, []);
  assert.equal(f.read(NET_FILE), null);
  assert.throws(() => f.make({ confirmSec: 0 }), /10-3600/);
});

Deno.test("with a glob interface match only networkctl reload runs (no reconfigure of a pattern)", async () => {
  using f = fixture({ iface: undefined, networkInterfaces: () => [] });
  const host = f.make();
  assert.equal(host.iface, "en* eth*");
  await host.applyNetwork(DHCP);
  assert.deepEqual(f.calls, ["hostname pbx", "networkctl reload"]);
  assert.match(f.read(NET_FILE)!, /Name=en\* eth\*\n/);
  host.stop();
});

Deno.test("time settings: /etc/localtime links to the zone, /etc/timezone and timesyncd drop-in written, timesyncd restarted", async () => {
  using f = fixture();
  const host = f.make();
  await host.applyTime({ timezone: "Europe/Berlin", ntpServers: ["pool.ntp.org", "192.0.2.5"] });
  assert.equal(Deno.readLinkSync(`${f.root}/etc/localtime`), "/usr/share/zoneinfo/Europe/Berlin");
  assert.equal(f.read("/etc/timezone"), "Europe/Berlin\n");
  assert.equal(
    f.read("/etc/systemd/timesyncd.conf.d/50-pbx.conf"),
    "# Written by the PBX appliance (web UI: System > Time). Changes here are overwritten.\n" +
      "[Time]\nNTP=pool.ntp.org 192.0.2.5\n",
  );
  assert.deepEqual(f.calls, ["systemctl try-restart systemd-timesyncd"]);
  // applying again replaces the link atomically
  await host.applyTime({ timezone: "UTC", ntpServers: [] });
  assert.equal(Deno.readLinkSync(`${f.root}/etc/localtime`), "/usr/share/zoneinfo/UTC");
  assert.match(f.read("/etc/systemd/timesyncd.conf.d/50-pbx.conf")!, /\nNTP=\n$/);
});

Deno.test("time settings: a zone missing under the root or a path-like name is refused, nothing written", () => {
  using f = fixture();
  const host = f.make();
  assert.throws(
    () => host.applyTime({ timezone: "America/New_York", ntpServers: [] }),
    /time zone America\/New_York is not installed on the box/,
  );
  assert.throws(() => host.applyTime({ timezone: "../../etc/passwd", ntpServers: [] }), RangeError);
  assert.throws(() => host.applyTime({ timezone: "UTC", ntpServers: ["a;b"] }), RangeError);
  assert.equal(f.read("/etc/timezone"), null);
  assert.deepEqual(f.calls, []);
});

Deno.test("state() reports hostname, zone, NTP servers and sync, interfaces from ip -j, boot id and the pending change", async () => {
  using f = fixture();
  f.replies.set("timedatectl show -p NTPSynchronized --value", { code: 0, stdout: "yes\n", stderr: "" });
  f.replies.set("ip -j addr show", {
    code: 0,
    stdout: JSON.stringify([{
      ifname: "eth0",
      link_type: "ether",
      address: "52:54:00:12:34:56",
      addr_info: [{ family: "inet", local: "10.0.2.15", prefixlen: 24, dynamic: true }],
    }]),
    stderr: "",
  });
  const host = f.make();
  await host.applyTime({ timezone: "Europe/Berlin", ntpServers: ["ntp.example.com"] });
  const { confirmBy } = await host.applyNetwork(DHCP);
  const s = await host.state();
  assert.deepEqual(s, {
    mode: "systemd",
    hostname: "debian",
    timezone: "Europe/Berlin",
    ntp: { servers: ["ntp.example.com"], synchronized: true },
    interfaces: [{
      name: "eth0",
      mac: "52:54:00:12:34:56",
      addresses: [{ address: "10.0.2.15", prefix: 24, dynamic: true }],
    }],
    bootId: "0f0e0d0c-aaaa-bbbb-cccc-000000000001",
    pendingNetwork: { confirmBy, settings: DHCP },
  });
  f.replies.set("timedatectl show -p NTPSynchronized --value", { code: 1, stdout: "", stderr: "no bus" });
  assert.equal((await host.state()).ntp.synchronized, null, "can't tell -> null");
  host.stop();
});

Deno.test("mode none touches nothing: apply, reboot and restart throw, state() is Deno's view, start() does nothing", async () => {
  using f = fixture();
  const host = f.make({ mode: "none" });
  assert.throws(() => host.applyNetwork(STATIC), /PBX_HOST is not systemd/);
  assert.throws(() => host.applyTime({ timezone: "UTC", ntpServers: [] }), /PBX_HOST is not systemd/);
  assert.throws(() => host.reboot(), /PBX_HOST is not systemd/);
  assert.throws(() => host.restartService(), /PBX_HOST is not systemd/);
  assert.deepEqual(await host.start({ network: STATIC, time: { timezone: "UTC", ntpServers: [] } }), {
    network: "none",
    time: "none",
  });
  const s = await host.state();
  assert.equal(s.mode, "none");
  assert.equal(s.pendingNetwork, null);
  assert.deepEqual(f.calls, []);
  assert.equal(f.read(NET_FILE), null);
  assert.equal(new HostControl({ dataDir: f.dataDir }).mode, "none", "none is the default");
});

Deno.test("start applies stored settings once when the OS files differ, and never again after a revert", async () => {
  using f = fixture();
  const time = { timezone: "Europe/Berlin", ntpServers: ["pool.ntp.org"] };
  let host = f.make();
  assert.deepEqual(await host.start({ network: STATIC, time }), { network: "applied", time: "applied" });
  assert.ok(host.pendingNetwork() !== null, "a change made at start has a confirm window too");
  f.clock.advance(120_000);
  await host.settled();
  assert.deepEqual(f.reverts, [[null, STATIC]]);
  host.stop();
  f.calls.length = 0;
  host = f.make();
  assert.deepEqual(await host.start({ network: STATIC, time }), { network: "skipped", time: "unchanged" });
  assert.deepEqual(f.calls, [], "no revert loop: the same settings are not tried again");
  // once the OS matches, start leaves it alone
  await host.applyNetwork(DHCP);
  await host.confirmNetwork();
  host.stop();
  f.calls.length = 0;
  host = f.make();
  assert.deepEqual(await host.start({ network: DHCP }), { network: "unchanged", time: "none" });
  assert.deepEqual(f.calls, []);
});

Deno.test("reboot and restart run about a second later; a failing systemctl restart exits with 75", async () => {
  using f = fixture();
  const host = f.make();
  const { at } = host.reboot();
  assert.equal(at, f.clock.wallNow() + 1000);
  assert.deepEqual(f.calls, [], "not before the answer is sent");
  f.clock.advance(1000);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(f.calls, ["systemctl reboot"]);
  f.replies.set("systemctl --no-block restart pbx.service", { code: 1, stdout: "", stderr: "nope" });
  host.restartService();
  f.clock.advance(1000);
  for (let i = 0; i < 5 && f.exits.length === 0; i++) await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(f.calls.slice(1), ["systemctl --no-block restart pbx.service"]);
  assert.deepEqual(f.exits, [75]);
  host.restartService();
  host.stop();
  assert.equal(f.clock.pending, 0, "stop() cancels a scheduled action");
});

Deno.test("with stub networkctl/hostname/systemctl/ip/timedatectl scripts on PATH the real runner runs them in order", async () => {
  const bin = Deno.makeTempDirSync({ prefix: "pbx-host-bin-" });
  const log = `${bin}/calls.log`;
  try {
    for (const name of ["networkctl", "hostname", "systemctl", "ip", "timedatectl"]) {
      const reply = name === "timedatectl" ? "echo no" : name === "ip" ? "echo '[]'" : ":";
      Deno.writeTextFileSync(
        `${bin}/${name}`,
        `#!/bin/sh\necho "${name} $*" >> "${log}"\n${reply}\n`,
        { mode: 0o755 },
      );
    }
    using f = fixture({ run: commandRunner({ env: { PATH: `${bin}:/usr/bin:/bin` } }) });
    const host = f.make();
    await host.applyNetwork(STATIC);
    await host.confirmNetwork();
    await host.applyTime({ timezone: "UTC", ntpServers: ["pool.ntp.org"] });
    const s = await host.state();
    assert.equal(s.ntp.synchronized, false);
    assert.deepEqual(s.interfaces, []);
    assert.deepEqual(Deno.readTextFileSync(log).trim().split("\n"), [
      "hostname pbx-office",
      "networkctl reload",
      "ip -4 address flush dev eth0 scope global",
      "networkctl reconfigure eth0",
      "systemctl try-restart systemd-timesyncd",
      "timedatectl show -p NTPSynchronized --value",
      "ip -j addr show",
    ]);
    const missing = await commandRunner({ env: { PATH: bin } })("no-such-program-pbx", []);
    assert.equal(missing.code, 127);
  } finally {
    Deno.removeSync(bin, { recursive: true });
  }
});
