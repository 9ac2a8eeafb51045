/** /api/users (admin: web accounts) and /api/me (any user: own extension, registrations, password). */
import { Hono } from "hono";
import * as v from "valibot";
import type { Clock } from "../runtime/clock/mod.ts";
import { MIN_WEB_PASSWORD, type Storage, type User } from "../runtime/storage/mod.ts";
import { clientIp, fail, jsonBody, storeAsync } from "./_http.ts";
import { clearSessionCookie } from "./_session.ts";
import { registrationView } from "./api_status.ts";
import type { AppEnv } from "./_env.ts";

const WebPassword = v.pipe(
  v.string("must be a string"),
  v.minLength(MIN_WEB_PASSWORD, `must be at least ${MIN_WEB_PASSWORD} characters`),
  v.maxLength(1024, "must be at most 1024 characters"),
);
const Username = v.pipe(
  v.string("must be a string"),
  v.regex(/^[a-z0-9][a-z0-9._-]{0,31}$/, "must be 1-32 characters of a-z 0-9 . _ - (lower case)"),
);
const CreateBody = v.object({
  username: Username,
  role: v.picklist(["admin", "user"], "must be admin or user"),
  extension: v.optional(v.pipe(v.string("must be a string"), v.regex(/^[0-9]{2,8}$/, "must be 2-8 digits"))),
  password: WebPassword,
});
const PasswordBody = v.object({ password: WebPassword });
const OwnPasswordBody = v.object({
  currentPassword: v.pipe(v.string("must be a string"), v.maxLength(1024, "too long")),
  newPassword: WebPassword,
});

function userView(u: User) {
  return {
    username: u.username,
    role: u.role,
    extension: u.extension ?? null,
    hasPassword: u.hasPassword,
    createdAt: u.createdAt,
    passwordChangedAt: u.passwordChangedAt ?? null,
  };
}

function usernameParam(raw: string): string {
  if (!/^[a-z0-9][a-z0-9._-]{0,31}$/.test(raw)) {
    fail(400, `username must be 1-32 characters of a-z 0-9 . _ -, got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return raw;
}

/** Admin routes for web accounts, mounted at /api/users (behind requireAdmin). */
export function userRoutes(options: { storage: Storage }): Hono<AppEnv> {
  const { storage } = options;
  const app = new Hono<AppEnv>();

  app.get("/", (c) => c.json({ items: storage.users.list().map(userView) }));

  app.post("/", async (c) => {
    const body = await jsonBody(c, CreateBody);
    if (body.role === "user" && body.extension === undefined) {
      fail(400, "invalid body: extension: a user-role account needs the extension it may see");
    }
    if (body.extension !== undefined && storage.extensions.get(body.extension) === undefined) {
      fail(400, `invalid body: extension: extension ${body.extension} does not exist`);
    }
    const user = await storeAsync(() =>
      storage.users.create({
        username: body.username,
        role: body.role,
        extension: body.extension,
        password: body.password,
      })
    );
    storage.audit.record({
      actor: c.get("user").username,
      action: "user.create",
      detail: { username: user.username, role: user.role, extension: user.extension ?? null },
      sourceIp: clientIp(c),
    });
    return c.json(userView(user), 201, { Location: `/api/users/${user.username}` });
  });

  app.put("/:username/password", async (c) => {
    const username = usernameParam(c.req.param("username"));
    const body = await jsonBody(c, PasswordBody);
    await storeAsync(() => storage.users.setPassword(username, body.password));
    // Whoever held the old password must log in again.
    storage.sessions.revokeAll(username);
    storage.audit.record({
      actor: c.get("user").username,
      action: "user.password-reset",
      detail: { username },
      sourceIp: clientIp(c),
    });
    return c.json({ ok: true });
  });

  app.delete("/:username", (c) => {
    const username = usernameParam(c.req.param("username"));
    if (username === c.get("user").username) fail(409, "you cannot delete your own account");
    const target = storage.users.get(username);
    if (target === undefined) fail(404, `user ${username} not found`);
    if (target.role === "admin" && storage.users.list().filter((u) => u.role === "admin").length <= 1) {
      fail(409, "cannot delete the last admin");
    }
    storage.sessions.revokeAll(username);
    storage.users.delete(username);
    storage.audit.record({
      actor: c.get("user").username,
      action: "user.delete",
      detail: { username },
      sourceIp: clientIp(c),
    });
    return c.body(null, 204);
  });
  return app;
}

/** Routes for the caller's own data, mounted at /api/me (any authenticated user). */
export function meRoutes(options: { storage: Storage; clock: Clock }): Hono<AppEnv> {
  const { storage, clock } = options;
  const app = new Hono<AppEnv>();

  app.get("/", (c) => {
    const user = c.get("user");
    const ext = user.extension === undefined ? undefined : storage.extensions.get(user.extension);
    const now = clock.wallNow();
    return c.json({
      username: user.username,
      role: user.role,
      extension: ext === undefined ? null : { number: ext.number, name: ext.name, realm: ext.realm },
      registrations: ext === undefined
        ? []
        : storage.locations.getBindings(ext.number, now).map((b) => registrationView(b, now)),
      voicemail: { available: false, reason: "voicemail is not part of this build yet" },
    });
  });

  app.put("/password", async (c) => {
    const user = c.get("user");
    const body = await jsonBody(c, OwnPasswordBody);
    if ((await storage.users.verify(user.username, body.currentPassword)) === undefined) {
      fail(403, "current password is wrong");
    }
    await storeAsync(() => storage.users.setPassword(user.username, body.newPassword));
    storage.sessions.revokeAll(user.username);
    if (c.get("via") === "cookie") clearSessionCookie(c);
    storage.audit.record({ actor: user.username, action: "user.password-change", sourceIp: clientIp(c) });
    return c.json({ ok: true, loggedOut: true });
  });
  return app;
}
