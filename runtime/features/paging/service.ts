/**
 * `PagingService`: zones, groups, priorities, amplifier lines, live pages from calls, WAV bells on
 * a calendar, multicast to phones and the page log.
 *
 * A page owns zones. Each zone has at most one owner; a higher priority takes a zone from a lower
 * one (the lower page is told and ends or waits to resume, as configured); an equal or lower one
 * is refused (busy) or waits, as configured. For each zone it owns, a page switches the amplifier
 * on, waits the zone's lead time, plays the pre-announce tone, then the caller's audio (AGC once
 * per page, resampled once per device rate, volume per zone) and on hang-up the post-announce
 * tone; after the audio has reached the device and the tail time has passed, the amplifier goes
 * off. Speaker writes are paced by the device driver (a worker), not here.
 *
 * @module
 */
import { type Clock, realClock, type TimerId } from "../../clock/mod.ts";
import { type Logger, nullLogger } from "../../log/mod.ts";
import { Resampler } from "../../media/codec/mod.ts";
import { renderTone } from "../../media/tone/mod.ts";
import { readWav, type WavData, WavWriter } from "../../media/wav/mod.ts";
import type { PagingSchedule, PagingStore, PagingZone } from "../../storage/mod.ts";
import { Agc, type AgcOptions, applyVolume } from "./agc.ts";
import { nextOccurrence } from "./calendar.ts";
import { createUdpSender, MulticastStream } from "./multicast.ts";
import {
  type AmpLine,
  type DatagramSender,
  type OpenAmpLine,
  type OpenSpeaker,
  type PageHandle,
  type PageOutcome,
  type PagePriority,
  type PageResult,
  type PcmFrame,
  PRIORITY_RANK,
  type SpeakerDevice,
  type StartPageOptions,
  type ZoneStatus,
} from "./types.ts";

/** Options of {@linkcode PagingService}. */
export interface PagingServiceOptions {
  /** The paging tables (`storage.paging`). */
  store: PagingStore;
  /** Opens an ALSA device (the appliance passes drivers/alsa); absent: speaker zones are faulty. */
  openSpeaker?: OpenSpeaker;
  /** Opens an amplifier line (drivers/gpio `openLine`); absent: zones with a line are faulty. */
  openAmpLine?: OpenAmpLine;
  /** Datagram sender for multicast; default a node:dgram socket opened on first use. */
  datagram?: DatagramSender;
  clock?: Clock;
  logger?: Logger;
  /** IANA time zone of the box for schedules (default "UTC"); a function is read at each reschedule. */
  timeZone?: string | (() => string);
  /** What an equal-priority page meets on a busy zone (default "busy"). */
  equalPriority?: "busy" | "wait";
  /** What a pre-empted page does on the zones it lost (default "end"). */
  onPreempt?: "end" | "resume";
  /** Directory for page recordings (required for `record: true`). */
  recordingDir?: string;
  /** AGC settings for live pages, or false to disable. */
  agc?: AgcOptions | false;
  /**
   * Live caller audio queued on a speaker beyond this is dropped (oldest first) so late packets
   * cannot make the delay grow for the rest of the page (default 60 ms; 0 = never drop).
   */
  maxLiveQueueMs?: number;
  /** Audio buffered per zone while its amplifier warms up, ms (default 5000; older audio is dropped). */
  maxBacklogMs?: number;
  /** Polycom host serial (default derived from the process). */
  hostSerial?: number;
  /** Polycom alert/end repetitions (tests shorten them). */
  polycomAlertCount?: number;
  polycomEndCount?: number;
  /** Reads a WAV file (default Deno.readFile). */
  readFile?: (path: string) => Promise<Uint8Array>;
}

interface DeviceEntry {
  ready: Promise<SpeakerDevice | null>;
  device: SpeakerDevice | null;
  error: string | null;
}

interface ZoneState {
  owner: Page | null;
  waiting: Page[];
  amp: AmpLine | null;
  ampOn: boolean;
  ampOffTimer: TimerId | undefined;
  fault: string | null;
  /** Why the amplifier line failed; kept apart so a speaker that opens does not hide it. */
  ampFault: string | null;
}

interface BacklogItem {
  samples: Int16Array;
  /** Rate of `samples`: the source rate when the device rate was not known yet. */
  rate: number;
  tag: number | undefined;
}

/** One zone as played by one page. */
class Leg {
  readonly zone: PagingZone;
  readonly channels: number[];
  device: SpeakerDevice | null = null;
  open = false;
  cancelled = false;
  backlog: BacklogItem[] = [];
  backlogSamples = 0;
  ready: Promise<void>;
  mcast: MulticastStream | null = null;
  #resolveReady!: () => void;
  constructor(zone: PagingZone) {
    this.zone = zone;
    this.channels = zone.channels.map((c) => c - 1);
    this.ready = new Promise((r) => (this.#resolveReady = r));
  }
  markReady(): void {
    this.#resolveReady();
  }
}

const PAGE_RATE_FOR_MULTICAST = 8000;

/** One page (live or WAV). */
class Page implements PageHandle {
  id: number | null = null;
  readonly zones: readonly string[];
  state: PageHandle["state"] = "starting";
  readonly priority: PagePriority;
  readonly origin: string;
  readonly opts: StartPageOptions;
  readonly legs = new Map<string, Leg>();
  readonly waitingFor = new Set<string>();
  readonly agc: Agc | null;
  readonly resamplers = new Map<number, Resampler>();
  readonly done: Promise<PageResult>;
  outcome: PageOutcome = "completed";
  detail = "";
  recorder: Promise<WavWriter | null> | null = null;
  recordChain: Promise<void> = Promise.resolve();
  recordingPath: string | null = null;
  recordRate = 0;
  firstTracked = false;
  /** Audio from a caller (bounded latency) rather than a WAV (played in full). */
  live = true;
  #resolveDone!: (r: PageResult) => void;
  #svc: PagingService;
  #ending: Promise<PageResult> | null = null;

  constructor(svc: PagingService, zones: string[], opts: StartPageOptions, agc: Agc | null) {
    this.#svc = svc;
    this.zones = zones;
    this.opts = opts;
    this.priority = opts.priority ?? "page";
    this.origin = opts.origin.extension ?? opts.origin.label ?? "unknown";
    this.agc = agc;
    this.done = new Promise((r) => (this.#resolveDone = r));
  }

  push(frame: PcmFrame): void {
    this.#push(frame, undefined);
  }

  pushTracked(frame: PcmFrame, onWritten: (at: number) => void): void {
    this.#push(frame, onWritten);
  }

  #push(frame: PcmFrame, track: ((at: number) => void) | undefined): void {
    if (this.state !== "starting" && this.state !== "live") return;
    if (
      !(frame?.samples instanceof Int16Array) || !Number.isInteger(frame.sampleRate) || frame.sampleRate <= 0
    ) {
      throw new TypeError(`page audio must be {samples: Int16Array, sampleRate: positive integer}`);
    }
    if (track === undefined && !this.firstTracked && this.opts.onFirstWritten !== undefined) {
      track = this.opts.onFirstWritten;
    }
    if (track !== undefined) this.firstTracked = true;
    const samples = frame.samples.slice();
    this.agc?.process(samples);
    this.#record(samples, frame.sampleRate);
    this.#svc._fanOut(this, samples, frame.sampleRate, track);
  }

  resample(samples: Int16Array, from: number, to: number): Int16Array {
    if (from === to) return samples;
    const key = from * 1_000_000 + to;
    let r = this.resamplers.get(key);
    if (r === undefined) {
      r = new Resampler(from, to);
      this.resamplers.set(key, r);
    }
    const out = new Int16Array(r.maxOutput(samples.length));
    const n = r.process(samples, out);
    return out.subarray(0, n);
  }

  #record(samples: Int16Array, rate: number): void {
    if (this.recorder === null) return;
    if (this.recordRate === 0) this.recordRate = rate;
    const data = rate === this.recordRate ? samples : this.resample(samples, rate, this.recordRate);
    const rec = this.recorder;
    this.recordChain = this.recordChain.then(async () => {
      const w = await rec;
      await w?.write(data.slice());
    }).catch(() => {});
  }

  end(): Promise<PageResult> {
    this.#ending ??= this.#svc._endPage(this, true);
    return this.#ending;
  }

  cancel(): Promise<PageResult> {
    if (this.state === "starting" || this.state === "live") this.outcome = "cancelled";
    this.#ending ??= this.#svc._endPage(this, false);
    return this.#ending;
  }

  finish(): void {
    if (this.state === "ended" || this.state === "rejected") return;
    this.state = "ended";
    this.#resolveDone({ outcome: this.outcome, detail: this.detail, logId: this.id });
  }

  reject(): void {
    this.state = "rejected";
    this.outcome = "busy";
    this.#resolveDone({ outcome: "busy", detail: "", logId: null });
  }
}

/** The paging feature. */
export class PagingService {
  readonly #store: PagingStore;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #o: PagingServiceOptions;
  readonly #devices = new Map<string, DeviceEntry>();
  readonly #zones = new Map<string, ZoneState>();
  readonly #tags = new Map<number, (at: number) => void>();
  #nextTag = 1;
  #sender: Promise<DatagramSender> | null = null;
  readonly #pages = new Set<Page>();
  readonly #scheduleTimers = new Map<number, TimerId>();
  #schedulerOn = false;
  #closed = false;
  readonly #hostSerial: number;
  readonly #listeners = new Set<(zones: ZoneStatus[]) => void>();
  #lastStatus = "";
  #changeQueued = false;

  /** Create the service; nothing is opened until a page needs it. */
  constructor(options: PagingServiceOptions) {
    this.#o = options;
    this.#store = options.store;
    this.#clock = options.clock ?? realClock;
    this.#log = options.logger ?? nullLogger;
    this.#hostSerial = options.hostSerial ?? ((Deno.pid * 2654435761) >>> 0);
    if (options.datagram !== undefined) this.#sender = Promise.resolve(options.datagram);
  }

  // ---------------------------------------------------------------- live status

  /**
   * Be told when a zone's live state changes (idle, paging, faulty; the page on it). The listener
   * gets the whole {@linkcode status} list, at most once per event-loop turn and only when it
   * differs from the last one sent. Returns the unsubscribe function.
   */
  onChange(listener: (zones: ZoneStatus[]) => void): () => void {
    if (this.#listeners.size === 0) this.#lastStatus = JSON.stringify(this.#safeStatus());
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Zones may have changed: compare and notify once the current turn is done. */
  #changed(): void {
    if (this.#listeners.size === 0 || this.#changeQueued) return;
    this.#changeQueued = true;
    queueMicrotask(() => {
      this.#changeQueued = false;
      const zones = this.#safeStatus();
      const text = JSON.stringify(zones);
      if (text === this.#lastStatus) return;
      this.#lastStatus = text;
      for (const l of this.#listeners) {
        try {
          l(zones);
        } catch (e) {
          this.#log.warn("zone status listener failed", { error: e });
        }
      }
    });
  }

  #safeStatus(): ZoneStatus[] {
    try {
      return this.status();
    } catch {
      return []; // storage closed under us (shutdown)
    }
  }

  // ---------------------------------------------------------------- lookup and permissions

  /** The enabled zones a dialled number reaches (a zone, a group, an all-call), or undefined. */
  resolveTarget(number: string): PagingZone[] | undefined {
    const zone = this.#store.getZone(number);
    if (zone !== undefined) return zone.enabled ? [zone] : [];
    const group = this.#store.getGroup(number);
    if (group === undefined) return undefined;
    const all = this.#store.listZones().filter((z) => z.enabled);
    if (group.zones.includes("*")) return all;
    return all.filter((z) => group.zones.includes(z.number));
  }

  /** True when `extension` may page `targetNumber` (a zone or group it was granted, or "*"). */
  canPage(extension: string, targetNumber: string): boolean {
    if (this.resolveTarget(targetNumber) === undefined) return false;
    const allowed = this.#store.permissions(extension);
    return allowed.includes("*") || allowed.includes(targetNumber);
  }

  // ---------------------------------------------------------------- pages

  /**
   * Start a page. Synchronous so the call side can push audio at once; check `handle.state`:
   * "rejected" means every zone was busy (answer 486). RangeError for an unknown target or one
   * with no enabled zone.
   */
  startPage(options: StartPageOptions): PageHandle {
    if (this.#closed) throw new TypeError("PagingService is closed");
    const priority = options.priority ?? "page";
    if (!(priority in PRIORITY_RANK)) {
      throw new RangeError(`unknown page priority ${JSON.stringify(priority)}`);
    }
    const zones = this.resolveTarget(options.target);
    if (zones === undefined) {
      throw new RangeError(`no paging zone or group ${JSON.stringify(options.target)}`);
    }
    if (zones.length === 0) throw new RangeError(`paging target ${options.target} has no enabled zone`);
    const agc = this.#o.agc === false ? null : new Agc(this.#o.agc ?? {});
    const page = new Page(this, zones.map((z) => z.number), { ...options, priority }, agc);
    const rank = PRIORITY_RANK[priority];
    const granted: PagingZone[] = [];
    const blocked: PagingZone[] = [];
    for (const z of zones) {
      const st = this.#zoneState(z.number);
      if (st.owner === null || PRIORITY_RANK[st.owner.priority] < rank) granted.push(z);
      else blocked.push(z);
    }
    const wait = this.#o.equalPriority === "wait";
    if (granted.length === 0 && !wait) {
      page.reject();
      this.#logRefused(page);
      return page;
    }
    page.id = this.#store.logStart({ origin: page.origin, targets: page.zones, priority });
    this.#pages.add(page);
    if (options.record === true) this.#startRecording(page);
    for (const z of granted) {
      const st = this.#zoneState(z.number);
      if (st.owner !== null) this.#preempt(st.owner, z.number);
      this.#grant(page, z);
    }
    if (wait) {
      for (const z of blocked) {
        page.waitingFor.add(z.number);
        this.#zoneState(z.number).waiting.push(page);
      }
    }
    if (granted.length > 0) page.state = "live";
    this.#armTimeLimit(page, zones);
    this.#log.info("page started", { id: page.id, origin: page.origin, zones: page.zones, priority });
    this.#changed();
    return page;
  }

  /**
   * A page from a phone ends after the shortest non-zero maximum page duration of its zones, so a
   * phone that died mid-page (or a stuck talk key) cannot keep the zones busy.
   */
  #armTimeLimit(page: Page, zones: readonly PagingZone[]): void {
    const onTimeLimit = page.opts.onTimeLimit;
    if (onTimeLimit === undefined) return;
    const limits = zones.map((z) => z.maxPageSec).filter((s) => s > 0);
    if (limits.length === 0) return;
    const limitSec = Math.min(...limits);
    const timer = this.#clock.setTimeout(() => {
      if (page.state !== "starting" && page.state !== "live") return;
      this.#log.warn("page reached the maximum page duration", { id: page.id, zones: page.zones, limitSec });
      try {
        onTimeLimit(limitSec);
      } catch (e) {
        this.#log.error("ending a page at its time limit failed", { id: page.id, error: e as Error });
      }
    }, limitSec * 1000);
    void page.done.then(() => this.#clock.clearTimeout(timer));
  }

  /** Play a WAV (bytes, decoded data or a file path) to a target at a priority; resolves when done. */
  async playWav(
    target: string,
    wav: Uint8Array | WavData | string,
    options: { priority?: PagePriority; origin?: StartPageOptions["origin"]; preTone?: boolean } = {},
  ): Promise<PageResult> {
    let data: WavData;
    if (typeof wav === "string") data = readWav(await (this.#o.readFile ?? Deno.readFile)(wav));
    else if (wav instanceof Uint8Array) data = readWav(wav);
    else data = wav;
    const mono = toMono(data);
    const page = this.startPage({
      target,
      priority: options.priority ?? "bell",
      origin: options.origin ?? { label: "wav" },
      preTone: options.preTone ?? false,
      postTone: false,
    }) as Page;
    if (page.state === "rejected") return page.done;
    page.live = false;
    // Bells are mastered already: no AGC on them.
    const step = Math.max(1, Math.round(data.sampleRate / 10)); // 100 ms pieces
    for (let i = 0; i < mono.length; i += step) {
      this._fanOut(page, mono.slice(i, i + step), data.sampleRate, undefined);
    }
    return await page.end();
  }

  /** Play a test tone on one zone (admin "test" button); resolves when it has played. */
  testTone(zoneNumber: string, options: { durationMs?: number; hz?: number } = {}): Promise<PageResult> {
    const zone = this.#store.getZone(zoneNumber);
    if (zone === undefined) {
      return Promise.reject(new RangeError(`no paging zone ${JSON.stringify(zoneNumber)}`));
    }
    const durationMs = options.durationMs ?? 1000;
    const hz = options.hz ?? 1000;
    if (!(durationMs >= 20 && durationMs <= 10000)) {
      return Promise.reject(new RangeError(`test tone duration ${durationMs} ms not in 20..10000`));
    }
    if (!(hz >= 50 && hz <= 8000)) {
      return Promise.reject(new RangeError(`test tone ${hz} Hz not in 50..8000`));
    }
    const samples = renderTone(`${hz}/${durationMs}`, { sampleRate: 16000, durationMs });
    return this.playWav(zoneNumber, { format: "pcm16", sampleRate: 16000, channels: 1, samples }, {
      priority: "bell",
      origin: { label: "api:test-tone" },
    });
  }

  /** Live state of every zone, for the status page. */
  status(): ZoneStatus[] {
    return this.#store.listZones().map((z) => {
      const st = this.#zones.get(z.number);
      const dev = z.alsaDevice === null ? undefined : this.#devices.get(z.alsaDevice);
      const fault = st?.fault ?? st?.ampFault ?? dev?.error ?? dev?.device?.error ?? null;
      const out: ZoneStatus = {
        number: z.number,
        name: z.name,
        state: !z.enabled ? "disabled" : fault !== null ? "faulty" : st?.owner ? "paging" : "idle",
      };
      if (fault !== null) out.fault = fault;
      if (st?.owner) out.page = { id: st.owner.id, priority: st.owner.priority, origin: st.owner.origin };
      return out;
    });
  }

  // ---------------------------------------------------------------- scheduler

  /** Arm timers for every enabled schedule (call again via `reloadSchedules` after edits). */
  startScheduler(): void {
    this.#schedulerOn = true;
    this.reloadSchedules();
  }

  /** Re-read schedules and re-arm their timers. */
  reloadSchedules(): void {
    for (const t of this.#scheduleTimers.values()) this.#clock.clearTimeout(t);
    this.#scheduleTimers.clear();
    if (!this.#schedulerOn || this.#closed) return;
    for (const s of this.#store.listSchedules()) if (s.enabled) this.#arm(s, this.#clock.wallNow());
  }

  /** The epoch ms each enabled schedule fires next (for the UI), by schedule id. */
  nextBells(): Record<number, number | null> {
    const out: Record<number, number | null> = {};
    for (const s of this.#store.listSchedules()) {
      if (s.enabled) out[s.id] = nextOccurrence(s, this.#clock.wallNow(), this.#timeZone());
    }
    return out;
  }

  #timeZone(): string {
    const tz = this.#o.timeZone;
    return typeof tz === "function" ? tz() : tz ?? "UTC";
  }

  #arm(s: PagingSchedule, after: number): void {
    let at: number | null;
    try {
      at = nextOccurrence(s, after, this.#timeZone());
    } catch (e) {
      this.#log.warn("schedule not armed", { id: s.id, error: e });
      return;
    }
    if (at === null) return;
    // Long waits are re-checked hourly so wall-clock steps (NTP, DST edits) cannot make a bell drift.
    const wait = Math.min(at - this.#clock.wallNow(), 3600_000);
    const timer = this.#clock.setTimeout(() => {
      this.#scheduleTimers.delete(s.id);
      if (this.#clock.wallNow() + 1 < at) {
        this.#arm(s, after);
        return;
      }
      this.#arm(s, at);
      this.#log.info("scheduled bell", { id: s.id, name: s.name, target: s.target });
      this.playWav(s.target, s.wavPath, { priority: "bell", origin: { label: `schedule:${s.id}` } }).catch((
        e,
      ) => this.#log.warn("scheduled bell failed", { id: s.id, error: e }));
    }, Math.max(0, wait));
    this.#scheduleTimers.set(s.id, timer);
  }

  /** Stop the scheduler, cancel live pages, close devices, lines and the socket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#schedulerOn = false;
    this.reloadSchedules();
    for (const p of [...this.#pages]) await p.cancel();
    this.#closed = true;
    for (const st of this.#zones.values()) {
      if (st.ampOffTimer !== undefined) this.#clock.clearTimeout(st.ampOffTimer);
      await st.amp?.close().catch(() => {});
    }
    for (const d of this.#devices.values()) {
      const dev = await d.ready;
      await dev?.close().catch(() => {});
    }
    if (this.#sender !== null) (await this.#sender.catch(() => null))?.close();
  }

  // ---------------------------------------------------------------- internals

  #zoneState(n: string): ZoneState {
    let st = this.#zones.get(n);
    if (st === undefined) {
      st = {
        owner: null,
        waiting: [],
        amp: null,
        ampOn: false,
        ampOffTimer: undefined,
        fault: null,
        ampFault: null,
      };
      this.#zones.set(n, st);
    }
    return st;
  }

  #logRefused(page: Page): void {
    const id = this.#store.logStart({ origin: page.origin, targets: page.zones, priority: page.priority });
    this.#store.logEnd(id, { outcome: "busy" });
  }

  #device(name: string): DeviceEntry {
    const e = this.#devices.get(name);
    // Reuse a healthy (or still opening) device; a failed one is tried again on the next page.
    if (e !== undefined && e.error === null && (e.device === null || e.device.error === null)) return e;
    if (e?.device) void e.device.close().catch(() => {});
    const open = this.#o.openSpeaker;
    const channels = Math.max(
      1,
      ...this.#store.listZones().filter((z) => z.alsaDevice === name).flatMap((z) => z.channels),
    );
    const entry: DeviceEntry = { ready: Promise.resolve(null), device: null, error: null };
    entry.ready = open === undefined
      ? Promise.resolve(null).then(() => {
        entry.error = "no speaker driver configured";
        return null;
      })
      : open(name, {
        channels,
        onWritten: (tag, at) => {
          const cb = this.#tags.get(tag);
          this.#tags.delete(tag);
          cb?.(at);
        },
        onError: (message) => {
          entry.error = message;
          this.#changed();
          this.#log.error("speaker device failed", { device: name, error: message });
        },
      }).then((d) => {
        entry.device = d;
        return d;
      }, (err: unknown) => {
        entry.error = err instanceof Error ? err.message : String(err);
        this.#log.error("speaker device unavailable", { device: name, error: entry.error });
        this.#changed();
        return null;
      });
    this.#devices.set(name, entry);
    return entry;
  }

  #grant(page: Page, zone: PagingZone): void {
    const st = this.#zoneState(zone.number);
    st.owner = page;
    page.waitingFor.delete(zone.number);
    const leg = new Leg(zone);
    page.legs.set(zone.number, leg);
    // Amplifier first: it needs the lead time before any audio.
    let lead = 0;
    if (st.ampOffTimer !== undefined) {
      this.#clock.clearTimeout(st.ampOffTimer);
      st.ampOffTimer = undefined;
    }
    if (zone.ampLine !== null) {
      try {
        st.amp ??= this.#openAmp(zone.ampLine);
        if (!st.ampOn) {
          st.ampOn = true;
          lead = zone.leadMs;
          st.amp.set(true).then(() => {
            if (st.ampFault !== null) this.#changed();
            st.ampFault = null;
          }, (e) => this.#ampFault(zone.number, `amplifier line ${zone.ampLine}: ${e}`));
        }
      } catch (e) {
        // The page still plays (the amplifier may be on anyway); the zone shows the fault.
        this.#ampFault(zone.number, `amplifier line ${zone.ampLine}: ${e instanceof Error ? e.message : e}`);
      }
    }
    if (zone.multicast !== null) {
      const cfg = zone.multicast;
      const stream = this.#sender ??= this.#o.datagram
        ? Promise.resolve(this.#o.datagram)
        : createUdpSender();
      leg.mcast = new MulticastStream(cfg, {
        clock: this.#clock,
        sender: lazySender(stream),
        callerId: page.origin,
        hostSerial: this.#hostSerial,
        ...(this.#o.polycomAlertCount === undefined ? {} : { alertCount: this.#o.polycomAlertCount }),
        ...(this.#o.polycomEndCount === undefined ? {} : { endCount: this.#o.polycomEndCount }),
      });
      if (page.opts.preTone !== false && zone.preTone !== null && cfg.format === "rtp") {
        leg.mcast.push(this.#tone(zone.preTone, PAGE_RATE_FOR_MULTICAST));
      }
    }
    const dev = zone.alsaDevice === null ? null : this.#device(zone.alsaDevice);
    const leadDone = new Promise<void>((resolve) => {
      if (lead <= 0) resolve();
      else this.#clock.setTimeout(resolve, lead);
    });
    Promise.all([dev?.ready ?? Promise.resolve(null), leadDone]).then(([device]) => {
      if (leg.cancelled) return;
      if (zone.alsaDevice !== null && device === null) {
        this.#zoneFault(zone.number, dev?.error ?? "speaker device unavailable");
      } else if (device !== null) {
        const bad = zone.channels.find((c) => c > device.channels);
        if (bad !== undefined) {
          this.#zoneFault(
            zone.number,
            `channel ${bad} not on ${zone.alsaDevice} (${device.channels} channels)`,
          );
        } else {
          if (st.fault !== null) this.#changed();
          st.fault = null;
          leg.device = device;
          if (page.opts.preTone !== false && zone.preTone !== null) {
            const tone = this.#tone(zone.preTone, device.rate);
            applyVolume(tone, zone.volume);
            device.write(leg.channels, tone, { hold: true });
          }
          let conv: Resampler | null = null;
          for (const b of leg.backlog) {
            let samples = b.samples;
            if (b.rate !== device.rate) {
              conv ??= new Resampler(b.rate, device.rate);
              const out = new Int16Array(conv.maxOutput(samples.length));
              samples = out.subarray(0, conv.process(samples, out));
            }
            this.#write(leg, samples, b.tag, false);
          }
          conv?.close();
        }
      }
      leg.backlog = [];
      leg.backlogSamples = 0;
      leg.open = true;
      leg.markReady();
    });
  }

  #openAmp(spec: string): AmpLine {
    if (this.#o.openAmpLine === undefined) throw new Error("no amplifier line driver configured");
    return this.#o.openAmpLine(spec);
  }

  #ampFault(zone: string, message: string): void {
    this.#zoneState(zone).ampFault = message;
    this.#changed();
    this.#log.warn("paging zone faulty", { zone, error: message });
  }

  #zoneFault(zone: string, message: string): void {
    this.#zoneState(zone).fault = message;
    this.#changed();
    this.#log.warn("paging zone faulty", { zone, error: message });
  }

  #tone(spec: string, rate: number): Int16Array {
    try {
      return renderTone(spec, { sampleRate: rate });
    } catch {
      return renderTone(spec, { sampleRate: rate, durationMs: 1000 });
    }
  }

  #write(leg: Leg, samples: Int16Array, tag: number | undefined, live: boolean): void {
    const d = leg.device;
    if (d === null) return;
    const max = this.#o.maxLiveQueueMs ?? 60;
    d.write(leg.channels, samples, {
      hold: true,
      ...(tag === undefined ? {} : { tag }),
      ...(live && max > 0 ? { maxQueueMs: max } : {}),
    });
  }

  /** Internal: fan a processed frame out to every leg of a page. */
  _fanOut(page: Page, samples: Int16Array, rate: number, track: ((at: number) => void) | undefined): void {
    const byRate = new Map<number, Int16Array>();
    let tag: number | undefined;
    if (track !== undefined) {
      tag = this.#nextTag++;
      this.#tags.set(tag, track);
    }
    let mcast8k: Int16Array | null = null;
    for (const leg of page.legs.values()) {
      if (leg.cancelled) continue;
      if (leg.mcast !== null) {
        mcast8k ??= page.resample(samples, rate, PAGE_RATE_FOR_MULTICAST).slice();
        leg.mcast.push(mcast8k);
      }
      if (leg.zone.alsaDevice === null) continue;
      const devRate = leg.device?.rate ?? this.#devices.get(leg.zone.alsaDevice)?.device?.rate;
      if (devRate === undefined && leg.open) continue; // faulty device
      // Until the device is known its rate is unknown: buffer at the source rate, convert on open.
      const targetRate = devRate ?? rate;
      let conv = byRate.get(targetRate);
      if (conv === undefined) {
        conv = page.resample(samples, rate, targetRate);
        byRate.set(targetRate, conv);
      }
      const out = conv.slice();
      applyVolume(out, leg.zone.volume);
      if (leg.open) {
        this.#write(leg, out, tag, page.live);
      } else {
        leg.backlog.push({ samples: out, rate: targetRate, tag });
        leg.backlogSamples += out.length;
        const max = (this.#o.maxBacklogMs ?? 5000) * targetRate / 1000;
        while (leg.backlogSamples > max && leg.backlog.length > 1) {
          leg.backlogSamples -= leg.backlog.shift()!.samples.length;
        }
      }
      tag = undefined; // one probe per frame is enough
    }
    if (tag !== undefined) this.#tags.delete(tag);
  }

  #preempt(owner: Page, zone: string): void {
    const leg = owner.legs.get(zone);
    this.#log.info("page pre-empted", { id: owner.id, zone });
    if (leg !== undefined) {
      leg.cancelled = true;
      owner.legs.delete(zone);
      if (leg.device !== null) {
        leg.device.flush(leg.channels);
        void leg.device.end(leg.channels);
      }
      leg.mcast?.stop();
      leg.markReady();
    }
    const st = this.#zoneState(zone);
    st.owner = null;
    this.#changed();
    if (this.#o.onPreempt === "resume" && owner.state !== "ending") {
      owner.waitingFor.add(zone);
      st.waiting.push(owner);
    }
    try {
      owner.opts.onPreempted?.([zone]);
    } catch {
      // a listener's error must not break the pre-emption
    }
    if (owner.legs.size === 0 && owner.waitingFor.size === 0) {
      owner.outcome = "preempted";
      void this._endPage(owner, false);
    }
  }

  #release(zone: string): void {
    const st = this.#zoneState(zone);
    st.owner = null;
    this.#changed();
    // The highest priority waiter gets the zone; FIFO among equals.
    let best: Page | undefined;
    for (const p of st.waiting) {
      if (best === undefined || PRIORITY_RANK[p.priority] > PRIORITY_RANK[best.priority]) best = p;
    }
    if (best !== undefined) {
      st.waiting = st.waiting.filter((p) => p !== best);
      const z = this.#store.getZone(zone);
      if (z !== undefined && (best.state === "starting" || best.state === "live")) {
        best.state = "live";
        // A page joining late (or resuming) skips the pre-announce tone.
        this.#grant(best, z);
        return;
      }
    }
    this.#scheduleAmpOff(zone);
  }

  #scheduleAmpOff(zone: string): void {
    const st = this.#zoneState(zone);
    if (!st.ampOn || st.amp === null || st.owner !== null) return;
    const z = this.#store.getZone(zone);
    const off = () => {
      st.ampOffTimer = undefined;
      if (st.owner !== null) return;
      st.ampOn = false;
      st.amp?.set(false).catch((e) => this.#ampFault(zone, `amplifier line: ${e}`));
    };
    const tail = z?.tailMs ?? 0;
    if (tail <= 0) off();
    else st.ampOffTimer = this.#clock.setTimeout(off, tail);
  }

  /** Internal: end a page (normally with post-tones, or at once). */
  async _endPage(page: Page, graceful: boolean): Promise<PageResult> {
    if (page.state === "rejected" || page.state === "ended") return page.done;
    page.state = "ending";
    for (const z of page.waitingFor) {
      const st = this.#zoneState(z);
      st.waiting = st.waiting.filter((p) => p !== page);
    }
    page.waitingFor.clear();
    const legs = [...page.legs.entries()];
    await Promise.all(legs.map(async ([zone, leg]) => {
      await leg.ready;
      if (leg.cancelled) return;
      const mcastDone = leg.mcast === null ? Promise.resolve() : graceful
        ? (() => {
          if (
            page.opts.postTone !== false && leg.zone.postTone !== null && leg.zone.multicast?.format === "rtp"
          ) {
            leg.mcast!.push(this.#tone(leg.zone.postTone, PAGE_RATE_FOR_MULTICAST));
          }
          return leg.mcast!.finish();
        })()
        : (leg.mcast.stop(), Promise.resolve());
      if (leg.device !== null) {
        if (!graceful) leg.device.flush(leg.channels);
        else if (page.opts.postTone !== false && leg.zone.postTone !== null) {
          const tone = this.#tone(leg.zone.postTone, leg.device.rate);
          applyVolume(tone, leg.zone.volume);
          leg.device.write(leg.channels, tone, { hold: true });
        }
        await leg.device.end(leg.channels);
      }
      await mcastDone;
      if (leg.cancelled) return; // pre-empted while draining: the zone is someone else's
      leg.cancelled = true;
      page.legs.delete(zone);
      if (this.#zoneState(zone).owner === page) this.#release(zone);
    }));
    for (const r of page.resamplers.values()) r.close();
    await this.#stopRecording(page);
    const detail = page.zones.map((z) => this.#zones.get(z)?.fault).filter((f) => f != null);
    if (detail.length > 0 && detail.length === page.zones.length && page.outcome === "completed") {
      page.outcome = "failed";
      page.detail = detail.join("; ");
    }
    if (page.id !== null) {
      this.#store.logEnd(page.id, {
        outcome: page.outcome === "failed" ? `failed: ${page.detail}`.slice(0, 256) : page.outcome,
        recordingPath: page.recordingPath,
        atEnd: this.#clock.wallNow(),
      });
    }
    this.#pages.delete(page);
    this.#log.info("page ended", { id: page.id, outcome: page.outcome });
    page.finish();
    return page.done;
  }

  #startRecording(page: Page): void {
    const dir = this.#o.recordingDir;
    if (dir === undefined) {
      this.#log.warn("page recording requested but no recordingDir configured", { id: page.id });
      return;
    }
    const path = `${dir}/page-${page.id}.wav`;
    page.recordingPath = path;
    // The WAV rate follows the first frame; created lazily so the rate is known.
    let resolveRate!: (rate: number) => void;
    const rate = new Promise<number>((r) => (resolveRate = r));
    page.recorder = rate.then((sampleRate) =>
      WavWriter.create(path, { sampleRate, channels: 1, format: "pcm16" })
    )
      .catch((e) => {
        this.#log.warn("page recording failed", { id: page.id, error: e });
        page.recordingPath = null;
        return null;
      });
    const orig = page.recordChain;
    page.recordChain = orig;
    // The first recorded frame fixes the rate.
    const check = () => {
      if (page.recordRate !== 0) resolveRate(page.recordRate);
      else if (page.state === "starting" || page.state === "live") this.#clock.setTimeout(check, 20);
      else resolveRate(8000);
    };
    queueMicrotask(check);
  }

  async #stopRecording(page: Page): Promise<void> {
    if (page.recorder === null) return;
    if (page.recordRate === 0) page.recordRate = 8000;
    await page.recordChain;
    const w = await page.recorder;
    await w?.close().catch(() => {});
  }
}

function toMono(d: WavData): Int16Array {
  if (d.channels === 1) return d.samples;
  const n = Math.floor(d.samples.length / d.channels);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < d.channels; c++) s += d.samples[i * d.channels + c]!;
    out[i] = Math.round(s / d.channels);
  }
  return out;
}

/** A DatagramSender that waits for the real one (the socket opens asynchronously). */
function lazySender(p: Promise<DatagramSender>): DatagramSender {
  let real: DatagramSender | null = null;
  const queued: [Uint8Array, string, number, { ttl: number; interface?: string }][] = [];
  p.then((s) => {
    real = s;
    for (const q of queued.splice(0)) s.send(...q);
  }, () => {});
  return {
    send(packet, address, port, options) {
      if (real !== null) real.send(packet, address, port, options);
      else queued.push([packet, address, port, options]);
    },
    close() {},
  };
}
