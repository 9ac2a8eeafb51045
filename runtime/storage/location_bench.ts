/**
 * REGISTER write cost: one autocommit upsert (one fsync each) versus group-committed
 * upsertDurable (many REGISTERs share an fsync). Run: deno bench --allow-all runtime/storage/
 */
import { openStorage } from "./storage.ts";
import type { Binding } from "./location.ts";

const dataDir = Deno.makeTempDirSync({ prefix: "pbx-bench-" });
const storage = openStorage({ dataDir, groupCommitMs: 2 });
for (let i = 0; i < 100; i++) {
  storage.extensions.create({ number: String(1000 + i), name: `E${i}`, password: `bench-pass-${i}` }, "pbx");
}
let n = 0;
const binding = (): Binding => {
  n++;
  return {
    extension: String(1000 + (n % 100)),
    contactUri: `sip:${n % 2000}@192.0.2.1:5060`,
    expiresAt: Date.now() + 3600_000,
    callId: `c${n}`,
    cseq: n,
    sourceTransport: "udp",
    sourceAddress: "192.0.2.1",
    sourcePort: 5060,
    userAgent: "bench",
  };
};

Deno.bench(
  "100 REGISTER bindings, autocommit upsert (100 fsyncs)",
  { group: "register", baseline: true },
  () => {
    for (let i = 0; i < 100; i++) storage.locations.upsert(binding());
  },
);

Deno.bench(
  "100 REGISTER bindings, concurrent upsertDurable (group commit)",
  { group: "register" },
  async () => {
    await Promise.all(Array.from({ length: 100 }, () => storage.locations.upsertDurable(binding())));
  },
);

globalThis.addEventListener("unload", () => {
  storage.close();
  Deno.removeSync(dataDir, { recursive: true });
});
