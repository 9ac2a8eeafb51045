/**
 * Shared pieces of the benchmarks: process accounting from /proc, percentiles, result files,
 * a registry of everything started (stopped on exit, error and Ctrl-C), and sipp load runs
 * without per-message tracing (tracing every message makes sipp the bottleneck).
 *
 * @module
 */
import { freeUdpPort, LoggedProcess, udpBindable } from "../_harness/mod.ts";

/** Where every benchmark writes its JSON. */
export const ARTIFACT_DIR = new URL("../artifacts/bench/", import.meta.url).pathname;
/** Folder of the bench-only sipp scenarios. */
export const BENCH_SIPP_DIR = new URL("./sipp/", import.meta.url).pathname;
/** The password every bench extension gets (8-64 chars, no digits of the number, >= 4 distinct). */
export const BENCH_PASSWORD = "bench-Secret-pw";

/** The CSV field bench scenarios put where the Authorization header goes (sipp expands it per call). */
export function authField(user: string): string {
  return `[authentication username=${user} password=${BENCH_PASSWORD}]`;
}

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64

/** Seconds of CPU (utime + stime, all threads) a process used so far; NaN once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Field 2 (comm) may contain spaces: split after its closing parenthesis.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK; // fields 14 and 15
  } catch {
    return NaN;
  }
}

/** Resident set size of a process in kB (VmRSS); NaN once it is gone. */
export function rssKb(pid: number): number {
  try {
    const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/^VmRSS:\s+(\d+) kB/m);
    return m === null ? NaN : Number(m[1]);
  } catch {
    return NaN;
  }
}

/** CPU seconds of a process and all its descendants (the appliance's deno has no children; sipp neither). */
export function treeCpuSeconds(pid: number): number {
  let total = cpuSeconds(pid);
  try {
    const kids = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim();
    for (const k of kids === "" ? [] : kids.split(" ")) total += treeCpuSeconds(Number(k));
  } catch { /* gone */ }
  return total;
}

/** The q-quantile (0..1) of `values` by nearest rank; NaN for none. */
export function percentile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** Least-squares slope and intercept of y over x. */
export function linearFit(xs: number[], ys: number[]): { slope: number; intercept: number } {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  const slope = den === 0 ? NaN : num / den;
  return { slope, intercept: my - slope * mx };
}

/** Machine facts for the report: cores, CPU model, memory. */
export function machine(): { nproc: number; cpu: string; memoryMb: number; kernel: string } {
  const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
  const mem = Deno.readTextFileSync("/proc/meminfo").match(/^MemTotal:\s+(\d+)/m);
  return {
    nproc: navigator.hardwareConcurrency,
    cpu: cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "unknown",
    memoryMb: mem === null ? NaN : Math.round(Number(mem[1]) / 1024),
    kernel: Deno.osRelease(),
  };
}

/** One summary row for the combined table in run_all. */
export interface SummaryRow {
  metric: string;
  box: string;
  reference: string;
  ratio: string;
  target: string;
  met: "yes" | "no" | "n/a";
}

/** Writes tests/artifacts/bench/<name>.json with the machine and date added. */
export async function writeResult(name: string, result: Record<string, unknown>): Promise<void> {
  await Deno.mkdir(ARTIFACT_DIR, { recursive: true });
  const body = { name, date: new Date().toISOString(), machine: machine(), ...result };
  await Deno.writeTextFile(`${ARTIFACT_DIR}${name}.json`, JSON.stringify(body, null, 2) + "\n");
}

/** Prints rows as an aligned text table. */
export function printTable(title: string, rows: Record<string, unknown>[]): void {
  console.log(`\n${title}`);
  if (rows.length === 0) {
    console.log("  (no rows)");
    return;
  }
  const cols = Object.keys(rows[0]!);
  const cell = (v: unknown) =>
    typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 3 : 1)) : String(v ?? "");
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  console.log(cols.map((c, i) => c.padEnd(widths[i]!)).join("  "));
  for (const r of rows) console.log(cols.map((c, i) => cell(r[c]).padEnd(widths[i]!)).join("  "));
}

/** Formats a number for the summary (n/a for NaN/undefined). */
export function fmt(v: number | undefined, digits = 0): string {
  return v === undefined || !Number.isFinite(v) ? "n/a" : v.toFixed(digits);
}

// ---- cleanup: everything a benchmark starts is registered here ----

type Stopper = () => Promise<unknown>;
const stoppers = new Set<Stopper>();

/** Registers a cleanup; returns a function that runs it once and unregisters it. */
export function onCleanup(stop: Stopper): () => Promise<void> {
  let done = false;
  const run = async () => {
    if (done) return;
    done = true;
    stoppers.delete(run);
    await stop().catch(() => {});
  };
  stoppers.add(run);
  return run;
}

/** Runs every registered cleanup (latest first). */
export async function cleanupAll(): Promise<void> {
  for (const s of [...stoppers].reverse()) await s();
}

let signalsHooked = false;
let stopping = false;
/** Makes SIGINT/SIGTERM stop everything started before exiting. Call once per benchmark process. */
export function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => {
      stopping = true;
      // Twice: the main flow may have started something while the first pass ran.
      cleanupAll().then(() => sleep(300)).then(cleanupAll).finally(() => Deno.exit(130));
    });
  }
}

/** Spawns a process registered for cleanup (SIGTERM, then SIGKILL after `graceMs`). */
export function spawnTracked(
  command: string,
  options: { args: string[]; cwd?: string; env?: Record<string, string>; name?: string },
  graceMs = 3000,
): { proc: LoggedProcess; stop: () => Promise<void> } {
  if (stopping) throw new Error(`stopping: not starting ${command}`);
  const proc = new LoggedProcess(command, options);
  const stop = onCleanup(() => proc.stop("SIGTERM", graceMs));
  return { proc, stop };
}

/** Result of one sipp load step. */
export interface SippLoad {
  code: number;
  successful: number;
  failed: number;
  /** Per-call response times of rtd 1 in ms (from -trace_rtt), if the scenario measures one. */
  rtt: number[];
  /** Wall-clock seconds the run took. */
  elapsed: number;
  /** CPU seconds sipp itself used. */
  sippCpu: number;
  output: string;
  /** The error log, head and tail when long. */
  errors: string;
  /** Why calls failed, counted over the whole error log (see {@linkcode failureReasons}). */
  reasons: Record<string, number>;
}

/**
 * Failure reasons counted from a sipp -trace_err log: "unexpected 480 No Answer (expecting 180)" for an
 * answer the scenario did not expect, "timeout", "max retransmissions", "aborted (other)".
 */
export function failureReasons(errors: string): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (k: string) => out[k] = (out[k] ?? 0) + 1;
  for (const line of errors.split("\n")) {
    const unexpected = line.match(
      /while expecting '([^']+)'.*?received '(?:SIP\/2\.0 )?(\d{3}[^\r\n']*|[A-Z]+)/,
    );
    if (unexpected !== null) add(`unexpected ${unexpected[2]!.trim()} (expecting ${unexpected[1]})`);
    else if (/retrans/i.test(line)) add("max retransmissions");
    else if (/timeout/i.test(line)) add("timeout");
    else if (/Aborting call/i.test(line)) add("aborted (other)");
  }
  return out;
}

/** Options for {@linkcode sippLoad}. */
export interface SippLoadOptions {
  scenario: string;
  target?: string;
  calls?: number;
  rate?: number;
  limit?: number;
  csv?: string;
  keys?: Record<string, string>;
  localPort?: number;
  timeoutSec?: number;
  extra?: string[];
  /** Collect -trace_rtt per-call response times. */
  rtt?: boolean;
  /** Called right after spawn with the process (e.g. for a UAS that runs in the background). */
  name?: string;
  /** Local address sipp binds and puts in its messages (-i); default 127.0.0.1. */
  ip?: string;
}

/** Starts sipp for load (stats and errors only). `done` resolves with counters and RTTs. */
export async function startSippLoad(
  o: SippLoadOptions,
): Promise<{ pid: number; done: Promise<SippLoad>; stop: () => Promise<void>; output: () => string }> {
  const dir = await Deno.makeTempDir({ prefix: "bench-sipp-" });
  const scen = o.scenario.startsWith("/") ? o.scenario : BENCH_SIPP_DIR + o.scenario;
  const args: string[] = [];
  if (o.target !== undefined) args.push(o.target);
  args.push(
    "-sf",
    scen,
    "-nostdin",
    "-i",
    o.ip ?? "127.0.0.1",
    "-t",
    "u1",
    "-timeout",
    `${o.timeoutSec ?? 60}s`,
  );
  args.push("-trace_err", "-error_file", `${dir}/errors.log`, "-trace_stat", "-stf", `${dir}/stats.csv`);
  args.push("-fd", "1", "-max_recv_loops", "10000", "-max_sched_loops", "10000", "-buff_size", "4194304");
  // Always an explicit port: sipp's default 5060 may be taken by something else on the machine.
  args.push("-p", String(o.localPort ?? await freeUdpPort()));
  if (o.calls !== undefined) args.push("-m", String(o.calls));
  if (o.rate !== undefined) args.push("-r", String(o.rate));
  if (o.limit !== undefined) args.push("-l", String(o.limit));
  if (o.rtt) args.push("-trace_rtt", "-rtt_freq", "1");
  if (o.csv !== undefined) {
    await Deno.writeTextFile(`${dir}/inject.csv`, o.csv);
    args.push("-inf", `${dir}/inject.csv`);
  }
  for (const [k, v] of Object.entries(o.keys ?? {})) args.push("-key", k, v);
  args.push(...(o.extra ?? []));
  const t0 = performance.now();
  const { proc, stop } = spawnTracked("sipp", { args, cwd: dir, name: o.name ?? `sipp ${o.scenario}` });
  let lastCpu = 0;
  const sampler = setInterval(() => {
    const c = cpuSeconds(proc.pid);
    if (Number.isFinite(c)) lastCpu = c;
  }, 200);
  const done = proc.exited.then(async (status) => {
    clearInterval(sampler);
    const elapsed = (performance.now() - t0) / 1000;
    const read = (p: string) => Deno.readTextFile(p).catch(() => "");
    const csv = (await read(`${dir}/stats.csv`)).split("\n").filter((l) => l.trim() !== "");
    const header = csv[0]?.split(";") ?? [];
    const row = csv[csv.length - 1]?.split(";") ?? [];
    const col = (name: string) => Number(row[header.indexOf(name)] ?? NaN);
    const rtt: number[] = [];
    for (const e of Deno.readDirSync(dir)) {
      if (!e.name.endsWith("_rtt.csv")) continue;
      for (const line of (await read(`${dir}/${e.name}`)).split("\n")) {
        const [, ms, no] = line.split(";");
        if (no?.trim() === "1" && ms !== undefined && ms.trim() !== "") rtt.push(Number(ms));
      }
    }
    const errorLog = await read(`${dir}/errors.log`);
    const result: SippLoad = {
      code: status.code,
      successful: col("SuccessfulCall(C)"),
      failed: col("FailedCall(C)"),
      rtt,
      elapsed,
      sippCpu: lastCpu,
      output: proc.logs().slice(-3000),
      errors: errorLog.length > 4000 ? errorLog.slice(0, 2000) + "\n...\n" + errorLog.slice(-2000) : errorLog,
      reasons: failureReasons(errorLog),
    };
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    return result;
  });
  return { pid: proc.pid, done, stop, output: () => proc.logs() };
}

/** Runs a sipp load step to the end. */
export async function sippLoad(o: SippLoadOptions): Promise<SippLoad> {
  const run = await startSippLoad(o);
  const r = await run.done;
  await run.stop();
  return r;
}

/** Waits until a UDP port is bound by someone (a UAS sipp), up to `ms`. */
export async function waitUdpBound(port: number, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!(await udpBindable(port))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing bound UDP port ${port} within ${ms} ms`);
}

/** Sleeps `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A block of `size` UDP ports below the ephemeral range (10000-32000) whose sampled ports bind now
 * (pickPortRange in the harness stops at 2000 ports; the relay test needs more).
 */
export async function freeUdpPortRange(size: number): Promise<[number, number]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const min = 10000 + 2 * Math.floor(Math.random() * ((32000 - size - 10000) / 2));
    const max = min + size - 1;
    let ok = true;
    for (let p = min; p <= max && ok; p += Math.max(1, Math.floor(size / 16))) ok = await udpBindable(p);
    if (ok && await udpBindable(max)) return [min, max];
  }
  throw new Error(`no free block of ${size} UDP ports`);
}
