/**
 * The `conference` application and the rooms' live state. A caller dialling a room's number is
 * checked (room full: 486; locked without a moderator PIN: 403), answered, asked for the PIN when
 * the room has one (a wrong PIN is logged and may be retried; after the last attempt the call is
 * ended), told how many others are there, and joins the room's mix in the media worker
 * (`CallLeg.joinMix`): each participant hears everyone but themselves, in their own codec, mixed at
 * 16 kHz. The others hear a join and a leave tone. In the room, `*` toggles the caller's own mute;
 * a moderator's `5` locks or unlocks the room. The web UI mutes, kicks and locks through `Rooms`.
 * @module
 */
import type { CallLeg, Calls } from "../../call/mod.ts";
import type { Logger } from "../../log/mod.ts";
import { countWords } from "../../media/prompts/mod.ts";
import type { ConferenceRoom, ConferenceStore } from "./store.ts";

/** A participant as the live state shows it. */
export interface ParticipantInfo {
  id: string;
  caller: string;
  codec: string;
  joinedAt: number;
  muted: boolean;
  talking: boolean;
  moderator: boolean;
}

/** A room's live state. */
export interface RoomState {
  number: string;
  locked: boolean;
  participants: ParticipantInfo[];
}

interface Participant extends ParticipantInfo {
  leg: CallLeg;
}

interface LiveRoom {
  locked: boolean;
  participants: Map<string, Participant>;
}

/** The media worker's mix id of a room. */
export const mixIdOf = (number: string): string => `conference:${number}`;

/** Live rooms: who is in, muted, talking; the lock. Change listeners see every change. */
export class Rooms {
  #rooms = new Map<string, LiveRoom>();
  #listeners = new Set<() => void>();
  #next = 1;
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Listen to changes (join, leave, mute, talking, lock); returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const l of [...this.#listeners]) {
      try {
        l();
      } catch (e) {
        this.#log.warn("conference change listener failed", { error: e as Error });
      }
    }
  }

  #room(number: string): LiveRoom {
    let r = this.#rooms.get(number);
    if (r === undefined) {
      r = { locked: false, participants: new Map() };
      this.#rooms.set(number, r);
    }
    return r;
  }

  /** The live state of a room (empty and unlocked when nobody is in). */
  state(number: string): RoomState {
    const r = this.#rooms.get(number);
    return {
      number,
      locked: r?.locked ?? false,
      participants: [...(r?.participants.values() ?? [])].map(({ leg: _leg, ...info }) => ({ ...info })),
    };
  }

  /** Every room with someone in it (or locked). */
  active(): RoomState[] {
    return [...this.#rooms.keys()].sort().map((n) => this.state(n));
  }

  /** How many are in a room. */
  count(number: string): number {
    return this.#rooms.get(number)?.participants.size ?? 0;
  }

  isLocked(number: string): boolean {
    return this.#rooms.get(number)?.locked ?? false;
  }

  /** Lock or unlock a room (a locked room admits moderators only); an empty room unlocks itself. */
  setLocked(number: string, locked: boolean): void {
    const r = this.#room(number);
    if (r.locked === locked) return;
    r.locked = locked;
    this.#log.info(locked ? "conference locked" : "conference unlocked", { room: number });
    this.#changed();
  }

  /** Add a participant; returns its id. */
  add(number: string, p: Omit<Participant, "id">): string {
    const id = `p${this.#next++}`;
    this.#room(number).participants.set(id, { ...p, id });
    this.#changed();
    return id;
  }

  /** Remove a participant; an empty room is forgotten (and so unlocked). */
  remove(number: string, id: string): void {
    const r = this.#rooms.get(number);
    if (r === undefined || !r.participants.delete(id)) return;
    if (r.participants.size === 0) this.#rooms.delete(number);
    this.#changed();
  }

  /** The other participants' legs (for join/leave tones). */
  othersOf(number: string, id: string): CallLeg[] {
    return [...(this.#rooms.get(number)?.participants.values() ?? [])].filter((p) => p.id !== id).map((p) =>
      p.leg
    );
  }

  #participant(number: string, id: string): Participant {
    const p = this.#rooms.get(number)?.participants.get(id);
    if (p === undefined) throw new RangeError(`no participant ${id} in room ${number}`);
    return p;
  }

  /** Mute or unmute a participant in the media worker. RangeError for an unknown participant. */
  async setMuted(number: string, id: string, muted: boolean): Promise<void> {
    const p = this.#participant(number, id);
    await p.leg.muteInMix?.(muted);
    p.muted = muted;
    if (muted) p.talking = false;
    this.#log.info(muted ? "conference participant muted" : "conference participant unmuted", {
      room: number,
      participant: id,
      caller: p.caller,
    });
    this.#changed();
  }

  isMuted(number: string, id: string): boolean {
    return this.#participant(number, id).muted;
  }

  isModerator(number: string, id: string): boolean {
    return this.#participant(number, id).moderator;
  }

  /** Voice activity from the media worker (changes only). */
  setTalking(number: string, id: string, talking: boolean): void {
    const p = this.#rooms.get(number)?.participants.get(id);
    if (p === undefined || p.talking === talking) return;
    p.talking = talking;
    this.#changed();
  }

  /** End a participant's call (kick). RangeError for an unknown participant. */
  kick(number: string, id: string): void {
    const p = this.#participant(number, id);
    this.#log.info("conference participant kicked", { room: number, participant: id, caller: p.caller });
    p.leg.hangup("kicked from the conference");
  }
}

/** The prompts the application speaks (PromptLibrary fits). */
export interface ConferencePrompts {
  say(text: string): Promise<{ rate16: Int16Array }>;
}

/** What the application needs. */
export interface ConferenceDeps {
  store: ConferenceStore;
  rooms: Rooms;
  prompts: ConferencePrompts;
  log: Logger;
  /** PIN attempts before the call is ended (default 3). */
  pinAttempts?: number;
  /** How long to wait for a PIN (default 10 s). */
  pinTimeoutMs?: number;
}

/** Tones the others hear (tone specs, runtime/media/tone). */
export const JOIN_TONE = "!660/120,!990/160";
export const LEAVE_TONE = "!990/120,!660/160";

/** Play a short tone to each of `legs` (join and leave tones). */
function tone(legs: CallLeg[], spec: string): void {
  for (const l of legs) void l.play({ tone: spec, durationMs: 280 }).catch(() => {});
}

/** Answer and wait until the call is up (as voicemail's `answerAndWait`). */
async function answerAndWait(leg: CallLeg): Promise<boolean> {
  leg.answer();
  for (let i = 0; i < 250; i++) {
    try {
      await leg.play({ tone: "0", durationMs: 20 });
      return true;
    } catch (e) {
      if (/ended/.test((e as Error).message)) return false;
      await new Promise((r) => setTimeout(r, 20)); // waiting on the network (ACK)
    }
  }
  return false;
}

/**
 * A leg in a room until it ends: listed in `rooms`, joined to the room's mix (voice activity
 * reported), a join tone to the others, `*` toggles its own mute and a moderator's `5` the lock;
 * when the leg ends it leaves the mix and the others hear a leave tone. `onJoined` is told once the
 * leg is in the mix. Used by the application and by merging a call into a room (`mergeCall`).
 */
export async function participate(
  deps: Pick<ConferenceDeps, "rooms" | "log">,
  leg: CallLeg,
  room: ConferenceRoom,
  role: "moderator" | "participant",
  onJoined?: () => void,
): Promise<void> {
  const { rooms, log } = deps;
  if (leg.joinMix === undefined) throw new Error("conference: the media plane has no mixer");
  let id: string | undefined;
  let ended = false;
  void leg.ended.then(() => (ended = true));
  try {
    if (ended) return;
    id = rooms.add(room.number, {
      leg,
      caller: leg.info.caller,
      codec: leg.info.codec,
      joinedAt: Date.now(),
      muted: false,
      talking: false,
      moderator: role === "moderator",
    });
    const me = id;
    await leg.joinMix(mixIdOf(room.number), {
      sampleRate: 16000,
      onTalking: (talking) => rooms.setTalking(room.number, me, talking),
    });
    onJoined?.();
    log.info("conference joined", {
      room: room.number,
      caller: leg.info.caller,
      participant: me,
      moderator: role === "moderator",
      count: rooms.count(room.number),
    });
    if (room.tones) tone(rooms.othersOf(room.number, me), JOIN_TONE);
    const off = leg.on((ev) => {
      if (ev.type !== "dtmf") return;
      if (ev.digit === "*") {
        const muted = !rooms.isMuted(room.number, me);
        void rooms.setMuted(room.number, me, muted)
          .then(() => leg.play({ tone: muted ? "!440/150" : "!880/150", durationMs: 150 }))
          .catch(() => {});
      } else if (ev.digit === "5" && rooms.isModerator(room.number, me)) {
        rooms.setLocked(room.number, !rooms.isLocked(room.number));
        void leg.play({ tone: "!523/120,!0/60,!523/120", durationMs: 300 }).catch(() => {});
      }
    });
    await leg.ended;
    off();
  } catch (e) {
    log.warn("conference: participant ended", {
      room: room.number,
      caller: leg.info.caller,
      error: e as Error,
    });
    leg.hangup("conference failed");
  } finally {
    if (id !== undefined) {
      await leg.leaveMix?.().catch(() => {});
      rooms.remove(room.number, id);
      log.info("conference left", { room: room.number, caller: leg.info.caller, participant: id });
      if (room.tones) tone(rooms.othersOf(room.number, id), LEAVE_TONE);
    }
  }
}

/** Why merging a call into a room was refused: the HTTP status and what is wrong. */
export class MergeRefused extends Error {
  constructor(readonly status: 404 | 409, message: string) {
    super(message);
    this.name = "MergeRefused";
  }
}

/**
 * Merge an answered phone-to-phone call into a room (three-way calling): both parties become legs
 * of the box (`calls.legsOf`) and join the room as participants (no PIN asked: an admin's action),
 * each then staying until it hangs up. Resolves once both are in the mix, with their extensions.
 * `MergeRefused` 404 for an unknown call, 409 for a locked room, one too full for two more, or a
 * call that cannot be taken now (not confirmed yet, a transfer in progress).
 */
export async function mergeCall(
  deps: Pick<ConferenceDeps, "rooms" | "log">,
  calls: Pick<Calls, "find" | "legsOf">,
  callId: string,
  room: ConferenceRoom,
): Promise<string[]> {
  const { rooms, log } = deps;
  const refuse = (status: 404 | 409, message: string): never => {
    log.warn("conference: merge refused", { room: room.number, call: callId, why: message });
    throw new MergeRefused(status, message);
  };
  if (!calls.find().some((c) => c.id === callId)) refuse(404, `no answered call ${callId}`);
  if (rooms.isLocked(room.number)) refuse(409, `conference room ${room.number} is locked`);
  if (rooms.count(room.number) + 2 > room.maxParticipants) {
    refuse(409, `conference room ${room.number} has no room for two more (limit ${room.maxParticipants})`);
  }
  let legs: CallLeg[] = [];
  try {
    legs = await calls.legsOf(callId);
  } catch (e) {
    refuse(409, (e as Error).message);
  }
  await Promise.all(legs.map((leg) =>
    new Promise<void>((joined) => {
      void participate(deps, leg, room, "participant", joined).finally(joined);
    })
  ));
  const parties = legs.map((l) => l.info.caller);
  log.info("call merged into conference", { room: room.number, call: callId, parties });
  return parties;
}

/** The `conference` application: args `{room}` (the room number). */
export function conferenceApplication(deps: ConferenceDeps) {
  const { store, rooms, prompts, log } = deps;
  const say = async (leg: CallLeg, text: string) => {
    try {
      const a = await prompts.say(text);
      await leg.play({ pcm: a.rate16, sampleRate: 16000 });
    } catch (e) {
      // No speech (or the call ended): a short tone stands in, so the caller still hears something.
      log.debug("conference prompt not played", { text, error: e as Error });
      await leg.play({ tone: "!440/200", durationMs: 200 }).catch(() => {});
    }
  };

  /** Ask for the PIN: "moderator", "participant", or null when every attempt failed or the call ended. */
  const askPin = async (leg: CallLeg, room: ConferenceRoom): Promise<"moderator" | "participant" | null> => {
    const attempts = deps.pinAttempts ?? 3;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      // Digits typed over the prompt count (and stop it): collect listens before the prompt plays.
      const pending = leg.collect({
        maxDigits: 12,
        timeoutMs: (deps.pinTimeoutMs ?? 10_000) + 8_000,
        terminators: "#",
      });
      const off = leg.on((ev) => {
        if (ev.type === "dtmf") void leg.stopPlay();
      });
      await say(
        leg,
        (attempt > 1 ? "That PIN is not correct. " : "") +
          "Please enter the conference PIN followed by the pound key.",
      );
      off();
      const r = await pending;
      if (r.reason === "hangup") return null;
      if (room.moderatorPin !== undefined && r.digits === room.moderatorPin) return "moderator";
      if (room.pin !== undefined && r.digits === room.pin) return "participant";
      if (room.pin === undefined && r.digits === "" && r.reason === "terminator") return "participant"; // # joins
      log.warn("conference: wrong PIN", {
        room: room.number,
        caller: leg.info.caller,
        attempt,
        of: attempts,
        reason: r.reason,
      });
    }
    log.warn("conference: caller refused after wrong PINs", { room: room.number, caller: leg.info.caller });
    return null;
  };

  return {
    name: "conference",
    async run(leg: CallLeg, args: { room?: string }) {
      const room = args.room !== undefined ? store.get(args.room) : undefined;
      if (room === undefined) {
        log.warn("conference: no such room", { room: args.room });
        leg.reject(404, "Not Found (no such conference room)");
        return;
      }
      if (rooms.count(room.number) >= room.maxParticipants) {
        log.warn("conference: room full", {
          room: room.number,
          caller: leg.info.caller,
          max: room.maxParticipants,
        });
        leg.reject(486, "Busy Here (conference room full)");
        return;
      }
      if (rooms.isLocked(room.number) && room.moderatorPin === undefined) {
        log.warn("conference: room locked, caller refused", { room: room.number, caller: leg.info.caller });
        leg.reject(403, "Forbidden (conference room locked)");
        return;
      }
      if (leg.joinMix === undefined) {
        log.error("conference: the media plane has no mixer");
        leg.reject(503, "Service Unavailable (no mixer)");
        return;
      }
      if (!await answerAndWait(leg)) return;
      let role: "moderator" | "participant" | null = "participant";
      if (room.pin !== undefined || room.moderatorPin !== undefined) role = await askPin(leg, room);
      if (role === null) {
        await say(leg, "Goodbye.");
        leg.hangup("wrong conference PIN");
        return;
      }
      if (rooms.isLocked(room.number) && role !== "moderator") {
        log.warn("conference: room locked, caller refused", { room: room.number, caller: leg.info.caller });
        await say(leg, "This conference is locked. Goodbye.");
        leg.hangup("conference locked");
        return;
      }
      if (rooms.count(room.number) >= room.maxParticipants) {
        log.warn("conference: room full", { room: room.number, caller: leg.info.caller });
        await say(leg, "This conference is full. Goodbye.");
        leg.hangup("conference full");
        return;
      }
      if (room.announceCount) {
        const n = rooms.count(room.number);
        await say(
          leg,
          n === 0
            ? "You are the first participant."
            : `There ${n === 1 ? "is" : "are"} ${countWords(n, "other participant")} in this conference.`,
        );
      }
      await participate(deps, leg, room, role);
    },
  };
}
