/**
 * Relay density: N concurrent G.711 calls (both directions, 50 packets/s each) relayed by the box's
 * MediaPlane (runtime/media/relay, driven directly in its own process by _relay_host.ts, no SIP)
 * and by rtpengine (userspace, --table=-1, controlled over the ng protocol) in the same run. With
 * BENCH_PIN=1 both relays are pinned to CPU 1 (taskset), the generator (rtpgen.c: sendmmsg/recvmmsg,
 * kernel receive timestamps) to CPU 0. A "direct" run (generator to itself, no relay) gives the noise floor.
 * Reports loss, added jitter (transit minus the stream's fastest transit) and relay CPU per call.
 *
 * Run: deno run --allow-all tests/bench/relay_density.ts [--quick]
 * Env: BENCH_SRTP=SUITE (srtp_relay.ts: RTP->SRTP->RTP in each relay), BENCH_CALLS=250,500 (call counts), BENCH_PIN=1, BENCH_MEDIA_POLL=sync,thread,sync:100 (run the
 * box once per media worker wait mode, ":N" = PBX_MEDIA_POLL_US; see runtime/media/relay/_udp.ts;
 * default: the box's default),
 * BENCH_SKIP_RTPENGINE=1, BENCH_NICE=-10 (all measured processes at that nice level; needs root),
 * BENCH_RT=1 (all measured processes SCHED_FIFO; needs root),
 * BENCH_BOX_V8_FLAGS=--trace-gc (V8 flags for the box process, its media worker included; with
 * --trace-gc the box rows also report the busiest isolate's (the worker's) scavenges per second and
 * pause times over the measured window).
 * Writes tests/artifacts/bench/relay_density.json.
 */
import { hasBinary } from "../_harness/mod.ts";
import {
  cleanupAll,
  cpuSeconds,
  fmt,
  freeUdpPortRange,
  hookSignals,
  printTable,
  sleep,
  spawnTracked,
  type SummaryRow,
  writeResult,
} from "./_lib.ts";
import { NgClient, sdpAudioPort } from "./_bencode.ts";
import type { SrtpSuite } from "../../drivers/srtp/mod.ts";

const quick = Deno.args.includes("--quick");
// BENCH_SRTP=SUITE (tests/bench/srtp_relay.ts sets it): every call is RTP -> SRTP -> RTP inside the
// relay (one protect and one unprotect per packet), for the box and for rtpengine alike.
const SRTP = Deno.env.get("BENCH_SRTP") as SrtpSuite | undefined;
const RESULT = SRTP === undefined ? "relay_density" : "srtp_relay";
const CALLS = Deno.env.get("BENCH_CALLS")?.split(",").map(Number) ??
  (quick ? [50] : SRTP === undefined ? [250, 500, 1000] : [250, 500]);
const SECONDS = quick ? 3 : 8;
const DENO = Deno.execPath();
const HERE = new URL(".", import.meta.url).pathname;
const log = (s: string) => console.error(s);
// BENCH_PIN=1 pins relays to CPU 1 and the generator to CPU 0; off by default because on a shared
// machine a pinned process cannot escape a busy core (other loads then look like relay jitter).
const PIN = Deno.env.get("BENCH_PIN") === "1" && hasBinary("taskset");
// BENCH_NICE=-10 runs the relays and the generator at that nice level (negative needs root), so other
// loads on a shared machine disturb the measured processes less; applied to all of them alike.
const NICE = Number(Deno.env.get("BENCH_NICE") ?? "0");
// BENCH_RT=1 runs them SCHED_FIFO (chrt -f 10, needs root): other loads then cannot delay them at all.
const RT = Deno.env.get("BENCH_RT") === "1" && hasBinary("chrt");
const niced = (cmd: string[]) => {
  const c = Number.isInteger(NICE) && NICE !== 0 ? ["nice", "-n", String(NICE), ...cmd] : cmd;
  return RT ? ["chrt", "-f", "10", ...c] : c;
};
const pin = (cpu: number, cmd: string[]) => niced(PIN ? ["taskset", "-c", String(cpu), ...cmd] : cmd);
// One box run per listed PBX_MEDIA_POLL mode ("" = whatever the environment/default says).
const POLL_MODES = Deno.env.get("BENCH_MEDIA_POLL")?.split(",").map((s) => s.trim()) ?? [""];
const SKIP_RTPENGINE = Deno.env.get("BENCH_SKIP_RTPENGINE") === "1";
const BOX_V8_FLAGS = Deno.env.get("BENCH_BOX_V8_FLAGS")?.trim() ?? "";
const TRACE_GC = /--trace[-_]gc\b/.test(BOX_V8_FLAGS);

/** "sync" -> PBX_MEDIA_POLL=sync; "sync:100" also sets PBX_MEDIA_POLL_US=100 (pause between batches). */
function pollEnv(poll: string): Record<string, string> {
  const [mode = "", us] = poll.split(":");
  return us === undefined ? { PBX_MEDIA_POLL: mode } : { PBX_MEDIA_POLL: mode, PBX_MEDIA_POLL_US: us };
}

/** 1-minute load average when a run starts (other loads on a shared machine show up here). */
function load1(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return NaN;
  }
}

interface GenResult {
  calls: number;
  sent: number;
  expected: number;
  received: number;
  lost: number;
  lossPct: number;
  deadStreams: number;
  reordered: number;
  jitterUs: { p50: number; p99: number; p999: number; max: number };
  transitUs: { p50: number; p99: number; max: number };
  genCpuSeconds: number;
  genMaxLateUs: number;
}

async function buildGen(): Promise<string> {
  const bin = "/tmp/pbx-bench-rtpgen";
  const cc = await new Deno.Command("gcc", {
    args: ["-O2", "-o", bin, `${HERE}rtpgen.c`],
    stderr: "piped",
  }).output();
  if (!cc.success) throw new Error(`gcc rtpgen.c failed:\n${new TextDecoder().decode(cc.stderr)}`);
  return bin;
}

/** GC figures of the box's busiest isolate (its media worker) over the measured window. */
interface GcStats {
  scavengesPerSec: number;
  scavengeP50Ms: number;
  scavengeP99Ms: number;
  scavengeMaxMs: number;
  /** Time in GC pauses (all kinds) per second of run, ms. */
  gcMsPerSec: number;
  /** Full (mark-compact) collections in the window. */
  fullGcs: number;
}

/** One V8 --trace-gc line as it arrived. */
interface GcEvent {
  at: number;
  isolate: string;
  kind: string;
  pauseMs: number;
}

// [pid:0xisolate]   1234 ms: Scavenge 4.0 (5.0) -> 3.2 (5.5) MB, pooled: 0.0 MB, 1.20 / 0.00 ms (...
const GC_LINE =
  /^\[\d+:(0x[0-9a-f]+)\]\s+[\d.]+ ms: ([A-Za-z -]+?) [\d.]+ \([\d.]+\) -> .*?([\d.]+) \/ [\d.]+ ms/;

function gcStats(events: GcEvent[], t0: number, t1: number): GcStats | undefined {
  const inWindow = events.filter((e) => e.at >= t0 && e.at <= t1);
  if (inWindow.length === 0) return undefined;
  const byIsolate = new Map<string, GcEvent[]>();
  for (const e of inWindow) byIsolate.set(e.isolate, [...(byIsolate.get(e.isolate) ?? []), e]);
  const worker = [...byIsolate.values()].sort((a, b) => b.length - a.length)[0]!;
  const scav = worker.filter((e) => e.kind.startsWith("Scavenge")).map((e) => e.pauseMs).sort((a, b) =>
    a - b
  );
  const q = (p: number) =>
    scav.length === 0 ? 0 : scav[Math.min(scav.length - 1, Math.floor(p * scav.length))]!;
  const secs = (t1 - t0) / 1000;
  return {
    scavengesPerSec: scav.length / secs,
    scavengeP50Ms: q(0.5),
    scavengeP99Ms: q(0.99),
    scavengeMaxMs: scav.at(-1) ?? 0,
    gcMsPerSec: worker.reduce((sum, e) => sum + e.pauseMs, 0) / secs,
    fullGcs: worker.filter((e) => e.kind.startsWith("Mark")).length,
  };
}

/**
 * Reads a child's stdout all the time (a V8 trace must never fill the pipe and stall the child):
 * JSON lines are queued for `next()`, --trace-gc lines go to `gc`.
 */
function pumpLines(stream: ReadableStream<Uint8Array>): { next: () => Promise<string>; gc: GcEvent[] } {
  const read = lines(stream);
  const queue: string[] = [];
  const waiters: { ok: (l: string) => void; fail: (e: unknown) => void }[] = [];
  const gc: GcEvent[] = [];
  let failure: unknown = null;
  (async () => {
    try {
      while (true) {
        const line = await read();
        if (line.startsWith("[")) {
          const m = line.match(GC_LINE);
          if (m !== null) {
            gc.push({ at: performance.now(), isolate: m[1]!, kind: m[2]!, pauseMs: Number(m[3]) });
          }
          continue;
        }
        const w = waiters.shift();
        if (w !== undefined) w.ok(line);
        else queue.push(line);
      }
    } catch (e) {
      failure = e;
      for (const w of waiters.splice(0)) w.fail(e);
    }
  })();
  const next = () => {
    const l = queue.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (failure !== null) return Promise.reject(failure);
    return new Promise<string>((ok, fail) => waiters.push({ ok, fail }));
  };
  return { next, gc };
}

/** Line reader over a child's stdout. */
function lines(stream: ReadableStream<Uint8Array>): () => Promise<string> {
  const reader = stream.getReader();
  const dec = new TextDecoder();
  let buf = "";
  return async () => {
    while (true) {
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended; partial: ${buf.slice(0, 300)}`);
      buf += dec.decode(value, { stream: true });
    }
  };
}

/** Starts the generator; `run(ports)` sends the call list and resolves with its JSON result. */
async function startGen(bin: string) {
  const cmd = pin(0, [bin]);
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  })
    .spawn();
  const { onCleanup } = await import("./_lib.ts");
  const stop = onCleanup(async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
  });
  const next = lines(child.stdout);
  const m = (await next()).match(/^PORTS (\d+) (\d+)$/);
  if (m === null) throw new Error("rtpgen did not print its ports");
  const a = Number(m[1]);
  const b = Number(m[2]);
  const run = async (ports: [number, number][], seconds: number): Promise<GenResult> => {
    const w = child.stdin.getWriter();
    await w.write(
      new TextEncoder().encode(`${ports.length} ${seconds}\n${ports.map((p) => p.join(" ")).join("\n")}\n`),
    );
    await w.close();
    const r = JSON.parse(await next()) as GenResult;
    await stop();
    return r;
  };
  return { a, b, run, stop };
}

interface Row {
  relay: string;
  calls: number;
  lossPct: number;
  lost: number;
  jitterP99us: number;
  jitterP999us: number;
  jitterMaxUs: number;
  transitP50us: number;
  relayCpuPct: number;
  cpuPerCallPct: number;
  genCpuPct: number;
  deadStreams: number;
  load1: number;
  /** With BENCH_BOX_V8_FLAGS=--trace-gc: the box worker's GC over the run (undefined elsewhere). */
  gcScavPerSec?: number | undefined;
  gcScavP50Ms?: number | undefined;
  gcScavP99Ms?: number | undefined;
  gcScavMaxMs?: number | undefined;
  gcMsPerSec?: number | undefined;
}

function row(
  relay: string,
  g: GenResult,
  relayCpu: number,
  seconds: number,
  load: number,
  gc?: GcStats,
): Row {
  const gcCols = TRACE_GC
    ? {
      gcScavPerSec: gc?.scavengesPerSec,
      gcScavP50Ms: gc?.scavengeP50Ms,
      gcScavP99Ms: gc?.scavengeP99Ms,
      gcScavMaxMs: gc?.scavengeMaxMs,
      gcMsPerSec: gc?.gcMsPerSec,
    }
    : {};
  return {
    relay,
    calls: g.calls,
    lossPct: g.lossPct,
    lost: g.lost,
    jitterP99us: g.jitterUs.p99,
    jitterP999us: g.jitterUs.p999,
    jitterMaxUs: g.jitterUs.max,
    transitP50us: g.transitUs.p50,
    relayCpuPct: (100 * relayCpu) / seconds,
    cpuPerCallPct: (100 * relayCpu) / seconds / g.calls,
    genCpuPct: (100 * g.genCpuSeconds) / seconds,
    deadStreams: g.deadStreams,
    load1: load,
    ...gcCols,
  };
}

/** The box: MediaPlane in _relay_host.ts, pinned to CPU 1. */
async function runBox(bin: string, calls: number, poll: string): Promise<Row> {
  const [lo, hi] = await freeUdpPortRange((SRTP === undefined ? 4 : 8) * calls + 200);
  const v8 = BOX_V8_FLAGS === "" ? [] : [`--v8-flags=${BOX_V8_FLAGS.split(/\s+/).join(",")}`];
  // V8 prints its traces with stdio, fully buffered on a pipe: line-buffer it so lines arrive on time.
  const stdbuf = TRACE_GC && hasBinary("stdbuf") ? ["stdbuf", "-oL"] : [];
  const cmd = pin(1, [
    ...stdbuf,
    DENO,
    "run",
    "--allow-all",
    ...v8,
    `${HERE}_relay_host.ts`,
    String(lo),
    String(hi),
  ]);
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    ...(poll === "" ? {} : { env: pollEnv(poll) }),
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  })
    .spawn();
  const { onCleanup } = await import("./_lib.ts");
  const stop = onCleanup(async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
    const t = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
    }, 3000);
    await child.status;
    clearTimeout(t);
  });
  try {
    const { next, gc } = pumpLines(child.stdout);
    const w = child.stdin.getWriter();
    const send = (v: unknown) => w.write(new TextEncoder().encode(JSON.stringify(v) + "\n"));
    if (!(await next()).includes("ready")) throw new Error("relay host did not start");
    const gen = await startGen(bin);
    await send({
      op: "setup",
      calls,
      a: { address: "127.0.0.1", port: gen.a },
      b: { address: "127.0.0.1", port: gen.b },
      ...(SRTP !== undefined ? { srtp: SRTP } : {}),
    });
    const reply = JSON.parse(await next()) as { ports?: [number, number][]; error?: string };
    if (reply.ports === undefined) throw new Error(`relay host setup failed: ${reply.error}`);
    // The deno pid (taskset execs it in place).
    const cpu0 = cpuSeconds(child.pid);
    const load = load1();
    const t0 = performance.now();
    const g = await gen.run(reply.ports, SECONDS);
    const t1 = performance.now();
    const elapsed = (t1 - t0) / 1000;
    const cpu = cpuSeconds(child.pid) - cpu0;
    await send({ op: "quit" });
    await w.close().catch(() => {});
    const gcs = TRACE_GC ? gcStats(gc, t0, t1) : undefined;
    if (gcs !== undefined) {
      log(
        `  box GC: ${
          gcs.scavengesPerSec.toFixed(1)
        } scavenges/s, pause p50 ${gcs.scavengeP50Ms} p99 ${gcs.scavengeP99Ms} max ${gcs.scavengeMaxMs} ms, ${
          gcs.gcMsPerSec.toFixed(2)
        } ms GC/s, ${gcs.fullGcs} full`,
      );
    }
    return row(poll === "" ? "box MediaPlane" : `box MediaPlane (${poll})`, g, cpu, elapsed, load, gcs);
  } finally {
    await stop();
  }
}

/** rtpengine in userspace, one worker thread, pinned to CPU 1. */
async function runRtpengine(bin: string, calls: number): Promise<Row> {
  const [lo, hi] = await freeUdpPortRange((SRTP === undefined ? 4 : 8) * calls + 200);
  const ngPort = (await freeUdpPortRange(2))[0];
  const { proc, stop } = spawnTracked(pin(1, ["rtpengine"])[0]!, {
    args: [
      ...pin(1, ["rtpengine"]).slice(1),
      "--interface=127.0.0.1",
      `--listen-ng=127.0.0.1:${ngPort}`,
      "--foreground",
      "--log-stderr",
      "--log-level=3",
      "--table=-1",
      `--port-min=${lo}`,
      `--port-max=${hi}`,
      "--num-threads=1",
      "--delete-delay=0",
    ],
    name: "rtpengine",
  });
  const ng = await NgClient.open("127.0.0.1", ngPort);
  try {
    await ng.command({ command: "ping" }, 10_000);
    const gen = await startGen(bin);
    const sdp = (port: number, id: string) =>
      `v=0\r\no=- ${id} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
      `m=audio ${port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n`;
    const ports: [number, number][] = [];
    for (let i = 0; SRTP !== undefined && i < calls; i++) {
      // Two chained calls: A (RTP) -> [call 1] -> SRTP -> [call 2] -> B (RTP), keys by SDES.
      const c1 = { "call-id": `bench-${i}-1`, "from-tag": `a${i}` };
      const c2 = { "call-id": `bench-${i}-2`, "from-tag": `c${i}` };
      // SDES only (no DTLS-SRTP), and only the suite the box uses (rtpengine 10.5 has no "only-").
      const others = RTPENGINE_SUITES.filter((x) => x !== SRTP).map((x) => `no-${x}`);
      const toSrtp = { "transport-protocol": "RTP/SAVP", DTLS: "off", SDES: others };
      const toRtp = { "transport-protocol": "RTP/AVP", DTLS: "off", SDES: others };
      const offer1 = await ng.command({ command: "offer", ...c1, ...toSrtp, sdp: sdp(gen.a, `${i}`) });
      const offer2 = await ng.command({ command: "offer", ...c2, ...toRtp, sdp: String(offer1.sdp) });
      const answer2 = await ng.command({
        command: "answer",
        ...c2,
        "to-tag": `d${i}`,
        sdp: sdp(gen.b, `${i}`),
      });
      const answer1 = await ng.command({
        command: "answer",
        ...c1,
        "to-tag": `b${i}`,
        sdp: String(answer2.sdp),
      });
      if (i === 0) {
        srtpSeen = /a=crypto:\d+ (\S+)/.exec(String(answer2.sdp))?.[1];
        log(`  rtpengine SRTP: ${/m=audio \d+ (\S+)/.exec(String(offer1.sdp))?.[1]} ${srtpSeen}`);
      }
      ports.push([sdpAudioPort(String(answer1.sdp)), sdpAudioPort(String(offer2.sdp))]);
    }
    for (let i = 0; SRTP === undefined && i < calls; i++) {
      const base = { "call-id": `bench-${i}`, "from-tag": `a${i}` };
      const offer = await ng.command({ command: "offer", ...base, sdp: sdp(gen.a, `${i}`) });
      const answer = await ng.command({
        command: "answer",
        ...base,
        "to-tag": `b${i}`,
        sdp: sdp(gen.b, `${i}`),
      });
      // offer's SDP goes to B: where B sends; answer's SDP goes to A: where A sends.
      ports.push([sdpAudioPort(String(answer.sdp)), sdpAudioPort(String(offer.sdp))]);
    }
    const pid = proc.pid; // taskset execs rtpengine in place
    const cpu0 = cpuSeconds(pid);
    const load = load1();
    const t0 = performance.now();
    const g = await gen.run(ports, SECONDS);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    return row("rtpengine (userspace)", g, cpu, elapsed, load);
  } finally {
    ng.close();
    await stop();
  }
}

/** Generator to itself: the floor of loss and jitter the measurement adds. */
async function runDirect(bin: string, calls: number): Promise<Row> {
  const gen = await startGen(bin);
  const ports = Array.from({ length: calls }, () => [gen.b, gen.a] as [number, number]);
  const load = load1();
  const g = await gen.run(ports, SECONDS);
  return row("direct (no relay)", g, 0, SECONDS + 0.35, load);
}

/** The SDES suites rtpengine 10.5 offers. */
const RTPENGINE_SUITES = [
  "AEAD_AES_256_GCM",
  "AEAD_AES_128_GCM",
  "AES_256_CM_HMAC_SHA1_80",
  "AES_256_CM_HMAC_SHA1_32",
  "AES_192_CM_HMAC_SHA1_80",
  "AES_192_CM_HMAC_SHA1_32",
  "AES_CM_128_HMAC_SHA1_80",
  "AES_CM_128_HMAC_SHA1_32",
  "F8_128_HMAC_SHA1_80",
  "F8_128_HMAC_SHA1_32",
  "NULL_HMAC_SHA1_80",
  "NULL_HMAC_SHA1_32",
];

/** The suite rtpengine's chained calls negotiated (SRTP mode). */
let srtpSeen: string | undefined;

hookSignals();
const rows: Row[] = [];
let rtpengineNote: string | undefined;
try {
  const bin = await buildGen();
  const haveRtpengine = !SKIP_RTPENGINE && hasBinary("rtpengine");
  if (!haveRtpengine) rtpengineNote = "rtpengine is not installed (dpkg -s rtpengine-daemon)";
  for (const calls of CALLS) {
    log(`relay_density: ${calls} calls`);
    rows.push(await runDirect(bin, calls));
    log(`  direct done`);
    for (const poll of POLL_MODES) {
      rows.push(await runBox(bin, calls, poll));
      log(
        `  box${poll === "" ? "" : ` (${poll})`}: loss ${rows.at(-1)!.lossPct.toFixed(4)}% p99 ${
          rows.at(-1)!.jitterP99us
        } us cpu ${rows.at(-1)!.relayCpuPct.toFixed(0)}% load ${rows.at(-1)!.load1}`,
      );
      await sleep(300);
    }
    if (haveRtpengine) {
      await sleep(500);
      rows.push(await runRtpengine(bin, calls));
      log(
        `  rtpengine: loss ${rows.at(-1)!.lossPct.toFixed(4)}% p99 ${rows.at(-1)!.jitterP99us} us cpu ${
          rows.at(-1)!.relayCpuPct.toFixed(0)
        }% load ${rows.at(-1)!.load1}`,
      );
    }
    await sleep(500);
  }
} finally {
  await cleanupAll();
}

printTable(
  `${RESULT} (${SECONDS} s per run, G.711 20 ms both directions${
    SRTP === undefined ? "" : `, RTP->SRTP->RTP ${SRTP}`
  }; ${PIN ? "relays pinned to CPU 1" : "not pinned"}${NICE !== 0 ? `, nice ${NICE}` : ""}${
    RT ? ", SCHED_FIFO" : ""
  })`,
  rows.map((r) => ({ ...r })),
);
if (rtpengineNote !== undefined) console.log(rtpengineNote);

const top = Math.max(...CALLS);
const at = (relay: string) => rows.find((r) => r.relay.startsWith(relay) && r.calls === top);
const box = at("box");
const ref = at("rtpengine");
const summary: SummaryRow[] = [
  {
    metric: `${SRTP === undefined ? "relay" : "SRTP relay"} ${top} calls: loss %`,
    box: fmt(box?.lossPct, 4),
    reference: ref === undefined ? "n/a" : `${fmt(ref.lossPct, 4)} (rtpengine)`,
    ratio: "n/a",
    target: "<= 0.01",
    met: box === undefined ? "no" : box.lossPct <= 0.01 ? "yes" : "no",
  },
  {
    metric: `${SRTP === undefined ? "relay" : "SRTP relay"} ${top} calls: added jitter p99 ms`,
    box: fmt(box === undefined ? undefined : box.jitterP99us / 1000, 3),
    reference: ref === undefined ? "n/a" : `${fmt(ref.jitterP99us / 1000, 3)} (rtpengine)`,
    ratio: box !== undefined && ref !== undefined ? (box.jitterP99us / ref.jitterP99us).toFixed(2) : "n/a",
    target: "<= 1",
    met: box === undefined ? "no" : box.jitterP99us <= 1000 ? "yes" : "no",
  },
  {
    metric: `${SRTP === undefined ? "relay" : "SRTP relay"} ${top} calls: CPU % of one core`,
    box: fmt(box?.relayCpuPct, 0),
    reference: ref === undefined ? "n/a" : `${fmt(ref.relayCpuPct, 0)} (rtpengine)`,
    ratio: box !== undefined && ref !== undefined ? (box.relayCpuPct / ref.relayCpuPct).toFixed(2) : "n/a",
    target: "<= 100",
    met: box === undefined ? "no" : box.relayCpuPct <= 100 && box.lossPct <= 0.01 ? "yes" : "no",
  },
];
printTable(`${RESULT} summary`, summary.map((s) => ({ ...s })));
await writeResult(RESULT, {
  command: SRTP === undefined
    ? "deno run --allow-all tests/bench/relay_density.ts"
    : "deno run --allow-all tests/bench/srtp_relay.ts",
  srtp: SRTP === undefined ? undefined : { box: SRTP, rtpengine: srtpSeen },
  settings: {
    calls: CALLS,
    seconds: SECONDS,
    packet: "172 bytes, 20 ms, both directions",
    pinned: PIN,
    nice: NICE,
    realtime: RT,
    mediaPoll: POLL_MODES,
    boxV8Flags: BOX_V8_FLAGS,
  },
  rows,
  rtpengineNote,
  summary,
});
