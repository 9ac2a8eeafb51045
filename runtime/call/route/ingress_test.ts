import { deepStrictEqual as eq, throws } from "node:assert";
import { classifyIngress, type IngressConfig, parseIp, parseRange } from "./ingress.ts";

const config: IngressConfig = {
  trunks: [
    { id: "carrier", addresses: ["198.51.100.0/24", "2001:db8:5::/48"] },
    { id: "pinned", addresses: ["203.0.113.7"], port: 5080, transports: ["udp"] },
  ],
  isExtension: (u) => u === "201" || u === "202",
};

const req = (address: string, fromUser?: string, extra: { port?: number; transport?: string } = {}) => ({
  source: { address, port: extra.port ?? 5060, transport: extra.transport ?? "udp" },
  fromUser,
  toUser: "5551234",
  requestUser: "5551234",
});

Deno.test("a request from a trunk's range is the trunk, whatever its From says", () => {
  eq(classifyIngress(req("198.51.100.20", "201"), config), {
    kind: "trunk",
    trunk: "carrier",
    auth: "address",
    caller: "201",
    dialled: "5551234",
  });
  eq(classifyIngress(req("2001:db8:5::1", "+12125550100"), config).kind, "trunk");
  eq(classifyIngress(req("::ffff:198.51.100.9", "x"), config).kind, "trunk", "IPv4-mapped IPv6");
});

Deno.test("a trunk pinned to a port and transport does not match other ports or TCP", () => {
  eq(classifyIngress(req("203.0.113.7", "x", { port: 5080 }), config).kind, "trunk");
  eq(classifyIngress(req("203.0.113.7", "x", { port: 5060 }), config).kind, "unknown");
  eq(classifyIngress(req("203.0.113.7", "x", { port: 5080, transport: "tcp" }), config).kind, "unknown");
});

Deno.test("an extension From outside the trunk ranges must pass the digest check", () => {
  eq(classifyIngress(req("127.0.0.1", "201"), config), {
    kind: "extension",
    user: "201",
    auth: "digest",
    dialled: "5551234",
  });
  eq(classifyIngress(req("198.51.101.1", "202"), config).kind, "extension", "next /24 is not the carrier");
});

Deno.test("anything else is unknown and still needs digest: it never reaches a phone unauthenticated", () => {
  const anon = classifyIngress(req("192.0.2.1", "299"), config);
  eq(anon.kind === "unknown" && [anon.auth, anon.reason], ["digest", 'From user "299" is no extension']);
  eq(classifyIngress(req("192.0.2.1"), config).kind, "unknown");
  eq(
    classifyIngress(req("not-an-ip", "x"), { trunks: [{ id: "t", addresses: ["0.0.0.0/0"] }] }).kind,
    "unknown",
  );
  eq(classifyIngress(req("192.0.2.1", "alice"), { trunks: [] }).kind, "unknown", "default: 2-8 digits");
  eq(classifyIngress(req("192.0.2.1", "4711"), { trunks: [] }).kind, "extension");
});

Deno.test("a malformed trunk range matches nothing, and parseRange says why", () => {
  const bad = { trunks: [{ id: "typo", addresses: ["198.51.100.0/33", "198.51.100"] }] };
  eq(classifyIngress(req("198.51.100.1", "201"), bad).kind, "extension");
  throws(() => parseRange("198.51.100.0/33"), /prefix length must be 0-32/);
  throws(() => parseRange("198.51.100"), /not an IPv4 or IPv6 address/);
  throws(() => parseRange("2001:db8::/129"), /0-128/);
});

Deno.test("address parsing: IPv4, IPv6 forms, brackets and zone ids", () => {
  eq(parseIp("10.0.0.1"), new Uint8Array([10, 0, 0, 1]));
  eq(parseIp("[::1]")?.[15], 1);
  eq(parseIp("fe80::1%eth0")?.[0], 0xfe);
  eq(parseIp("1:2:3:4:5:6:7:8")?.length, 16);
  eq(parseIp("1:2:3:4:5:6:7"), undefined);
  eq(parseIp("1::2::3"), undefined);
  eq(parseIp("256.0.0.1"), undefined);
  eq(parseIp("::ffff:10.1.2.3"), new Uint8Array([10, 1, 2, 3]));
});
