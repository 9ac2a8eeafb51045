/**
 * The conference mixer's own cost per participant: one 20 ms round at 16 kHz (320 samples) puts
 * every participant's frame, sums once and gives each the sum minus their own, saturated
 * (runtime/media/mix Mixer, what the media worker's mix rooms run), for one room of 30 and ten
 * rooms of 3. The same algorithm in a tiny C program is the reference, in the same run, so the
 * result is a ratio. Decoding and encoding each participant's codec are not counted here (see the
 * transcode bench for codec costs).
 *
 * Run: deno run --allow-all tests/bench/mixer.ts [--seconds=0.5] [--rounds=5]
 * Writes tests/artifacts/bench/mixer.json.
 */
import { Mixer } from "../../runtime/media/mix/mod.ts";
import { fmt, printTable, type SummaryRow, writeResult } from "./_lib.ts";

const seconds = Number(Deno.args.find((a) => a.startsWith("--seconds="))?.slice(10) ?? 0.5);
const rounds = Number(Deno.args.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 5);
const FRAME = 320; // 20 ms at 16 kHz

const C_SOURCE = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec / 1e9; }
int main(int argc, char **argv) {
  int rooms = atoi(argv[1]), n = atoi(argv[2]); double secs = atof(argv[3]);
  int frame = ${FRAME};
  int16_t *in = malloc(sizeof(int16_t) * rooms * n * frame), *out = malloc(sizeof(int16_t) * frame);
  int32_t *total = malloc(sizeof(int32_t) * frame);
  for (int i = 0; i < rooms * n * frame; i++) in[i] = (int16_t)((i * 7919) % 20000 - 10000);
  long sink = 0, done = 0; double t0 = now();
  while (now() - t0 < secs) {
    for (int k = 0; k < 50; k++) {
      for (int r = 0; r < rooms; r++) {
        int16_t *room = in + (long)r * n * frame;
        for (int i = 0; i < frame; i++) total[i] = 0;
        for (int p = 0; p < n; p++) for (int i = 0; i < frame; i++) total[i] += room[p * frame + i];
        for (int p = 0; p < n; p++) {
          for (int i = 0; i < frame; i++) {
            int32_t v = total[i] - room[p * frame + i];
            out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : (int16_t)v;
          }
          sink += out[p % frame];
        }
      }
      done++;
    }
  }
  double el = now() - t0;
  printf("%f %ld\n", el / done * 1e6, sink & 1);
  return 0;
}
`;

/** Microseconds of one round (all rooms) in TypeScript. */
function tsRound(rooms: number, n: number, secs: number): number {
  const mixers = Array.from({ length: rooms }, () => new Mixer<number>({ frameSize: FRAME }));
  const frames = Array.from({ length: n }, (_, p) => {
    const f = new Int16Array(FRAME);
    for (let i = 0; i < FRAME; i++) f[i] = ((p * FRAME + i) * 7919) % 20000 - 10000;
    return f;
  });
  for (const m of mixers) for (let p = 0; p < n; p++) m.add(p);
  const out = new Int16Array(FRAME);
  let sink = 0;
  let done = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < secs * 1000) {
    for (let k = 0; k < 50; k++) {
      for (const m of mixers) {
        for (let p = 0; p < n; p++) m.put(p, frames[p]!);
        for (let p = 0; p < n; p++) sink += m.mixFor(p, out)[p % FRAME]!;
        m.nextRound();
      }
      done++;
    }
  }
  if (sink === 0.5) console.log(sink); // keep the work observable
  return (performance.now() - t0) / done * 1000;
}

async function cRound(bin: string, rooms: number, n: number, secs: number): Promise<number> {
  const r = await new Deno.Command(bin, { args: [String(rooms), String(n), String(secs)], stdout: "piped" })
    .output();
  return Number(new TextDecoder().decode(r.stdout).split(" ")[0]);
}

const dir = await Deno.makeTempDir({ prefix: "mixer-bench-" });
const src = `${dir}/mix.c`;
const bin = `${dir}/mix`;
await Deno.writeTextFile(src, C_SOURCE);
const cc = await new Deno.Command("gcc", { args: ["-O2", "-o", bin, src], stderr: "piped" }).output();
if (!cc.success) throw new Error(`gcc failed:\n${new TextDecoder().decode(cc.stderr)}`);

const cases = [{ label: "1 room of 30", rooms: 1, n: 30 }, { label: "10 rooms of 3", rooms: 10, n: 3 }];
const rows: Record<string, unknown>[] = [];
const summary: SummaryRow[] = [];
for (const c of cases) {
  let ts = Infinity;
  let cr = Infinity;
  // Alternate short slices and keep the best of each, so other load hurts both sides alike.
  for (let r = 0; r < rounds; r++) {
    ts = Math.min(ts, tsRound(c.rooms, c.n, seconds / rounds));
    cr = Math.min(cr, await cRound(bin, c.rooms, c.n, seconds / rounds));
  }
  const parts = c.rooms * c.n;
  const tsPer = ts / parts;
  const cPer = cr / parts;
  // A core has 20 000 us per 20 ms round: participants it could mix (mixing alone).
  const tsCore = 20_000 / tsPer;
  const cCore = 20_000 / cPer;
  rows.push({
    case: c.label,
    tsUsPerParticipant: tsPer,
    cUsPerParticipant: cPer,
    ratio: tsPer / cPer,
    tsParticipantsPerCore: Math.floor(tsCore),
    cParticipantsPerCore: Math.floor(cCore),
    usedOfCorePct: ts / 20_000 * 100,
  });
  summary.push({
    metric: `mixer us/participant/round, ${c.label} (16 kHz, mixing only)`,
    box: fmt(tsPer, 2),
    reference: `C ${fmt(cPer, 2)}`,
    ratio: fmt(tsPer / cPer, 1),
    target: `${c.label} in < 10% of a core`,
    met: ts / 20_000 < 0.1 ? "yes" : "no",
  });
}
printTable("Conference mixer (sum once, N-1 each, saturate; 320 samples per round)", rows);
await writeResult("mixer", { rows, summary });
await Deno.remove(dir, { recursive: true });
