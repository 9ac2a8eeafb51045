/**
 * Memory: the appliance's idle RSS and RSS per established call. Calls go through the box with
 * sipp (digest auth, SDP so media legs are allocated, no RTP) and are held (-d 10 min) while RSS
 * is sampled at 0, 100, 200 and 400 concurrent calls, 3 s after each step's set-up; the per-call
 * figure is the least-squares slope. That figure includes set-up garbage and the INVITE
 * transactions RFC 6026 keeps for 32 s after a 2xx, so the run then waits until the last call is
 * more than 32 s old and samples again: the steady state, (RSS at 400 - idle) / 400, with idle
 * also sampled over 32 s after the warm-up calls (so the run takes ~2 min). Next to RSS
 * it prints the main thread's JS heap (`health.memory` of GET /api/system/status, i.e.
 * `Deno.memoryUsage()`, not garbage-collected first) per call; the media worker's heap is inside
 * RSS only. kamailio is not a fair reference here (no media), so the figures are absolute.
 *
 * Run: deno run --allow-all tests/bench/memory.ts [--quick]
 * Writes tests/artifacts/bench/memory.json.
 */
import { api, freeUdpPort, pickPortRange, startAppliance } from "../_harness/mod.ts";
import {
  authField,
  BENCH_PASSWORD,
  cleanupAll,
  fmt,
  hookSignals,
  linearFit,
  onCleanup,
  printTable,
  rssKb,
  sippLoad,
  sleep,
  startSippLoad,
  type SummaryRow,
  waitUdpBound,
  writeResult,
} from "./_lib.ts";
import { appliancePid } from "./_targets.ts";

const quick = Deno.args.includes("--quick");
const LEVELS = quick ? [0, 20, 40] : [0, 100, 200, 400];
/** RFC 6026 keeps an answered INVITE's transactions 64*T1 = 32 s; sample after that. */
const ACCEPTED_WINDOW_MS = 32_000;
const RATE = 100;
const NCALLEES = 50;
const NCALLERS = 50;
const callers = Array.from({ length: NCALLERS }, (_, i) => String(2000 + i));
const callees = Array.from({ length: NCALLEES }, (_, i) => String(3000 + i));
const log = (s: string) => console.error(s);

/** One sample: process RSS and the main thread's heap, in kB. */
interface Sample {
  calls: number;
  phase: "set-up" | "steady";
  rssKb: number;
  heapUsedKb: number;
  heapTotalKb: number;
  externalKb: number;
}

hookSignals();
const samples: Sample[] = [];
let idle: Sample | undefined;
try {
  // The held calls send no RTP: no RTP timeout, or they would be ended after 60 s.
  const app = await startAppliance({
    env: { PBX_LOG_LEVEL: "warn", PBX_RTP_TIMEOUT_SEC: "0" },
    rtpPorts: await pickPortRange(2000),
  });
  onCleanup(() => app.stop());
  const token = await app.adminToken();
  const client = api(app.baseUrl, token);
  const numbers = [...callers, ...callees];
  for (let i = 0; i < numbers.length; i += 25) {
    await Promise.all(
      numbers.slice(i, i + 25).map((n) =>
        client.createExtension({ number: n, name: `Bench ${n}`, password: BENCH_PASSWORD })
      ),
    );
  }
  const pid = await appliancePid(app.sipPort);
  const target = `127.0.0.1:${app.sipPort}`;
  const sample = async (calls: number, phase: Sample["phase"]): Promise<Sample> => {
    const res = await fetch(`${app.baseUrl}/api/system/status`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = await res.json() as { health?: { memory?: Partial<Deno.MemoryUsage> } };
    const m = body.health?.memory ?? {};
    const kb = (v: number | undefined) => v === undefined ? NaN : Math.round(v / 1024);
    return {
      calls,
      phase,
      rssKb: rssKb(pid),
      heapUsedKb: kb(m.heapUsed),
      heapTotalKb: kb(m.heapTotal),
      externalKb: kb(m.external),
    };
  };
  const uasPort = await freeUdpPort();
  await startSippLoad({ scenario: "bench_uas.xml", localPort: uasPort, calls: 100_000_000, timeoutSec: 900 });
  await waitUdpBound(uasPort);
  const reg = await sippLoad({
    scenario: "bench_register.xml",
    target,
    calls: NCALLEES,
    rate: 100,
    csv: "SEQUENTIAL\n" + callees.map((c) => `${c};${uasPort};${authField(c)}`).join("\n") + "\n",
  });
  if (reg.successful !== NCALLEES) {
    throw new Error(`callee registration failed: ${reg.successful}/${NCALLEES}`);
  }
  const callerCsv = "SEQUENTIAL\n" + callers.map((c, i) => `${c};${callees[i]};${authField(c)}`).join("\n") +
    "\n";
  // A few short calls first so the code paths are compiled and caches warm before "idle".
  await sippLoad({
    scenario: "bench_uac.xml",
    target,
    calls: 50,
    rate: 50,
    csv: callerCsv,
    extra: ["-d", "0"],
  });
  // Idle is measured like the steady state: after the warm-up calls' transactions have expired.
  await sleep(ACCEPTED_WINDOW_MS + 2000);
  idle = await sample(0, "set-up");
  let held = 0;
  let lastSetUpEnd = performance.now();
  for (const level of LEVELS) {
    const more = level - held;
    if (more > 0) {
      // Hold the calls in a background sipp; it is stopped by cleanup at the end.
      await startSippLoad({
        scenario: "bench_uac.xml",
        target,
        calls: more,
        rate: RATE,
        csv: callerCsv,
        extra: ["-d", "600000"],
        timeoutSec: 900,
      });
      lastSetUpEnd = performance.now() + (more / RATE) * 1000;
      await sleep((more / RATE) * 1000 + 3000);
      held = level;
    }
    const s = level === 0 ? idle : await sample(level, "set-up");
    samples.push(s);
    log(`memory: ${level} calls held, RSS ${s.rssKb} kB, main heap ${s.heapUsedKb} kB`);
  }
  // Steady state: every held call older than the accepted-transaction window.
  const wait = lastSetUpEnd + ACCEPTED_WINDOW_MS + 2000 - performance.now();
  log(`memory: waiting ${(wait / 1000).toFixed(0)} s for the set-up transactions to expire`);
  await sleep(Math.max(0, wait));
  const steady = await sample(held, "steady");
  samples.push(steady);
  log(`memory: ${held} calls held (steady), RSS ${steady.rssKb} kB, main heap ${steady.heapUsedKb} kB`);
} finally {
  await cleanupAll();
}

const setUp = samples.filter((s) => s.phase === "set-up");
const fitOf = (key: "rssKb" | "heapUsedKb" | "heapTotalKb" | "externalKb") =>
  linearFit(setUp.map((s) => s.calls), setUp.map((s) => s[key])).slope;
const steady = samples.find((s) => s.phase === "steady");
const perCall = (s: Sample | undefined, key: "rssKb" | "heapUsedKb" | "heapTotalKb" | "externalKb") =>
  s === undefined || idle === undefined || s.calls === 0 ? NaN : (s[key] - idle[key]) / s.calls;
const breakdown = {
  setUp: {
    rssKb: fitOf("rssKb"),
    heapUsedKb: fitOf("heapUsedKb"),
    heapTotalKb: fitOf("heapTotalKb"),
    externalKb: fitOf("externalKb"),
  },
  steady: {
    rssKb: perCall(steady, "rssKb"),
    heapUsedKb: perCall(steady, "heapUsedKb"),
    heapTotalKb: perCall(steady, "heapTotalKb"),
    externalKb: perCall(steady, "externalKb"),
  },
};
printTable(
  "memory (appliance with held calls, SDP + media legs, no RTP; kB)",
  samples.map((s) => ({ ...s })),
);
printTable(
  "per held call, kB (set-up: slope 3 s after each step; steady: (last - idle) / calls, > 32 s after set-up)",
  (["setUp", "steady"] as const).map((k) => ({
    when: k === "setUp" ? "set-up (slope)" : "steady",
    rss: fmt(breakdown[k].rssKb, 1),
    "main heap used": fmt(breakdown[k].heapUsedKb, 1),
    "main heap total": fmt(breakdown[k].heapTotalKb, 1),
    "main external": fmt(breakdown[k].externalKb, 1),
  })),
);
const idleKb = idle?.rssKb ?? NaN;
console.log(
  `idle RSS ${idleKb} kB; per call: ${fmt(breakdown.setUp.rssKb, 1)} kB at set-up (slope), ` +
    `${fmt(breakdown.steady.rssKb, 1)} kB steady`,
);
const met = (v: number) => Number.isFinite(v) && v <= 50 ? "yes" : "no";
const summary: SummaryRow[] = [
  {
    metric: "idle RSS MB",
    box: fmt(idleKb / 1024, 1),
    reference: "n/a",
    ratio: "n/a",
    target: "-",
    met: "n/a",
  },
  {
    metric: "RSS per held call kB (set-up)",
    box: fmt(breakdown.setUp.rssKb, 1),
    reference: "n/a",
    ratio: "n/a",
    target: "<= 50",
    met: met(breakdown.setUp.rssKb),
  },
  {
    metric: "RSS per held call kB (steady)",
    box: fmt(breakdown.steady.rssKb, 1),
    reference: "n/a",
    ratio: "n/a",
    target: "<= 50",
    met: met(breakdown.steady.rssKb),
  },
];
printTable("memory summary", summary.map((s) => ({ ...s })));
await writeResult("memory", {
  command: "deno run --allow-all tests/bench/memory.ts",
  idleRssKb: idleKb,
  samples,
  kbPerCall: breakdown.setUp.rssKb,
  kbPerCallSteady: breakdown.steady.rssKb,
  breakdown,
  summary,
});
