/**
 * MediaPlane: the main-thread handle on the media worker, which owns all RTP/RTCP sockets. Each
 * method is one postMessage round trip.
 */
import type {
  AllocatedLeg,
  BridgeOptions,
  CodecInfo,
  Command,
  DtmfDelivery,
  LegConfig,
  LegStats,
  MediaEvent,
  MediaPlaneOptions,
  MediaResources,
  MixOptions,
  PlayOptions,
  RecordOptions,
  RecordResult,
  Reply,
  WorkerMessage,
} from "./_protocol.ts";
import { signalWakeFd } from "../../../drivers/udp/mod.ts";

/** How a playback ended. */
export interface PlayResult {
  reason: "done" | "stopped" | "replaced" | "released";
  /** 20 ms frames sent. */
  frames: number;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** The media plane: allocate legs, point them at peers, bridge them, play into them. */
export class MediaPlane {
  #worker: Worker;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #listeners = new Set<(ev: MediaEvent) => void>();
  #activeLegs = 0;
  #freePorts = 0;
  #closed = false;
  #codecs: CodecInfo[] = [];
  /** The worker's poll-loop eventfd when it blocks in epoll_wait ("sync" mode), else null. */
  #wakeFd: number | null = null;
  #fingerprint: string | null = null;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.onmessage = (e: MessageEvent<WorkerMessage>) => this.#onMessage(e.data);
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#failAll(new Error(`media worker failed: ${e.message}`));
    };
  }

  /** Start the worker and reserve the port range (nothing is bound until allocateLeg). */
  static async start(options: MediaPlaneOptions): Promise<MediaPlane> {
    const worker = new Worker(new URL("./_worker.ts", import.meta.url).href, { type: "module" });
    const plane = new MediaPlane(worker);
    try {
      const r = await plane.#call({ op: "init", options }) as {
        codecs?: CodecInfo[];
        wakeFd?: number | null;
      };
      plane.#codecs = r.codecs ?? [];
      plane.#wakeFd = r.wakeFd ?? null;
    } catch (err) {
      worker.terminate();
      plane.#closed = true;
      throw err;
    }
    return plane;
  }

  /** Bind a fresh RTP/RTCP port pair (even/odd). Rejects with RangeError when the pool is exhausted. */
  allocateLeg(): Promise<AllocatedLeg> {
    return this.#call({ op: "allocate" }) as Promise<AllocatedLeg>;
  }

  /** Set a leg's SDP remote endpoint, payload map or latching. A new remote address resets latching. */
  async configureLeg(legId: string, config: LegConfig): Promise<void> {
    await this.#call({ op: "configure", legId, config });
  }

  /** Relay media between two legs (replacing any earlier bridge either was in). */
  async bridge(legA: string, legB: string, options: BridgeOptions = {}): Promise<void> {
    await this.#call({ op: "bridge", a: legA, b: legB, options });
  }

  /** Stop relaying between a leg and its bridge partner. */
  async unbridge(legId: string): Promise<void> {
    await this.#call({ op: "unbridge", legId });
  }

  /** Close a leg's sockets and return its ports to the pool. */
  async releaseLeg(legId: string): Promise<void> {
    await this.#call({ op: "release", legId });
  }

  /** Counters and latching state of a leg. */
  stats(legId: string): Promise<LegStats> {
    return this.#call({ op: "stats", legId }) as Promise<LegStats>;
  }

  /**
   * Play a tone spec (see media/tone) into a leg, as G.711 RTP from the leg's own SSRC; while it
   * plays, media bridged towards that leg is held back. Resolves when the tone ends, is stopped,
   * replaced by another play, or the leg is released. A repeating tone without `durationMs` plays
   * until stopPlay.
   */
  playTone(
    legId: string,
    spec: string,
    options: PlayOptions & { durationMs?: number; levelDbm0?: number } = {},
  ): Promise<PlayResult> {
    const { durationMs, levelDbm0, ...rest } = options;
    return this.#call({
      op: "play",
      legId,
      source: {
        kind: "tone",
        spec,
        ...(durationMs !== undefined ? { durationMs } : {}),
        ...(levelDbm0 !== undefined ? { levelDbm0 } : {}),
      },
      options: rest,
    }) as Promise<PlayResult>;
  }

  /**
   * Play mono PCM at `sampleRate` (default 8000, up to 48000) into a leg (see playTone), resampled
   * once to the codec's rate; `loop` repeats it until stopPlay. The samples are copied.
   */
  playPcm(
    legId: string,
    samples: Int16Array,
    options: PlayOptions & { sampleRate?: number; loop?: boolean } = {},
  ): Promise<PlayResult> {
    const { sampleRate, loop, ...rest } = options;
    return this.#call({
      op: "play",
      legId,
      source: {
        kind: "pcm",
        samples,
        ...(sampleRate !== undefined ? { sampleRate } : {}),
        ...(loop !== undefined ? { loop } : {}),
      },
      options: rest,
    }) as Promise<PlayResult>;
  }

  /**
   * Play a WAV file (PCM16, mu-law or A-law, any rate and channel count: mixed down and resampled)
   * into a leg in the codec it negotiated (G.711, G.722, Opus, ... see PlayOptions.payloadType). The
   * worker reads and decodes the file once; nothing crosses threads per frame. `loop` repeats it
   * (music on hold) until stopPlay. Resolves as playTone does (a "played" event is posted too);
   * rejects with the file's error (NotFound, SyntaxError for a broken WAV).
   */
  playFile(legId: string, path: string, options: PlayOptions & { loop?: boolean } = {}): Promise<PlayResult> {
    const { loop, ...rest } = options;
    return this.#call({
      op: "play",
      legId,
      source: { kind: "file", path, ...(loop !== undefined ? { loop } : {}) },
      options: rest,
    }) as Promise<PlayResult>;
  }

  /**
   * Record what a leg receives (decoded, at RecordOptions.sampleRate: 16 kHz for wideband codecs,
   * else 8 kHz) to a WAV file written by the worker, one frame per 20 ms of its clock (silence
   * when nothing arrives). `stereo` puts what the leg's bridge partner receives (the other
   * direction) on the right channel. Written to `<path>.part` and renamed to `path` on stop, so a
   * crash never leaves a truncated file under the final name. RangeError if already recording.
   */
  record(
    legId: string,
    path: string,
    options: RecordOptions = {},
  ): Promise<{ path: string; sampleRate: number; channels: number }> {
    return this.#call({ op: "record", legId, path, options }) as Promise<
      { path: string; sampleRate: number; channels: number }
    >;
  }

  /**
   * Stop a leg's recording: flushes, closes and renames the file. Resolves with its duration (also
   * posted as a "recorded" event; releasing the leg ends it the same way), or null if none.
   */
  stopRecord(legId: string): Promise<RecordResult | null> {
    return this.#call({ op: "stopRecord", legId }) as Promise<RecordResult | null>;
  }

  /**
   * Start a mixing bridge `mixId` of legs (taken out of any two-party bridge or other mix): each
   * hears the sum of the others but not itself, in its own codec, paced by the worker's clock; the
   * mix runs at 16 kHz when a participant is wideband, else 8 kHz. RangeError for a taken id.
   */
  mix(
    mixId: string,
    legIds: string[],
    options: MixOptions = {},
  ): Promise<{ mixId: string; sampleRate: number; participants: string[] }> {
    return this.#call({ op: "mix", mixId, legIds, options }) as Promise<
      { mixId: string; sampleRate: number; participants: string[] }
    >;
  }

  /**
   * Add a leg to a mix (leaving its bridge); resolves false if it was already in. With `create`, a
   * missing mix is started with those options (a conference room's first participant), so two legs
   * joining at once cannot race to create it.
   */
  addToMix(mixId: string, legId: string, create?: MixOptions): Promise<boolean> {
    return this.#call({ op: "addToMix", mixId, legId, ...(create ? { create } : {}) }) as Promise<boolean>;
  }

  /**
   * Mute or unmute a participant of a mix: a muted leg still hears the others, nobody hears it.
   * RangeError when the leg is not in that mix.
   */
  muteInMix(mixId: string, legId: string, muted: boolean): Promise<boolean> {
    return this.#call({ op: "muteInMix", mixId, legId, muted }) as Promise<boolean>;
  }

  /**
   * What a participant hears: `hears` lists the legs it hears (the others of the mix are left out
   * of its mix; legs not in the mix yet count once they join), `null` everyone but itself (the
   * default). Supervisor whisper: the caller hears only the agent. RangeError when the leg is not
   * in that mix.
   */
  hearInMix(mixId: string, legId: string, hears: string[] | null): Promise<boolean> {
    return this.#call({ op: "hearInMix", mixId, legId, hears }) as Promise<boolean>;
  }

  /** Take a leg out of a mix (it is then unbridged and silent); resolves false if it was not in. */
  removeFromMix(mixId: string, legId: string): Promise<boolean> {
    return this.#call({ op: "removeFromMix", mixId, legId }) as Promise<boolean>;
  }

  /** End a mix (its legs stay allocated, unbridged). */
  endMix(mixId: string): Promise<boolean> {
    return this.#call({ op: "endMix", mixId }) as Promise<boolean>;
  }

  /** Stop what is playing into a leg; resolves true if something was playing. */
  stopPlay(legId: string): Promise<boolean> {
    return this.#call({ op: "stopPlay", legId }) as Promise<boolean>;
  }

  /**
   * Start or stop "audio" events carrying the decoded PCM of what the leg receives, in any codec of
   * {@linkcode codecs} (or a static payload type when the leg has no payload map), at the codec's
   * own rate. In-order packets are decoded on arrival; a gap waits for the jitter buffer's target
   * delay, then is concealed. Stopping frees the decoder.
   */
  async tap(legId: string, on: boolean): Promise<void> {
    await this.#call({ op: "tap", legId, on });
  }

  /**
   * Codecs the worker can transcode (their libraries loaded in the worker), in preference order:
   * what SDP may advertise beyond pass-through.
   */
  codecs(): CodecInfo[] {
    return this.#codecs.map((c) => ({ ...c }));
  }

  /**
   * Send a DTMF digit toward a leg: RFC 4733 events when the leg negotiated telephone-event, else
   * tones written into the audio sent to it (G.711 or transcoded legs). Digits queue up. Resolves
   * with how the digit goes out ("none" when neither is possible). RangeError on a bad digit/duration.
   */
  sendDtmf(legId: string, digit: string, durationMs: number): Promise<DtmfDelivery> {
    return this.#call({ op: "dtmf", legId, digit, durationMs }) as Promise<DtmfDelivery>;
  }

  /**
   * The certificate DTLS-SRTP legs present (PEM certificate and key, e.g. the box's own), or a fresh
   * self-signed one when none is given. Resolves with its SHA-256 fingerprint, which
   * {@linkcode dtlsFingerprint} returns from then on.
   */
  async setDtlsIdentity(identity: { certPem: string; keyPem: string } | null = null): Promise<string> {
    const r = await this.#call({ op: "dtlsIdentity", ...(identity ?? {}) }) as { fingerprint: string };
    this.#fingerprint = r.fingerprint;
    return r.fingerprint;
  }

  /** The DTLS certificate's fingerprint for a=fingerprint, null before setDtlsIdentity. */
  dtlsFingerprint(): string | null {
    return this.#fingerprint;
  }

  /** Native handles, directions and timers the worker holds (for leak checks). */
  resources(): Promise<MediaResources> {
    return this.#call({ op: "resources" }) as Promise<MediaResources>;
  }

  /** Subscribe to worker events (RFC 4733 digits, tapped audio, latching); returns an unsubscribe function. */
  on(listener: (ev: MediaEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Legs currently allocated (as of the last reply from the worker). */
  activeLegs(): number {
    return this.#activeLegs;
  }

  /** Port pairs currently free (as of the last reply from the worker). */
  freePorts(): number {
    return this.#freePorts;
  }

  /** Release every leg, close every socket and terminate the worker. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#call({ op: "close" });
    } finally {
      this.#closed = true;
      this.#worker.terminate();
      this.#failAll(new Error("media plane closed"));
    }
  }

  #call(cmd: Command): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error("media plane closed"));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const woken = this.#wakeFd !== null;
      this.#worker.postMessage(woken ? { ...cmd, id, woken } : { ...cmd, id });
      // A worker parked in epoll_wait only sees the message once woken (after the post: it is queued).
      if (woken && !signalWakeFd(this.#wakeFd!)) {
        // Cannot happen while the worker lives; its periodic yield still delivers the message.
        this.#wakeFd = null;
      }
    });
  }

  #onMessage(m: WorkerMessage): void {
    if ("event" in m) {
      for (const l of this.#listeners) {
        try {
          l(m);
        } catch (err) {
          // A faulty listener must not stop the others or the plane.
          console.error("media event listener threw:", err);
        }
      }
      return;
    }
    const r: Reply = m;
    this.#activeLegs = r.activeLegs;
    this.#freePorts = r.freePorts;
    const p = this.#pending.get(r.id);
    if (p === undefined) return;
    this.#pending.delete(r.id);
    if (r.ok) p.resolve(r.result);
    else p.reject(rebuildError(r.error));
  }

  #failAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}

function rebuildError(e: { name: string; message: string }): Error {
  const Ctor = e.name === "RangeError"
    ? RangeError
    : e.name === "TypeError"
    ? TypeError
    : e.name === "SyntaxError"
    ? SyntaxError
    : Error;
  return new Ctor(e.message);
}
