/**
 * Memory: the appliance's idle RSS and RSS per established call. Calls go through the box with
 * sipp (digest auth, SDP so media legs are allocated, no RTP) and are held (-d 10 min) while RSS
 * is sampled at 0, 100, 200 and 400 concurrent calls; the per-call figure is the least-squares
 * slope. kamailio is not a fair reference here (no media), so the figure is absolute.
 *
 * Run: deno run --allow-all tests/bench/memory.ts [--quick]
 * Writes tests/artifacts/bench/memory.json.
 */
import { freeUdpPort } from "../_harness/mod.ts";
import {
  authField,
  cleanupAll,
  fmt,
  hookSignals,
  linearFit,
  printTable,
  rssKb,
  sippLoad,
  sleep,
  startSippLoad,
  type SummaryRow,
  waitUdpBound,
  writeResult,
} from "./_lib.ts";
import { startBox } from "./_targets.ts";

const quick = Deno.args.includes("--quick");
const LEVELS = quick ? [0, 20, 40] : [0, 100, 200, 400];
const NCALLEES = 50;
const NCALLERS = 50;
const callers = Array.from({ length: NCALLERS }, (_, i) => String(2000 + i));
const callees = Array.from({ length: NCALLEES }, (_, i) => String(3000 + i));
const log = (s: string) => console.error(s);

hookSignals();
const samples: { calls: number; rssKb: number }[] = [];
let idleKb = NaN;
try {
  const box = await startBox([...callers, ...callees], 2000);
  const uasPort = await freeUdpPort();
  await startSippLoad({ scenario: "bench_uas.xml", localPort: uasPort, calls: 100_000_000, timeoutSec: 900 });
  await waitUdpBound(uasPort);
  const reg = await sippLoad({
    scenario: "bench_register.xml",
    target: box.address,
    calls: NCALLEES,
    rate: 100,
    csv: "SEQUENTIAL\n" + callees.map((c) => `${c};${uasPort};${authField(c)}`).join("\n") + "\n",
  });
  if (reg.successful !== NCALLEES) {
    throw new Error(`callee registration failed: ${reg.successful}/${NCALLEES}`);
  }
  // A few short calls first so the code paths are compiled and caches warm before "idle".
  await sippLoad({
    scenario: "bench_uac.xml",
    target: box.address,
    calls: 50,
    rate: 50,
    csv: "SEQUENTIAL\n" + callers.map((c, i) => `${c};${callees[i]};${authField(c)}`).join("\n") + "\n",
    extra: ["-d", "0"],
  });
  await sleep(3000);
  idleKb = rssKb(box.appPid);
  let held = 0;
  for (const level of LEVELS) {
    const more = level - held;
    if (more > 0) {
      // Hold the calls in a background sipp; it is stopped by cleanup at the end.
      await startSippLoad({
        scenario: "bench_uac.xml",
        target: box.address,
        calls: more,
        rate: 100,
        csv: "SEQUENTIAL\n" + callers.map((c, i) => `${c};${callees[i]};${authField(c)}`).join("\n") + "\n",
        extra: ["-d", "600000"],
        timeoutSec: 900,
      });
      await sleep((more / 100) * 1000 + 3000);
      held = level;
    }
    const kb = rssKb(box.appPid);
    samples.push({ calls: level, rssKb: kb });
    log(`memory: ${level} calls held, RSS ${kb} kB`);
  }
} finally {
  await cleanupAll();
}

const fit = linearFit(samples.map((s) => s.calls), samples.map((s) => s.rssKb));
printTable("memory (appliance RSS with held calls, SDP + media legs, no RTP)", samples);
console.log(`idle RSS ${idleKb} kB; slope ${fit.slope.toFixed(1)} kB per call`);
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
    metric: "RSS per held call kB",
    box: fmt(fit.slope, 1),
    reference: "n/a",
    ratio: "n/a",
    target: "<= 50",
    met: Number.isFinite(fit.slope) && fit.slope <= 50 ? "yes" : "no",
  },
];
printTable("memory summary", summary.map((s) => ({ ...s })));
await writeResult("memory", {
  command: "deno run --allow-all tests/bench/memory.ts",
  idleRssKb: idleKb,
  samples,
  kbPerCall: fit.slope,
  summary,
});
