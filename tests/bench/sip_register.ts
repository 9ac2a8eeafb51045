/**
 * Registrations per second with the 401 challenge round trip (REGISTER, 401, REGISTER with digest,
 * 200) for NUSERS extensions from an injection CSV, through the box and through kamailio (in-memory
 * usrloc, fixed-password digest) in the same run. sipp ramps -r; the result is the highest rate
 * with < 0.1% failed registrations and p99 (whole exchange) <= 200 ms.
 *
 * Run: deno run --allow-all tests/bench/sip_register.ts [--quick]
 * Writes tests/artifacts/bench/sip_register.json.
 */
import { freeUdpPort } from "../_harness/mod.ts";
import { authField, cleanupAll, hookSignals, printTable, writeResult } from "./_lib.ts";
import { ramp, type RampStep, rampSummary } from "./_ramp.ts";
import { kamailioInstalled, type SipTarget, startBox, startKamailio } from "./_targets.ts";

const quick = Deno.args.includes("--quick");
const NUSERS = quick ? 50 : 500;
const users = Array.from({ length: NUSERS }, (_, i) => String(4000 + i));
const RATES = quick ? [100, 200] : [250, 500, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000];
const STEP_SECONDS = quick ? 2 : 3;
const MAX_P99_MS = 200;
const log = (s: string) => console.error(s);

async function measure(target: SipTarget): Promise<{ steps: RampStep[]; best: RampStep | undefined }> {
  const localPort = await freeUdpPort();
  const csv = "SEQUENTIAL\n" + users.map((u) => `${u};${localPort};${authField(u)}`).join("\n") + "\n";
  return await ramp({
    rates: RATES,
    stepSeconds: STEP_SECONDS,
    maxP99Ms: MAX_P99_MS,
    pids: target.pids,
    budgetSec: 100,
    log,
    sipp: () => ({
      scenario: "bench_register.xml",
      target: target.address,
      csv,
      rtt: true,
      localPort,
      timeoutSec: 60,
    }),
  });
}

hookSignals();
const results: Record<string, { steps: RampStep[]; best: RampStep | undefined } | { skipped: string }> = {};
try {
  log("sip_register: box");
  const box = await startBox(users);
  try {
    results.box = await measure(box);
  } finally {
    await box.stop();
  }
  if (await kamailioInstalled()) {
    log("sip_register: kamailio");
    const kam = await startKamailio();
    try {
      results.kamailio = await measure(kam);
    } finally {
      await kam.stop();
    }
  } else {
    results.kamailio = { skipped: "kamailio is not installed (dpkg -s kamailio)" };
  }
} finally {
  await cleanupAll();
}

for (const k of Object.keys(results)) {
  const r = results[k]!;
  if ("steps" in r) {
    printTable(
      `sip_register: ${k} (REGISTER, 401, REGISTER+digest, 200)`,
      r.steps.map((s) => ({ ...s, reasons: JSON.stringify(s.reasons) })),
    );
  } else console.log(`\nsip_register: ${k}: ${r.skipped}`);
}
const best = (k: string) => {
  const r = results[k];
  return r !== undefined && "best" in r ? r.best : undefined;
};
const b = best("box");
const kb = best("kamailio");
const summary = rampSummary(b, kb, {
  rate: "registrations/s with 401 (<0.1% failed)",
  p99: "p99 register exchange ms at that rate",
  target: 2000,
});
printTable("sip_register summary", summary.map((s) => ({ ...s })));
await writeResult("sip_register", {
  command: "deno run --allow-all tests/bench/sip_register.ts",
  settings: { rates: RATES, stepSeconds: STEP_SECONDS, maxP99Ms: MAX_P99_MS, users: NUSERS },
  results,
  summary,
});
