/**
 * The OpenAPI 3.1 description of the REST API, served at GET /api/openapi.json. Hand-written;
 * openapi_test.ts fails when a route exists in the app but not here (or the other way round).
 */

type Json = Record<string, unknown>;

const err = { $ref: "#/components/responses/Error" };
const ok = (description: string, schema: Json = { type: "object" }, type = "application/json"): Json => ({
  description,
  content: { [type]: { schema } },
});
const jsonBody = (schema: Json): Json => ({ required: true, content: { "application/json": { schema } } });
const pathParam = (name: string, pattern: string): Json => ({
  name,
  in: "path",
  required: true,
  schema: { type: "string", pattern },
});
const query = (name: string, schema: Json, description?: string): Json => ({
  name,
  in: "query",
  required: false,
  schema,
  ...(description === undefined ? {} : { description }),
});

const number = pathParam("number", "^[0-9]{2,8}$");
const mac = pathParam("mac", "^([0-9A-Fa-f]{2}[:-]?){5}[0-9A-Fa-f]{2}$");
const templateKey = pathParam("key", "^[a-z0-9.]+$");
const username = pathParam("username", "^[a-z0-9][a-z0-9._-]{0,31}$");
const list = (item: Json): Json => ({
  type: "object",
  properties: { items: { type: "array", items: item } },
  required: ["items"],
});
const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const errors = (...codes: number[]): Json => Object.fromEntries(codes.map((c) => [String(c), err]));

const cdrFilters = [
  query("from", { type: "string" }, "epoch ms or ISO 8601"),
  query("to", { type: "string" }, "epoch ms or ISO 8601"),
  query("extension", { type: "string", pattern: "^[0-9]{2,8}$" }),
  query("disposition", { type: "string", enum: ["answered", "no-answer", "busy", "failed", "cancelled"] }),
  query("limit", { type: "integer", minimum: 1, maximum: 100000 }),
  query("offset", { type: "integer", minimum: 0 }),
];

/** The OpenAPI document. */
export const OPENAPI: Json = {
  openapi: "3.1.0",
  info: {
    title: "PBX appliance API",
    version: "1.0.0",
    description: "Authenticate with `Authorization: Bearer <token>` from POST /api/auth/login, or with the " +
      "session cookie set by POST /api/auth/login {cookie: true}. Cookie-authenticated POST/PUT/DELETE " +
      "requests need the X-CSRF-Token header (the csrfToken from login, or the page's csrf-token meta tag). " +
      "Errors are `{error: string}`.",
  },
  servers: [{ url: "/" }],
  security: [{ bearer: [] }, { cookie: [] }],
  components: {
    securitySchemes: {
      bearer: { type: "http", scheme: "bearer" },
      cookie: { type: "apiKey", in: "cookie", name: "pbx_session" },
    },
    responses: {
      Error: {
        description: "Error",
        content: {
          "application/json": {
            schema: { type: "object", properties: { error: { type: "string" } }, required: ["error"] },
          },
        },
      },
    },
    schemas: {
      MailboxSummary: {
        type: "object",
        properties: {
          mailbox: { type: "string" },
          newMessages: { type: "integer" },
          oldMessages: { type: "integer" },
          urgentNew: { type: "integer" },
          urgentOld: { type: "integer" },
          notified: { type: "integer", description: "subscriptions told (PUT only)" },
        },
        required: ["mailbox", "newMessages", "oldMessages"],
      },
      ProvisioningSecurity: {
        type: "object",
        properties: {
          requireWindow: { type: "boolean" },
          windowMinutes: { type: "integer", minimum: 1, maximum: 1440 },
          phonebookNetworks: { type: "array", items: { type: "string" }, maxItems: 64 },
        },
      },
      HostState: {
        type: "object",
        properties: {
          mode: { enum: ["systemd", "none"] },
          hostname: { type: ["string", "null"] },
          timezone: { type: ["string", "null"] },
          ntp: {
            type: "object",
            properties: {
              servers: { type: "array", items: { type: "string" } },
              synchronized: { type: ["boolean", "null"] },
            },
          },
          interfaces: {
            type: "array",
            items: {
              type: "object",
              properties: {
                name: { type: "string" },
                mac: { type: ["string", "null"] },
                addresses: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: {
                      address: { type: "string" },
                      prefix: { type: "integer" },
                      dynamic: { type: ["boolean", "null"], description: "DHCP lease; null: unknown" },
                    },
                  },
                },
              },
            },
          },
          bootId: { type: ["string", "null"] },
          pendingNetwork: {
            oneOf: [{ type: "null" }, {
              type: "object",
              properties: { confirmBy: { type: "integer" }, settings: ref("NetworkSettings") },
            }],
          },
        },
        required: ["mode", "hostname", "timezone", "ntp", "interfaces", "bootId", "pendingNetwork"],
      },
      FirmwareStaged: {
        type: "object",
        properties: {
          version: { type: "string" },
          slot: { enum: ["a", "b"] },
          stagedAt: { type: "integer", description: "epoch ms" },
          stagedBy: { type: "string" },
        },
        required: ["version", "slot", "stagedAt", "stagedBy"],
      },
      FirmwareInfo: {
        type: "object",
        properties: {
          version: { type: "string", description: "the running version" },
          slot: {
            enum: ["a", "b", null],
            description: "the A/B slot the box runs from; null on a dev install",
          },
          updatable: { type: "boolean" },
          reason: { type: "string", description: "why updates are refused, when updatable is false" },
          staged: { oneOf: [ref("FirmwareStaged"), { type: "null" }] },
          trial: {
            oneOf: [{
              type: "object",
              properties: { version: { type: "string" }, attempts: { type: "integer" } },
              description: "a switched-to version not yet confirmed healthy; attempts counts its restarts",
            }, { type: "null" }],
          },
          lastResult: {
            oneOf: [{
              type: "object",
              properties: {
                result: { enum: ["ok", "rolled-back"] },
                version: { type: "string" },
                at: { type: "integer", description: "epoch s" },
              },
            }, { type: "null" }],
          },
        },
        required: ["version", "slot", "updatable", "staged", "trial", "lastResult"],
      },
      StagedRestore: {
        type: "object",
        properties: {
          staged: { type: "boolean" },
          applyOn: { const: "restart" },
          bytes: { type: "integer" },
          stagedAt: { type: ["integer", "null"], description: "epoch ms" },
          stagedBy: { type: ["string", "null"] },
          schemaVersion: { type: ["integer", "null"], description: "null when no deep check ran" },
        },
        required: ["staged"],
      },
      Extension: {
        type: "object",
        properties: {
          number: { type: "string" },
          name: { type: "string" },
          realm: { type: "string" },
          options: { type: "object" },
          createdAt: { type: "integer" },
          updatedAt: { type: "integer" },
        },
      },
      Registration: {
        type: "object",
        properties: {
          extension: { type: "string" },
          contact: { type: "string" },
          expiresAt: { type: "integer" },
          expiresInSec: { type: "integer" },
          source: { type: "object" },
          userAgent: { type: ["string", "null"] },
          updatedAt: { type: ["integer", "null"] },
        },
      },
      LiveCall: {
        type: "object",
        properties: {
          id: { type: "string" },
          caller: { type: "string" },
          callee: { type: "string" },
          state: { type: "string" },
          startedAt: { type: "integer" },
          answeredAt: { type: "integer" },
          trunk: { type: "string" },
          callerDialog: ref("SideDialog"),
          calleeDialog: ref("SideDialog"),
        },
      },
      SideDialog: {
        type: "object",
        description: "A side's SIP dialog with the box (what the dialog event package shows for BLF pickup)",
        properties: {
          callId: { type: "string" },
          boxTag: { type: "string" },
          phoneTag: { type: "string", description: "absent until the phone sent a tag" },
        },
      },
      User: {
        type: "object",
        properties: {
          username: { type: "string" },
          role: { enum: ["admin", "user"] },
          extension: { type: ["string", "null"] },
          hasPassword: { type: "boolean" },
          createdAt: { type: "integer" },
          passwordChangedAt: { type: ["integer", "null"] },
        },
      },
      NetworkSettings: {
        type: "object",
        required: ["mode", "hostname"],
        properties: {
          mode: { enum: ["dhcp", "static"] },
          hostname: { type: "string" },
          address: { type: "string", format: "ipv4" },
          prefix: { type: "integer", minimum: 1, maximum: 32 },
          gateway: { type: "string", format: "ipv4" },
          dns: { type: "array", items: { type: "string", format: "ipv4" }, maxItems: 3 },
        },
      },
      TimeSettings: {
        type: "object",
        required: ["timezone", "ntpServers"],
        properties: {
          timezone: { type: "string" },
          ntpServers: { type: "array", items: { type: "string" }, maxItems: 4 },
        },
      },
      Phone: {
        type: "object",
        properties: {
          mac: { type: "string" },
          vendor: {
            type: ["string", "null"],
            enum: ["yealink", "polycom", "cisco", "grandstream", "zultys", null],
          },
          model: { type: ["string", "null"] },
          extension: { type: ["string", "null"] },
          lineKeys: { type: "array", items: { type: "object" } },
          provisioningOpenUntil: { type: ["integer", "null"] },
          httpUser: { type: ["string", "null"] },
          hasHttpPassword: { type: "boolean" },
          status: { enum: ["discovered", "assigned"] },
          lastFetch: { type: ["object", "null"] },
          lastRegister: { type: ["object", "null"] },
          createdAt: { type: "integer" },
          updatedAt: { type: "integer" },
        },
      },
      PhoneInput: {
        type: "object",
        properties: {
          vendor: { type: ["string", "null"] },
          model: { type: ["string", "null"] },
          extension: { type: ["string", "null"], pattern: "^[0-9]{2,8}$" },
          lineKeys: {
            type: "array",
            maxItems: 64,
            items: {
              type: "object",
              required: ["type", "value"],
              properties: {
                type: { enum: ["blf", "speeddial", "park"] },
                value: { type: "string" },
                label: { type: "string" },
              },
            },
          },
          httpUser: { type: ["string", "null"] },
          httpPassword: { type: ["string", "null"], writeOnly: true },
        },
      },
      Template: {
        type: "object",
        properties: {
          key: { type: "string" },
          vendor: { type: "string" },
          kind: { type: "string" },
          contentType: { type: "string" },
          overridden: { type: "boolean" },
          updatedAt: { type: ["integer", "null"] },
          shippedChanged: { type: "boolean" },
          shippedHash: { type: "string" },
        },
      },
      Contact: {
        type: "object",
        properties: {
          id: { type: "integer" },
          name: { type: "string" },
          number: { type: "string" },
          group: { type: ["string", "null"] },
        },
      },
      PagingZone: {
        type: "object",
        properties: {
          number: { type: "string", pattern: "^[0-9]{1,8}$" },
          name: { type: "string" },
          alsaDevice: { type: ["string", "null"] },
          channels: { type: "array", items: { type: "integer" } },
          volume: { type: "integer", minimum: 0, maximum: 100 },
          preTone: { type: ["string", "null"] },
          postTone: { type: ["string", "null"] },
          ampLine: { type: ["string", "null"] },
          leadMs: { type: "integer" },
          tailMs: { type: "integer" },
          maxPageSec: {
            type: "integer",
            minimum: 0,
            maximum: 86400,
            description: "longest page from a phone in seconds (default 300, 0 = no limit)",
          },
          multicast: { type: ["object", "null"] },
          enabled: { type: "boolean" },
        },
      },
      PagingGroup: {
        type: "object",
        properties: {
          number: { type: "string" },
          name: { type: "string" },
          zones: { type: "array", items: { type: "string" } },
        },
      },
      PagingSchedule: {
        type: "object",
        properties: {
          id: { type: "integer" },
          name: { type: "string" },
          target: { type: "string" },
          wavPath: { type: "string" },
          weekdays: { type: "array", items: { type: "integer", minimum: 1, maximum: 7 } },
          time: { type: "string", pattern: "^([01][0-9]|2[0-3]):[0-5][0-9]$" },
          exceptions: { type: "array", items: { type: "string", format: "date" } },
          enabled: { type: "boolean" },
        },
      },
      SmtpSettings: {
        type: "object",
        required: ["host", "port", "security", "from"],
        properties: {
          host: { type: "string" },
          port: { type: "integer" },
          security: { enum: ["none", "starttls", "tls"] },
          username: { type: "string" },
          password: { type: "string", writeOnly: true },
          from: { type: "string" },
        },
      },
    },
  },
  paths: {
    "/api/health": {
      get: {
        summary: "Listener health (no auth)",
        security: [],
        responses: { 200: ok("All up"), 503: ok("Something is down") },
      },
    },
    "/api/openapi.json": {
      get: { summary: "This document (no auth)", security: [], responses: { 200: ok("OpenAPI 3.1") } },
    },
    "/api/setup": {
      get: {
        summary: "Whether first-boot setup is needed; while it is, the box's addresses (no auth)",
        security: [],
        responses: { 200: ok("Setup state") },
      },
      post: {
        summary: "First boot: set the admin password (no auth; only while none is set)",
        security: [],
        requestBody: jsonBody({
          type: "object",
          required: ["password"],
          properties: { password: { type: "string", minLength: 10 } },
        }),
        responses: { 201: ok("Set"), ...errors(400, 409, 415) },
      },
    },
    "/api/auth/login": {
      post: {
        summary: "Log in; a bearer token, or with cookie:true an HttpOnly session cookie plus csrfToken",
        security: [],
        requestBody: jsonBody({
          type: "object",
          required: ["username", "password"],
          properties: {
            username: { type: "string" },
            password: { type: "string" },
            cookie: { type: "boolean" },
          },
        }),
        responses: { 200: ok("Logged in"), ...errors(400, 401, 409, 415, 429) },
      },
    },
    "/api/auth/logout": {
      post: {
        summary: "End this session (and clear the cookie)",
        responses: { 200: ok("Logged out"), ...errors(401, 403) },
      },
    },
    "/api/auth/me": { get: { summary: "Who am I", responses: { 200: ok("The caller"), ...errors(401) } } },
    "/api/me": {
      get: {
        summary: "My extension, its registrations, voicemail availability",
        responses: { 200: ok("Me"), ...errors(401) },
      },
    },
    "/api/me/password": {
      put: {
        summary: "Change my web password (ends all my sessions)",
        requestBody: jsonBody({
          type: "object",
          required: ["currentPassword", "newPassword"],
          properties: { currentPassword: { type: "string" }, newPassword: { type: "string", minLength: 10 } },
        }),
        responses: { 200: ok("Changed"), ...errors(400, 401, 403) },
      },
    },
    "/api/extensions": {
      get: {
        summary: "List extensions (admin)",
        parameters: [
          query("search", { type: "string", maxLength: 64 }),
          query("limit", { type: "integer", minimum: 1, maximum: 1000 }),
          query("offset", { type: "integer", minimum: 0 }),
        ],
        responses: {
          200: ok("Extensions", {
            ...list(ref("Extension")),
            properties: { items: { type: "array", items: ref("Extension") }, total: { type: "integer" } },
          }),
          ...errors(400, 401, 403),
        },
      },
      post: {
        summary: "Create an extension (admin)",
        requestBody: jsonBody({
          type: "object",
          required: ["number", "name", "password"],
          properties: {
            number: { type: "string", pattern: "^[0-9]{2,8}$" },
            name: { type: "string" },
            password: { type: "string", minLength: 8, maxLength: 64 },
            options: { type: "object" },
          },
        }),
        responses: { 201: ok("Created", ref("Extension")), ...errors(400, 401, 403, 409, 413, 415) },
      },
    },
    "/api/extensions/{number}": {
      parameters: [number],
      get: {
        summary: "One extension (admin)",
        responses: { 200: ok("Extension", ref("Extension")), ...errors(400, 401, 403, 404) },
      },
      put: {
        summary:
          "Update name, SIP password (reset) or options (admin): options.srtp (off/offered/required), options.callGroups and options.pickupGroups (group names; *8 picks up calls ringing at extensions whose call groups meet the picker's pickup groups; absent: group 1), options.sipTransport (udp/tls: how provisioned phones connect) and options.srtpKeying (sdes/dtls: how SRTP toward its phones is keyed)",
        requestBody: jsonBody({
          type: "object",
          properties: { name: { type: "string" }, password: { type: "string" }, options: { type: "object" } },
        }),
        responses: { 200: ok("Updated", ref("Extension")), ...errors(400, 401, 403, 404) },
      },
      delete: {
        summary: "Delete (admin)",
        responses: { 204: { description: "Deleted" }, ...errors(400, 401, 403, 404) },
      },
    },
    "/api/registrations": {
      get: {
        summary: "Current registrations (admin)",
        parameters: [query("extension", { type: "string", pattern: "^[0-9]{2,8}$" })],
        responses: { 200: ok("Bindings", list(ref("Registration"))), ...errors(400, 401, 403) },
      },
    },
    "/api/calls": {
      get: {
        summary: "Calls in progress (admin)",
        responses: { 200: ok("Calls", list(ref("LiveCall"))), ...errors(401, 403) },
      },
    },
    "/api/cdr": {
      get: {
        summary: "Call records; users see only their own extension's",
        parameters: cdrFilters,
        responses: { 200: ok("Records"), ...errors(400, 401, 403) },
      },
    },
    "/api/cdr.csv": {
      get: {
        summary: "Call records as CSV (same filters)",
        parameters: cdrFilters,
        responses: { 200: ok("CSV", { type: "string" }, "text/csv"), ...errors(400, 401, 403) },
      },
    },
    "/api/events": {
      get: {
        summary: "Server-sent events (admin): registrations, calls (full lists) and zones (changed; refetch)",
        responses: { 200: ok("Event stream", { type: "string" }, "text/event-stream"), ...errors(401, 403) },
      },
    },
    "/api/users": {
      get: {
        summary: "Web users (admin)",
        responses: { 200: ok("Users", list(ref("User"))), ...errors(401, 403) },
      },
      post: {
        summary: "Create a web user (admin); role user needs an extension",
        requestBody: jsonBody({
          type: "object",
          required: ["username", "role", "password"],
          properties: {
            username: { type: "string" },
            role: { enum: ["admin", "user"] },
            extension: { type: "string" },
            password: { type: "string", minLength: 10 },
          },
        }),
        responses: { 201: ok("Created", ref("User")), ...errors(400, 401, 403, 409) },
      },
    },
    "/api/users/{username}": {
      parameters: [username],
      delete: {
        summary: "Delete a web user (admin)",
        responses: { 204: { description: "Deleted" }, ...errors(400, 401, 403, 404, 409) },
      },
    },
    "/api/users/{username}/password": {
      parameters: [username],
      put: {
        summary: "Reset a web user's password (admin); ends their sessions",
        requestBody: jsonBody({
          type: "object",
          required: ["password"],
          properties: { password: { type: "string" } },
        }),
        responses: { 200: ok("Reset"), ...errors(400, 401, 403, 404) },
      },
    },
    "/api/audit": {
      get: {
        summary: "Audit log, newest first (admin)",
        parameters: [
          query("limit", { type: "integer", minimum: 1, maximum: 1000 }),
          query("offset", { type: "integer", minimum: 0 }),
          query("action", { type: "string" }),
        ],
        responses: { 200: ok("Entries"), ...errors(400, 401, 403) },
      },
    },
    "/api/security/blocks": {
      get: {
        summary: "Blocked SIP sources, locked extensions, locked web addresses and accounts, each with " +
          "kind, key and blockedUntil (epoch ms) (admin)",
        responses: { 200: ok("Blocks: {items, sip}"), ...errors(401, 403) },
      },
    },
    "/api/security/blocks/{kind}/{key}": {
      delete: {
        summary: "Lift a block (admin; audited). kind: sip-source, sip-extension, web-address or web-account",
        parameters: [
          pathParam("kind", "^(sip-source|sip-extension|web-address|web-account)$"),
          { name: "key", in: "path", required: true, schema: { type: "string" } },
        ],
        responses: { 200: ok("Lifted"), ...errors(400, 401, 403, 404, 503) },
      },
    },
    "/api/security/events": {
      get: {
        summary: "The last 100 security events from the audit log (actions security.*), newest first (admin)",
        responses: { 200: ok("{items}"), ...errors(401, 403) },
      },
    },
    "/api/security/allow-list": {
      get: {
        summary: "Networks never blocked by source for SIP authentication (admin)",
        responses: { 200: ok("{networks}"), ...errors(401, 403) },
      },
      put: {
        summary: "Replace the allow-list (admin; audited): CIDR networks, IPv4 or IPv6, at most 64; " +
          "extension lockout still applies to them",
        requestBody: jsonBody({
          type: "object",
          properties: { networks: { type: "array", maxItems: 64, items: { type: "string" } } },
          required: ["networks"],
        }),
        responses: { 200: ok("The stored list, normalised"), ...errors(400, 401, 403, 415) },
      },
    },
    "/api/system/status": {
      get: {
        summary: "Uptime, load, memory, data-directory size, listener health (with health.files: the " +
          "open-file limit and descriptors in use), box addresses (admin)",
        responses: { 200: ok("Status"), ...errors(401, 403) },
      },
    },
    "/api/system/settings": {
      get: {
        summary: "Stored network, time and SMTP settings (admin)",
        responses: { 200: ok("Settings"), ...errors(401, 403) },
      },
    },
    "/api/system/settings/network": {
      put: {
        summary: "Store network settings and, on a box (PBX_HOST=systemd), apply them (admin). An applied " +
          "change is reverted unless POST /api/system/settings/network/confirm arrives before confirmBy. " +
          "400 also for a gateway outside the subnet or a network/broadcast address; 500 when the OS " +
          "refused the change (it is then taken back at once)",
        requestBody: jsonBody(ref("NetworkSettings")),
        responses: {
          200: ok("Stored; applied:true with confirmBy (epoch ms), or applied:false with a reason", {
            allOf: [ref("NetworkSettings"), {
              type: "object",
              properties: {
                applied: { type: "boolean" },
                confirmBy: { type: "integer" },
                reason: { type: "string" },
              },
              required: ["applied"],
            }],
          }),
          ...errors(400, 401, 403, 415, 500),
        },
      },
    },
    "/api/system/settings/network/confirm": {
      post: {
        summary: "Keep the network change waiting for confirmation (admin); 409 when none is waiting",
        responses: {
          200: ok("Confirmed", {
            type: "object",
            properties: { confirmed: { const: true }, settings: ref("NetworkSettings") },
          }),
          ...errors(401, 403, 409),
        },
      },
    },
    "/api/system/settings/time": {
      put: {
        summary: "Store time settings and, on a box (PBX_HOST=systemd), apply time zone and NTP servers " +
          "(admin); 400 for a zone the box has no zoneinfo file for",
        requestBody: jsonBody(ref("TimeSettings")),
        responses: {
          200: ok("Stored; applied says whether the OS got them, reason why not", {
            allOf: [ref("TimeSettings"), {
              type: "object",
              properties: { applied: { type: "boolean" }, reason: { type: "string" } },
              required: ["applied"],
            }],
          }),
          ...errors(400, 401, 403, 415, 500),
        },
      },
    },
    "/api/system/host": {
      get: {
        summary: "What the box's OS reports: hostname, time zone, NTP sync, interface addresses, boot id, " +
          "a network change waiting for confirmation (admin). Mode none: what the process can tell",
        responses: { 200: ok("Host state", ref("HostState")), ...errors(401, 403) },
      },
    },
    "/api/system/reboot": {
      post: {
        summary: "Reboot the box about a second after answering (admin); 409 when not a box install",
        responses: {
          202: ok("Scheduled", {
            type: "object",
            properties: { scheduled: { const: "reboot" }, at: { type: "integer" } },
          }),
          ...errors(401, 403, 409),
        },
      },
    },
    "/api/system/factory-reset": {
      post: {
        summary:
          "Factory reset (admin): erase the data directory (database, keys, settings) and reboot into " +
          'first boot; firmware slots are kept. Body {"confirm":"factory-reset"} or 400; 409 when not a box install',
        requestBody: jsonBody({
          type: "object",
          required: ["confirm"],
          properties: { confirm: { const: "factory-reset" } },
        }),
        responses: {
          202: ok("Scheduled", {
            type: "object",
            properties: { scheduled: { const: "factory-reset" }, at: { type: "integer" } },
          }),
          ...errors(400, 401, 403, 409),
        },
      },
    },
    "/api/system/restart": {
      post: {
        summary: "Restart the PBX service (not the box) about a second after answering (admin); 409 when " +
          "not a box install",
        responses: {
          202: ok("Scheduled", {
            type: "object",
            properties: { scheduled: { const: "restart" }, at: { type: "integer" } },
          }),
          ...errors(401, 403, 409),
        },
      },
    },
    "/api/system/settings/smtp": {
      put: {
        summary: "Store SMTP settings (admin); omit password to keep it",
        requestBody: jsonBody(ref("SmtpSettings")),
        responses: { 200: ok("Stored"), ...errors(400, 401, 403) },
      },
    },
    "/api/system/backup": {
      get: {
        summary: "Download a consistent copy of the database (admin)",
        responses: {
          200: ok("SQLite file", { type: "string", format: "binary" }, "application/vnd.sqlite3"),
          ...errors(401, 403),
        },
      },
    },
    "/api/system/restore": {
      get: {
        summary: "Whether a restore is staged for the next start (admin)",
        responses: { 200: ok("Staged restore", ref("StagedRestore")), ...errors(401, 403) },
      },
      post: {
        summary:
          "Upload a backup (raw SQLite file) and stage it; it replaces the database at the next start " +
          "(admin; own size limit, default 256 MiB)",
        requestBody: {
          required: true,
          content: {
            "application/octet-stream": { schema: { type: "string", format: "binary" } },
            "application/vnd.sqlite3": { schema: { type: "string", format: "binary" } },
          },
        },
        responses: { 202: ok("Staged", ref("StagedRestore")), ...errors(400, 401, 403, 413, 415) },
      },
      delete: {
        summary: "Cancel a staged restore (admin)",
        responses: {
          200: ok("Cancelled", {
            type: "object",
            properties: { staged: { const: false }, cancelled: { type: "boolean" } },
          }),
          ...errors(401, 403),
        },
      },
    },
    "/api/system/firmware": {
      get: {
        summary: "Running firmware version and slot, staged update, trial, last update result (admin; " +
          "503 when the build has no firmware update)",
        responses: { 200: ok("Firmware state", ref("FirmwareInfo")), ...errors(401, 403, 503) },
      },
      post: {
        summary: "Upload a signed firmware bundle (.pbxfw) as the raw body; it is verified (Ed25519 " +
          "signature, product, arch, payload SHA-256), unpacked into the inactive slot and switched to " +
          "at the next start, with automatic rollback if it does not come up healthy (admin; own size " +
          "limit, default 1 GiB). 400 bad signature or corrupt bundle or wrong product/arch; 409 not " +
          "updatable (dev install, a trial running, another upload) or not newer than the running " +
          "version unless allowDowngrade=1; 413 too large; 415 wrong content type",
        parameters: [
          query("allowDowngrade", { enum: ["0", "1", "true", "false"] }, "install an older or equal version"),
        ],
        requestBody: {
          required: true,
          content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
        },
        responses: {
          202: ok("Staged", {
            type: "object",
            properties: { staged: ref("FirmwareStaged"), applyOn: { const: "restart" } },
            required: ["staged", "applyOn"],
          }),
          ...errors(400, 401, 403, 409, 413, 415, 503),
        },
      },
      delete: {
        summary: "Cancel a staged firmware update (admin)",
        responses: {
          200: ok("Cancelled", {
            type: "object",
            properties: { staged: { type: "null" }, cancelled: { type: "boolean" } },
          }),
          ...errors(401, 403, 503),
        },
      },
    },
    "/api/phones": {
      get: {
        summary: "Discovered and assigned phones (admin)",
        parameters: [query("status", { enum: ["discovered", "assigned"] })],
        responses: {
          200: ok("Phones", {
            type: "object",
            properties: { items: { type: "array", items: ref("Phone") }, total: { type: "integer" } },
          }),
          ...errors(400, 401, 403),
        },
      },
      post: {
        summary: "Add a phone by MAC (admin)",
        requestBody: jsonBody({
          allOf: [ref("PhoneInput"), {
            type: "object",
            required: ["mac"],
            properties: { mac: { type: "string" } },
          }],
        }),
        responses: { 201: ok("Created", ref("Phone")), ...errors(400, 401, 403, 409) },
      },
    },
    "/api/phones/{mac}": {
      parameters: [mac],
      get: {
        summary: "One phone (admin)",
        responses: { 200: ok("Phone", ref("Phone")), ...errors(400, 401, 403, 404) },
      },
      put: {
        summary: "Change a phone (admin); unknown fields are refused",
        requestBody: jsonBody(ref("PhoneInput")),
        responses: { 200: ok("Updated", ref("Phone")), ...errors(400, 401, 403, 404) },
      },
      delete: {
        summary: "Forget a phone (admin)",
        responses: { 204: { description: "Deleted" }, ...errors(400, 401, 403, 404) },
      },
    },
    "/api/phones/{mac}/assign": {
      parameters: [mac],
      post: {
        summary: "Assign a phone (created if unknown) to an extension, or null to unassign (admin)",
        requestBody: jsonBody({
          type: "object",
          required: ["extension"],
          properties: { extension: { type: ["string", "null"] } },
        }),
        responses: { 200: ok("Assigned", ref("Phone")), ...errors(400, 401, 403, 404) },
      },
    },
    "/api/phones/security": {
      get: {
        summary: "Provisioning security: windows, window length, phone book networks (admin)",
        responses: {
          200: ok("Settings", { $ref: "#/components/schemas/ProvisioningSecurity" }),
          ...errors(401, 403),
        },
      },
      put: {
        summary: "Change provisioning security settings (admin)",
        requestBody: jsonBody({ $ref: "#/components/schemas/ProvisioningSecurity" }),
        responses: {
          200: ok("Settings", { $ref: "#/components/schemas/ProvisioningSecurity" }),
          ...errors(400, 401, 403),
        },
      },
    },
    "/api/phones/blocks": {
      get: {
        summary: "Sources blocked after too many failed provisioning fetches (admin)",
        responses: {
          200: ok(
            "Blocks",
            list({
              type: "object",
              properties: {
                address: { type: "string" },
                until: { type: "integer" },
                since: { type: "integer" },
                misses: { type: "integer" },
                refused: { type: "integer" },
                lastReason: { type: "string" },
              },
            }),
          ),
          ...errors(401, 403),
        },
      },
    },
    "/api/phones/blocks/{address}": {
      parameters: [{ name: "address", in: "path", required: true, schema: { type: "string" } }],
      delete: {
        summary: "Lift a provisioning block (admin)",
        responses: { 204: { description: "Unblocked" }, ...errors(401, 403, 404) },
      },
    },
    "/api/phones/{mac}/open-window": {
      parameters: [mac],
      post: {
        summary: "Allow the phone to fetch its credentials for N minutes (0 closes) (admin)",
        requestBody: jsonBody({
          type: "object",
          required: ["minutes"],
          properties: { minutes: { type: "integer", minimum: 0, maximum: 1440 } },
        }),
        responses: { 200: ok("Updated", ref("Phone")), ...errors(400, 401, 403, 404) },
      },
    },
    "/api/phones/{mac}/reprovision": {
      parameters: [mac],
      post: {
        summary: "Ask a registered phone to fetch its configuration now (SIP NOTIFY check-sync) (admin)",
        responses: {
          200: ok("Sent", {
            type: "object",
            properties: { mac: { type: "string" }, sent: { type: "integer" }, detail: { type: "string" } },
            required: ["mac", "sent", "detail"],
          }),
          ...errors(400, 401, 403, 404, 409, 503),
        },
      },
    },
    "/api/mailboxes/{number}/summary": {
      parameters: [number],
      get: {
        summary: "Message-waiting counts of an extension's mailbox (admin)",
        responses: { 200: ok("Counts", ref("MailboxSummary")), ...errors(401, 403, 404, 503) },
      },
      put: {
        summary: "Set message-waiting counts; phones subscribed to message-summary get a NOTIFY (admin)",
        requestBody: jsonBody({
          type: "object",
          properties: {
            newMessages: { type: "integer", minimum: 0 },
            oldMessages: { type: "integer", minimum: 0 },
            urgentNew: { type: "integer", minimum: 0 },
            urgentOld: { type: "integer", minimum: 0 },
          },
          required: ["newMessages", "oldMessages"],
          additionalProperties: false,
        }),
        responses: { 200: ok("Set", ref("MailboxSummary")), ...errors(400, 401, 403, 404, 503) },
      },
    },
    "/api/templates": {
      get: {
        summary: "Provisioning templates (admin)",
        responses: { 200: ok("Templates", list(ref("Template"))), ...errors(401, 403, 503) },
      },
    },
    "/api/templates/{key}": {
      parameters: [templateKey],
      get: {
        summary: "A template with its current and shipped body (admin)",
        responses: { 200: ok("Template"), ...errors(401, 403, 404, 503) },
      },
      put: {
        summary: "Override a template; it must compile (admin)",
        requestBody: jsonBody({
          type: "object",
          required: ["body"],
          properties: { body: { type: "string", maxLength: 65536 } },
        }),
        responses: { 200: ok("Saved"), ...errors(400, 401, 403, 404, 503) },
      },
    },
    "/api/templates/{key}/reset": {
      parameters: [templateKey],
      post: {
        summary: "Drop the override, back to the shipped template (admin)",
        responses: { 200: ok("Reset"), ...errors(401, 403, 404, 503) },
      },
    },
    "/api/templates/{key}/preview": {
      parameters: [templateKey],
      post: {
        summary: "Render a template for a phone; SIP passwords masked unless showSecrets (admin)",
        requestBody: jsonBody({
          type: "object",
          properties: { mac: { type: "string" }, body: { type: "string" }, showSecrets: { type: "boolean" } },
        }),
        responses: { 200: ok("Rendered"), ...errors(400, 401, 403, 404, 503) },
      },
    },
    "/api/contacts": {
      get: {
        summary: "External phone book (admin)",
        responses: { 200: ok("Contacts", list(ref("Contact"))), ...errors(401, 403) },
      },
      post: {
        summary: "Add a phone book contact (admin)",
        requestBody: jsonBody({
          type: "object",
          required: ["name", "number"],
          properties: {
            name: { type: "string" },
            number: { type: "string" },
            group: { type: ["string", "null"] },
          },
        }),
        responses: { 201: ok("Created", ref("Contact")), ...errors(400, 401, 403) },
      },
    },
    "/api/contacts/{id}": {
      parameters: [pathParam("id", "^[0-9]{1,15}$")],
      delete: {
        summary: "Delete a contact (admin)",
        responses: { 204: { description: "Deleted" }, ...errors(400, 401, 403, 404) },
      },
    },
    "/api/paging/zones": {
      get: {
        summary: "Paging zones (admin)",
        responses: {
          200: ok("Zones", {
            type: "object",
            properties: { zones: { type: "array", items: ref("PagingZone") } },
          }),
          ...errors(401, 403),
        },
      },
      post: {
        summary: "Create a paging zone (admin)",
        requestBody: jsonBody(ref("PagingZone")),
        responses: { 201: ok("Created", ref("PagingZone")), ...errors(400, 401, 403, 409) },
      },
    },
    "/api/paging/zones/{number}": {
      parameters: [pathParam("number", "^[0-9]{1,8}$")],
      get: {
        summary: "One zone (admin)",
        responses: { 200: ok("Zone", ref("PagingZone")), ...errors(400, 401, 403, 404) },
      },
      patch: {
        summary: "Change a zone: output, volume, tones, amplifier line, multicast (admin)",
        requestBody: jsonBody(ref("PagingZone")),
        responses: { 200: ok("Updated", ref("PagingZone")), ...errors(400, 401, 403, 404) },
      },
      delete: {
        summary: "Delete a zone (admin)",
        responses: { 204: { description: "Deleted" }, ...errors(400, 401, 403, 404) },
      },
    },
    "/api/paging/zones/{number}/test-tone": {
      parameters: [pathParam("number", "^[0-9]{1,8}$")],
      post: {
        summary: "Play a test tone in one zone (admin); 409 when busy, 503 when paging is not running",
        requestBody: {
          required: false,
          content: {
            "application/json": {
              schema: {
                type: "object",
                properties: { durationMs: { type: "integer" }, hz: { type: "integer" } },
              },
            },
          },
        },
        responses: { 200: ok("Played"), ...errors(400, 401, 403, 404, 409, 503) },
      },
    },
    "/api/paging/groups": {
      get: { summary: "Paging groups (admin)", responses: { 200: ok("Groups"), ...errors(401, 403) } },
      post: {
        summary: "Create a group of zones (admin)",
        requestBody: jsonBody(ref("PagingGroup")),
        responses: { 201: ok("Created", ref("PagingGroup")), ...errors(400, 401, 403, 409) },
      },
    },
    "/api/paging/groups/{number}": {
      parameters: [pathParam("number", "^[0-9]{1,8}$")],
      patch: {
        summary: "Rename a group or change its zones (admin)",
        requestBody: jsonBody(ref("PagingGroup")),
        responses: { 200: ok("Updated", ref("PagingGroup")), ...errors(400, 401, 403, 404) },
      },
      delete: {
        summary: "Delete a group (admin)",
        responses: { 204: { description: "Deleted" }, ...errors(400, 401, 403, 404) },
      },
    },
    "/api/numbers": {
      get: {
        summary:
          "The number plan: every claimed number and pattern with its owner; stored collisions (admin)",
        responses: { 200: ok("Claims and collisions"), ...errors(401, 403) },
      },
    },
    "/api/feature-codes": {
      get: {
        summary: "The feature-code table with defaults (admin)",
        responses: { 200: ok("Feature codes", list({ type: "object" })), ...errors(401, 403) },
      },
    },
    "/api/feature-codes/{name}": {
      parameters: [pathParam("name", "^[a-z]+\\.[a-z]+$")],
      put: {
        summary: "Change a feature code; 409 names the owner of a taken number (admin)",
        requestBody: jsonBody({
          type: "object",
          properties: { pattern: { type: "string" } },
          required: ["pattern"],
        }),
        responses: { 200: ok("Feature codes", list({ type: "object" })), ...errors(400, 401, 403, 404, 409) },
      },
      delete: {
        summary: "Put a feature code back to its default (admin)",
        responses: { 200: ok("Feature codes", list({ type: "object" })), ...errors(401, 403, 404, 409) },
      },
    },
    "/api/paging/permissions": {
      get: {
        summary: "Which extensions may page which zones/groups (admin)",
        responses: { 200: ok("Permissions"), ...errors(401, 403) },
      },
    },
    "/api/paging/permissions/{extension}": {
      parameters: [pathParam("extension", "^[0-9]{2,8}$")],
      put: {
        summary: "Set the zones/groups an extension may page (admin)",
        requestBody: jsonBody({
          type: "object",
          required: ["targets"],
          properties: { targets: { type: "array", items: { type: "string" } } },
        }),
        responses: { 200: ok("Set"), ...errors(400, 401, 403) },
      },
    },
    "/api/paging/schedules": {
      get: { summary: "Scheduled bells (admin)", responses: { 200: ok("Schedules"), ...errors(401, 403) } },
      post: {
        summary: "Create a scheduled bell (admin); with a sounds folder, wavPath must be a file in it",
        requestBody: jsonBody(ref("PagingSchedule")),
        responses: { 201: ok("Created", ref("PagingSchedule")), ...errors(400, 401, 403) },
      },
    },
    "/api/paging/schedules/{id}": {
      parameters: [pathParam("id", "^[0-9]{1,9}$")],
      patch: {
        summary: "Change a scheduled bell (admin)",
        requestBody: jsonBody(ref("PagingSchedule")),
        responses: { 200: ok("Updated", ref("PagingSchedule")), ...errors(400, 401, 403, 404) },
      },
      delete: {
        summary: "Delete a scheduled bell (admin)",
        responses: { 204: { description: "Deleted" }, ...errors(400, 401, 403, 404) },
      },
    },
    "/api/paging/status": {
      get: {
        summary: "Live zone states and next bell times (admin); 503 when paging is not running",
        responses: { 200: ok("Status"), ...errors(401, 403, 503) },
      },
    },
    "/api/paging/log": {
      get: {
        summary: "Page log, newest first (admin)",
        parameters: [
          query("limit", { type: "integer", minimum: 1, maximum: 1000 }),
          query("offset", { type: "integer", minimum: 0 }),
        ],
        responses: { 200: ok("Entries"), ...errors(400, 401, 403) },
      },
    },
    "/api/paging/devices": {
      get: {
        summary:
          "Audio outputs (ALSA PCMs) for the zone form (admin); `available: false` when the build cannot list them",
        responses: {
          200: ok("Devices", {
            type: "object",
            properties: {
              available: { type: "boolean" },
              devices: {
                type: "array",
                items: {
                  type: "object",
                  properties: { name: { type: "string" }, description: { type: "string" } },
                },
              },
              note: { type: "string" },
            },
          }),
          ...errors(401, 403),
        },
      },
    },
    "/api/paging/sounds": {
      get: {
        summary: "Uploaded bell sounds in the sounds folder (admin)",
        responses: { 200: ok("Sounds"), ...errors(401, 403) },
      },
      post: {
        summary: "Upload a bell sound (admin): the raw WAV as the body, checked by the paging WAV reader; " +
          "409 when the name exists unless replace=1; 413 over the size limit (default 10 MiB); 503 without a sounds folder",
        parameters: [
          {
            name: "name",
            in: "query",
            required: true,
            schema: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*\\.wav$" },
          },
          query("replace", { type: "string", enum: ["1"] }),
        ],
        requestBody: {
          required: true,
          content: { "audio/wav": { schema: { type: "string", format: "binary" } } },
        },
        responses: {
          200: ok("Replaced"),
          201: ok("Stored: {name, path, bytes, sampleRate, channels, durationMs}"),
          ...errors(400, 401, 403, 409, 413, 415, 503),
        },
      },
    },
    "/api/paging/sounds/{name}": {
      parameters: [pathParam("name", "^[A-Za-z0-9][A-Za-z0-9._-]*\\.wav$")],
      delete: {
        summary: "Delete a bell sound (admin); 409 while a schedule uses it",
        responses: { 204: { description: "Deleted" }, ...errors(400, 401, 403, 404, 409, 503) },
      },
    },
    "/api/prompts": {
      get: {
        summary: "The prompt catalogue (admin): id, default text, whether an uploaded recording overrides it",
        responses: {
          200: ok("{prompts: [{id, text, overridden, override?}], maxBytes}"),
          ...errors(401, 403, 503),
        },
      },
    },
    "/api/prompts/{id}/audio": {
      parameters: [pathParam("id", "^[a-z0-9][a-z0-9-]{0,47}$")],
      get: {
        summary:
          "A prompt as mono 16-bit WAV (admin): the override, else text-to-speech (made once, cached); " +
          "download=1 adds Content-Disposition; 503 when text-to-speech is unavailable",
        parameters: [
          query("rate", { type: "string", enum: ["8000", "16000"] }),
          query("download", { type: "string", enum: ["1"] }),
        ],
        responses: { 200: ok("audio/wav"), ...errors(400, 401, 403, 404, 503) },
      },
    },
    "/api/prompts/{id}/override": {
      parameters: [pathParam("id", "^[a-z0-9][a-z0-9-]{0,47}$")],
      put: {
        summary:
          "Replace a prompt with a recording (admin): a WAV of any rate and channel count, resampled; " +
          "400 truncated/broken WAV, 413 over the size limit (default 20 MiB), 415 not a WAV or not audio/wav",
        requestBody: {
          required: true,
          content: { "audio/wav": { schema: { type: "string", format: "binary" } } },
        },
        responses: {
          200: ok("{id, text, overridden, override}"),
          ...errors(400, 401, 403, 404, 413, 415, 503),
        },
      },
      delete: {
        summary: "Remove a prompt's recording, back to text-to-speech (admin); 404 when there is none",
        responses: { 204: { description: "Deleted" }, ...errors(401, 403, 404, 503) },
      },
    },
    "/api/system/logs": {
      get: {
        summary: "Recent log lines (admin)",
        parameters: [query("lines", { type: "integer", minimum: 1, maximum: 5000 })],
        responses: { 200: ok("Lines"), ...errors(400, 401, 403) },
      },
    },
    "/api/mail/settings": {
      get: {
        summary:
          "SMTP settings (admin): {configured, settings}; the password is never shown, only passwordSet",
        responses: { 200: ok("Settings"), ...errors(401, 403, 503) },
      },
      put: {
        summary: "Change the SMTP settings (admin); host and from are needed the first time, " +
          "password null removes it; queued mail is tried again at once",
        requestBody: jsonBody({
          type: "object",
          properties: {
            host: { type: "string" },
            port: { type: "integer", minimum: 1, maximum: 65535 },
            security: { type: "string", enum: ["none", "starttls", "tls"] },
            username: { type: "string" },
            password: { type: ["string", "null"], writeOnly: true },
            from: { type: "string" },
            verifyCertificate: { type: "boolean" },
          },
        }),
        responses: { 200: ok("Saved"), ...errors(400, 401, 403, 415, 503) },
      },
    },
    "/api/mail/test": {
      post: {
        summary:
          "Send a test email now, bypassing the outbox (admin): {ok, response} or {ok: false, error} " +
          "with the SMTP server's answer; 409 when not configured",
        requestBody: jsonBody({ type: "object", required: ["to"], properties: { to: { type: "string" } } }),
        responses: { 200: ok("Tried"), ...errors(400, 401, 403, 409, 415, 503) },
      },
    },
    "/api/mail/outbox": {
      get: {
        summary: "The mail outbox, newest first (admin): {counts, messages} with status, attempts, " +
          "next attempt and the last SMTP error",
        parameters: [query("status", { type: "string", enum: ["queued", "sent", "failed"] })],
        responses: { 200: ok("Outbox"), ...errors(400, 401, 403, 503) },
      },
    },
    "/api/mail/outbox/{id}": {
      parameters: [pathParam("id", "^[0-9]{1,15}$")],
      get: {
        summary: "One outbox message (admin)",
        responses: { 200: ok("Message"), ...errors(400, 401, 403, 404, 503) },
      },
      delete: {
        summary: "Delete an outbox message and its attachment copies (admin)",
        responses: { 204: { description: "Deleted" }, ...errors(400, 401, 403, 404, 503) },
      },
    },
    "/api/mail/outbox/{id}/retry": {
      parameters: [pathParam("id", "^[0-9]{1,15}$")],
      post: {
        summary: "Try a queued or failed message again now (admin); 400 when already sent",
        responses: { 200: ok("Queued"), ...errors(400, 401, 403, 404, 503) },
      },
    },
  },
};
