/**
 * Runs every benchmark in tests/bench in sequence (each in its own process, with a time cap) and
 * prints one combined table from their JSON files in tests/artifacts/bench/. Whatever a benchmark
 * leaves running when it ends or is stopped is killed by pid (its whole process tree).
 *
 * Run: deno task bench   (= deno run --allow-all tests/bench/run_all.ts) [--quick] [--only=a,b]
 * Writes tests/artifacts/bench/summary.json.
 */
import { ARTIFACT_DIR, machine, printTable, type SummaryRow } from "./_lib.ts";

const HERE = new URL(".", import.meta.url).pathname;
const REPO_ROOT = new URL("../..", import.meta.url).pathname;
const quick = Deno.args.includes("--quick");
const only = Deno.args.find((a) => a.startsWith("--only="))?.slice(7).split(",");
const TOTAL_BUDGET_SEC = 25 * 60;

/** name (file <name>.ts), cap in seconds, extra args, result file if not <name>.json. Optional ones are run only when their file exists. */
const BENCHES: { name: string; cap: number; args: string[]; json?: string }[] = [
  { name: "sip_cps", cap: 330, args: [] },
  { name: "sip_register", cap: 270, args: [] },
  { name: "relay_density", cap: 180, args: [] },
  { name: "srtp_relay", cap: 150, args: [] },
  { name: "memory", cap: 180, args: [] },
  { name: "sip_overload", cap: 300, args: [] },
  { name: "idle_rss", cap: 120, args: [] },
  { name: "transcode", cap: 90, args: ["--seconds=0.4", "--rounds=3"] },
  { name: "paging_latency", cap: 420, args: [], json: "paging" },
  { name: "mixer", cap: 60, args: ["--seconds=1", "--rounds=4"] },
  { name: "tftp_500", cap: 120, args: [], json: "tftp" },
];

function descendants(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
      const kids = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/children`).trim();
      for (const k of kids === "" ? [] : kids.split(" ").map(Number)) out.push(k, ...descendants(k));
    }
  } catch { /* gone */ }
  return out;
}

function killTree(pid: number, signal: Deno.Signal): void {
  for (const p of [...descendants(pid).reverse(), pid]) {
    try {
      Deno.kill(p, signal);
    } catch { /* already gone */ }
  }
}

async function runOne(name: string, cap: number, args: string[]): Promise<{ code: number; seconds: number }> {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${HERE}${name}.ts`, ...args, ...(quick ? ["--quick"] : [])],
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  current = child.pid;
  let timedOut = false;
  let tree: number[] = [];
  const sampler = setInterval(() => {
    // Remember the tree while it is alive: orphans re-parent to init once the bench exits.
    const now = descendants(child.pid);
    if (now.length > 0) tree = [...new Set([...tree, ...now])].slice(-500);
  }, 1000);
  const timer = setTimeout(() => {
    timedOut = true;
    console.error(`run_all: ${name} exceeded ${cap} s; stopping it`);
    killTree(child.pid, "SIGTERM");
    setTimeout(() => killTree(child.pid, "SIGKILL"), 8000);
  }, cap * 1000);
  const status = await child.status;
  current = undefined;
  clearTimeout(timer);
  clearInterval(sampler);
  // Anything of the tree still alive (e.g. the bench was killed before its cleanup) goes now.
  for (const p of tree) {
    try {
      const cmd = Deno.readTextFileSync(`/proc/${p}/cmdline`);
      if (/sipp|kamailio|rtpengine|rtpgen|deno|taskset/.test(cmd)) Deno.kill(p, "SIGKILL");
    } catch { /* gone */ }
  }
  return { code: timedOut ? 124 : status.code, seconds: (performance.now() - t0) / 1000 };
}

/** Summary rows from a result file: its own `summary`, or transcode's rows. */
function summaryOf(name: string, json: Record<string, unknown>): SummaryRow[] {
  if (Array.isArray(json.summary)) return json.summary as SummaryRow[];
  if (name === "transcode" && Array.isArray(json.rows)) {
    return (json.rows as { pair: string; tsCalls: number; cCalls: number; ratio: number }[]).map((r) => ({
      metric: `transcoded calls/core ${r.pair}`,
      box: String(r.tsCalls),
      reference: `${r.cCalls} (same libs from C)`,
      ratio: r.ratio.toFixed(2),
      target: "-",
      met: "n/a" as const,
    }));
  }
  // Unknown format: show its top-level numbers.
  return Object.entries(json).filter(([, v]) => typeof v === "number").map(([k, v]) => ({
    metric: k,
    box: String(v),
    reference: "n/a",
    ratio: "n/a",
    target: "-",
    met: "n/a" as const,
  }));
}

// Ctrl-C / SIGTERM: stop the running benchmark's whole tree (its own cleanup first), then exit.
let current: number | undefined;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, () => {
    if (current !== undefined) killTree(current, "SIGTERM");
    setTimeout(() => {
      if (current !== undefined) killTree(current, "SIGKILL");
      Deno.exit(130);
    }, 5000);
  });
}

const started = performance.now();
const combined: (SummaryRow & { bench: string })[] = [];
const runs: Record<string, unknown> = {};
for (const b of BENCHES) {
  if (only !== undefined && !only.includes(b.name)) continue;
  const file = `${HERE}${b.name}.ts`;
  if (!(await Deno.stat(file).then(() => true, () => false))) {
    runs[b.name] = { skipped: "file not present" };
    continue;
  }
  const left = TOTAL_BUDGET_SEC - (performance.now() - started) / 1000;
  if (left < 30) {
    runs[b.name] = { skipped: "out of time budget" };
    continue;
  }
  console.log(`\n=== ${b.name} ===`);
  const since = Date.now();
  const r = await runOne(b.name, Math.min(b.cap, left), b.args);
  runs[b.name] = r;
  try {
    const path = `${ARTIFACT_DIR}${b.json ?? b.name}.json`;
    const stat = await Deno.stat(path);
    if ((stat.mtime?.getTime() ?? 0) < since) throw new Error("stale");
    const json = JSON.parse(await Deno.readTextFile(path)) as Record<string, unknown>;
    for (const row of summaryOf(b.name, json)) combined.push({ bench: b.name, ...row });
  } catch {
    combined.push({
      bench: b.name,
      metric: `(no result: exit ${r.code})`,
      box: "n/a",
      reference: "n/a",
      ratio: "n/a",
      target: "-",
      met: "n/a",
    });
  }
}

const totalSec = (performance.now() - started) / 1000;
const m = machine();
console.log(`\n\n=== combined (${totalSec.toFixed(0)} s; ${m.nproc} cores, ${m.cpu}, ${m.memoryMb} MB) ===`);
printTable("benchmarks", combined.map((r) => ({ ...r })));
await Deno.mkdir(ARTIFACT_DIR, { recursive: true });
await Deno.writeTextFile(
  `${ARTIFACT_DIR}summary.json`,
  JSON.stringify(
    { date: new Date().toISOString(), machine: m, totalSeconds: totalSec, runs, rows: combined },
    null,
    2,
  ) +
    "\n",
);
