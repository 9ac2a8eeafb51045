/**
 * Overload: how the box degrades when offered more calls than it can take. First a short ramp finds
 * the box's capacity in this run (the highest passing rate, as in sip_cps); then sipp offers 3x that
 * rate for 20 s from 127.0.0.1 while a phone registered from another address (127.0.0.2) places
 * calls at a low rate. Reported, all against the capacity measured in the same run (no absolute
 * thresholds): goodput (calls completed per second during the overload) / capacity, how many of the
 * other phone's calls completed, how many INVITEs were shed with 503 + Retry-After, and RSS a minute
 * after the overload / RSS before it.
 * Targets (issue 19): goodput >= 0.9 x capacity, the other phone >= 99% of its calls, RSS back
 * within 10%.
 *
 * Run: deno run --allow-all tests/bench/sip_overload.ts [--quick]
 * Writes tests/artifacts/bench/sip_overload.json.
 */
import { freeUdpPort } from "../_harness/mod.ts";
import {
  authField,
  cleanupAll,
  fmt,
  hookSignals,
  printTable,
  rssKb,
  sippLoad,
  sleep,
  startSippLoad,
  type SummaryRow,
  treeCpuSeconds,
  waitUdpBound,
  writeResult,
} from "./_lib.ts";
import { ramp, type RampStep } from "./_ramp.ts";
import { startBox } from "./_targets.ts";

const quick = Deno.args.includes("--quick");
const NCALLERS = 50;
const NCALLEES = 50;
const callers = Array.from({ length: NCALLERS }, (_, i) => String(2000 + i));
const callees = Array.from({ length: NCALLEES }, (_, i) => String(3000 + i));
const OTHER = "2999"; // the phone on the other address
const RATES = quick ? [50, 100, 200] : [100, 200, 300, 400, 500, 650, 800, 1000];
const OVERLOAD_SECONDS = quick ? 8 : 20;
const FACTOR = 3;
const OTHER_RATE = 5;
const SETTLE_SECONDS = quick ? 15 : 60;
const log = (s: string) => console.error(s);

class NoCapacity extends Error {}

hookSignals();
let result: Record<string, unknown> = {};
let summary: SummaryRow[] = [];
try {
  const box = await startBox([...callers, ...callees, OTHER]);
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
      target: box.address,
      calls: NCALLEES,
      rate: 100,
      csv: "SEQUENTIAL\n" + callees.map((c) => `${c};${uasPort};${authField(c)}`).join("\n") + "\n",
      timeoutSec: 30,
    });
    if (reg.successful !== NCALLEES) {
      throw new Error(`callee registration failed: ${reg.successful}/${NCALLEES}`);
    }
    // The other phone registers from its own address (its contact is never called here).
    const otherPort = await freeUdpPort();
    const otherReg = await sippLoad({
      scenario: "bench_register.xml",
      target: box.address,
      calls: 1,
      ip: "127.0.0.2",
      localPort: otherPort,
      csv: `SEQUENTIAL\n${OTHER};${otherPort};${authField(OTHER)}\n`,
      timeoutSec: 30,
    });
    if (otherReg.successful !== 1) {
      throw new Error(`registering ${OTHER} from 127.0.0.2 failed\n${otherReg.errors}`);
    }

    const csv = "SEQUENTIAL\n" +
      callers.map((c, i) => `${c};${callees[i % NCALLEES]};${authField(c)}`).join("\n") + "\n";
    const uac = (rate: number, calls: number) => ({
      scenario: "bench_uac.xml",
      target: box.address,
      csv,
      rtt: true,
      rate,
      calls,
      timeoutSec: 60,
      extra: ["-d", "0"],
    });
    log("sip_overload: capacity ramp");
    const { steps, best } = await ramp({
      rates: RATES,
      stepSeconds: quick ? 2 : 3,
      maxP99Ms: 200,
      pids: box.pids,
      budgetSec: 90,
      log,
      sipp: () => uac(0, 0),
    });
    // BENCH_CAPACITY skips the measured figure (e.g. sip_cps's result from a quieter moment).
    const given = Number(Deno.env.get("BENCH_CAPACITY") ?? "NaN");
    const capacity = Number.isFinite(given) && given > 0 ? given : best?.rate ?? 0;
    if (capacity === 0) {
      log("sip_overload: no ramp step passed (the box failed below its first rate): nothing to overload");
      result = { capacity: 0, ramp: steps, note: "no ramp step passed" };
      throw new NoCapacity();
    }
    await sleep(3000);
    const rssBefore = rssKb(box.appPid);
    const offered = FACTOR * capacity;
    log(`sip_overload: capacity ${capacity}/s; offering ${offered}/s for ${OVERLOAD_SECONDS} s`);
    const cpu0 = treeCpuSeconds(box.appPid);
    const flood = startSippLoad(uac(offered, offered * OVERLOAD_SECONDS));
    const otherCalls = OTHER_RATE * OVERLOAD_SECONDS;
    const other = startSippLoad({
      scenario: "bench_uac.xml",
      target: box.address,
      ip: "127.0.0.2",
      csv: `SEQUENTIAL\n${OTHER};${callees[0]};${authField(OTHER)}\n`,
      rtt: true,
      rate: OTHER_RATE,
      calls: otherCalls,
      timeoutSec: OVERLOAD_SECONDS + 60,
      extra: ["-d", "0"],
    });
    const [f, o] = await Promise.all([(await flood).done, (await other).done]);
    const cpuPct = (100 * (treeCpuSeconds(box.appPid) - cpu0)) / f.elapsed;
    const rssPeak = rssKb(box.appPid);
    log(
      `sip_overload: flood ok=${f.successful} failed=${f.failed} in ${
        f.elapsed.toFixed(1)
      } s; other ok=${o.successful}/${otherCalls}`,
    );
    log(`sip_overload: flood failures ${JSON.stringify(f.reasons)}; other ${JSON.stringify(o.reasons)}`);
    // Counted over sipp's whole error log (f.errors is only its head and tail).
    const shed = Object.entries(f.reasons).filter(([k]) => k.includes(" 503 ")).reduce(
      (a, [, n]) => a + n,
      0,
    );
    await sleep(SETTLE_SECONDS * 1000);
    const rssAfter = rssKb(box.appPid);
    const goodput = f.successful / Math.max(f.elapsed, OVERLOAD_SECONDS);
    const goodputRatio = goodput / capacity;
    const otherPct = (100 * o.successful) / otherCalls;
    const rssRatio = rssAfter / rssBefore;
    result = {
      capacity,
      offered,
      overloadSeconds: OVERLOAD_SECONDS,
      ramp: steps,
      flood: { successful: f.successful, failed: f.failed, elapsed: f.elapsed, cpuPct, shed503: shed },
      other: { rate: OTHER_RATE, calls: otherCalls, successful: o.successful, failed: o.failed },
      rssKb: { before: rssBefore, peak: rssPeak, afterSettle: rssAfter, settleSeconds: SETTLE_SECONDS },
    };
    summary = [
      {
        metric: `overload ${FACTOR}x: goodput / capacity`,
        box: `${fmt(goodput)}/s`,
        reference: `${capacity}/s (box ramp, same run)`,
        ratio: goodputRatio.toFixed(2),
        target: ">= 0.90",
        met: goodputRatio >= 0.9 ? "yes" : "no",
      },
      {
        metric: "overload: other phone's calls completed (%)",
        box: otherPct.toFixed(1),
        reference: "-",
        ratio: "-",
        target: ">= 99",
        met: otherPct >= 99 ? "yes" : "no",
      },
      {
        metric: "overload: INVITEs shed with 503 (flood calls refused)",
        box: String(shed),
        reference: "-",
        ratio: "-",
        target: "-",
        met: "n/a",
      },
      {
        metric: `overload: RSS ${SETTLE_SECONDS} s later / before (MB)`,
        box: `${(rssAfter / 1024).toFixed(0)} / ${(rssBefore / 1024).toFixed(0)}`,
        reference: "-",
        ratio: rssRatio.toFixed(2),
        target: "<= 1.10",
        met: rssRatio <= 1.1 ? "yes" : "no",
      },
    ];
    printTable(
      "sip_overload: capacity ramp",
      steps.map((s: RampStep) => ({ ...s, reasons: JSON.stringify(s.reasons) })),
    );
    printTable("sip_overload summary", summary.map((s) => ({ ...s })));
  } finally {
    await uas.stop();
    const u = await uas.done;
    if (u.failed > 0 || u.errors !== "") {
      log(`  callee sipp: failed=${u.failed}; errors (head):\n${u.errors.slice(0, 1500)}`);
    }
    await box.stop();
  }
} catch (e) {
  if (!(e instanceof NoCapacity)) throw e;
} finally {
  await cleanupAll();
}
await writeResult("sip_overload", {
  command: "deno run --allow-all tests/bench/sip_overload.ts",
  settings: { rates: RATES, factor: FACTOR, overloadSeconds: OVERLOAD_SECONDS, otherRate: OTHER_RATE },
  ...result,
  summary,
});
