/**
 * A leg with no phone behind it: a recorded announcement presented to an application as its
 * caller's audio. A feature that wants another feature's application to hear something the box
 * says (park's "call parked on 701" on a paging zone) runs that application by name on this leg
 * instead of importing the other feature: the application sees an ordinary `CallLeg` whose
 * `onAudio` delivers `pcm` in 20 ms frames, paced by the clock once it answers, and whose caller
 * hangs up (`hangup` by "caller") after the last frame. Playing to it, recording and collecting
 * digits do nothing useful (there is nobody to hear or press).
 *
 * ```ts
 * const leg = announcementLeg({ caller: "700", dialled: "802", pcm, sampleRate: 16000, clock });
 * await runApplication("paging", leg, { target: "802", emergency: false, origin: "park" });
 * const outcome = await leg.outcome; // { answered: true } or { answered: false, status: 486 }
 * ```
 * @module
 */
import type { Clock, TimerId } from "../clock/mod.ts";
import type { CallLeg, Collected, LegEvent, Recorded } from "./application.ts";
import type { DialResult } from "./onward.ts";
import type { LocalAudioInfo } from "./local.ts";

/** What `announcementLeg` is given. */
export interface AnnouncementOptions {
  /** Who the application sees as the caller (the feature's number, e.g. the park number). */
  caller: string;
  /** The number "dialled" (the zone or group the application serves). */
  dialled: string;
  /** The announcement, mono. */
  pcm: Int16Array;
  sampleRate: number;
  clock: Pick<Clock, "now" | "setTimeout" | "clearTimeout">;
  /** Frame length (default 20 ms). */
  frameMs?: number;
}

/** How the application treated the announcement. */
export type AnnouncementOutcome =
  | { answered: true }
  | { answered: false; status: number; reason?: string | undefined };

/** An announcement leg: a `CallLeg` plus how the application answered and when it was over. */
export interface AnnouncementLeg extends CallLeg {
  /** Settles when the application answered (the audio is then fed) or refused. */
  readonly outcome: Promise<AnnouncementOutcome>;
}

/** Build an announcement leg; see the module doc. */
export function announcementLeg(options: AnnouncementOptions): AnnouncementLeg {
  const { pcm, sampleRate, clock } = options;
  const frame = Math.max(1, Math.round((sampleRate * (options.frameMs ?? 20)) / 1000));
  const audio = new Set<(pcm: Int16Array, sampleRate: number, info: LocalAudioInfo) => void>();
  const events = new Set<(ev: LegEvent) => void>();
  let settle: (o: AnnouncementOutcome) => void = () => {};
  const outcome = new Promise<AnnouncementOutcome>((r) => (settle = r));
  let endIt: (by: "caller" | "system") => void = () => {};
  const ended = new Promise<"caller" | "system">((r) => (endIt = r));
  let state: "new" | "feeding" | "over" = "new";
  let timer: TimerId | undefined;
  const finish = (by: "caller" | "system") => {
    if (state === "over") return;
    state = "over";
    if (timer !== undefined) clock.clearTimeout(timer);
    for (const l of [...events]) l({ type: "hangup", by });
    endIt(by);
  };
  const frameMs = options.frameMs ?? 20;
  let startedAt = 0;
  let sent = 0;
  // Frames go out on the clock's time, not per timer tick (timers run late), 60 ms ahead of it.
  const feed = () => {
    if (state !== "feeding") return;
    const due = Math.floor((clock.now() - startedAt + 60) / frameMs);
    while (sent < due && sent * frame < pcm.length) {
      const chunk = pcm.slice(sent * frame, (sent + 1) * frame);
      sent++;
      for (const l of [...audio]) l(chunk, sampleRate, { receivedAt: Date.now() });
    }
    if (sent * frame >= pcm.length) {
      // Over once the last frame's time has passed.
      timer = clock.setTimeout(() => finish("caller"), 60);
      return;
    }
    timer = clock.setTimeout(feed, frameMs);
  };
  const nobody = () => Promise.reject(new Error("an announcement leg has nobody to play to"));
  const leg: AnnouncementLeg = {
    info: {
      caller: options.caller,
      dialled: options.dialled,
      receivedAt: Date.now(),
      codec: `L16/${sampleRate}`,
    },
    outcome,
    ended,
    answer() {
      if (state !== "new") return;
      state = "feeding";
      settle({ answered: true });
      // Start on the next turn: the application subscribes to the audio after answering, too.
      timer = clock.setTimeout(() => {
        startedAt = clock.now();
        feed();
      }, 0);
    },
    reject(status, reason) {
      if (state !== "new") return;
      settle({ answered: false, status, reason });
      state = "over";
      endIt("system");
    },
    play: () => nobody(),
    stopPlay: () => Promise.resolve(),
    record: (path): Promise<Recorded> => Promise.resolve({ path, durationMs: 0, reason: "hangup" }),
    stopRecord: () => Promise.resolve(),
    collect: (): Promise<Collected> => Promise.resolve({ digits: "", reason: "hangup" }),
    onAudio(listener) {
      audio.add(listener);
      return () => audio.delete(listener);
    },
    on(listener) {
      events.add(listener);
      return () => events.delete(listener);
    },
    hangup() {
      if (state === "new") {
        settle({ answered: false, status: 480, reason: "hung up before answering" });
      }
      finish("system");
    },
    dial: (): Promise<DialResult> => nobody(),
    continueTo: () => nobody(),
  };
  return leg;
}
