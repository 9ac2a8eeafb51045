/** Login, logout, first-boot admin setup, and the auth middleware (bearer token or session cookie). */
import { Hono, type MiddlewareHandler } from "hono";
import * as v from "valibot";
import type { Clock } from "../runtime/clock/mod.ts";
import { MIN_WEB_PASSWORD, type Storage } from "../runtime/storage/mod.ts";
import { clientIp, fail, jsonBody, storeAsync } from "./_http.ts";
import { LoginLimiter } from "./_login_limiter.ts";
import type { AppEnv } from "./_env.ts";
import type { BoxInfo, Logger, LoginLimitOptions } from "./types.ts";
import {
  clearSessionCookie,
  CSRF_HEADER,
  csrfMatches,
  csrfTokenFor,
  isUnsafeMethod,
  resolveAuth,
  setSessionCookie,
} from "./_session.ts";

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
  /** true: start a browser session (HttpOnly cookie) instead of returning a bearer token. */
  cookie: v.optional(v.boolean("must be a boolean")),
});

const SetupBody = v.object({
  password: v.pipe(
    v.string("must be a string"),
    v.minLength(MIN_WEB_PASSWORD, `must be at least ${MIN_WEB_PASSWORD} characters`),
    v.maxLength(1024, "must be at most 1024 characters"),
  ),
});

/**
 * Middleware: require a valid bearer token (API) or session cookie (UI); sets `user`, `token` and
 * `via`. Cookie-authenticated state-changing requests must carry the session's CSRF token in the
 * X-CSRF-Token header, else 403.
 */
export function requireAuth(storage: Storage): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const r = resolveAuth(c, storage);
    if (!r.ok) {
      if (r.reason === "missing") {
        fail(401, "missing Authorization: Bearer token or session cookie", { "WWW-Authenticate": "Bearer" });
      }
      if (r.reason === "malformed") {
        fail(401, "malformed Authorization header, expected: Bearer <token>", {
          "WWW-Authenticate": "Bearer",
        });
      }
      if (r.via === "cookie") fail(401, "invalid or expired session; log in again");
      fail(401, "invalid or expired token", { "WWW-Authenticate": 'Bearer error="invalid_token"' });
    }
    if (
      r.via === "cookie" && isUnsafeMethod(c.req.method) && !csrfMatches(r.token, c.req.header(CSRF_HEADER))
    ) {
      fail(403, "missing or wrong CSRF token (send the X-CSRF-Token header from the page)");
    }
    c.set("user", r.user);
    c.set("token", r.token);
    c.set("via", r.via);
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
    boxInfo: () => BoxInfo;
    /** The limiter to use (shared with the security API); default one built from `loginLimit`. */
    limiter?: LoginLimiter | undefined;
  },
): { publicRoutes: Hono<AppEnv>; privateRoutes: Hono<AppEnv> } {
  const { storage, logger, sessionTtlMs } = options;
  const limiter = options.limiter ?? new LoginLimiter(options.clock, options.loginLimit);
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
    const body = await jsonBody(c, LoginBody);
    const account = body.username.slice(0, 64);
    const { refusal, locked } = limiter.begin(ip, account);
    if (refusal !== undefined) {
      const what = refusal.scope === "address" ? "from this address" : "for this account";
      fail(429, `too many failed logins ${what}; try again in ${refusal.retryAfter} s`, {
        "Retry-After": String(refusal.retryAfter),
      });
    }
    const user = await storage.users.verify(body.username, body.password);
    if (user === undefined) {
      storage.audit.record({ actor: account, action: "login.failed", sourceIp: ip });
      // The fixed fail2ban format (docs/security.md).
      logger.warn("SECURITY login-failure", { src: ip, user: account });
      for (const kind of locked) {
        const action = kind === "web-address" ? "security.web-address-locked" : "security.web-account-locked";
        storage.audit.record({ actor: account, action, sourceIp: ip });
        logger.warn(`SECURITY ${kind === "web-address" ? "login-address-locked" : "login-account-locked"}`, {
          src: ip,
          user: account,
        });
      }
      fail(401, "wrong username or password");
    }
    limiter.succeeded(ip, account, locked);
    const kind = body.cookie === true ? "cookie" : "bearer";
    const { token, expiresAt } = storage.sessions.create(user.username, sessionTtlMs, { kind });
    storage.audit.record({ actor: user.username, action: "login", detail: { kind }, sourceIp: ip });
    if (kind === "cookie") {
      // The token lives only in the HttpOnly cookie; the page gets the CSRF token instead.
      setSessionCookie(c, token, sessionTtlMs);
      return c.json({ expiresAt, username: user.username, role: user.role, csrfToken: csrfTokenFor(token) });
    }
    return c.json({ token, expiresAt, username: user.username, role: user.role });
  });

  const privateRoutes = new Hono<AppEnv>();
  privateRoutes.post("/auth/logout", (c) => {
    storage.sessions.revoke(c.get("token"));
    if (c.get("via") === "cookie") clearSessionCookie(c);
    storage.audit.record({ actor: c.get("user").username, action: "logout", sourceIp: clientIp(c) });
    return c.json({ ok: true });
  });
  privateRoutes.get("/auth/me", (c) => c.json(c.get("user")));
  publicRoutes.get("/setup", (c) => {
    // Box addresses only while setup is pending: afterwards they are for logged-in admins.
    const needed = !storage.users.hasAdmin();
    return c.json(needed ? { needed, box: options.boxInfo() } : { needed });
  });
  return { publicRoutes, privateRoutes };
}
