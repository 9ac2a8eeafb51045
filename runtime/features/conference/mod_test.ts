import { deepStrictEqual as eq, rejects, throws } from "node:assert";
import { DatabaseSync } from "node:sqlite";
import type { CallLeg } from "../../call/mod.ts";
import { nullLogger } from "../../log/mod.ts";
import * as m065 from "../../storage/migrations/065_conference.ts";
import {
  checkRoom,
  conferenceApplication,
  createConferenceStore,
  mergeCall,
  MergeRefused,
  Rooms,
} from "./mod.ts";

Deno.test("checkRoom fills defaults and names what is wrong", () => {
  eq(checkRoom({ number: "800" }), {
    number: "800",
    name: "Room 800",
    maxParticipants: 30,
    tones: true,
    announceCount: true,
  });
  throws(() => checkRoom({ number: "80a" }), /number may hold only/);
  throws(() => checkRoom({ number: "800", pin: "12ab" }), /pin must be 1-12 digits/);
  throws(() => checkRoom({ number: "800", pin: "1", moderatorPin: "1" }), /must differ/);
  throws(() => checkRoom({ number: "800", maxParticipants: 1 }), /maxParticipants must be an integer 2-100/);
  throws(() => checkRoom({ number: "800", tones: "yes" }), /tones must be true or false/);
  throws(() => checkRoom([]), TypeError);
});

/** A leg that records how it was refused. */
function refusedLeg(): { leg: CallLeg; refused: { status: number; reason?: string }[] } {
  const refused: { status: number; reason?: string }[] = [];
  const leg = {
    info: { caller: "201", dialled: "800", receivedAt: 0, codec: "PCMU/8000" },
    reject: (status: number, reason?: string) => void refused.push({ status, ...(reason ? { reason } : {}) }),
    joinMix: () => Promise.resolve(),
  } as unknown as CallLeg;
  return { leg, refused };
}

Deno.test("conference application: unknown room 404, full room 486, locked room without moderator PIN 403", async () => {
  const db = new DatabaseSync(":memory:");
  db.exec(m065.sql);
  const store = createConferenceStore(db);
  store.put(checkRoom({ number: "800", maxParticipants: 2 }));
  const rooms = new Rooms(nullLogger);
  const app = conferenceApplication({
    store,
    rooms,
    prompts: { say: () => Promise.reject() },
    log: nullLogger,
  });
  const a = refusedLeg();
  await app.run(a.leg, { room: "899" });
  eq(a.refused[0]?.status, 404);
  rooms.setLocked("800", true);
  const b = refusedLeg();
  await app.run(b.leg, { room: "800" });
  eq(b.refused[0], { status: 403, reason: "Forbidden (conference room locked)" });
  rooms.setLocked("800", false);
  const base = { codec: "PCMU/8000", joinedAt: 0, muted: false, talking: false, moderator: false };
  rooms.add("800", { ...base, leg: a.leg, caller: "202" });
  rooms.add("800", { ...base, leg: a.leg, caller: "203" });
  const c = refusedLeg();
  await app.run(c.leg, { room: "800" });
  eq(c.refused[0]?.status, 486);
  eq(rooms.state("800").participants.map((p) => p.caller), ["202", "203"]);
  db.close();
});

Deno.test("mergeCall: both parties join the room; unknown call 404, locked or too full a room and a refused hand-over 409", async () => {
  const db = new DatabaseSync(":memory:");
  db.exec(m065.sql);
  const store = createConferenceStore(db);
  store.put(checkRoom({ number: "800", maxParticipants: 3, tones: false }));
  const room = store.get("800")!;
  const rooms = new Rooms(nullLogger);
  const deps = { rooms, log: nullLogger };
  const joined: string[] = [];
  const partyLeg = (caller: string) => {
    let end: (by: "caller" | "system") => void = () => {};
    const ended = new Promise<"caller" | "system">((r) => (end = r));
    const leg = {
      info: { caller, dialled: "x", receivedAt: 0, codec: "PCMU/8000" },
      ended,
      joinMix: (mix: string) => Promise.resolve(void joined.push(`${caller}@${mix}`)),
      leaveMix: () => Promise.resolve(),
      on: () => () => {},
      hangup: () => end("system"),
    } as unknown as CallLeg;
    return { leg, end };
  };
  const a = partyLeg("201");
  const b = partyLeg("202");
  let handOver: () => Promise<[CallLeg, CallLeg]> = () => Promise.resolve([a.leg, b.leg]);
  const calls = {
    find: () => [{ id: "c1", caller: "201", callee: "202", state: "answered" as const, startedAt: 0 }],
    legsOf: (id: string) =>
      id === "c1" ? handOver() : Promise.reject(new RangeError(`no answered call ${id}`)),
  };
  await rejects(
    () => mergeCall(deps, calls, "c9", room),
    (e) => e instanceof MergeRefused && e.status === 404,
  );
  rooms.setLocked("800", true);
  await rejects(
    () => mergeCall(deps, calls, "c1", room),
    (e) => e instanceof MergeRefused && e.status === 409,
  );
  rooms.setLocked("800", false);
  const other = partyLeg("203");
  const base = { codec: "PCMU/8000", joinedAt: 0, muted: false, talking: false, moderator: false };
  const id = rooms.add("800", { ...base, leg: other.leg, caller: "203" });
  rooms.add("800", { ...base, leg: other.leg, caller: "204" });
  await rejects(() => mergeCall(deps, calls, "c1", room), /no room for two more/);
  rooms.remove("800", id);
  handOver = () => Promise.reject(new RangeError("call c1 is not confirmed yet"));
  await rejects(
    () => mergeCall(deps, calls, "c1", room),
    (e) => e instanceof MergeRefused && e.status === 409,
  );
  handOver = () => Promise.resolve([a.leg, b.leg]);
  eq(await mergeCall(deps, calls, "c1", room), ["201", "202"]);
  eq(joined, ["201@conference:800", "202@conference:800"]);
  eq(rooms.state("800").participants.map((p) => p.caller), ["204", "201", "202"]);
  a.end("caller");
  await new Promise((r) => setTimeout(r, 0));
  eq(rooms.state("800").participants.map((p) => p.caller), ["204", "202"], "202 stays when 201 leaves");
  b.end("caller");
  await new Promise((r) => setTimeout(r, 0));
  db.close();
});
