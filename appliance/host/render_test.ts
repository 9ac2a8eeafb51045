import assert from "node:assert/strict";
import {
  interfacesFromDeno,
  parseIpAddr,
  parseTimesyncd,
  pickLanInterface,
  renderNetworkFile,
  renderTimesyncd,
  staticAddressProblem,
  zoneFromLink,
} from "./render.ts";

const HEADER = "# Written by the PBX appliance (web UI: System > Network). Changes here are overwritten.\n";

Deno.test("a static network file names the interface, address/prefix, gateway and each DNS server", () => {
  const text = renderNetworkFile({
    mode: "static",
    hostname: "pbx",
    address: "192.168.1.10",
    prefix: 24,
    gateway: "192.168.1.1",
    dns: ["192.168.1.1", "9.9.9.9"],
  }, "eth0");
  assert.equal(
    text,
    HEADER +
      "[Match]\nName=eth0\n\n[Network]\nAddress=192.168.1.10/24\nGateway=192.168.1.1\n" +
      "DNS=192.168.1.1\nDNS=9.9.9.9\n",
  );
});

Deno.test("a DHCP network file asks for IPv4 leases and matches en*/eth* when no interface is known", () => {
  assert.equal(
    renderNetworkFile({ mode: "dhcp", hostname: "pbx" }, "en* eth*"),
    HEADER + "[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n",
  );
});

Deno.test("values that could add lines to an OS file are refused with RangeError", () => {
  const base = {
    mode: "static" as const,
    hostname: "pbx",
    address: "10.0.0.2",
    prefix: 24,
    gateway: "10.0.0.1",
  };
  assert.throws(() => renderNetworkFile({ ...base, hostname: "pbx\nDNS=1.1.1.1" }, "eth0"), RangeError);
  assert.throws(() => renderNetworkFile({ ...base, address: "10.0.0.2\nDNS=1.1.1.1" }, "eth0"), RangeError);
  assert.throws(() => renderNetworkFile({ ...base, dns: ["8.8.8.8\n[Route]"] }, "eth0"), RangeError);
  assert.throws(() => renderNetworkFile(base, "eth0\n[Network]"), RangeError);
  assert.throws(() => renderNetworkFile({ mode: "static", hostname: "pbx" }, "eth0"), /needs address/);
  assert.throws(() => renderTimesyncd({ timezone: "UTC", ntpServers: ["a b"] }), RangeError);
  assert.throws(() => renderTimesyncd({ timezone: "UTC", ntpServers: ["x\nFallbackNTP=evil"] }), RangeError);
});

Deno.test("static address checks: gateway outside the subnet, network and broadcast addresses", () => {
  assert.equal(staticAddressProblem("192.168.1.10", 24, "192.168.1.1"), null);
  assert.match(
    staticAddressProblem("192.168.1.10", 24, "192.168.2.1")!,
    /gateway 192.168.2.1 is outside the subnet 192.168.1.0\/24/,
  );
  assert.match(staticAddressProblem("192.168.1.0", 24, "192.168.1.1")!, /network address/);
  assert.match(staticAddressProblem("192.168.1.255", 24, "192.168.1.1")!, /broadcast address/);
  assert.match(staticAddressProblem("192.168.1.10", 24, "192.168.1.10")!, /own address/);
  assert.match(staticAddressProblem("192.168.1.10", 24, "192.168.1.255")!, /broadcast/);
  assert.equal(staticAddressProblem("10.1.2.3", 8, "10.200.0.1"), null);
  assert.equal(staticAddressProblem("10.0.0.0", 31, "10.0.0.1"), null, "a /31 has no network/broadcast");
});

Deno.test("ip -j addr show: addresses with prefix and dynamic flag, MAC, loopback and fe80:: left out", () => {
  const json = JSON.stringify([
    {
      ifname: "lo",
      link_type: "loopback",
      address: "00:00:00:00:00:00",
      addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8 }],
    },
    {
      ifname: "eth0",
      link_type: "ether",
      address: "52:54:00:12:34:56",
      addr_info: [
        { family: "inet", local: "10.0.2.15", prefixlen: 24, dynamic: true, scope: "global" },
        { family: "inet", local: "192.168.7.2", prefixlen: 24, scope: "global" },
        { family: "inet6", local: "fe80::5054:ff:fe12:3456", prefixlen: 64, scope: "link" },
      ],
    },
  ]);
  assert.deepEqual(parseIpAddr(json), [{
    name: "eth0",
    mac: "52:54:00:12:34:56",
    addresses: [
      { address: "10.0.2.15", prefix: 24, dynamic: true },
      { address: "192.168.7.2", prefix: 24, dynamic: false },
    ],
  }]);
  assert.throws(() => parseIpAddr("not json"), SyntaxError);
  assert.throws(() => parseIpAddr("{}"), SyntaxError);
});

Deno.test("timesyncd drop-in round trip, and zone names from /etc/localtime link targets", () => {
  const text = renderTimesyncd({ timezone: "UTC", ntpServers: ["pool.ntp.org", "192.0.2.5"] });
  assert.equal(
    text,
    "# Written by the PBX appliance (web UI: System > Time). Changes here are overwritten.\n" +
      "[Time]\nNTP=pool.ntp.org 192.0.2.5\n",
  );
  assert.deepEqual(parseTimesyncd(text), ["pool.ntp.org", "192.0.2.5"]);
  assert.deepEqual(parseTimesyncd("[Other]\nNTP=x\n"), []);
  assert.equal(zoneFromLink("/usr/share/zoneinfo/Europe/Berlin"), "Europe/Berlin");
  assert.equal(zoneFromLink("../usr/share/zoneinfo/Etc/UTC"), "Etc/UTC");
  assert.equal(zoneFromLink("/etc/other"), null);
});

Deno.test("the LAN interface is the first non-loopback one with a MAC", () => {
  const ni = (name: string, address: string, mac: string): Deno.NetworkInterfaceInfo => ({
    family: "IPv4",
    name,
    address,
    netmask: "255.255.255.0",
    scopeid: null,
    cidr: `${address}/24`,
    mac,
  });
  const list = [
    ni("lo", "127.0.0.1", "00:00:00:00:00:00"),
    ni("tun0", "10.8.0.1", "00:00:00:00:00:00"),
    ni("enp1s0", "192.168.1.10", "52:54:00:aa:bb:cc"),
  ];
  assert.equal(pickLanInterface(list), "enp1s0");
  assert.equal(pickLanInterface(list.slice(0, 2)), null);
  assert.deepEqual(interfacesFromDeno(list).map((i) => [i.name, i.mac, i.addresses]), [
    ["tun0", null, [{ address: "10.8.0.1", prefix: 24, dynamic: null }]],
    ["enp1s0", "52:54:00:aa:bb:cc", [{ address: "192.168.1.10", prefix: 24, dynamic: null }]],
  ]);
});
