import { deepStrictEqual as eq, rejects } from "node:assert";
import { type DnsResolver, locateSipServers, type NaptrRecord, orderSrv, type SrvRecord } from "./locate.ts";

/** A fake resolver over fixed records; counts the queries. */
function fake(zone: {
  naptr?: Record<string, NaptrRecord[]>;
  srv?: Record<string, SrvRecord[]>;
  a?: Record<string, string[]>;
}): DnsResolver & { asked: string[] } {
  const asked: string[] = [];
  const get = <T>(kind: string, m: Record<string, T[]> | undefined, name: string) => {
    asked.push(`${kind} ${name}`);
    const v = m?.[name];
    return v === undefined ? Promise.reject(new Error(`ENOTFOUND ${name}`)) : Promise.resolve(v);
  };
  return {
    asked,
    naptr: (n) => get("NAPTR", zone.naptr, n),
    srv: (n) => get("SRV", zone.srv, n),
    a: (n) => get("A", zone.a, n),
  };
}

const srv = (priority: number, weight: number, port: number, name: string): SrvRecord => ({
  priority,
  weight,
  port,
  name,
});

Deno.test("an IP address is used as it is; an explicit port means A records only", async () => {
  const r = fake({ a: { "carrier.test": ["192.0.2.7"] } });
  eq(await locateSipServers("198.51.100.1", { transport: "udp", resolver: r }), [
    { transport: "udp", address: "198.51.100.1", port: 5060, via: "ip" },
  ]);
  eq(await locateSipServers("[2001:db8::1]", { port: 5080, resolver: r }), [
    { transport: "udp", address: "2001:db8::1", port: 5080, via: "ip" },
  ]);
  eq(await locateSipServers("carrier.test", { transport: "tcp", port: 5070, resolver: r }), [
    { transport: "tcp", address: "192.0.2.7", port: 5070, via: "a" },
  ]);
  eq(r.asked, ["A carrier.test"], "no SRV with an explicit port");
});

Deno.test("SRV for the configured transport: priority order, each target resolved with A", async () => {
  const r = fake({
    srv: {
      "_sip._udp.carrier.test": [
        srv(20, 0, 5062, "backup.carrier.test."),
        srv(10, 10, 5061, "sip1.carrier.test."),
      ],
    },
    a: { "sip1.carrier.test": ["192.0.2.1"], "backup.carrier.test": ["192.0.2.2", "192.0.2.3"] },
  });
  eq(await locateSipServers("carrier.test", { transport: "udp", resolver: r }), [
    { transport: "udp", address: "192.0.2.1", port: 5061, via: "srv" },
    { transport: "udp", address: "192.0.2.2", port: 5062, via: "srv" },
    { transport: "udp", address: "192.0.2.3", port: 5062, via: "srv" },
  ]);
  eq(r.asked.includes("SRV _sip._tcp.carrier.test"), false, "only the configured transport");
  eq(r.asked.some((q) => q.startsWith("NAPTR")), false, "no NAPTR when the transport is given");
});

Deno.test("no SRV records: A records of the host on 5060", async () => {
  const r = fake({ a: { "carrier.test": ["192.0.2.9"] } });
  eq(await locateSipServers("carrier.test", { transport: "tcp", resolver: r }), [
    { transport: "tcp", address: "192.0.2.9", port: 5060, via: "a" },
  ]);
  eq(r.asked, ["SRV _sip._tcp.carrier.test", "A carrier.test"]);
});

Deno.test("no transport given: NAPTR picks TCP by order; without NAPTR, SRV udp then tcp", async () => {
  const naptr = (order: number, service: string, replacement: string) => ({
    order,
    preference: 50,
    flags: "s",
    service,
    regexp: "",
    replacement,
  });
  const r = fake({
    naptr: {
      "carrier.test": [
        naptr(20, "SIP+D2U", "_sip._udp.carrier.test."),
        naptr(10, "SIP+D2T", "_sip._tcp.carrier.test."),
        naptr(5, "SIPS+D2T", "_sips._tcp.carrier.test."),
      ],
    },
    srv: {
      "_sip._tcp.carrier.test": [srv(1, 1, 5090, "tcp.carrier.test")],
      "_sip._udp.carrier.test": [srv(1, 1, 5091, "udp.carrier.test")],
    },
    a: { "tcp.carrier.test": ["192.0.2.20"], "udp.carrier.test": ["192.0.2.21"] },
  });
  eq(await locateSipServers("carrier.test", { resolver: r }), [
    { transport: "tcp", address: "192.0.2.20", port: 5090, via: "naptr" },
    { transport: "udp", address: "192.0.2.21", port: 5091, via: "naptr" },
  ]);
  const noNaptr = fake({
    srv: { "_sip._tcp.other.test": [srv(1, 1, 5092, "t.other.test")] },
    a: { "t.other.test": ["192.0.2.30"] },
  });
  eq(await locateSipServers("other.test", { resolver: noNaptr }), [
    { transport: "tcp", address: "192.0.2.30", port: 5092, via: "srv" },
  ]);
});

Deno.test("a '.' SRV target means no service; nothing resolving is an error naming the host", async () => {
  const r = fake({ srv: { "_sip._udp.gone.test": [srv(0, 0, 0, ".")] }, a: { "gone.test": ["192.0.2.40"] } });
  await rejects(
    locateSipServers("gone.test", { transport: "udp", resolver: r }),
    /gone\.test does not resolve/,
  );
  await rejects(locateSipServers("nowhere.test", { transport: "udp", resolver: fake({}) }), /nowhere\.test/);
});

Deno.test("RFC 2782 weights: within a priority the heavier record comes first more often", () => {
  const records = [srv(1, 90, 1, "heavy"), srv(1, 10, 2, "light"), srv(0, 0, 3, "first")];
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  let heavyFirst = 0;
  for (let i = 0; i < 1000; i++) {
    const o = orderSrv(records, random);
    eq(o[0]!.name, "first", "the lowest priority always first");
    if (o[1]!.name === "heavy") heavyFirst++;
  }
  eq(heavyFirst > 800 && heavyFirst < 980, true, `heavy first ${heavyFirst} of 1000`);
});
