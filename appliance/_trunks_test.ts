import { deepStrictEqual as eq, ok } from "node:assert";
import { realClock } from "../runtime/clock/mod.ts";
import { createLogger } from "../runtime/log/mod.ts";
import { createSecretBox } from "../runtime/storage/mod.ts";
import { tempStorage } from "../runtime/storage/_testing.ts";
import type { TransactionLayer } from "../runtime/sip/mod.ts";
import type { DnsResolver } from "../runtime/sip/uac/mod.ts";
import {
  checkRoute,
  checkTrunk,
  trunkHop,
  trunkHostPart,
  trunksFeature,
} from "../runtime/features/trunks/mod.ts";
import { startTrunkClients } from "./_trunks.ts";

const quiet = createLogger("t", { level: "error", sink: () => {} });

Deno.test("trunk hosts: SRV (RFC 3263) gives the next hop's address and port; A-only keeps the port", async () => {
  const storage = tempStorage();
  const asked: string[] = [];
  const resolver: DnsResolver = {
    srv: (n) => {
      asked.push(`SRV ${n}`);
      return n === "_sip._udp.carrier.test"
        ? Promise.resolve([{ priority: 10, weight: 1, port: 5099, name: "sip1.carrier.test" }])
        : Promise.reject(new Error("ENOTFOUND"));
    },
    a: (n) => {
      asked.push(`A ${n}`);
      return n === "sip1.carrier.test" || n === "plain.test"
        ? Promise.resolve([n === "plain.test" ? "127.0.0.8" : "127.0.0.7"])
        : Promise.reject(new Error("ENOTFOUND"));
    },
  };
  try {
    const { service } = trunksFeature({
      db: storage.db,
      secrets: createSecretBox(storage.dataDir),
      settings: storage.settings,
      clock: realClock,
      log: quiet,
      activeCalls: () => 0,
      isExtension: (n) => n === "201",
      boxAddress: "127.0.0.1",
    });
    // No port given with a name: lookup srv. A port given: A records only.
    const srv = checkTrunk({ kind: "peer", host: "carrier.test", addresses: ["127.0.0.7"] }, "srv").trunk;
    const plain =
      checkTrunk({ kind: "peer", host: "plain.test", port: 5070, addresses: ["127.0.0.8"] }, "plain")
        .trunk;
    eq([srv.lookup, plain.lookup], ["srv", "a"]);
    eq(trunkHop(srv).srv, true);
    eq(trunkHostPart(srv), "carrier.test", "no port in the Request-URI when SRV locates the server");
    eq(trunkHostPart(plain), "plain.test:5070");
    service.store.putTrunk(srv, undefined);
    service.store.putTrunk(plain, undefined);
    service.store.putRoute(checkRoute({ patterns: ["9|N."], trunks: ["srv"] }, "r1"));
    const stop = startTrunkClients({
      service,
      transactions: {} as TransactionLayer, // peer trunks without keepalive send nothing
      clock: realClock,
      log: quiet,
      publicAddress: "127.0.0.1",
      sipPort: () => 5060,
      resolver,
    });
    for (let i = 0; i < 100 && service.address("plain.test") === undefined; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await stop();
    eq(service.address("carrier.test"), "127.0.0.7");
    eq(service.resolvedPort("carrier.test"), 5099);
    eq(service.address("plain.test"), "127.0.0.8");
    eq(service.resolvedPort("plain.test"), undefined);
    ok(
      asked.includes("SRV _sip._udp.carrier.test") &&
        !asked.some((q) => q.includes("plain.test") && q.startsWith("SRV")),
    );
    const d = await service.prepare({
      trunk: "srv",
      number: "5551234",
      route: "r1",
      caller: "201",
      callId: "c1",
      dialled: "95551234",
    });
    ok(d.ok);
    eq(d.leg.target, { transport: "udp", address: "127.0.0.7", port: 5099 });
    eq(d.leg.uri, "sip:5551234@carrier.test");
  } finally {
    storage.dispose();
  }
});
