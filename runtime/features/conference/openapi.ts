/** OpenAPI path entries of the conference feature (admin only). */
const num = { name: "number", in: "path", required: true, schema: { type: "string" } };
const pid = { name: "id", in: "path", required: true, schema: { type: "string" } };

/** Merged into /api/openapi.json by the web layer. */
export const openapi: Readonly<Record<string, unknown>> = {
  "/api/conference/rooms": {
    get: {
      summary: "Conference rooms with their live participant count and lock (admin)",
      responses: { 200: { description: "{rooms}" } },
    },
  },
  "/api/conference/rooms/{number}": {
    parameters: [num],
    get: { summary: "One room", responses: { 200: { description: "room" }, 404: { description: "none" } } },
    put: {
      summary:
        "Create or replace a room: {name?, pin?, moderatorPin?, maxParticipants? (2-100), tones?, announceCount?}",
      responses: {
        200: { description: "room" },
        400: { description: "what is wrong" },
        409: { description: "the number is taken" },
      },
    },
    delete: {
      summary: "Delete a room",
      responses: {
        204: { description: "deleted" },
        404: { description: "none" },
        409: { description: "in use" },
      },
    },
  },
  "/api/conference/rooms/{number}/participants": {
    parameters: [num],
    get: {
      summary:
        "Who is in the room: {number, locked, participants: [{id, caller, codec, joinedAt, muted, talking, moderator}]}",
      responses: { 200: { description: "live state" }, 404: { description: "no such room" } },
    },
  },
  "/api/conference/rooms/{number}/lock": {
    parameters: [num],
    post: {
      summary: "Lock or unlock the room: {locked} (a locked room admits moderators only)",
      responses: { 200: { description: "live state" }, 400: { description: "bad body" } },
    },
  },
  "/api/conference/rooms/{number}/participants/{id}/mute": {
    parameters: [num, pid],
    post: {
      summary: "Mute or unmute a participant: {muted}",
      responses: { 200: { description: "live state" }, 404: { description: "no such participant" } },
    },
  },
  "/api/conference/rooms/{number}/participants/{id}/kick": {
    parameters: [num, pid],
    post: {
      summary: "End a participant's call",
      responses: { 200: { description: "{kicked}" }, 404: { description: "no such participant" } },
    },
  },
  "/api/calls/{id}/merge": {
    parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
    post: {
      summary:
        "Merge an answered phone-to-phone call (its id from GET /api/calls) into a conference room: {room}; both parties join it",
      responses: {
        200: { description: "{merged: [the two extensions], number, locked, participants}" },
        400: { description: "no room in the body" },
        404: { description: "no such room or no such answered call" },
        409: { description: "room locked or full, or the call cannot be taken now" },
      },
    },
  },
  "/api/conference/events": {
    get: {
      summary: "Server-sent events: `rooms` with every active room's live state on each change",
      responses: { 200: { description: "text/event-stream" } },
    },
  },
};
