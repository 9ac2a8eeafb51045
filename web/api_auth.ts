/** Login, logout, first-boot admin setup, and the bearer-token middleware. */
import { Hono, type MiddlewareHandler } from "hono";
import * as v from "valibot";
import { type Clock } from "../runtime/clock/mod.ts";
import { MIN_WEB_PASSWORD, type Storage } from "../runtime/storage/mod.ts";
import { clientIp, fail, jsonBody, storeAsync } from "./_http.ts";
import { LoginLimiter } from "./_login_limiter.ts";
import type { AppEnv } from "./_env.ts";
import type { Logger, LoginLimitOptions } from "./types.ts";

const LoginBody = v.object({
  username: v.pipe(
    v.string("must be a string"),
    v.minLength(1, "must not be empty"),
    v.maxLength(64, "too long"),
  ),
  password: v.pipe(
    v.string("must be a string"),
    v.minLength(1, "must not be empty"),
    v.maxLength(1024, "too long"),
  ),
});

const SetupBody = v.object({
  password: v.pipe(
    v.string("must be a string"),
    v.minLength(MIN_WEB_PASSWORD, `must be at least ${MIN_WEB_PASSWORD} characters`),
    v.maxLength(1024, "must be at most 1024 characters"),
  ),
});

const BEARER_RE = /^Bearer ([A-Za-z0-9_-]{1,200})$/;

/** Middleware: require a valid bearer token; sets `user` and `token`. */
export function requireAuth(storage: Storage): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (header === undefined) {
      fail(401, "missing Authorization: Bearer token", { "WWW-Authenticate": "Bearer" });
    }
    const m = BEARER_RE.exec(header);
    if (m === null) {
      fail(401, "malformed Authorization header, expected: Bearer <token>", { "WWW-Authenticate": "Bearer" });
    }
    const token = m[1]!;
    const session = storage.sessions.lookup(token);
    const user = session === undefined ? undefined : storage.users.get(session.username);
    if (user === undefined) {
      fail(401, "invalid or expired token", { "WWW-Authenticate": 'Bearer error="invalid_token"' });
    }
    c.set("user", { username: user.username, role: user.role, extension: user.extension });
    c.set("token", token);
    await next();
  };
}

/** Middleware: the authenticated user must be an admin. */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.get("user").role !== "admin") fail(403, "this needs the admin role");
    await next();
  };
}

/** Routes under /api/auth and /api/setup. Public ones are mounted before the auth middleware. */
export function authRoutes(
  options: {
    storage: Storage;
    clock: Clock;
    logger: Logger;
    sessionTtlMs: number;
    loginLimit: LoginLimitOptions;
  },
): { publicRoutes: Hono<AppEnv>; privateRoutes: Hono<AppEnv> } {
  const { storage, logger, sessionTtlMs } = options;
  const limiter = new LoginLimiter(options.clock, {
    ...(options.loginLimit.maxFailures === undefined ? {} : { maxFailures: options.loginLimit.maxFailures }),
    ...(options.loginLimit.windowMs === undefined ? {} : { windowMs: options.loginLimit.windowMs }),
    ...(options.loginLimit.lockoutMs === undefined ? {} : { lockoutMs: options.loginLimit.lockoutMs }),
  });
  let setupRunning = false;

  const publicRoutes = new Hono<AppEnv>();
  publicRoutes.post("/setup", async (c) => {
    if (storage.users.hasAdmin() || setupRunning) fail(409, "admin password already set; log in instead");
    const body = await jsonBody(c, SetupBody);
    // Hashing awaits; the flag keeps a second concurrent setup from overwriting the first.
    if (storage.users.hasAdmin() || setupRunning) fail(409, "admin password already set; log in instead");
    setupRunning = true;
    try {
      await storeAsync(async () => {
        if (storage.users.get("admin") === undefined) {
          await storage.users.create({ username: "admin", role: "admin", password: body.password });
        } else {
          await storage.users.setPassword("admin", body.password);
        }
      });
    } finally {
      setupRunning = false;
    }
    storage.audit.record({ actor: "admin", action: "setup.admin-password", sourceIp: clientIp(c) });
    logger.info("admin password set by first-boot setup", { ip: clientIp(c) });
    return c.json({ ok: true, username: "admin" }, 201);
  });

  publicRoutes.post("/auth/login", async (c) => {
    const ip = clientIp(c);
    if (!storage.users.hasAdmin()) {
      fail(409, 'no admin password set: POST /api/setup with {"password": "..."} first');
    }
    const retryAfter = limiter.begin(ip);
    if (retryAfter > 0) {
      fail(429, `too many failed logins from this address; try again in ${retryAfter} s`, {
        "Retry-After": String(retryAfter),
      });
    }
    const body = await jsonBody(c, LoginBody);
    const user = await storage.users.verify(body.username, body.password);
    if (user === undefined) {
      storage.audit.record({
        actor: body.username.slice(0, 64),
        action: "login.failed",
        sourceIp: ip,
      });
      logger.warn("login failed", { ip, username: body.username.slice(0, 64) });
      fail(401, "wrong username or password");
    }
    limiter.succeeded(ip);
    const { token, expiresAt } = storage.sessions.create(user.username, sessionTtlMs);
    storage.audit.record({ actor: user.username, action: "login", sourceIp: ip });
    return c.json({ token, expiresAt, username: user.username, role: user.role });
  });

  const privateRoutes = new Hono<AppEnv>();
  privateRoutes.post("/auth/logout", (c) => {
    storage.sessions.revoke(c.get("token"));
    storage.audit.record({ actor: c.get("user").username, action: "logout", sourceIp: clientIp(c) });
    return c.json({ ok: true });
  });
  privateRoutes.get("/auth/me", (c) => c.json(c.get("user")));
  return { publicRoutes, privateRoutes };
}
