/**
 * Calls per second through the box (B2BUA, digest auth on the INVITE, short call without RTP, BYE)
 * and through kamailio (stateful proxy + registrar, fixed-password digest) in the same run.
 * Callees: NCALLEES extensions all registered to one UAS sipp port. sipp ramps -r; the result is
 * the highest rate with < 0.1% failed calls and p99 INVITE(authenticated)->180 <= 200 ms.
 *
 * Run: deno run --allow-all tests/bench/sip_cps.ts [--quick]
 * Writes tests/artifacts/bench/sip_cps.json.
 */
import { freeUdpPort } from "../_harness/mod.ts";
import {
  authField,
  cleanupAll,
  hookSignals,
  printTable,
  sippLoad,
  startSippLoad,
  waitUdpBound,
  writeResult,
} from "./_lib.ts";
import { ramp, type RampStep, rampSummary } from "./_ramp.ts";
import { kamailioInstalled, type SipTarget, startBox, startKamailio } from "./_targets.ts";

const quick = Deno.args.includes("--quick");
const only = Deno.env.get("BENCH_ONLY"); // "box" | "kamailio" | undefined (both)
const NCALLERS = 50;
const NCALLEES = 50;
const callers = Array.from({ length: NCALLERS }, (_, i) => String(2000 + i));
const callees = Array.from({ length: NCALLEES }, (_, i) => String(3000 + i));
const RATES = Deno.env.get("BENCH_RATES")?.split(",").map(Number) ??
  (quick ? [50, 100] : [100, 200, 300, 400, 500, 650, 800, 1000, 1250, 1500]);
const STEP_SECONDS = quick ? 2 : 4;
const MAX_P99_MS = 200;
const log = (s: string) => console.error(s);

async function measure(target: SipTarget): Promise<{ steps: RampStep[]; best: RampStep | undefined }> {
  // The free port may be taken between the check and sipp's bind: retry with another.
  let uasPort = 0;
  let uas: Awaited<ReturnType<typeof startSippLoad>> | undefined;
  for (let attempt = 0; uas === undefined; attempt++) {
    uasPort = await freeUdpPort();
    const run = await startSippLoad({
      scenario: "bench_uas.xml",
      localPort: uasPort,
      calls: 100_000_000,
      timeoutSec: 900,
      name: "sipp bench_uas",
    });
    try {
      await waitUdpBound(uasPort);
      uas = run;
    } catch (e) {
      await run.stop();
      if (attempt >= 2) throw e;
    }
  }
  try {
    const reg = await sippLoad({
      scenario: "bench_register.xml",
      target: target.address,
      calls: NCALLEES,
      rate: 100,
      csv: "SEQUENTIAL\n" + callees.map((c) => `${c};${uasPort};${authField(c)}`).join("\n") + "\n",
      timeoutSec: 30,
    });
    if (reg.successful !== NCALLEES) {
      throw new Error(
        `callee registration on ${target.name} failed: ${reg.successful}/${NCALLEES}\n${reg.errors}`,
      );
    }
    const csv = "SEQUENTIAL\n" + callers.map((c, i) =>
      `${c};${callees[i % NCALLEES]};${authField(c)}`
    ).join("\n") + "\n";
    return await ramp({
      rates: RATES,
      stepSeconds: STEP_SECONDS,
      maxP99Ms: MAX_P99_MS,
      pids: target.pids,
      budgetSec: 120,
      log,
      sipp: () => ({
        scenario: "bench_uac.xml",
        target: target.address,
        csv,
        rtt: true,
        timeoutSec: 60,
        extra: ["-d", "0"],
      }),
    });
  } finally {
    await uas.stop();
    const u = await uas.done;
    if (u.failed > 0 || u.errors !== "") {
      log(`  callee sipp: failed=${u.failed}; errors (head):\n${u.errors.slice(0, 1500)}`);
    }
  }
}

hookSignals();
const results: Record<string, { steps: RampStep[]; best: RampStep | undefined } | { skipped: string }> = {};
try {
  if (only !== "kamailio") {
    log("sip_cps: box");
    const box = await startBox([...callers, ...callees]);
    try {
      results.box = await measure(box);
    } finally {
      await box.stop();
    }
  }
  if (only === "box") {
    // measuring the box alone (BENCH_ONLY=box)
  } else if (await kamailioInstalled()) {
    log("sip_cps: kamailio");
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

const best = (k: string) => {
  const r = results[k];
  return r !== undefined && "best" in r ? r.best : undefined;
};
for (const k of Object.keys(results)) {
  const r = results[k]!;
  if ("steps" in r) {
    printTable(
      `sip_cps: ${k} (INVITE with digest, no RTP, BYE)`,
      r.steps.map((s) => ({ ...s, reasons: JSON.stringify(s.reasons) })),
    );
  } else console.log(`\nsip_cps: ${k}: ${r.skipped}`);
}
const b = best("box");
const kb = best("kamailio");
const summary = rampSummary(b, kb, {
  rate: "calls/s (<0.1% failed)",
  p99: "p99 INVITE->180 ms at that rate",
  target: 300,
});
printTable("sip_cps summary", summary.map((s) => ({ ...s })));
await writeResult("sip_cps", {
  command: "deno run --allow-all tests/bench/sip_cps.ts",
  settings: {
    rates: RATES,
    stepSeconds: STEP_SECONDS,
    maxP99Ms: MAX_P99_MS,
    callers: NCALLERS,
    callees: NCALLEES,
  },
  results,
  summary,
});
