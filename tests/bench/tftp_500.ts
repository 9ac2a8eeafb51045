/**
 * 500 phones fetching their provisioning files at once over TFTP: our server (files generated
 * per request from storage, as in production) against tftpd-hpa serving the same bytes from a
 * directory, in the same run, with the same client pool. The result is a ratio of wall times.
 *
 * Run: deno run --allow-all tests/bench/tftp_500.ts [--phones=500] [--concurrency=100] [--rounds=3]
 * Needs tftpd-hpa (`apt-get install tftpd-hpa`) for the reference; without it only our side is
 * measured and reported. Writes tests/artifacts/bench/tftp.json.
 */
import dgram from "node:dgram";
import type { Buffer } from "node:buffer";
import { openStorage } from "../../runtime/storage/mod.ts";
import { createLogger } from "../../runtime/log/mod.ts";
import { DEFAULTS } from "../../appliance/config.ts";
import { startProvisioning } from "../../appliance/_provisioning.ts";
import { serveProvisioningFile } from "../../provisioning/mod.ts";

const arg = (name: string, def: number) =>
  Number(Deno.args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def);
const PHONES = arg("phones", 500);
const CONCURRENCY = arg("concurrency", 100);
const ROUNDS = arg("rounds", 3);
const BLKSIZE = 1428;
const IN_TFTPD = "/usr/sbin/in.tftpd";

/** Download one file; resolves with its size or rejects. Retransmits the last packet on timeout. */
function get(port: number, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket("udp4");
    const enc = new TextEncoder();
    const parts = [
      new Uint8Array([0, 1]),
      enc.encode([file, "octet", "blksize", String(BLKSIZE), "tsize", "0", ""].join("\0")),
    ];
    const rrq = new Uint8Array(parts[0]!.length + parts[1]!.length);
    rrq.set(parts[0]!);
    rrq.set(parts[1]!, 2);
    let peerPort = port;
    let last: Uint8Array = rrq;
    let expected = 1;
    let blk = 512;
    let size = 0;
    let tries = 0;
    const send = (p: Uint8Array) => {
      last = p;
      sock.send(p, peerPort, "127.0.0.1");
    };
    let timer = setTimeout(function retry() {
      if (++tries > 5) return finish(new Error(`${file}: no answer`));
      sock.send(last, peerPort, "127.0.0.1");
      timer = setTimeout(retry, 1000);
    }, 1000);
    function finish(r: number | Error) {
      clearTimeout(timer);
      sock.close();
      if (r instanceof Error) reject(r);
      else resolve(r);
    }
    const ack = (n: number) => new Uint8Array([0, 4, (n >> 8) & 0xff, n & 0xff]);
    sock.on("message", (m: Buffer, rinfo: dgram.RemoteInfo) => {
      peerPort = rinfo.port;
      const op = m[1];
      if (op === 5) {
        return finish(new Error(`${file}: TFTP error ${m.readUInt16BE(2)} ${m.subarray(4).toString()}`));
      }
      if (op === 6) {
        const fields = m.subarray(2).toString().split("\0");
        const i = fields.indexOf("blksize");
        if (i >= 0) blk = Number(fields[i + 1]);
        return send(ack(0));
      }
      if (op !== 3) return;
      const n = m.readUInt16BE(2);
      if (n !== (expected & 0xffff)) return send(ack((expected - 1) & 0xffff));
      size += m.length - 4;
      expected++;
      tries = 0;
      // The final ACK must leave before the socket closes, or the server retransmits for seconds.
      if (m.length - 4 < blk) sock.send(ack(n), peerPort, "127.0.0.1", () => finish(size));
      else send(ack(n));
    });
    send(rrq);
  });
}

/** Fetch every file with at most `limit` transfers in flight; wall time in ms and failures. */
async function fetchAll(
  port: number,
  files: string[],
  limit: number,
): Promise<{ ms: number; failures: number; bytes: number }> {
  let next = 0;
  let failures = 0;
  let bytes = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < files.length) {
      const f = files[next++]!;
      try {
        bytes += await get(port, f);
      } catch (e) {
        if (failures++ === 0) console.log(`first failure: ${(e as Error).message}`);
      }
    }
  }));
  return { ms: performance.now() - t0, failures, bytes };
}

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

const dataDir = Deno.makeTempDirSync({ prefix: "pbx-bench-tftp-" });
const fileDir = `${dataDir}/tftproot`;
Deno.mkdirSync(fileDir);
const storage = openStorage({ dataDir, pbkdf2Iterations: 1000 });
const files: string[] = [];
for (let i = 0; i < PHONES; i++) {
  const number = String(1000 + i);
  storage.extensions.create({ number, name: `Phone ${i}`, password: "bench-secret-pw" }, "pbx");
  const mac = `805ec0${i.toString(16).padStart(6, "0")}`;
  storage.devices.create({ mac, vendor: "yealink", model: "T46S", extension: number });
  files.push(`${mac}.cfg`);
}
const prov = await startProvisioning({
  // Every bench client comes from 127.0.0.1: lift the per-source cap (8) that stands for one phone.
  config: {
    ...DEFAULTS,
    dataDir,
    bind: "127.0.0.1",
    publicAddress: "127.0.0.1",
    tftpPort: 0,
    tftpMaxPerSource: CONCURRENCY,
  },
  storage,
  log: createLogger("bench", { level: "error" }),
  env: {},
});
// The reference serves exactly the bytes our server generates.
for (const f of files) {
  const r = serveProvisioningFile(f, prov.data, { protocol: "tftp", address: "127.0.0.1" });
  if (r.status !== 200) throw new Error(`cannot generate ${f}`);
  Deno.writeFileSync(`${fileDir}/${f}`, r.body);
}

let hpa: Deno.ChildProcess | null = null;
let hpaPort = 0;
let hasHpa = false;
try {
  hasHpa = Deno.statSync(IN_TFTPD).isFile;
} catch {
  hasHpa = false;
}
if (hasHpa) {
  hpaPort = await freeUdpPort();
  hpa = new Deno.Command(IN_TFTPD, {
    args: ["-L", "-a", `127.0.0.1:${hpaPort}`, "-s", fileDir],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Wait until it answers.
  for (let i = 0; i < 50; i++) {
    try {
      await get(hpaPort, files[0]!);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
} else {
  console.log(`tftpd-hpa is not installed (${IN_TFTPD} missing): measuring our server only.`);
  console.log("For the reference run: apt-get install tftpd-hpa");
}

type Run = { ms: number; failures: number; bytes: number };
const ours: Run[] = [];
const ref: Run[] = [];
for (let r = 0; r < ROUNDS; r++) {
  // Alternate sides so background load hurts both alike; the best round of each counts.
  ours.push(await fetchAll(prov.tftpPort, files, CONCURRENCY));
  if (hpa) ref.push(await fetchAll(hpaPort, files, CONCURRENCY));
}
const best = (runs: Run[]) => runs.reduce((a, b) => (b.ms < a.ms ? b : a));
const o = best(ours);
const h = ref.length ? best(ref) : null;

const row = (name: string, x: Run) =>
  `${name.padEnd(22)} ${x.ms.toFixed(0).padStart(8)} ${(PHONES / (x.ms / 1000)).toFixed(0).padStart(12)} ${
    String(x.failures).padStart(9)
  }`;
console.log(`\n${PHONES} phones, ${CONCURRENCY} transfers in flight, blksize ${BLKSIZE}, best of ${ROUNDS}`);
console.log(
  `${"server".padEnd(22)} ${"wall ms".padStart(8)} ${"files/s".padStart(12)} ${"failures".padStart(9)}`,
);
console.log(row("pbx (generated)", o));
if (h) {
  console.log(row("tftpd-hpa (static)", h));
  console.log(`ratio pbx/tftpd-hpa wall time: ${(o.ms / h.ms).toFixed(2)}`);
}

const result = {
  bench: "tftp_500",
  at: new Date().toISOString(),
  phones: PHONES,
  concurrency: CONCURRENCY,
  blksize: BLKSIZE,
  rounds: ROUNDS,
  fileBytes: o.bytes / PHONES,
  ours: {
    bestMs: o.ms,
    filesPerSecond: PHONES / (o.ms / 1000),
    failures: o.failures,
    roundsMs: ours.map((x) => x.ms),
  },
  reference: h
    ? {
      name: "tftpd-hpa",
      bestMs: h.ms,
      filesPerSecond: PHONES / (h.ms / 1000),
      failures: h.failures,
      roundsMs: ref.map((x) => x.ms),
    }
    : null,
  ratio: h ? o.ms / h.ms : null,
  note: h ? undefined : "tftpd-hpa not installed: apt-get install tftpd-hpa",
};
const outDir = new URL("../artifacts/bench/", import.meta.url).pathname;
Deno.mkdirSync(outDir, { recursive: true });
Deno.writeTextFileSync(`${outDir}tftp.json`, JSON.stringify(result, null, 2) + "\n");
console.log(`wrote ${outDir}tftp.json`);

if (hpa) {
  hpa.kill("SIGTERM");
  await hpa.status;
  await hpa.stderr.cancel();
}
await prov.stop();
storage.close();
Deno.removeSync(dataDir, { recursive: true });
