/**
 * A burst of 2000 OPTIONS from sipp, sent without retransmission as fast as sipp can, gets (nearly)
 * all its answers: the SIP UDP socket (batched native path, 2 MiB receive buffer by default) holds
 * the burst until the signalling thread reads it. With node:dgram and the kernel's default buffer
 * (~208 KB) a few hundred of them were answered (issue 19: sipsak's 2,000-message burst got 208).
 */
import { ok } from "node:assert";
import { describeSipp, runSipp } from "../_harness/mod.ts";
import { startPbx } from "./_setup.ts";

Deno.test("2000 OPTIONS in one burst: at least 95% answered", async () => {
  const pbx = await startPbx({ PBX_LOG_LEVEL: "warn" });
  try {
    const n = 2000;
    const r = await runSipp({
      scenario: "options_burst.xml",
      target: pbx.target,
      calls: n,
      rate: 20000, // as fast as sipp sends: a burst, not a rate
      limit: n,
      timeoutSec: 90,
      // -nr: a lost OPTIONS stays lost; sipp's own socket gets a buffer big enough for the answers.
      args: ["-nr", "-buff_size", String(8 << 20)],
    });
    const answered = r.successful ?? 0;
    console.log(`answered ${answered} of ${n}`);
    ok(answered >= n * 0.95, `answered ${answered} of ${n}: ${describeSipp(r)}`);
  } finally {
    await pbx.app.stop();
  }
});
