/** OpenAPI path entries of the voicemail routes (merged into /api/openapi.json). */

const mailbox = { name: "mailbox", in: "path", required: true, schema: { type: "string" } };
const id = { name: "id", in: "path", required: true, schema: { type: "integer" } };
const kind = {
  name: "kind",
  in: "path",
  required: true,
  schema: { type: "string", enum: ["unavailable", "busy", "name", "temporary"] },
};
const err = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, { description: `error ${c} with {error: message}` }]));
const json = (description: string) => ({ description, content: { "application/json": {} } });
const body = (properties: Record<string, unknown>) => ({
  required: true,
  content: { "application/json": { schema: { type: "object", properties } } },
});

/** The entries, keyed by path. */
export const openapi: Readonly<Record<string, unknown>> = {
  "/api/voicemail/settings": {
    get: {
      summary: "Voicemail settings (admin): {operator}",
      responses: { 200: json("{operator}"), ...err(401, 403) },
    },
    put: {
      summary: "Set where 0 during a greeting leads (an extension, group, IVR menu; null: nowhere)",
      requestBody: body({ operator: { type: ["string", "null"] } }),
      responses: { 200: json("{operator}"), ...err(400, 401, 403) },
    },
  },
  "/api/voicemail/mailboxes": {
    get: {
      summary: "Voicemail mailboxes with their counts (admins: all; users: their own)",
      responses: { 200: json("{mailboxes}"), ...err(401) },
    },
  },
  "/api/voicemail/mailboxes/{mailbox}": {
    parameters: [mailbox],
    get: {
      summary: "A mailbox's settings and counts",
      responses: { 200: json("Mailbox"), ...err(401, 403, 404) },
    },
    put: {
      summary:
        "Change mailbox settings (enabled, maxMessages, maxMessageSeconds: admin; email: owner or admin)",
      requestBody: body({
        enabled: { type: "boolean" },
        email: { type: ["string", "null"] },
        maxMessages: { type: "integer", minimum: 1 },
        maxMessageSeconds: { type: "integer", minimum: 1 },
      }),
      responses: { 200: json("Mailbox"), ...err(400, 401, 403, 404, 413) },
    },
  },
  "/api/voicemail/mailboxes/{mailbox}/pin": {
    parameters: [mailbox],
    put: {
      summary: "Set (reset) the mailbox PIN, 4-10 digits; clears a lockout",
      requestBody: body({ pin: { type: "string", pattern: "^[0-9]{4,10}$" } }),
      responses: { 200: json("Mailbox"), ...err(400, 401, 403, 404) },
    },
  },
  "/api/voicemail/mailboxes/{mailbox}/messages": {
    parameters: [mailbox],
    get: {
      summary: "Messages: id, caller, receivedAt, durationMs, read, folder; with the counts",
      responses: { 200: json("{newMessages, oldMessages, messages}"), ...err(401, 403, 404) },
    },
  },
  "/api/voicemail/mailboxes/{mailbox}/greetings/{kind}": {
    parameters: [mailbox, kind],
    put: {
      summary: "Upload a greeting (WAV: PCM16, mu-law or A-law, any rate and channels; at most 3 min)",
      requestBody: { required: true, content: { "audio/wav": {} } },
      responses: {
        200: json("{mailbox, kind, durationMs, sampleRate}"),
        ...err(400, 401, 403, 404, 413, 415),
      },
    },
    post: {
      summary:
        "Upload a greeting (as PUT) (WAV: PCM16, mu-law or A-law, any rate and channels; at most 3 min)",
      requestBody: { required: true, content: { "audio/wav": {} } },
      responses: {
        200: json("{mailbox, kind, durationMs, sampleRate}"),
        ...err(400, 401, 403, 404, 413, 415),
      },
    },
    delete: {
      summary: "Remove a greeting",
      responses: { 204: { description: "removed" }, ...err(401, 403, 404) },
    },
  },
  "/api/voicemail/messages/{id}/audio": {
    parameters: [id, { name: "download", in: "query", schema: { type: "string", enum: ["1"] } }],
    get: {
      summary: "The message's WAV (download=1: as an attachment)",
      responses: { 200: { description: "audio/wav", content: { "audio/wav": {} } }, ...err(401, 403, 404) },
    },
  },
  "/api/voicemail/messages/{id}": {
    parameters: [id],
    patch: {
      summary: "Mark read or unread (MWI counts follow)",
      requestBody: body({ read: { type: "boolean" } }),
      responses: { 200: json("Message"), ...err(400, 401, 403, 404) },
    },
    delete: {
      summary: "Delete the message and its audio (MWI counts follow)",
      responses: { 204: { description: "deleted" }, ...err(401, 403, 404) },
    },
  },
};
