/**
 * Conference room configuration (migration 065): one JSON row per room number, checked by
 * `checkRoom` before it is stored.
 * @module
 */
import type { DatabaseSync } from "node:sqlite";

/** One room as configured. */
export interface ConferenceRoom {
  number: string;
  name: string;
  /** Digits a participant enters to join; absent: no PIN asked (unless a moderator PIN is set). */
  pin?: string;
  /** Digits a moderator enters: joins a locked room, may lock/unlock it by DTMF (5). */
  moderatorPin?: string;
  /** Most participants at once (default 30). */
  maxParticipants: number;
  /** Join and leave tones for the others (default true). */
  tones: boolean;
  /** Tell a joining participant how many others are in the room (default true). */
  announceCount: boolean;
}

/** Largest participant limit a room may have. */
export const MAX_ROOM_SIZE = 100;

const NUMBER_RE = /^[0-9*#]{1,16}$/;
const PIN_RE = /^[0-9]{1,12}$/;

/** Check a room from the API; a TypeError/RangeError names what is wrong. */
export function checkRoom(input: unknown): ConferenceRoom {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new TypeError("room must be an object");
  }
  const r = input as Record<string, unknown>;
  const number = r.number;
  if (typeof number !== "string" || !NUMBER_RE.test(number)) {
    throw new RangeError(`number may hold only 0-9 * # (1-16), got ${JSON.stringify(number)}`);
  }
  const name = r.name ?? `Room ${number}`;
  if (typeof name !== "string" || name.length === 0 || name.length > 80) {
    throw new RangeError("name must be 1-80 characters");
  }
  const pinOf = (k: "pin" | "moderatorPin"): string | undefined => {
    const v = r[k];
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v !== "string" || !PIN_RE.test(v)) throw new RangeError(`${k} must be 1-12 digits`);
    return v;
  };
  const pin = pinOf("pin");
  const moderatorPin = pinOf("moderatorPin");
  if (pin !== undefined && pin === moderatorPin) {
    throw new RangeError("pin and moderatorPin must differ");
  }
  const max = r.maxParticipants ?? 30;
  if (typeof max !== "number" || !Number.isInteger(max) || max < 2 || max > MAX_ROOM_SIZE) {
    throw new RangeError(`maxParticipants must be an integer 2-${MAX_ROOM_SIZE}, got ${JSON.stringify(max)}`);
  }
  const flag = (k: "tones" | "announceCount"): boolean => {
    const v = r[k] ?? true;
    if (typeof v !== "boolean") throw new TypeError(`${k} must be true or false`);
    return v;
  };
  return {
    number,
    name,
    ...(pin !== undefined ? { pin } : {}),
    ...(moderatorPin !== undefined ? { moderatorPin } : {}),
    maxParticipants: max,
    tones: flag("tones"),
    announceCount: flag("announceCount"),
  };
}

/** The stored rooms. */
export interface ConferenceStore {
  list(): ConferenceRoom[];
  get(number: string): ConferenceRoom | undefined;
  put(room: ConferenceRoom): void;
  delete(number: string): boolean;
}

/** Open the store (migration 065 applied). */
export function createConferenceStore(db: DatabaseSync, now: () => number = Date.now): ConferenceStore {
  return {
    list: () =>
      (db.prepare("SELECT config FROM conference_rooms ORDER BY number").all() as { config: string }[])
        .map((r) => JSON.parse(r.config) as ConferenceRoom),
    get(number) {
      const r = db.prepare("SELECT config FROM conference_rooms WHERE number = ?").get(number) as
        | { config: string }
        | undefined;
      return r === undefined ? undefined : JSON.parse(r.config) as ConferenceRoom;
    },
    put(room) {
      db.prepare(
        "INSERT INTO conference_rooms (number, config, updated_at) VALUES (?, ?, ?) ON CONFLICT (number) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at",
      ).run(room.number, JSON.stringify(room), now());
    },
    delete: (number) => db.prepare("DELETE FROM conference_rooms WHERE number = ?").run(number).changes > 0,
  };
}
