/** Security headers on every response, errors and 404s included. */
import type { MiddlewareHandler } from "hono";
import { isHttps } from "./_session.ts";

/** CSP without inline scripts: the UI ships its own JS files from the box. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * HSTS for answers over HTTPS (RFC 6797): a year, without includeSubDomains (the box does not own
 * its neighbours' names). Browsers ignore it on plain HTTP and after a certificate error, so the
 * header is only sent over HTTPS.
 */
export const STRICT_TRANSPORT_SECURITY = "max-age=31536000";

/**
 * Middleware that sets CSP, framing, sniffing and referrer headers, no-store on the API, and
 * Strict-Transport-Security on HTTPS.
 */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const h = c.res.headers;
    h.set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    h.set("X-Frame-Options", "DENY");
    h.set("X-Content-Type-Options", "nosniff");
    h.set("Referrer-Policy", "no-referrer");
    h.set("Cross-Origin-Opener-Policy", "same-origin");
    h.set("Cross-Origin-Resource-Policy", "same-origin");
    // The browser phone (/phone) is the one page that may use the microphone, and only for itself.
    const mic = c.req.path === "/phone" ? "(self)" : "()";
    h.set("Permissions-Policy", `camera=(), geolocation=(), microphone=${mic}`);
    if (c.req.path.startsWith("/api/")) h.set("Cache-Control", "no-store");
    if (isHttps(c)) h.set("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY);
  };
}
