/**
 * Child process for crash_test.ts: writes rows forever and prints each id only after its commit
 * returned, so the parent can SIGKILL at any point and check nothing acknowledged was lost.
 * Usage: deno run --allow-read --allow-write _crash_child.ts DATA_DIR
 */
import { openStorage } from "./storage.ts";

const dataDir = Deno.args[0];
if (dataDir === undefined) throw new TypeError("usage: _crash_child.ts DATA_DIR");
const storage = openStorage({ dataDir, groupCommitMs: 1 });
storage.extensions.create({ number: "201", name: "Crash", password: "crash-test-pw" }, "pbx");
const out = Deno.stdout;
const enc = new TextEncoder();
const say = (line: string) => {
  const bytes = enc.encode(line + "\n");
  let off = 0;
  while (off < bytes.length) off += out.writeSync(bytes.subarray(off));
};
say("ready");
for (let i = 0;; i++) {
  // Autocommit path: one transaction per row.
  const id = storage.cdr.insert({
    callId: `call-${i}`,
    caller: "201",
    callee: "202",
    startedAt: i,
    endedAt: i + 1,
    disposition: "answered",
  });
  say(`cdr ${id}`);
  // Group-commit path: ten bindings share one commit; each is acknowledged after it resolves.
  await Promise.all(
    Array.from({ length: 10 }, (_, k) => {
      const contact = `sip:${i}-${k}@h`;
      return storage.locations.upsertDurable({
        extension: "201",
        contactUri: contact,
        expiresAt: Number.MAX_SAFE_INTEGER,
        callId: "c",
        cseq: i,
        sourceTransport: "udp",
        sourceAddress: "127.0.0.1",
        sourcePort: 5060,
      }).then(() => say(`binding ${contact}`));
    }),
  );
}
