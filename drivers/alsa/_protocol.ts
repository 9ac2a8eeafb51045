/** Messages between {@linkcode AlsaWriter} (main thread) and its worker. Private to drivers/alsa. */

/** Main -> worker. */
export type ToWorker =
  | {
    type: "open";
    device: string;
    rate: number;
    channels: number;
    config?: string;
    latencyUs: number;
    tickMs: number;
    leadMs: number;
    libPath?: string;
  }
  | {
    type: "write";
    channels: number[];
    samples: Int16Array;
    hold: boolean;
    tag?: number;
    maxQueueMs?: number;
  }
  | { type: "end"; channels: number[]; id: number }
  | { type: "flush"; channels: number[] }
  | { type: "stats"; id: number }
  | { type: "close"; drain: boolean };

/** Writer statistics. */
export interface WriterStats {
  /** Frames handed to snd_pcm_writei since open. */
  framesWritten: number;
  /** Frames written in the current run (since the writer last went from idle to playing). */
  runFrames: number;
  /** Wall-clock ms (epoch) when the current run started, or null while idle. */
  runStartedAt: number | null;
  /**
   * Worst case over every tick of (frames written in the run) - (elapsed run time x rate): how far
   * ahead of real time the writer ever got. Bounded by the lead plus one tick of rounding.
   */
  maxAheadFrames: number;
  /** xrun recoveries. */
  recoveries: number;
  /** Runs started. */
  runs: number;
  /** Live samples dropped (per channel) to keep the latency bound. */
  droppedFrames: number;
}

/** Worker -> main. */
export type FromWorker =
  | { type: "opened" }
  | { type: "error"; message: string; fatal: boolean }
  | { type: "written"; tag: number; at: number }
  | { type: "ended"; id: number }
  | { type: "stats"; id: number; stats: WriterStats }
  | { type: "closed"; stats: WriterStats };
