/**
 * Idle memory of the appliance with paging, provisioning and the web running, and where it goes:
 * RSS right after start, after a few calls and pages have warmed the code paths (then 35 s idle, so
 * transactions have expired), and the breakdown of that RSS by mapping (/proc/<pid>/smaps: the V8
 * heaps and other anonymous memory, the deno binary, each shared library). Target (issue 19): idle
 * RSS < 80 MB; a plain start is the reference.
 *
 * Run: deno run --allow-all tests/bench/idle_rss.ts [--quick]
 * Writes tests/artifacts/bench/idle_rss.json.
 */
import { api, pickPortRange, runSipp, startAppliance } from "../_harness/mod.ts";
import { available as alsaAvailable } from "../../drivers/alsa/mod.ts";
import {
  cleanupAll,
  hookSignals,
  onCleanup,
  printTable,
  rssKb,
  sleep,
  type SummaryRow,
  writeResult,
} from "./_lib.ts";
import { appliancePid } from "./_targets.ts";

const quick = Deno.args.includes("--quick");
const log = (s: string) => console.error(s);

/** RSS by mapping: anonymous memory together, files by base name. */
function breakdown(pid: number): { name: string; rssKb: number }[] {
  const text = Deno.readTextFileSync(`/proc/${pid}/smaps`);
  const by = new Map<string, number>();
  let current = "";
  for (const line of text.split("\n")) {
    const head = line.match(/^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/);
    if (head !== null) {
      const path = head[1]!.trim();
      current = path === ""
        ? "[anonymous: V8 heaps, malloc]"
        : path.startsWith("[")
        ? path
        : path.split("/").pop()!;
      continue;
    }
    const rss = line.match(/^Rss:\s+(\d+) kB/);
    if (rss !== null) by.set(current, (by.get(current) ?? 0) + Number(rss[1]));
  }
  return [...by].map(([name, kb]) => ({ name, rssKb: kb })).sort((a, b) => b.rssKb - a.rssKb);
}

hookSignals();
const dac = await Deno.makeTempDir({ prefix: "pbx-idle-rss-" });
await Deno.writeTextFile(
  `${dac}/asound.conf`,
  `pcm.zone1 { type file slave { pcm { type null } } file "${dac}/dac.raw" format "raw" }\n`,
);
let result: Record<string, unknown> = {};
let summary: SummaryRow[] = [];
try {
  const app = await startAppliance({
    env: { PBX_LOG_LEVEL: "warn", ALSA_CONFIG_PATH: `/usr/share/alsa/alsa.conf:${dac}/asound.conf` },
    rtpPorts: await pickPortRange(200),
  });
  onCleanup(() => app.stop());
  const pid = await appliancePid(app.sipPort);
  await sleep(3000);
  const started = rssKb(pid);
  log(`idle_rss: right after start ${started} kB`);
  const client = api(app.baseUrl, await app.adminToken());
  await client.createExtension({ number: "201", name: "A", password: "Tiger-Lake-91" });
  await client.createExtension({ number: "202", name: "B", password: "Otter-Pond-57" });
  if (alsaAvailable()) {
    await client.post("/api/paging/zones", {
      number: "801",
      name: "Idle",
      alsaDevice: "zone1",
      channels: [1],
    });
    await client.put("/api/paging/permissions/201", { targets: ["801"] });
  }
  // Warm the paths: a few pages (paging), provisioning and web requests, then let transactions expire.
  const pages = quick ? 1 : 3;
  for (let i = 0; i < pages && alsaAvailable(); i++) {
    await runSipp({
      scenario: new URL("../paging/sipp/page_short_pcap.xml", import.meta.url).pathname,
      target: `127.0.0.1:${app.sipPort}`,
      user: "201",
      password: "Tiger-Lake-91",
      service: "801",
      timeoutSec: 30,
    });
  }
  for (const path of ["/api/system/status", "/api/extensions", "/api/cdr", "/api/paging/status"]) {
    await client.get(path).catch(() => {});
  }
  await fetch(`${app.baseUrl}/`).then((r) => r.body?.cancel());
  await sleep(quick ? 5000 : 35_000);
  const idle = rssKb(pid);
  const parts = breakdown(pid);
  log(`idle_rss: idle after warm-up ${idle} kB`);
  result = { rssKb: { started, idle }, breakdown: parts.slice(0, 15) };
  summary = [
    {
      metric: "idle RSS with paging, provisioning, web (MB)",
      box: (idle / 1024).toFixed(1),
      reference: `${(started / 1024).toFixed(1)} (right after start)`,
      ratio: (idle / started).toFixed(2),
      target: "< 80",
      met: idle / 1024 < 80 ? "yes" : "no",
    },
  ];
  printTable("idle_rss: RSS by mapping (top 15)", parts.slice(0, 15).map((p) => ({ ...p })));
  printTable("idle_rss summary", summary.map((s) => ({ ...s })));
} finally {
  await cleanupAll();
  await Deno.remove(dac, { recursive: true }).catch(() => {});
}
await writeResult("idle_rss", {
  command: "deno run --allow-all tests/bench/idle_rss.ts",
  ...result,
  summary,
});
