/**
 * Browser sessions: the HttpOnly cookie, its CSRF token, and resolving a request to a user by
 * bearer token (API clients) or session cookie (the UI).
 */
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { createHash, timingSafeEqual } from "node:crypto";
import type { Storage } from "../runtime/storage/mod.ts";
import type { AuthUser } from "./_env.ts";

/** Name of the session cookie. */
export const SESSION_COOKIE = "pbx_session";
/** Header the UI sends the CSRF token in on state-changing requests. */
export const CSRF_HEADER = "x-csrf-token";

const BEARER_RE = /^Bearer ([A-Za-z0-9_-]{1,200})$/;

/**
 * The CSRF token of a session: a hash of the (HttpOnly, secret) session token, so it is tied to
 * the session, needs no storage, and cannot be computed by a page that cannot read the cookie.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHash("sha256").update("pbx-csrf\0").update(sessionToken).digest("base64url");
}

/** True when `given` is the CSRF token of `sessionToken` (constant-time compare). */
export function csrfMatches(sessionToken: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const want = new TextEncoder().encode(csrfTokenFor(sessionToken));
  const got = new TextEncoder().encode(given);
  return want.length === got.length && timingSafeEqual(want, got);
}

/** True for methods that change state and so need CSRF protection under cookie auth. */
export function isUnsafeMethod(method: string): boolean {
  return !["GET", "HEAD", "OPTIONS"].includes(method.toUpperCase());
}

/** Whether the request came over HTTPS (then the cookie gets `Secure`). */
export function isHttps(c: Context): boolean {
  try {
    return new URL(c.req.url).protocol === "https:";
  } catch {
    return false;
  }
}

/** Set the session cookie: HttpOnly, SameSite=Strict, Path=/, Secure on HTTPS, Max-Age = ttl. */
export function setSessionCookie(c: Context, token: string, ttlMs: number): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "Strict",
    secure: isHttps(c),
    path: "/",
    maxAge: Math.max(1, Math.floor(ttlMs / 1000)),
  });
}

/** Expire the session cookie in the browser. */
export function clearSessionCookie(c: Context): void {
  setCookie(c, SESSION_COOKIE, "", {
    httpOnly: true,
    sameSite: "Strict",
    secure: isHttps(c),
    path: "/",
    maxAge: 0,
  });
}

/** How a request was authenticated. */
export type AuthVia = "bearer" | "cookie";

/** Result of `resolveAuth`. */
export type AuthResult =
  | { ok: true; user: AuthUser; token: string; via: AuthVia }
  | { ok: false; reason: "missing" | "malformed" | "invalid"; via: AuthVia | undefined };

/**
 * Find the caller: an `Authorization: Bearer` header wins (bearer sessions only); otherwise the
 * session cookie (cookie sessions only). A token of one kind never works as the other.
 */
export function resolveAuth(
  c: Context,
  storage: Storage,
  options: { allowBearer?: boolean } = {},
): AuthResult {
  const header = options.allowBearer === false ? undefined : c.req.header("authorization");
  let token: string;
  let via: AuthVia;
  if (header !== undefined) {
    const m = BEARER_RE.exec(header);
    if (m === null) return { ok: false, reason: "malformed", via: "bearer" };
    token = m[1]!;
    via = "bearer";
  } else {
    const cookie = getCookie(c, SESSION_COOKIE);
    if (cookie === undefined || cookie === "") return { ok: false, reason: "missing", via: undefined };
    token = cookie;
    via = "cookie";
  }
  const session = storage.sessions.lookup(token);
  if (session === undefined || session.kind !== via) return { ok: false, reason: "invalid", via };
  const user = storage.users.get(session.username);
  if (user === undefined) return { ok: false, reason: "invalid", via };
  const authUser: AuthUser = { username: user.username, role: user.role };
  if (user.extension !== undefined) authUser.extension = user.extension;
  return { ok: true, user: authUser, token, via };
}
