/**
 * Conference rooms as a feature module (runtime/call/feature.ts): rooms stored per number
 * (migration 065, store.ts), each number claimed in the number plan and routed to the `conference`
 * application (app.ts), the mixing done by the media worker's mix rooms, and the admin REST API and
 * live page (`/conference`: participants, who is talking, mute/unmute, kick, lock; updates over
 * SSE at `/api/conference/events`). See docs/conference.md.
 *
 * ```ts
 * const conf = conferenceFeature({ db: storage.db, prompts, log, numberInUse });
 * // features: [..., conf]
 * ```
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { Context, Hono } from "hono";
import type { Calls, FeatureModule, FeatureWebEnv, FeatureWebKit } from "../../call/mod.ts";
import type { Claim, PlanMatch, Route } from "../../call/route/mod.ts";
import type { Logger } from "../../log/mod.ts";
import * as m065 from "../../storage/migrations/065_conference.ts";
import {
  conferenceApplication,
  type ConferenceDeps,
  type ConferencePrompts,
  mergeCall,
  MergeRefused,
  Rooms,
} from "./app.ts";
import { checkRoom, type ConferenceRoom, type ConferenceStore, createConferenceStore } from "./store.ts";
import { openapi } from "./openapi.ts";

export * from "./store.ts";
export * from "./app.ts";

/** Options of `conferenceFeature`. */
export interface ConferenceFeatureOptions {
  db: DatabaseSync;
  prompts: ConferencePrompts;
  log: Logger;
  /**
   * Who else holds a number (an extension, another feature), for refusing a room on it with 409;
   * undefined when it is free.
   */
  numberInUse?(number: string): string | undefined;
  pinAttempts?: number;
  pinTimeoutMs?: number;
}

/** The conference feature; `store` and `rooms` (live state) are exposed for the appliance and tests. */
export function conferenceFeature(
  options: ConferenceFeatureOptions,
): FeatureModule & { store: ConferenceStore; rooms: Rooms } {
  const { log } = options;
  const store = createConferenceStore(options.db);
  const rooms = new Rooms(log);
  /** The call-control API (merging a phone-to-phone call into a room). */
  let calls: Calls | undefined;
  let claims: Claim[] | undefined;
  const numbers = () =>
    claims ??= store.list().map((r) => ({
      pattern: r.number,
      owner: { kind: "conference" as const, id: r.number, label: `conference room ${r.number} "${r.name}"` },
      purpose: "conference room",
    }));
  const deps: ConferenceDeps = {
    store,
    rooms,
    prompts: options.prompts,
    log,
    ...(options.pinAttempts !== undefined ? { pinAttempts: options.pinAttempts } : {}),
    ...(options.pinTimeoutMs !== undefined ? { pinTimeoutMs: options.pinTimeoutMs } : {}),
  };
  /** A room for the API: its configuration and how many are in it now. */
  const view = (r: ConferenceRoom) => ({
    ...r,
    participants: rooms.count(r.number),
    locked: rooms.isLocked(r.number),
  });

  return {
    name: "conference",
    store,
    rooms,
    migrations: [m065],
    numbers,
    routing: {
      routeFor(match: PlanMatch): Route | undefined {
        if (match.claim.owner.kind !== "conference") return undefined;
        return {
          steps: [{
            destination: { kind: "application", name: "conference", args: { room: match.claim.owner.id } },
          }],
        };
      },
    },
    applications: [conferenceApplication(deps)],
    useCalls(c) {
      calls = c;
    },
    web: {
      openapi,
      pages: [{
        path: "/conference",
        title: "Conference",
        script: new URL("./web/conference.js", import.meta.url),
        render: ({ html, dataTable }) =>
          html`
            <p id="conf-status" role="status">Connecting…</p>
            <h2>Rooms</h2>
            ${dataTable("conf-rooms", ["Number", "Name", "PIN", "Limit", "In the room", "Lock", ""])}
            <p id="conf-rooms-empty" hidden>No rooms yet.</p>
            <h2>Participants</h2>
            ${dataTable("conf-people", ["Room", "Caller", "Codec", "Role", "Talking", "Muted", ""])}
            <p id="conf-people-empty">Nobody is in a conference.</p>
            <form id="conf-form" class="stack card">
              <h3>New room</h3>
              <label for="conf-number">Number</label>
              <input id="conf-number" name="number" required pattern="[0-9*#]{1,16}" autocomplete="off">
              <label for="conf-name">Name</label>
              <input id="conf-name" name="name" autocomplete="off">
              <label for="conf-pin">PIN (digits; empty: none)</label>
              <input id="conf-pin" name="pin" inputmode="numeric" pattern="[0-9]{0,12}" autocomplete="off">
              <label for="conf-modpin">Moderator PIN (digits; empty: none)</label>
              <input id="conf-modpin" name="moderatorPin" inputmode="numeric" pattern="[0-9]{0,12}" autocomplete="off">
              <label for="conf-max">Participant limit</label>
              <input id="conf-max" name="maxParticipants" type="number" min="2" max="100" value="30">
              <div class="buttons"><button type="submit">Save room</button></div>
            </form>
          `,
      }],
      routes(api: Hono<FeatureWebEnv>, kit: FeatureWebKit) {
        const roomOf = (c: Context<FeatureWebEnv>) => {
          const r = store.get(c.req.param("number") ?? "");
          if (r === undefined) {
            kit.fail(404, `no conference room ${JSON.stringify(c.req.param("number")?.slice(0, 20))}`);
          }
          return r;
        };
        const json = async (c: Context<FeatureWebEnv>): Promise<Record<string, unknown>> => {
          const bytes = await kit.readBody(c, 16 * 1024);
          try {
            const v = bytes.length === 0 ? {} : JSON.parse(new TextDecoder().decode(bytes));
            if (v === null || typeof v !== "object" || Array.isArray(v)) throw new TypeError();
            return v as Record<string, unknown>;
          } catch {
            kit.fail(400, "the body must be a JSON object");
          }
        };
        const flag = (body: Record<string, unknown>, key: string): boolean => {
          const v = body[key];
          if (typeof v !== "boolean") kit.fail(400, `${key} must be true or false`);
          return v;
        };
        api.use("/conference/*", kit.requireAdmin);
        // Three-way calling: both parties of an answered phone-to-phone call join a room.
        api.post("/calls/:id/merge", kit.requireAdmin, async (c) => {
          const body = await json(c);
          if (typeof body.room !== "string" || body.room === "") kit.fail(400, "room must be a room number");
          const room = store.get(body.room);
          if (room === undefined) {
            kit.fail(404, `no conference room ${JSON.stringify(body.room.slice(0, 20))}`);
          }
          if (calls === undefined) kit.fail(503, "the call engine is not running");
          const callId = c.req.param("id");
          let parties: string[];
          try {
            parties = await mergeCall(deps, calls, callId, room);
          } catch (e) {
            if (e instanceof MergeRefused) kit.fail(e.status, e.message);
            throw e;
          }
          kit.audit(c, "conference.merge", `${callId} ${room.number}`);
          return c.json({ merged: parties, ...rooms.state(room.number) });
        });
        api.get("/conference/rooms", (c) => c.json({ rooms: store.list().map(view) }));
        api.get("/conference/rooms/:number", (c) => c.json(view(roomOf(c))));
        api.put("/conference/rooms/:number", async (c) => {
          const body = await json(c);
          let room: ConferenceRoom;
          try {
            room = checkRoom({ ...body, number: c.req.param("number") });
          } catch (e) {
            kit.fail(400, (e as Error).message);
          }
          if (store.get(room.number) === undefined) {
            const other = options.numberInUse?.(room.number);
            if (other !== undefined) kit.fail(409, `number ${room.number} is taken by ${other}`);
          }
          store.put(room);
          claims = undefined;
          kit.audit(c, "conference.room", room.number);
          return c.json(view(room));
        });
        api.delete("/conference/rooms/:number", (c) => {
          const room = roomOf(c);
          if (rooms.count(room.number) > 0) kit.fail(409, `room ${room.number} has participants`);
          store.delete(room.number);
          claims = undefined;
          kit.audit(c, "conference.room.delete", room.number);
          return c.body(null, 204);
        });
        api.get("/conference/rooms/:number/participants", (c) => c.json(rooms.state(roomOf(c).number)));
        api.post("/conference/rooms/:number/lock", async (c) => {
          const room = roomOf(c);
          const locked = flag(await json(c), "locked");
          rooms.setLocked(room.number, locked);
          kit.audit(c, locked ? "conference.lock" : "conference.unlock", room.number);
          return c.json(rooms.state(room.number));
        });
        api.post("/conference/rooms/:number/participants/:id/mute", async (c) => {
          const room = roomOf(c);
          const muted = flag(await json(c), "muted");
          const id = c.req.param("id");
          try {
            await rooms.setMuted(room.number, id, muted);
          } catch (e) {
            if (e instanceof RangeError) kit.fail(404, e.message);
            throw e;
          }
          kit.audit(c, muted ? "conference.mute" : "conference.unmute", `${room.number} ${id}`);
          return c.json(rooms.state(room.number));
        });
        api.post("/conference/rooms/:number/participants/:id/kick", (c) => {
          const room = roomOf(c);
          const id = c.req.param("id");
          try {
            rooms.kick(room.number, id);
          } catch (e) {
            if (e instanceof RangeError) kit.fail(404, e.message);
            throw e;
          }
          kit.audit(c, "conference.kick", `${room.number} ${id}`);
          return c.json({ kicked: id });
        });
        // Live state of every room over SSE: a "rooms" event with all rooms on each change.
        api.get("/conference/events", (c) => {
          const enc = new TextEncoder();
          let stop = () => {};
          const body = new ReadableStream<Uint8Array>({
            start(ctl) {
              const send = () => {
                try {
                  ctl.enqueue(
                    enc.encode(`event: rooms\ndata: ${JSON.stringify({ rooms: rooms.active() })}\n\n`),
                  );
                } catch {
                  stop();
                }
              };
              let pending: ReturnType<typeof setTimeout> | undefined;
              const off = rooms.onChange(() => {
                // Coalesce bursts (several talking changes in one round) into one event.
                pending ??= setTimeout(() => {
                  pending = undefined;
                  send();
                }, 100);
              });
              const beat = setInterval(() => {
                try {
                  ctl.enqueue(enc.encode(": keep-alive\n\n"));
                } catch {
                  stop();
                }
              }, 15_000);
              stop = () => {
                off();
                clearInterval(beat);
                if (pending !== undefined) clearTimeout(pending);
              };
              ctl.enqueue(enc.encode("retry: 3000\n\n"));
              send();
            },
            cancel() {
              stop();
            },
          });
          return c.body(body, 200, {
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
          });
        });
      },
    },
  };
}
