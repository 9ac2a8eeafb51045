/** OpenAPI path entries of the call-features routes (merged into /api/openapi.json). */

const ext = { name: "ext", in: "path", required: true, schema: { type: "string" } };
const number = { name: "number", in: "path", required: true, schema: { type: "string" } };
const err = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, { description: `error ${c} with {error: message}` }]));
const json = (description: string) => ({ description, content: { "application/json": {} } });
const body = (properties: Record<string, unknown>) => ({
  required: true,
  content: { "application/json": { schema: { type: "object", properties } } },
});
const target = { type: ["string", "null"], description: "a number in the plan; null or empty: off" };

/** The entries, keyed by path. */
export const openapi: Readonly<Record<string, unknown>> = {
  "/api/callfeatures/extensions": {
    get: {
      summary: "Forwarding and DND of every extension (users: their own)",
      responses: { 200: json("{items: ExtensionFeatures[]}"), ...err(401) },
    },
  },
  "/api/callfeatures/extensions/{ext}": {
    parameters: [ext],
    get: {
      summary: "An extension's forwarding and DND",
      responses: { 200: json("ExtensionFeatures"), ...err(401, 403, 404) },
    },
    put: {
      summary:
        "Set forwarding (always, busy, no answer with its ring seconds) and DND; a target not in the number plan is 404, forwarding to itself 400, a loop of unconditional forwards 409",
      requestBody: body({
        forwardAlways: target,
        forwardBusy: target,
        forwardNoAnswer: target,
        noAnswerSeconds: { type: ["integer", "null"], minimum: 1, maximum: 300 },
        dnd: { type: "boolean" },
      }),
      responses: { 200: json("ExtensionFeatures"), ...err(400, 401, 403, 404, 409) },
    },
  },
  "/api/callfeatures/blf": {
    get: {
      summary:
        "Every extension's state for the dashboard's BLF board: idle, ringing, busy, dnd, away or offline (admin)",
      responses: { 200: json("{items: [{extension, state}]}"), ...err(401, 403) },
    },
  },
  "/api/callfeatures/time-conditions": {
    get: {
      summary: "Time conditions with whether each is open now (state.open, state.why)",
      responses: { 200: json("{items}"), ...err(401, 403) },
    },
  },
  "/api/callfeatures/time-conditions/{number}": {
    parameters: [number],
    get: { summary: "A time condition", responses: { 200: json("TimeCondition"), ...err(401, 403, 404) } },
    put: {
      summary:
        "Create or change a time condition: its number (409 when taken), open/closed destinations (404 when not in the plan), weekly hours, holidays, time zone, mode",
      requestBody: body({
        name: { type: "string" },
        openDestination: { type: "string" },
        closedDestination: { type: "string" },
        hours: {
          type: "array",
          items: {
            type: "object",
            properties: {
              days: { type: "array", items: { type: "integer", minimum: 1, maximum: 7 } },
              from: { type: "string", pattern: "^[0-2][0-9]:[0-5][0-9]$" },
              to: { type: "string", pattern: "^[0-2][0-9]:[0-5][0-9]$" },
            },
          },
        },
        holidays: {
          type: "array",
          items: {
            type: "object",
            properties: { date: { type: "string", format: "date" }, name: { type: "string" } },
          },
        },
        timeZone: { type: ["string", "null"] },
        mode: { type: "string", enum: ["auto", "open", "closed"] },
      }),
      responses: { 200: json("TimeCondition"), ...err(400, 401, 403, 404, 409) },
    },
    delete: {
      summary: "Delete a time condition",
      responses: { 200: json("{deleted}"), ...err(401, 403, 404) },
    },
  },
  "/api/callfeatures/time-conditions/{number}/mode": {
    parameters: [number],
    put: {
      summary: "Night mode: auto (follow hours), open, closed, or toggle (closed <-> auto)",
      requestBody: body({ mode: { type: "string", enum: ["auto", "open", "closed", "toggle"] } }),
      responses: { 200: json("TimeCondition"), ...err(400, 401, 403, 404) },
    },
  },
};
