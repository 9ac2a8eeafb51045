/**
 * `AlsaWriter`: one ALSA playback device driven from a Worker with a monotonic pacing loop. The
 * main thread only posts Int16Array frames (buffers are transferred, not copied) with the device
 * channels (0-based) they go to; the worker interleaves, paces and writes.
 *
 * @module
 */
import type { FromWorker, ToWorker, WriterStats } from "./_protocol.ts";

export type { WriterStats } from "./_protocol.ts";

/** Options for {@linkcode AlsaWriter.open}. */
export interface AlsaWriterOptions {
  /** PCM name ("default", "hw:1,0", a name defined in `config`). */
  device: string;
  /** Device rate in Hz (default 48000). Frames written must be at this rate. */
  rate?: number;
  /** Device channels, interleaved (default 1). */
  channels?: number;
  /** ALSA configuration text defining `device` (snd_pcm_open_lconf). */
  config?: string;
  /** ALSA buffer latency in microseconds (default 100000). */
  latencyUs?: number;
  /** Pacing tick in ms (default 5). */
  tickMs?: number;
  /** How far ahead of real time the writer may fill the device, ms (default 40). */
  leadMs?: number;
  /** Called once per tagged chunk with the epoch ms its first frame went to snd_pcm_writei. */
  onWritten?: (tag: number, at: number) => void;
  /** Called when the device fails after opening (unplugged DAC, ...). */
  onError?: (message: string) => void;
}

/** A paced ALSA output owned by a worker. */
export class AlsaWriter {
  /** PCM name. */
  readonly device: string;
  /** Device rate in Hz. */
  readonly rate: number;
  /** Device channel count. */
  readonly channels: number;
  readonly #worker: Worker;
  readonly #waiters = new Map<number, (v: unknown) => void>();
  #nextId = 1;
  #error: string | null = null;
  #closed: Promise<WriterStats> | null = null;
  #onClosed: ((s: WriterStats) => void) | null = null;
  readonly #onWritten: ((tag: number, at: number) => void) | undefined;
  readonly #onError: ((message: string) => void) | undefined;

  private constructor(
    worker: Worker,
    device: string,
    rate: number,
    channels: number,
    options: AlsaWriterOptions,
  ) {
    this.#worker = worker;
    this.device = device;
    this.rate = rate;
    this.channels = channels;
    this.#onWritten = options.onWritten;
    this.#onError = options.onError;
  }

  /**
   * Start the worker and open the device. Rejects with an Error naming the device when
   * libasound is missing or the device cannot be opened (the worker is stopped again).
   */
  static open(options: AlsaWriterOptions): Promise<AlsaWriter> {
    const rate = options.rate ?? 48000;
    const channels = options.channels ?? 1;
    const worker = new Worker(new URL("./_writer_worker.ts", import.meta.url), { type: "module" });
    const writer = new AlsaWriter(worker, options.device, rate, channels, options);
    let libPath: string | undefined;
    try {
      const p = Deno.env.get("PBX_LIBASOUND_PATH");
      if (p !== undefined && p !== "") libPath = p;
    } catch {
      // no env permission: default soname
    }
    return new Promise((resolve, reject) => {
      let opened = false;
      worker.onmessage = (e: MessageEvent<FromWorker>) => {
        const m = e.data;
        if (!opened) {
          if (m.type === "opened") {
            opened = true;
            resolve(writer);
          } else if (m.type === "error") {
            worker.terminate();
            reject(new Error(m.message));
          }
          return;
        }
        writer.#handle(m);
      };
      worker.onerror = (e) => {
        e.preventDefault();
        const message = `ALSA writer worker for "${options.device}" crashed: ${e.message}`;
        if (!opened) {
          worker.terminate();
          reject(new Error(message));
        } else writer.#fail(message);
      };
      const msg: ToWorker = {
        type: "open",
        device: options.device,
        rate,
        channels,
        latencyUs: options.latencyUs ?? 100_000,
        tickMs: options.tickMs ?? 5,
        leadMs: options.leadMs ?? 40,
        ...(options.config === undefined ? {} : { config: options.config }),
        ...(libPath === undefined ? {} : { libPath }),
      };
      worker.postMessage(msg);
    });
  }

  /** The error that stopped the device, or null while healthy. */
  get error(): string | null {
    return this.#error;
  }

  #fail(message: string): void {
    if (this.#error !== null) return;
    this.#error = message;
    for (const w of this.#waiters.values()) w(undefined);
    this.#waiters.clear();
    this.#onError?.(message);
  }

  #handle(m: FromWorker): void {
    switch (m.type) {
      case "written":
        this.#onWritten?.(m.tag, m.at);
        return;
      case "ended":
      case "stats": {
        const w = this.#waiters.get(m.id);
        this.#waiters.delete(m.id);
        w?.(m.type === "stats" ? m.stats : undefined);
        return;
      }
      case "error":
        this.#fail(m.message);
        return;
      case "closed":
        this.#onClosed?.(m.stats);
        return;
      case "opened":
        return;
    }
  }

  #post(m: ToWorker, transfer: Transferable[] = []): void {
    if (this.#closed !== null) throw new TypeError(`ALSA writer "${this.device}" used after close()`);
    this.#worker.postMessage(m, transfer);
  }

  /**
   * Queue mono `samples` (at the device rate) on each of `channels` (0-based). The buffer is
   * transferred to the worker: do not use it afterwards. `hold` keeps the channels live (filled
   * with silence when the queue runs dry) until {@linkcode AlsaWriter.end}. `tag` asks for an
   * `onWritten` call when the first frame of this chunk is written. `maxQueueMs` marks the chunk as
   * live audio: when more than that is queued on a channel, the oldest live audio is dropped so the
   * delay cannot creep up after late frames (tones and WAVs, written without it, are never dropped).
   */
  write(
    channels: readonly number[],
    samples: Int16Array,
    options: { hold?: boolean; tag?: number; maxQueueMs?: number } = {},
  ): void {
    for (const c of channels) {
      if (!Number.isInteger(c) || c < 0 || c >= this.channels) {
        throw new RangeError(`channel ${c} not in 0..${this.channels - 1} of "${this.device}"`);
      }
    }
    if (this.#error !== null) return;
    // Transfer only a buffer the array owns entirely; a view into a bigger buffer is copied.
    const own = samples.byteOffset === 0 && samples.byteLength === samples.buffer.byteLength &&
        samples.buffer instanceof ArrayBuffer
      ? samples
      : samples.slice();
    this.#post({
      type: "write",
      channels: [...channels],
      samples: own,
      hold: options.hold ?? false,
      ...(options.tag === undefined ? {} : { tag: options.tag }),
      ...(options.maxQueueMs === undefined ? {} : { maxQueueMs: options.maxQueueMs }),
    }, [own.buffer as ArrayBuffer]);
  }

  /** Release `channels`; resolves once everything queued on them has been written. */
  end(channels: readonly number[]): Promise<void> {
    if (this.#error !== null) return Promise.resolve();
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#waiters.set(id, () => resolve());
      this.#post({ type: "end", channels: [...channels], id });
    });
  }

  /** Drop everything queued (not yet written) on `channels`: a higher-priority page takes over. */
  flush(channels: readonly number[]): void {
    if (this.#error !== null || this.#closed !== null) return;
    this.#post({ type: "flush", channels: [...channels] });
  }

  /** Counters from the worker. */
  stats(): Promise<WriterStats> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (this.#error !== null) {
        reject(new Error(this.#error));
        return;
      }
      this.#waiters.set(
        id,
        (s) =>
          s === undefined ? reject(new Error(this.#error ?? "writer failed")) : resolve(s as WriterStats),
      );
      this.#post({ type: "stats", id });
    });
  }

  /** Stop the worker and close the PCM (`drain` plays out the buffer first, default true). Idempotent. */
  close(options: { drain?: boolean } = {}): Promise<WriterStats> {
    if (this.#closed !== null) return this.#closed;
    const zero: WriterStats = {
      framesWritten: 0,
      runFrames: 0,
      runStartedAt: null,
      maxAheadFrames: 0,
      recoveries: 0,
      runs: 0,
      droppedFrames: 0,
    };
    this.#closed = new Promise<WriterStats>((resolve) => {
      const timer = setTimeout(() => {
        this.#worker.terminate();
        resolve(zero);
      }, 3000);
      this.#onClosed = (s) => {
        clearTimeout(timer);
        this.#worker.terminate();
        resolve(s);
      };
      this.#worker.postMessage({ type: "close", drain: options.drain ?? true } satisfies ToWorker);
    });
    for (const w of this.#waiters.values()) w(undefined);
    this.#waiters.clear();
    return this.#closed;
  }
}
