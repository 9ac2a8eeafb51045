/**
 * SRTP cost per packet through drivers/srtp (libsrtp2 over FFI): protect on one session and
 * unprotect on the other, a 172-byte RTP packet (20 ms PCMU), per suite. The result, ns per
 * protect+unprotect pair, estimates what SRTP adds to one relayed packet (an SRTP<->SRTP relay
 * leg pays one unprotect and one protect; SRTP<->RTP pays one of them).
 *
 * Not part of run_all. Run: deno run --allow-all tests/bench/srtp.ts [--seconds=0.5] [--rounds=5]
 * The best round counts, so load from other processes hurts less. Writes
 * tests/artifacts/bench/srtp.json.
 */
import { SRTP_SUITES, SrtpSession, type SrtpSuite } from "../../drivers/srtp/mod.ts";

const seconds = Number(Deno.args.find((a) => a.startsWith("--seconds="))?.slice(10) ?? 0.5);
const rounds = Number(Deno.args.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 5);

const PAYLOAD = 160;
const LEN = 12 + PAYLOAD;

function run(suite: SrtpSuite): number {
  const info = SRTP_SUITES[suite];
  const keySalt = crypto.getRandomValues(new Uint8Array(info.keyLength + info.saltLength));
  const tx = new SrtpSession("outbound", { suite, keySalt });
  const rx = new SrtpSession("inbound", { suite, keySalt });
  const template = new Uint8Array(LEN);
  template.set([0x80, 0, 0, 0, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44]);
  for (let i = 12; i < LEN; i++) template[i] = i & 0xff;
  const buf = new Uint8Array(LEN + 32);
  let seq = 0;
  let ts = 0;
  const step = () => {
    buf.set(template);
    seq = (seq + 1) & 0xffff;
    ts = (ts + 160) >>> 0;
    buf[2] = seq >> 8;
    buf[3] = seq & 0xff;
    buf[4] = ts >>> 24;
    buf[5] = (ts >>> 16) & 0xff;
    buf[6] = (ts >>> 8) & 0xff;
    buf[7] = ts & 0xff;
    const n = tx.protectRtp(buf, LEN);
    if (rx.tryUnprotectRtp(buf, n) !== LEN) throw new Error(`${suite}: unprotect failed`);
  };
  for (let i = 0; i < 20_000; i++) step(); // warm up (JIT, fast FFI calls)
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    let count = 0;
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    let now = t0;
    while (now < end) {
      for (let i = 0; i < 1000; i++) step();
      count += 1000;
      now = performance.now();
    }
    best = Math.min(best, ((now - t0) * 1e6) / count);
  }
  tx.close();
  rx.close();
  return best;
}

const results: Record<string, { nsPerPair: number }> = {};
for (const suite of Object.keys(SRTP_SUITES) as SrtpSuite[]) {
  const ns = run(suite);
  results[suite] = { nsPerPair: Math.round(ns) };
  console.log(`${suite.padEnd(24)} ${ns.toFixed(0).padStart(6)} ns per protect+unprotect (${LEN}-byte RTP)`);
}
await Deno.mkdir("tests/artifacts/bench", { recursive: true });
await Deno.writeTextFile(
  "tests/artifacts/bench/srtp.json",
  JSON.stringify({ packetBytes: LEN, seconds, rounds, results }, null, 2) + "\n",
);
