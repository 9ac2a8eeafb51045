import { deepStrictEqual as assertEquals, ok as assert, throws as assertThrows } from "node:assert";
import { JitterBuffer, type JitterPacket } from "./mod.ts";

function pkt(seq: number, opts: { ts?: number; marker?: boolean; ssrc?: number } = {}): JitterPacket {
  return {
    seq: seq & 0xffff,
    timestamp: opts.ts ?? seq * 160,
    marker: opts.marker ?? false,
    ssrc: opts.ssrc ?? 1,
    payload: new Uint8Array([seq & 255]),
  };
}

/** Run a stream: arrivals [seq, arrivalMs], pops every 20 ms from t0; returns what each pop gave. */
function run(
  jb: JitterBuffer,
  arrivals: [JitterPacket, number][],
  popUntil: number,
): (number | "lost" | "-")[] {
  const out: (number | "lost" | "-")[] = [];
  const sorted = [...arrivals].sort((a, b) => a[1] - b[1]);
  let i = 0;
  for (let t = 0; t <= popUntil; t += 20) {
    while (i < sorted.length && sorted[i]![1] <= t) jb.push(sorted[i]![0], sorted[i]![1]), i++;
    const f = jb.pop(t);
    out.push(f === undefined ? "-" : f === "lost" ? "lost" : f.seq);
  }
  return out;
}

Deno.test("in-order stream plays every packet after the initial delay", () => {
  const jb = new JitterBuffer({ initialDelayMs: 40, minDelayMs: 40 });
  const arr: [JitterPacket, number][] = [];
  for (let s = 0; s < 10; s++) arr.push([pkt(s), s * 20]);
  const out = run(jb, arr, 260);
  assertEquals(out.filter((x) => x !== "-"), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, "lost", "lost"]);
  assertEquals(out.slice(0, 3), ["-", "-", 0]);
  // After the stream stops, up to maxConcealFrames pops are concealed, then silence.
  for (let i = 0; i < 3; i++) assertEquals(jb.pop(1000 + i * 20), "lost");
  assertEquals(jb.pop(1100), undefined);
});

Deno.test("reordered packets are played in sequence order", () => {
  const jb = new JitterBuffer({ initialDelayMs: 60, minDelayMs: 60 });
  const order = [0, 2, 1, 3, 5, 4, 6, 7];
  const arr = order.map((s, i) => [pkt(s), i * 20] as [JitterPacket, number]);
  assertEquals(run(jb, arr, 300).filter((x) => x !== "-" && x !== "lost"), [0, 1, 2, 3, 4, 5, 6, 7]);
});

Deno.test("duplicates are discarded and reported", () => {
  const jb = new JitterBuffer();
  assertEquals(jb.push(pkt(1), 0), "queued");
  assertEquals(jb.push(pkt(1), 5), "duplicate");
  assertEquals(jb.stats.duplicate, 1);
  assertEquals(jb.size, 1);
});

Deno.test("a missing packet yields 'lost' for concealment and playback continues", () => {
  const jb = new JitterBuffer({ initialDelayMs: 40, minDelayMs: 40 });
  const arr = [0, 1, 2, 4, 5].map((s) => [pkt(s), s * 20] as [JitterPacket, number]);
  assertEquals(run(jb, arr, 200).filter((x) => x !== "-"), [0, 1, 2, "lost", 4, 5, "lost", "lost", "lost"]);
  assertEquals(jb.stats.lost, 4);
});

Deno.test("a packet arriving after its playout time is 'late' and dropped", () => {
  const jb = new JitterBuffer({ initialDelayMs: 20, minDelayMs: 20 });
  jb.push(pkt(0), 0);
  jb.push(pkt(2), 40);
  assertEquals((jb.pop(40) as JitterPacket).seq, 0);
  assertEquals(jb.pop(60), "lost");
  assertEquals(jb.push(pkt(1), 65), "late");
  assertEquals((jb.pop(80) as JitterPacket).seq, 2);
});

Deno.test("sequence numbers wrap around 65535 -> 0 without a hiccup", () => {
  const jb = new JitterBuffer({ initialDelayMs: 40, minDelayMs: 40 });
  const arr: [JitterPacket, number][] = [];
  for (let i = 0; i < 10; i++) arr.push([pkt(65530 + i, { ts: i * 160 }), i * 20]);
  arr.push([pkt(65536 + 3, { ts: 13 * 160 }), 140]);
  arr.push([pkt(65536 + 2, { ts: 12 * 160 }), 160]); // reordered across the wrap
  const out = run(jb, arr, 400).filter((x) => x !== "-");
  assertEquals(out.slice(0, 12), [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3, "lost", "lost"]);
  assertEquals(jb.stats.late, 0);
});

Deno.test("an SSRC change starts a new stream and rebuffers", () => {
  const jb = new JitterBuffer({ initialDelayMs: 40, minDelayMs: 40 });
  for (let s = 0; s < 3; s++) jb.push(pkt(s, { ssrc: 1 }), s * 20);
  assertEquals(jb.push(pkt(9000, { ssrc: 2, ts: 123456 }), 60), "reset");
  assertEquals(jb.size, 1);
  assertEquals(jb.pop(80), undefined); // still buffering the new stream
  assertEquals((jb.pop(100) as JitterPacket).seq, 9000);
});

Deno.test("a new talkspurt (marker, timestamp jump) after silence is rebuffered, not treated as jitter", () => {
  const jb = new JitterBuffer({ initialDelayMs: 40, minDelayMs: 40, maxConcealFrames: 2 });
  const arr: [JitterPacket, number][] = [];
  for (let s = 0; s < 5; s++) arr.push([pkt(s), s * 20]);
  // DTX: 2 s of silence, then seq continues with a timestamp jump and the marker bit.
  for (let s = 5; s < 10; s++) {
    arr.push([pkt(s, { ts: s * 160 + 16000, marker: s === 5 }), 2100 + (s - 5) * 20]);
  }
  const out = run(jb, arr, 2400);
  assertEquals(out.filter((x) => typeof x === "number"), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // Two concealed frames after the first spurt, then silence until the second spurt is buffered.
  assertEquals(out.slice(0, out.indexOf(5)).filter((x) => x === "lost").length, 2);
  assert(jb.jitterMs < 5, `jitter ${jb.jitterMs}`);
});

Deno.test("target delay grows with network jitter and shrinks when it calms down", () => {
  const jb = new JitterBuffer({ initialDelayMs: 40, minDelayMs: 20, maxDelayMs: 300 });
  let seed = 3;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  let seq = 0;
  for (let i = 0; i < 500; i++, seq++) jb.push(pkt(seq), seq * 20 + rnd() * 80);
  const high = jb.targetDelayMs;
  assert(high > 60, `target under jitter ${high}`);
  for (let i = 0; i < 500; i++, seq++) jb.push(pkt(seq), seq * 20 + 100);
  assert(jb.targetDelayMs < high / 2, `target after calm ${jb.targetDelayMs}`);
  assert(jb.targetDelayMs >= 20);
});

Deno.test("a sender with a fast clock does not make the buffer grow without bound", () => {
  const jb = new JitterBuffer({ initialDelayMs: 40, minDelayMs: 40 });
  let played = 0;
  let seq = 0;
  let nextArrival = 0;
  for (let t = 0; t < 60_000; t += 20) {
    // Sender clock 2% fast: packets every 19.6 ms.
    while (nextArrival <= t) jb.push(pkt(seq++), nextArrival), nextArrival += 19.6;
    const f = jb.pop(t);
    if (f !== undefined && f !== "lost") played++;
  }
  assert(jb.size <= 8, `queue ${jb.size}`);
  assert(jb.stats.dropped > 0);
  assert(played > 2900);
});

Deno.test("the buffer is bounded by maxPackets", () => {
  const jb = new JitterBuffer({ maxPackets: 10 });
  for (let s = 0; s < 50; s++) jb.push(pkt(s), 0);
  assertEquals(jb.size, 10);
  assertEquals(jb.stats.dropped, 40);
});

Deno.test("bad options are rejected", () => {
  assertThrows(() => new JitterBuffer({ minDelayMs: 100, maxDelayMs: 50 }), RangeError);
});
