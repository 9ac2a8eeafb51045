/**
 * The call-control API for applications: a feature that answers calls itself (paging, later
 * voicemail, IVR, queues) is an `Application`, `{ name, run(leg, args) }`. `run` gets the caller's
 * leg before it is answered and decides: `leg.answer()` or `leg.reject(status)`. After answering it
 * can play tones, silence or PCM (files through the media worker's player once it has one: the
 * `play({ file })` seam), collect DTMF with a digit count, timeout and terminators (RFC 4733 and
 * in-band from the media plane, SIP INFO from signalling), read the caller's decoded audio, hang
 * up, and listen to its own events (dtmf, hangup, hold, resume, refer). A leg only ever sees its own
 * events.
 *
 * ```ts
 * const echoDigits: Application<{ greeting: string }> = {
 *   name: "echo-digits",
 *   async run(leg, args) {
 *     leg.answer();
 *     await leg.play({ tone: args.greeting, durationMs: 500 });
 *     const { digits } = await leg.collect({ maxDigits: 4, timeoutMs: 5000, terminators: "#" });
 *     leg.hangup(`got ${digits}`);
 *   },
 * };
 * // wired to a number: route(n) -> { kind: "local", handler: applicationHandler(echoDigits, args, deps) }
 * ```
 *
 * The SIP side (SDP answer, dialog, 2xx retransmission, BYE, call record) stays in `LocalCalls`.
 */
import type { Clock, TimerId } from "../clock/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { DialResult } from "./onward.ts";
import type { RouteTarget } from "./dispatcher.ts";
import type {
  DialOptions,
  LocalAudioInfo,
  LocalCallControl,
  LocalCallHandler,
  LocalCallInfo,
  LocalSession,
} from "./local.ts";

/** Something a leg can play. */
export type PlaySource =
  | { tone: string; durationMs?: number }
  | { silenceMs: number }
  /** Mono PCM at any rate up to 48000: the media worker resamples and encodes it in the leg's codec. */
  | { pcm: Int16Array; sampleRate: number }
  /** A file in the media worker: needs `LegMedia.playFile` (the media helper's player). */
  | { file: string; loop?: boolean };

/** What a leg reports to its application. */
export type LegEvent =
  | { type: "dtmf"; digit: string; source: "rfc4733" | "inband" | "info" }
  | { type: "hangup"; by: "caller" | "system" }
  /** The caller held the call (re-INVITE sendonly, inactive or c=0.0.0.0) or resumed it. */
  | { type: "hold" }
  | { type: "resume" }
  /**
   * The caller sent REFER to `target`. With onward routing the box transfers the caller there
   * (202) and the application has left the call (a `hangup` by "system" follows); without, 501.
   */
  | { type: "refer"; target: string };

/** How a recording ended. */
export interface Recorded {
  path: string;
  durationMs: number;
  reason: "stopped" | "max" | "hangup" | "error";
}

/** How `collect` ended. */
export interface Collected {
  digits: string;
  /** The digit that ended it, when a terminator did. */
  terminator?: string;
  reason: "max-digits" | "terminator" | "timeout" | "hangup";
}

/** The caller's leg as an application drives it. */
export interface CallLeg {
  /** The authenticated caller, the number dialled, the negotiated codec ("PCMU/8000", "opus/48000"). */
  readonly info: LocalCallInfo;
  /** Answer the call (200 OK): media flows and the other methods work. */
  answer(): void;
  /** Refuse the call (before answering) with a SIP status, e.g. 403, 486. */
  reject(status: number, reason?: string): void;
  /** Play into the leg; resolves when it has played (or was stopped). Rejects before answer. */
  play(source: PlaySource): Promise<void>;
  /** Stop what is playing. */
  stopPlay(): Promise<void>;
  /**
   * Record what the caller says to a WAV file, written by the media worker (`<path>.part`, renamed
   * on stop, so a crash leaves a whole file or none). Resolves when the recording ends: `maxMs`
   * passed, `stopRecord()`, or the caller hung up; with its duration.
   */
  record(path: string, options?: { maxMs?: number; stereo?: boolean }): Promise<Recorded>;
  /** End the recording `record` started (its promise then resolves). */
  stopRecord(): Promise<void>;
  /** Collect DTMF digits: up to `maxDigits`, until a terminator, or until `timeoutMs` passes. */
  collect(options: { maxDigits?: number; timeoutMs?: number; terminators?: string }): Promise<Collected>;
  /** The caller's decoded audio (mono PCM at the codec's rate), one frame per packet. */
  onAudio(listener: (pcm: Int16Array, sampleRate: number, info: LocalAudioInfo) => void): () => void;
  /** This leg's events; returns an unsubscribe function. */
  on(listener: (ev: LegEvent) => void): () => void;
  /** End the call from the box's side. */
  hangup(reason?: string): void;
  /**
   * Route the caller onward, like Asterisk's Dial(): `target` is a number (run through the
   * dialplan with its continuations: busy, no answer, ... may go on to voicemail, which then takes
   * the call: outcome "handedOver") or a route target (`{ kind: "extension", number, ringSeconds }`,
   * a group). The caller hears ringback; on answer the two are bridged until one hangs up. Resolves
   * with the outcome: answered (and who hung up: after "callee" the application still has the
   * caller and may go on), busy, noAnswer, unavailable, failed (with the SIP status), cancelled
   * (the caller hung up first). Rejects before answer.
   */
  dial(target: string | RouteTarget, options?: DialOptions): Promise<DialResult>;
  /**
   * Hand the caller to the dialplan at `number` and leave: the application's part of the call is
   * over at once (its `ended` settles "system"); the box rings the number's route for the caller
   * and hangs up when that ends.
   */
  continueTo(number: string): Promise<void>;
  /** Settles when the call has ended, with who ended it. */
  readonly ended: Promise<"caller" | "system">;
  /**
   * Join a mixing room `room` in the media worker (conference): started by the first leg that
   * joins (at `sampleRate`, default 16000, so wideband parties keep their band; each leg is
   * encoded in its own codec), ended with the last. The leg hears everyone else in the room and
   * never itself; its audio stays in the worker meanwhile (no `onAudio` frames). `onTalking` hears
   * this leg's voice activity changes (not per frame). A leg is in at most one room; joining
   * another leaves the first. Needs `LegMedia.joinMix`.
   */
  joinMix?(
    room: string,
    options?: { sampleRate?: number; onTalking?: (talking: boolean) => void },
  ): Promise<void>;
  /** Leave the room `joinMix` joined (the leg is then silent until it plays something). */
  leaveMix?(): Promise<void>;
  /** Mute (nobody in the room hears the leg; it still hears them) or unmute the leg in its room. */
  muteInMix?(muted: boolean): Promise<void>;
}

/** An application: `run` drives one call. */
export interface Application<A = unknown> {
  name: string;
  run(leg: CallLeg, args: A): void | Promise<void>;
}

/** The players a leg uses (the media plane's playTone/playPcm/stopPlay fit; playFile/record are seams). */
export interface LegMedia {
  playTone?(legId: string, spec: string, options?: { durationMs?: number }): Promise<unknown>;
  playPcm?(legId: string, samples: Int16Array, options?: { sampleRate?: number }): Promise<unknown>;
  stopPlay?(legId: string): Promise<boolean>;
  playFile?(legId: string, path: string, options: { loop: boolean }): Promise<unknown>;
  record?(legId: string, path: string, options: { stereo?: boolean }): Promise<unknown>;
  stopRecord?(legId: string): Promise<{ durationMs: number; reason: string } | null>;
  /** Mixing rooms (CallLeg.joinMix): the media worker's addToMix with create, muteInMix, removeFromMix. */
  joinMix?(
    legId: string,
    room: string,
    options: { sampleRate: number; onTalking?: (talking: boolean) => void },
  ): Promise<unknown>;
  leaveMix?(legId: string, room: string): Promise<unknown>;
  muteInMix?(legId: string, room: string, muted: boolean): Promise<unknown>;
  /** Whom a leg hears in its room: `hears` the media leg ids, null everyone else (media plane hearInMix). */
  hearInMix?(legId: string, room: string, hears: string[] | null): Promise<unknown>;
}

/** What `applicationHandler` needs. */
export interface ApplicationDeps {
  media: LegMedia;
  clock: Clock;
  log: Logger;
}

/** The live control of each answered application leg (for bridges, calls.ts). */
const CONTROLS = new WeakMap<CallLeg, LocalCallControl>();

/** The control of an answered, live leg (its media leg id, codec); undefined before answer or after the end. */
export function controlOf(leg: CallLeg): LocalCallControl | undefined {
  return CONTROLS.get(leg);
}

type Verdict = LocalSession | { status: number; reason?: string };

/** A leg refused what it was asked (not answered yet, ended, or no player for the source). */
function unavailable(what: string): Error {
  return new Error(what);
}

/** Turn an application into the handler `LocalCalls` runs for a number. */
export function applicationHandler<A>(app: Application<A>, args: A, deps: ApplicationDeps): LocalCallHandler {
  return {
    accept(info) {
      return new Promise<Verdict>((decide) => {
        let decided = false;
        let control: LocalCallControl | undefined;
        let endedBy: "caller" | "system" | undefined;
        /** A hangup asked for between answer() and the call being up. */
        let pendingHangup: string | undefined;
        /** The recording in progress (one per leg). */
        let recording: { stop(): void } | undefined;
        /** The mixing room the leg is in (joinMix). */
        let mixRoom: string | undefined;
        let resolveEnded: (by: "caller" | "system") => void = () => {};
        const ended = new Promise<"caller" | "system">((r) => (resolveEnded = r));
        const listeners = new Set<(ev: LegEvent) => void>();
        const audio = new Set<(pcm: Int16Array, rate: number, i: LocalAudioInfo) => void>();
        const emit = (ev: LegEvent) => {
          for (const l of [...listeners]) {
            try {
              l(ev);
            } catch (e) {
              deps.log.warn("application listener failed", { app: app.name, error: e as Error });
            }
          }
        };
        let resolveStarted: () => void = () => {};
        const started = new Promise<void>((r) => (resolveStarted = r));
        /** answer() was called: wait for the call to be up (or over) before using the leg. */
        const up = async (): Promise<void> => {
          if (decided && control === undefined && endedBy === undefined) await Promise.race([started, ended]);
        };
        const live = (what: string): string => {
          if (control === undefined) throw unavailable(`${what}: the call is not answered`);
          if (endedBy !== undefined) throw unavailable(`${what}: the call has ended`);
          return control.legId;
        };
        const session: LocalSession = {
          onStart(c) {
            control = c;
            CONTROLS.set(leg, c);
            resolveStarted();
            if (pendingHangup !== undefined) c.hangup(pendingHangup);
          },
          onAudio(pcm, rate, i) {
            for (const l of audio) l(pcm, rate, i);
          },
          onDtmf(digit, source) {
            emit({ type: "dtmf", digit, source: source ?? "rfc4733" });
          },
          onHold(held) {
            emit({ type: held ? "hold" : "resume" });
          },
          onRefer(target) {
            emit({ type: "refer", target });
          },
          onEnd(by) {
            endedBy = by;
            CONTROLS.delete(leg);
            emit({ type: "hangup", by });
            resolveEnded(by);
          },
        };
        const m = deps.media;
        const leg: CallLeg = {
          info,
          ended,
          answer() {
            if (decided) return;
            decided = true;
            decide(session);
          },
          reject(status, reason) {
            if (decided) throw unavailable("reject: the call was already answered or refused");
            if (status < 300 || status > 699) {
              throw new RangeError(`reject needs a 3xx-6xx status, got ${status}`);
            }
            decided = true;
            decide(reason !== undefined ? { status, reason } : { status });
          },
          async play(source) {
            await up();
            const legId = live("play");
            if ("tone" in source) {
              if (!m.playTone) throw unavailable("play: no tone player");
              await m.playTone(
                legId,
                source.tone,
                source.durationMs !== undefined ? { durationMs: source.durationMs } : {},
              );
            } else if ("silenceMs" in source) {
              await new Promise<void>((r) => deps.clock.setTimeout(r, source.silenceMs));
            } else if ("pcm" in source) {
              if (!m.playPcm) throw unavailable("play: no PCM player");
              await m.playPcm(legId, source.pcm, { sampleRate: source.sampleRate });
            } else {
              if (!m.playFile) throw unavailable("play: no file player in the media plane yet");
              await m.playFile(legId, source.file, { loop: source.loop ?? false });
            }
          },
          async stopPlay() {
            if (control !== undefined) await m.stopPlay?.(control.legId);
          },
          async record(path, options = {}) {
            await up();
            const legId = live("record");
            if (!m.record || !m.stopRecord) throw unavailable("record: no recorder in the media plane");
            if (recording) throw unavailable("record: already recording");
            await m.record(legId, path, options.stereo ? { stereo: true } : {});
            let why: Recorded["reason"] = "stopped";
            let stop: () => void = () => {};
            const stopped = new Promise<void>((r) => (stop = r));
            recording = { stop: () => stop() };
            const timer = options.maxMs === undefined ? undefined : deps.clock.setTimeout(() => {
              why = "max";
              stop();
            }, options.maxMs);
            await Promise.race([stopped, ended.then(() => void (why = "hangup"))]);
            if (timer !== undefined) deps.clock.clearTimeout(timer);
            recording = undefined;
            const res = await m.stopRecord(legId).catch(() => null);
            return {
              path,
              durationMs: res?.durationMs ?? 0,
              reason: res?.reason === "error" ? "error" : why,
            };
          },
          stopRecord() {
            recording?.stop();
            return Promise.resolve();
          },
          collect(options) {
            const max = options.maxDigits ?? Infinity;
            const terms = options.terminators ?? "";
            return new Promise<Collected>((resolve) => {
              let digits = "";
              let timer: TimerId | undefined;
              const done = (c: Collected) => {
                off();
                if (timer !== undefined) deps.clock.clearTimeout(timer);
                resolve(c);
              };
              const off = leg.on((ev) => {
                if (ev.type === "hangup") return done({ digits, reason: "hangup" });
                if (ev.type !== "dtmf") return;
                if (terms.includes(ev.digit)) {
                  return done({ digits, terminator: ev.digit, reason: "terminator" });
                }
                digits += ev.digit;
                if (digits.length >= max) done({ digits, reason: "max-digits" });
              });
              if (endedBy !== undefined) return done({ digits, reason: "hangup" });
              if (options.timeoutMs !== undefined) {
                timer = deps.clock.setTimeout(() => done({ digits, reason: "timeout" }), options.timeoutMs);
              }
            });
          },
          onAudio(listener) {
            audio.add(listener);
            return () => audio.delete(listener);
          },
          on(listener) {
            listeners.add(listener);
            return () => listeners.delete(listener);
          },
          async dial(target, options) {
            await up();
            live("dial");
            if (control?.dial === undefined) throw unavailable("dial: onward routing is not available here");
            return await control.dial(target, options);
          },
          async continueTo(number) {
            await up();
            live("continueTo");
            if (control?.continueTo === undefined) {
              throw unavailable("continueTo: onward routing is not available here");
            }
            void control.continueTo(number).catch((e) =>
              deps.log.error("continuing the route failed", { app: app.name, error: e as Error })
            );
            await ended;
          },
          async joinMix(room, options = {}) {
            await up();
            const legId = live("joinMix");
            if (!m.joinMix) throw unavailable("joinMix: no mixer in the media plane");
            await m.joinMix(legId, room, {
              sampleRate: options.sampleRate ?? 16000,
              ...(options.onTalking ? { onTalking: options.onTalking } : {}),
            });
            mixRoom = room;
          },
          async leaveMix() {
            const room = mixRoom;
            mixRoom = undefined;
            if (room !== undefined && control !== undefined) await m.leaveMix?.(control.legId, room);
          },
          async muteInMix(muted) {
            const legId = live("muteInMix");
            if (mixRoom === undefined) throw unavailable("muteInMix: the leg is in no room");
            await m.muteInMix?.(legId, mixRoom, muted);
          },
          hangup(reason) {
            if (!decided) {
              decided = true;
              decide({ status: 480, reason: reason ?? "Temporarily Unavailable" });
              return;
            }
            if (control === undefined) pendingHangup = reason ?? "hangup";
            else control.hangup(reason);
          },
        };
        Promise.resolve()
          .then(() => app.run(leg, args))
          .then(() => {
            if (!decided) {
              deps.log.warn("application finished without answering", { app: app.name });
              leg.hangup();
            }
          })
          .catch((e) => {
            deps.log.error("application failed", { app: app.name, error: e as Error });
            if (!decided) {
              decided = true;
              decide({ status: 500, reason: "Server Internal Error (application failed)" });
            } else control?.hangup("application failed");
          });
      });
    },
  };
}
