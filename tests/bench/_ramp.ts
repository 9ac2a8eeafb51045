/**
 * Rate ramp shared by the SIP benchmarks: run sipp at increasing -r for a few seconds each and keep
 * the highest rate with < 0.1% failed calls and a p99 response time that has not exploded.
 *
 * @module
 */
import {
  fmt,
  percentile,
  type SippLoad,
  sippLoad,
  type SippLoadOptions,
  sleep,
  type SummaryRow,
  treeCpuSeconds,
} from "./_lib.ts";

/** One ramp step. */
export interface RampStep {
  rate: number;
  calls: number;
  successful: number;
  failed: number;
  failedPct: number;
  /** Calls completed per second of wall clock (what was really achieved). */
  achieved: number;
  p50ms: number;
  p99ms: number;
  /** CPU used by the target during the step, in % of one core. */
  targetCpuPct: number;
  /** CPU used by the load-generating sipp, % of one core (100% = sipp is the limit). */
  sippCpuPct: number;
  /** UDP datagrams the kernel dropped for a full receive buffer during the step (whole machine). */
  rcvbufErrors: number;
  /** Why calls failed, from sipp's error log: "unexpected 480 (expecting 180)", "timeout", ... */
  reasons: Record<string, number>;
  pass: boolean;
}

/** UDP RcvbufErrors from /proc/net/snmp (every socket of the machine); NaN when unreadable. */
export function udpRcvbufErrors(): number {
  try {
    const lines = Deno.readTextFileSync("/proc/net/snmp").split("\n").filter((l) => l.startsWith("Udp:"));
    const head = lines[0]!.split(/\s+/);
    const vals = lines[1]!.split(/\s+/);
    return Number(vals[head.indexOf("RcvbufErrors")]);
  } catch {
    return NaN;
  }
}

/** Ramp settings. */
export interface RampOptions {
  rates: number[];
  stepSeconds: number;
  /** p99 above this (ms) counts as exploded. */
  maxP99Ms: number;
  /** sipp options per step (calls/rate are set by the ramp). */
  sipp: (rate: number, calls: number) => SippLoadOptions;
  /** Target processes (for CPU). */
  pids: () => number[];
  /** Stop after this many failing steps in a row. */
  patience?: number;
  /** Wall-clock budget in seconds for the whole ramp. */
  budgetSec?: number;
  log?: (s: string) => void;
}

/** Runs the ramp; returns every step and the best passing one. */
export async function ramp(o: RampOptions): Promise<{ steps: RampStep[]; best: RampStep | undefined }> {
  const steps: RampStep[] = [];
  const start = performance.now();
  let misses = 0;
  for (const rate of o.rates) {
    if (o.budgetSec !== undefined && (performance.now() - start) / 1000 > o.budgetSec) break;
    const calls = Math.max(50, Math.round(rate * o.stepSeconds));
    const cpu0 = o.pids().reduce((a, p) => a + treeCpuSeconds(p), 0);
    const drops0 = udpRcvbufErrors();
    const r: SippLoad = await sippLoad({ ...o.sipp(rate, calls), rate, calls });
    const cpu1 = o.pids().reduce((a, p) => a + treeCpuSeconds(p), 0);
    const drops = udpRcvbufErrors() - drops0;
    const total = r.successful + r.failed;
    const failedPct = total > 0 ? (100 * r.failed) / total : 100;
    const ok = Number.isFinite(r.successful) && r.successful + r.failed >= calls;
    const step: RampStep = {
      rate,
      calls,
      successful: r.successful,
      failed: r.failed,
      failedPct,
      achieved: r.successful / r.elapsed,
      p50ms: percentile(r.rtt, 0.5),
      p99ms: percentile(r.rtt, 0.99),
      targetCpuPct: (100 * (cpu1 - cpu0)) / r.elapsed,
      sippCpuPct: (100 * r.sippCpu) / r.elapsed,
      rcvbufErrors: drops,
      reasons: r.reasons,
      pass: false,
    };
    // sipp must also have kept up with the asked rate (else the step measured sipp, not the target).
    step.pass = ok && failedPct < 0.1 && step.p99ms <= o.maxP99Ms && step.achieved >= 0.85 * rate;
    steps.push(step);
    o.log?.(
      `  r=${rate} ok=${r.successful} failed=${r.failed} achieved=${step.achieved.toFixed(0)}/s ` +
        `p99=${step.p99ms.toFixed(1)}ms cpu=${step.targetCpuPct.toFixed(0)}% sipp=${
          step.sippCpuPct.toFixed(0)
        }% udp-drops=${drops} ${step.pass ? "pass" : "FAIL"}`,
    );
    if (Object.keys(step.reasons).length > 0) o.log?.(`  failures: ${JSON.stringify(step.reasons)}`);
    if (!step.pass && r.errors !== "") o.log?.(`  sipp errors (tail): ${r.errors.slice(-600)}`);
    if (step.pass) misses = 0;
    else if (++misses >= (o.patience ?? 1)) break;
    await sleep(1500); // let retransmissions and timers of the last step drain
  }
  const passing = steps.filter((s) => s.pass);
  const best = passing.length === 0 ? undefined : passing.reduce((a, b) => (b.rate > a.rate ? b : a));
  return { steps, best };
}

/**
 * The two summary rows of a ramp against kamailio: the best passing rate (with the ratio and the
 * target) and the p99 delay at that rate.
 */
export function rampSummary(
  box: RampStep | undefined,
  kamailio: RampStep | undefined,
  labels: { rate: string; p99: string; target: number },
): SummaryRow[] {
  const both = box !== undefined && kamailio !== undefined;
  return [
    {
      metric: labels.rate,
      box: fmt(box?.rate),
      reference: kamailio === undefined ? "n/a" : `${fmt(kamailio.rate)} (kamailio)`,
      ratio: both ? (box.rate / kamailio.rate).toFixed(2) : "n/a",
      target: `>= ${labels.target}`,
      met: box !== undefined && box.rate >= labels.target ? "yes" : "no",
    },
    {
      metric: labels.p99,
      box: fmt(box?.p99ms, 1),
      reference: kamailio === undefined ? "n/a" : `${fmt(kamailio.p99ms, 1)} (kamailio)`,
      ratio: both && kamailio.p99ms > 0 ? (box.p99ms / kamailio.p99ms).toFixed(2) : "n/a",
      target: "-",
      met: "n/a",
    },
  ];
}
