/** /api/extensions: create, list, read, update, delete. Never returns passwords or HA1. */
import { Hono } from "hono";
import * as v from "valibot";
import type { Extension, Storage } from "../runtime/storage/mod.ts";
import { clientIp, fail, jsonBody, store, validate } from "./_http.ts";
import type { AppEnv } from "./_env.ts";
import { claimsFor, requireFree } from "./_numbers.ts";

const Number_ = v.pipe(v.string("must be a string"), v.regex(/^[0-9]{2,8}$/, "must be 2-8 digits"));
const Name = v.pipe(
  v.string("must be a string"),
  v.minLength(1, "must not be empty"),
  v.maxLength(64, "must be at most 64 characters"),
);
const Password = v.pipe(
  v.string("must be a string"),
  v.minLength(8, "must be at least 8 characters"),
  v.maxLength(64, "must be at most 64 characters"),
);
const Options = v.pipe(
  v.custom<Record<string, unknown>>(
    (x) => typeof x === "object" && x !== null && !Array.isArray(x),
    "must be an object",
  ),
  // The SRTP policy (runtime/sdp/crypto.ts SrtpPolicy); absent means "offered".
  v.check(
    (o) => o.srtp === undefined || o.srtp === "off" || o.srtp === "offered" || o.srtp === "required",
    'srtp must be "off", "offered" or "required"',
  ),
  // Call and pickup groups (*8 group pickup, like Asterisk callgroup/pickupgroup); absent: group "1".
  v.check(
    (o) => groupList(o.callGroups),
    "callGroups must be a list of at most 32 group names (1-32 of A-Z a-z 0-9 _ -)",
  ),
  v.check(
    (o) => groupList(o.pickupGroups),
    "pickupGroups must be a list of at most 32 group names (1-32 of A-Z a-z 0-9 _ -)",
  ),
  // How provisioning points the phone at the box (provisioning/templates): absent means "udp".
  v.check(
    (o) => o.sipTransport === undefined || o.sipTransport === "udp" || o.sipTransport === "tls",
    'sipTransport must be "udp" or "tls"',
  ),
  // How SRTP toward the extension's phones is keyed when the box offers (runtime/call/_sdp.ts).
  v.check(
    (o) => o.srtpKeying === undefined || o.srtpKeying === "sdes" || o.srtpKeying === "dtls",
    'srtpKeying must be "sdes" or "dtls"',
  ),
);

function groupList(x: unknown): boolean {
  return x === undefined ||
    (Array.isArray(x) && x.length <= 32 &&
      x.every((g) => typeof g === "string" && /^[A-Za-z0-9_-]{1,32}$/.test(g)));
}

const CreateBody = v.object({
  number: Number_,
  name: Name,
  password: Password,
  options: v.optional(Options),
});
const UpdateBody = v.object({
  name: v.optional(Name),
  password: v.optional(Password),
  options: v.optional(Options),
});
const ListQuery = v.object({
  search: v.optional(v.pipe(v.string(), v.maxLength(64, "must be at most 64 characters"))),
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^[0-9]{1,4}$/, "must be 1-1000"),
      v.transform(Number),
      v.minValue(1, "must be 1-1000"),
      v.maxValue(1000, "must be 1-1000"),
    ),
  ),
  offset: v.optional(
    v.pipe(v.string(), v.regex(/^[0-9]{1,9}$/, "must be a non-negative integer"), v.transform(Number)),
  ),
});

/** Public shape of an extension in API responses. */
function view(e: Extension) {
  return {
    number: e.number,
    name: e.name,
    realm: e.realm,
    options: e.options,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}

function numberParam(raw: string): string {
  if (!/^[0-9]{2,8}$/.test(raw)) {
    fail(400, `extension number must be 2-8 digits, got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return raw;
}

/** Admin routes for extensions, mounted at /api/extensions. */
export function extensionRoutes(options: { storage: Storage; realm: () => string }): Hono<AppEnv> {
  const { storage } = options;
  const app = new Hono<AppEnv>();

  app.post("/", async (c) => {
    const body = await jsonBody(c, CreateBody);
    requireFree(storage, claimsFor.extension(body.number, body.name)); // 409 naming a zone or code on it
    const ext = store(() =>
      storage.extensions.create(
        { number: body.number, name: body.name, password: body.password, options: body.options },
        options.realm(),
      )
    );
    storage.audit.record({
      actor: c.get("user").username,
      action: "extension.create",
      detail: { number: ext.number, name: ext.name },
      sourceIp: clientIp(c),
    });
    return c.json(view(ext), 201, { Location: `/api/extensions/${ext.number}` });
  });

  app.get("/", (c) => {
    const q = validate(ListQuery, c.req.query(), "query");
    const items = store(() =>
      storage.extensions.list({ search: q.search, limit: q.limit, offset: q.offset })
    );
    return c.json({ items: items.map(view), total: storage.extensions.count(q.search) });
  });

  app.get("/:number", (c) => {
    const number = numberParam(c.req.param("number"));
    const ext = storage.extensions.get(number);
    if (ext === undefined) fail(404, `extension ${number} not found`);
    return c.json(view(ext));
  });

  app.put("/:number", async (c) => {
    const number = numberParam(c.req.param("number"));
    const body = await jsonBody(c, UpdateBody);
    const ext = store(() => storage.extensions.update(number, body));
    storage.audit.record({
      actor: c.get("user").username,
      action: "extension.update",
      // Which fields changed, never the password itself.
      detail: { number, fields: Object.keys(body).filter((k) => body[k as keyof typeof body] !== undefined) },
      sourceIp: clientIp(c),
    });
    return c.json(view(ext));
  });

  app.delete("/:number", (c) => {
    const number = numberParam(c.req.param("number"));
    if (!storage.extensions.delete(number)) fail(404, `extension ${number} not found`);
    storage.audit.record({
      actor: c.get("user").username,
      action: "extension.delete",
      detail: { number },
      sourceIp: clientIp(c),
    });
    return c.body(null, 204);
  });

  return app;
}
