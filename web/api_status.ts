/** Live status and history: registrations, calls in progress, call detail records. */
import { Hono } from "hono";
import * as v from "valibot";
import type { Clock } from "../runtime/clock/mod.ts";
import { type Binding, type CdrQuery, DISPOSITIONS, type Storage } from "../runtime/storage/mod.ts";
import { fail, store, validate } from "./_http.ts";
import type { AppEnv } from "./_env.ts";
import type { LiveStatus } from "./types.ts";

/** Accepts epoch milliseconds or an ISO 8601 date/time. */
const Time = v.pipe(
  v.string(),
  v.maxLength(40, "too long"),
  v.transform((s) => (/^[0-9]{1,15}$/.test(s) ? Number(s) : Date.parse(s))),
  v.number(),
  v.check((n) => Number.isSafeInteger(n) && n >= 0, "must be epoch milliseconds or an ISO 8601 date"),
);
const CdrQuerySchema = v.object({
  from: v.optional(Time),
  to: v.optional(Time),
  extension: v.optional(v.pipe(v.string(), v.regex(/^[0-9]{2,8}$/, "must be 2-8 digits"))),
  disposition: v.optional(v.picklist(DISPOSITIONS, `must be one of ${DISPOSITIONS.join(", ")}`)),
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^[0-9]{1,6}$/, "must be 1-100000"),
      v.transform(Number),
      v.minValue(1, "must be 1-100000"),
      v.maxValue(100_000, "must be 1-100000"),
    ),
  ),
  offset: v.optional(
    v.pipe(v.string(), v.regex(/^[0-9]{1,9}$/, "must be a non-negative integer"), v.transform(Number)),
  ),
});

/** Public shape of a registration binding. */
export function registrationView(b: Binding, now: number) {
  return {
    extension: b.extension,
    contact: b.contactUri,
    expiresAt: b.expiresAt,
    expiresInSec: Math.max(0, Math.round((b.expiresAt - now) / 1000)),
    source: { transport: b.sourceTransport, address: b.sourceAddress, port: b.sourcePort },
    userAgent: b.userAgent ?? null,
    updatedAt: b.updatedAt ?? null,
  };
}

/** Current registrations, optionally of one extension. */
export function listRegistrations(storage: Storage, now: number, extension?: string) {
  const bindings = extension === undefined
    ? storage.locations.listAll(now)
    : storage.locations.getBindings(extension, now);
  return bindings.map((b) => registrationView(b, now));
}

const RegistrationQuery = v.object({
  extension: v.optional(v.pipe(v.string(), v.regex(/^[0-9]{2,8}$/, "must be 2-8 digits"))),
});

/** Routes /registrations, /calls, /cdr, /cdr.csv. Registrations and calls are admin-only. */
export function statusRoutes(options: { storage: Storage; live: LiveStatus; clock: Clock }): Hono<AppEnv> {
  const { storage, live, clock } = options;
  const app = new Hono<AppEnv>();
  const adminOnly = (role: string) => {
    if (role !== "admin") fail(403, "this needs the admin role");
  };

  app.get("/registrations", (c) => {
    adminOnly(c.get("user").role);
    const q = validate(RegistrationQuery, c.req.query(), "query");
    return c.json({ items: listRegistrations(storage, clock.wallNow(), q.extension) });
  });

  app.get("/calls", (c) => {
    adminOnly(c.get("user").role);
    return c.json({ items: live.calls() });
  });

  // Users (non-admin) see only their own extension's calls.
  const cdrQuery = (
    c: {
      get(k: "user"): { role: string; extension?: string | undefined };
      req: { query(): Record<string, string> };
    },
    defaultLimit: number,
  ): CdrQuery => {
    const q = validate(CdrQuerySchema, c.req.query(), "query");
    const user = c.get("user");
    let extension = q.extension;
    if (user.role !== "admin") {
      if (user.extension === undefined) fail(403, "this user has no extension");
      if (extension !== undefined && extension !== user.extension) {
        fail(403, "users may only see their own extension's calls");
      }
      extension = user.extension;
    }
    return {
      from: q.from,
      to: q.to,
      extension,
      disposition: q.disposition,
      limit: q.limit ?? defaultLimit,
      offset: q.offset,
    };
  };

  app.get("/cdr", (c) => {
    const query = cdrQuery(c, 100);
    const items = store(() => storage.cdr.list(query));
    return c.json({ items, total: storage.cdr.count(query) });
  });

  app.get("/cdr.csv", (c) => {
    const query = cdrQuery(c, 100_000);
    const rows = store(() => storage.cdr.list(query));
    return c.body(storage.cdr.toCsv(rows), 200, {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": 'attachment; filename="cdr.csv"',
    });
  });

  return app;
}
