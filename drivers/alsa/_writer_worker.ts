/**
 * The ALSA writer loop, run in a Worker so signalling load on the main thread cannot make the
 * speaker output stutter. It owns one PCM and paces writes by the monotonic clock: devices that do
 * not block (ALSA `null`, `file`) must not be fed faster than real time, and real DACs get a small
 * lead so a late tick does not underrun them.
 *
 * Per channel there is a FIFO of samples. A channel that is "held" (a page is live on it) gets
 * silence when its FIFO runs dry; when no channel is held and the FIFOs are empty the writer goes
 * idle and stops writing until new audio arrives.
 */
/// <reference lib="deno.worker" />
import { AlsaPcm } from "./alsa.ts";
import { library } from "./alsa.ts";
import type { FromWorker, ToWorker, WriterStats } from "./_protocol.ts";

interface Chunk {
  samples: Int16Array;
  offset: number;
  tag: number | undefined;
  /** Live audio may be dropped to keep latency bounded; tones and WAVs never are. */
  live: boolean;
}

interface Channel {
  queue: Chunk[];
  queued: number;
  held: boolean;
  started: boolean;
}

const self_ = self as unknown as {
  postMessage(m: FromWorker): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  close(): void;
};

let pcm: AlsaPcm | null = null;
let rate = 48000;
let nch = 1;
let tickMs = 5;
let leadFrames = 0;
let channels: Channel[] = [];
let timer: ReturnType<typeof setTimeout> | undefined;
let running = false;
let runT0 = 0;
let runFrames = 0;
let failed = false;
let droppedFrames = 0;
const pendingEnds: { id: number; chans: number[] }[] = [];
const stats: WriterStats = {
  framesWritten: 0,
  runFrames: 0,
  runStartedAt: null,
  maxAheadFrames: 0,
  recoveries: 0,
  runs: 0,
  droppedFrames: 0,
};
let scratch = new Int16Array(0);

function post(m: FromWorker): void {
  self_.postMessage(m);
}

function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

function snapshot(): WriterStats {
  return { ...stats, runFrames, droppedFrames, recoveries: pcm?.recoveries ?? stats.recoveries };
}

function anyQueued(): boolean {
  return channels.some((c) => c.queued > 0);
}

function anyHeld(): boolean {
  return channels.some((c) => c.held && c.started);
}

function settleEnds(): void {
  for (let i = pendingEnds.length - 1; i >= 0; i--) {
    const e = pendingEnds[i]!;
    if (e.chans.every((c) => (channels[c]?.queued ?? 0) === 0)) {
      pendingEnds.splice(i, 1);
      post({ type: "ended", id: e.id });
    }
  }
}

function schedule(): void {
  if (timer === undefined && !failed) timer = setTimeout(tick, running ? tickMs : 0);
}

function tick(): void {
  timer = undefined;
  if (pcm === null || failed) return;
  const now = performance.now();
  if (!running) {
    if (!anyQueued()) {
      settleEnds();
      return;
    }
    running = true;
    runT0 = now;
    runFrames = 0;
    stats.runs++;
    stats.runStartedAt = wallNow();
  }
  const due = Math.floor((now - runT0) * rate / 1000) + leadFrames;
  let n = due - runFrames;
  const held = anyHeld();
  if (!held) {
    // Nothing live: write only what is queued, then go idle.
    let most = 0;
    for (const c of channels) most = Math.max(most, c.queued);
    n = Math.min(n, most);
  }
  if (n > 0) {
    const tagged: number[] = [];
    const need = n * nch;
    if (scratch.length < need) scratch = new Int16Array(need * 2);
    const out = scratch.subarray(0, need);
    out.fill(0);
    for (let ch = 0; ch < nch; ch++) pull(channels[ch]!, out, ch, n, tagged);
    try {
      pcm.write(out);
    } catch (e) {
      failed = true;
      post({ type: "error", message: e instanceof Error ? e.message : String(e), fatal: true });
      return;
    }
    runFrames += n;
    stats.framesWritten += n;
    if (tagged.length > 0) {
      const at = wallNow();
      for (const tag of tagged) post({ type: "written", tag, at });
    }
  }
  const ahead = runFrames - Math.floor((performance.now() - runT0) * rate / 1000);
  if (ahead > stats.maxAheadFrames) stats.maxAheadFrames = ahead;
  settleEnds();
  if (!anyQueued() && !anyHeld()) {
    running = false;
    stats.runStartedAt = null;
    return;
  }
  schedule();
}

function pull(c: Channel, out: Int16Array, ch: number, n: number, tagged: number[]): void {
  let i = 0;
  while (i < n && c.queue.length > 0) {
    const chunk = c.queue[0]!;
    if (chunk.offset === 0 && chunk.tag !== undefined) tagged.push(chunk.tag);
    const take = Math.min(n - i, chunk.samples.length - chunk.offset);
    const src = chunk.samples;
    for (let k = 0; k < take; k++) out[(i + k) * nch + ch] = src[chunk.offset + k]!;
    chunk.offset += take;
    i += take;
    c.queued -= take;
    if (chunk.offset >= src.length) c.queue.shift();
  }
}

/**
 * Late frames leave silence behind them and every later frame queues behind that: without this the
 * delay would only ever grow. Drop the oldest live audio beyond `max` queued samples.
 */
function trimLive(c: Channel, max: number): void {
  let excess = c.queued - max;
  for (let i = 0; i < c.queue.length && excess > 0; i++) {
    const chunk = c.queue[i]!;
    if (!chunk.live || i === c.queue.length - 1) continue;
    const drop = Math.min(excess, chunk.samples.length - chunk.offset);
    chunk.offset += drop;
    c.queued -= drop;
    excess -= drop;
    droppedFrames += drop;
  }
  c.queue = c.queue.filter((ch) => ch.offset < ch.samples.length);
}

function validChannels(list: number[]): number[] {
  return list.filter((c) => Number.isInteger(c) && c >= 0 && c < nch);
}

function closeAll(drain: boolean): void {
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  if (pcm !== null) {
    try {
      if (drain && !failed) pcm.drain();
    } catch {
      // closing anyway
    }
    pcm.close();
  }
  const final = snapshot();
  pcm = null;
  post({ type: "closed", stats: final });
  self_.close();
}

self_.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  switch (m.type) {
    case "open": {
      try {
        if (m.libPath !== undefined) library.setPath(m.libPath);
        pcm = AlsaPcm.open(m.device, {
          rate: m.rate,
          channels: m.channels,
          latencyUs: m.latencyUs,
          ...(m.config === undefined ? {} : { config: m.config }),
        });
        rate = m.rate;
        nch = m.channels;
        tickMs = m.tickMs;
        leadFrames = Math.round(m.leadMs * rate / 1000);
        channels = Array.from({ length: nch }, () => ({ queue: [], queued: 0, held: false, started: false }));
        post({ type: "opened" });
      } catch (err) {
        post({ type: "error", message: err instanceof Error ? err.message : String(err), fatal: true });
      }
      return;
    }
    case "write": {
      if (pcm === null) return;
      let first = true;
      for (const ch of validChannels(m.channels)) {
        const c = channels[ch]!;
        // Each channel reads its own cursor over the shared (read-only) buffer.
        c.queue.push({
          samples: m.samples,
          offset: 0,
          tag: first ? m.tag : undefined,
          live: m.maxQueueMs !== undefined,
        });
        first = false;
        c.queued += m.samples.length;
        if (m.maxQueueMs !== undefined) trimLive(c, Math.round(m.maxQueueMs * rate / 1000));
        if (m.hold) c.held = true;
        if (m.samples.length > 0) c.started = true;
      }
      schedule();
      return;
    }
    case "end": {
      const chans = validChannels(m.channels);
      for (const ch of chans) {
        const c = channels[ch]!;
        c.held = false;
        c.started = false;
      }
      pendingEnds.push({ id: m.id, chans });
      if (running) schedule();
      else settleEnds();
      return;
    }
    case "flush": {
      // Pre-emption: drop what is queued so a higher-priority page is heard at once.
      for (const ch of validChannels(m.channels)) {
        const c = channels[ch]!;
        c.queue = [];
        c.queued = 0;
      }
      settleEnds();
      return;
    }
    case "stats":
      post({ type: "stats", id: m.id, stats: snapshot() });
      return;
    case "close":
      closeAll(m.drain);
      return;
  }
};
