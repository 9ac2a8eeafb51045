/**
 * Paging latency through the real appliance: sipp (extension 201) pages zone 802 N times, one
 * call after another, each playing 2.5 s of G.711 from a pcap; the zone is channel 2 of a 4-channel
 * ALSA `file` plugin over `null` at 48 kHz. The box measures itself: a debug log line per probed
 * frame gives the time from the authenticated INVITE's arrival to the first caller frame written to
 * ALSA (`msFromInvite`), and from an RTP packet's arrival in the media worker to its audio written
 * (`msFromRtp`, every 5th frame). The first page opens the ALSA device (cold) and is reported apart.
 * The start line of each page has its own message ("page first audio written") so the log's repeat
 * limit (20 lines of one message per 10 s) never drops it; the per-frame lines are a sample (the
 * first 20 of every 10 s). The slowest pages are listed with their place in the run.
 * Targets: INVITE -> first frame p99 <= 50 ms, RTP -> written p99 <= 40 ms.
 *
 * Usage: deno run --allow-all tests/bench/paging_latency.ts [--quick] [--pages=N]
 * Writes tests/artifacts/bench/paging.json (keys kept from the earlier in-process version, plus
 * `summary` rows for run_all).
 */
import { available } from "../../drivers/alsa/mod.ts";
import { hasBinary, runSipp } from "../_harness/mod.ts";
import { EXT, startPbx } from "../sip/_setup.ts";
import type { SummaryRow } from "./_lib.ts";

if (!available() || !hasBinary("sipp")) {
  console.error("libasound or sipp not available: nothing to measure");
  Deno.exit(1);
}

const quick = Deno.args.includes("--quick");
const pagesArg = Deno.args.find((a) => a.startsWith("--pages="));
// At least 100 pages: a p99 over 15 pages is the worst page, so one outlier decides it.
const PAGES = pagesArg !== undefined ? Math.max(2, Number(pagesArg.slice(8))) : quick ? 6 : 100;
const RATE = 48000;
const SCENARIO = new URL("../paging/sipp/page_short_pcap.xml", import.meta.url).pathname;

const dir = Deno.makeTempDirSync({ prefix: "pbx-paging-bench-" });
Deno.writeTextFileSync(
  `${dir}/asound.conf`,
  `
pcm.pbx_null4 { type null }
pcm.pbx_dac4 { type file slave { pcm "pbx_null4" } file "${dir}/dac.raw" format "raw" }
pcm.zone2 {
  type plug
  slave { pcm { type route slave { pcm "pbx_dac4" channels 4 } ttable.0.1 1 } rate ${RATE} }
}
`,
);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))] ?? NaN;
};

const pbx = await startPbx({ ALSA_CONFIG_PATH: `/usr/share/alsa/alsa.conf:${dir}/asound.conf` });
let sippOk = 0;
let logs = "";
try {
  await pbx.api.post("/api/paging/zones", {
    number: "802",
    name: "Bench",
    alsaDevice: "zone2",
    channels: [1],
  });
  await pbx.api.put("/api/paging/permissions/201", { targets: ["802"] });
  const r = await runSipp({
    scenario: SCENARIO,
    target: pbx.target,
    user: "201",
    password: EXT["201"],
    service: "802",
    calls: PAGES,
    limit: 1,
    timeoutSec: PAGES * 6 + 20,
  });
  sippOk = r.successful ?? 0;
  await new Promise((res) => setTimeout(res, 500));
  logs = pbx.app.logs();
} finally {
  await pbx.app.stop();
  Deno.removeSync(dir, { recursive: true });
}

// "page audio written page=3 codec=PCMA/8000 msFromRtp=12.3 msFromInvite=45.6"
const firstByPage = new Map<string, number>();
const rtpByPage = new Map<string, number[]>();
for (
  const m of logs.matchAll(
    /page (?:first )?audio written page=(\d+) \S+ msFromRtp=([\d.]+)(?: msFromInvite=([\d.]+))?/g,
  )
) {
  const page = m[1]!;
  if (m[3] !== undefined) firstByPage.set(page, Number(m[3]));
  const list = rtpByPage.get(page) ?? [];
  list.push(Number(m[2]));
  rtpByPage.set(page, list);
}
const pageIds = [...rtpByPage.keys()].sort((a, b) => Number(a) - Number(b));
const coldPage = pageIds[0];
const warm = pageIds.slice(1);
const starts = warm.map((p) => firstByPage.get(p)).filter((v): v is number => v !== undefined);
// Per-packet latency over warm pages; the cold page's backlog from the device opening would
// dominate its figures.
const lat = warm.flatMap((p) => rtpByPage.get(p) ?? []);
const cold = coldPage === undefined ? NaN : firstByPage.get(coldPage) ?? NaN;

const startP99 = pct(starts, 99);
// The slowest warm pages, with their place in the run: is the tail one page or a pattern?
const outliers = warm
  .map((p, i) => ({ page: Number(p), ordinal: i + 2, msFromInvite: firstByPage.get(p) ?? NaN }))
  .filter((o) => Number.isFinite(o.msFromInvite))
  .sort((a, b) => b.msFromInvite - a.msFromInvite)
  .slice(0, 5);
const latP99 = pct(lat, 99);
const summary: SummaryRow[] = [
  {
    metric: "page: INVITE -> first frame written p99 (ms)",
    box: Number.isFinite(startP99) ? startP99.toFixed(1) : "n/a",
    reference: "-",
    ratio: "-",
    target: "<= 50",
    met: Number.isFinite(startP99) ? (startP99 <= 50 ? "yes" : "no") : "n/a",
  },
  {
    metric: "page: RTP arrival -> written p99 (ms)",
    box: Number.isFinite(latP99) ? latP99.toFixed(1) : "n/a",
    reference: "-",
    ratio: "-",
    target: "<= 40",
    met: Number.isFinite(latP99) ? (latP99 <= 40 ? "yes" : "no") : "n/a",
  },
];
const result = {
  bench: "paging_latency",
  at: new Date().toISOString(),
  device: "appliance (child process), sipp G.711 pages, ALSA file plugin over null, 48 kHz, 4 ch",
  pages: { requested: PAGES, sippSuccessful: sippOk, measured: pageIds.length },
  pageStartToFirstWrittenMs: {
    cold,
    p50: pct(starts, 50),
    p99: startP99,
    max: pct(starts, 100),
    n: starts.length,
    targetP99: 50,
    slowest: outliers,
  },
  pushToWrittenMs: { p50: pct(lat, 50), p99: latP99, max: pct(lat, 100), n: lat.length, targetP99: 40 },
  pass: startP99 <= 50 && latP99 <= 40,
  note:
    "start = authenticated INVITE reaching LocalCalls.answer -> first caller frame written to ALSA; push = RTP packet arrival in the media worker -> its audio written (every 5th frame); both from the box's debug log",
  summary,
};
Deno.mkdirSync("tests/artifacts/bench", { recursive: true });
Deno.writeTextFileSync("tests/artifacts/bench/paging.json", JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify(result, null, 2));
console.log("\npaging latency (ms)");
console.log("metric                          p50     p99     max     n   target p99");
const row = (name: string, xs: number[], target: number) =>
  console.log(
    `${name.padEnd(32)}${pct(xs, 50).toFixed(1).padStart(6)}  ${pct(xs, 99).toFixed(1).padStart(6)}  ${
      pct(xs, 100).toFixed(1).padStart(6)
    }  ${String(xs.length).padStart(4)}   <= ${target}`,
  );
row("INVITE -> first frame written", starts, 50);
row("RTP arrival -> written", lat, 40);
console.log(`cold first page (device open): ${Number.isFinite(cold) ? cold.toFixed(1) : "n/a"} ms`);
console.log(
  `slowest warm pages: ${outliers.map((o) => `#${o.ordinal} ${o.msFromInvite.toFixed(1)} ms`).join(", ")}`,
);
