/**
 * HTTP provisioning: a Hono sub-app serving `/prov/<file>` (the same files as TFTP) and
 * `/prov/phonebook/<format>`. A device with HTTP credentials in the device table must
 * authenticate (Digest by default, Basic if configured) before it gets its file.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { BLOCKED_REASON, phonebookOpenTo, serveProvisioningFile } from "./files.ts";
import type { FetchGuard } from "./guard.ts";
import { PHONEBOOK_FORMATS, renderPhonebook } from "./phonebook/export.ts";
import { routeRequest } from "./templates/generate.ts";
import type { Device, ProvisioningData } from "./types.ts";

/** Options of {@linkcode provisioningRoutes}. */
export interface ProvisioningRoutesOptions {
  /** Override of `data.policy().requireOpenWindow` (credentials only while a window is open). */
  requireOpenWindow?: boolean;
  /** Per-source miss counting and blocks (shared with TFTP). */
  guard?: FetchGuard | undefined;
  /** Scheme used to challenge devices that have HTTP credentials. Default "digest". */
  authScheme?: "digest" | "basic";
  realm?: string;
  /** Epoch ms; injectable for tests. */
  now?: () => number;
  /** Client IP; default reads Deno.serve's `info.remoteAddr` passed as Hono env. */
  clientAddress?: (c: Context) => string | null;
  /** How long a Digest nonce stays valid (ms). Default 5 minutes. */
  nonceTtlMs?: number;
}

function md5(s: string): string {
  return createHash("md5").update(s).digest("hex");
}

function safeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Parse `key=value, key="quoted value"` lists of an Authorization header. */
export function parseAuthParams(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    out[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3]!;
  }
  return out;
}

function defaultAddress(c: Context): string | null {
  const env = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return env?.remoteAddr?.hostname ?? null;
}

/** Build the `/prov/*` routes over `data`. Mount with `app.route("/", provisioningRoutes(...))`. */
export function provisioningRoutes(data: ProvisioningData, options: ProvisioningRoutesOptions = {}): Hono {
  const app = new Hono();
  const now = options.now ?? Date.now;
  const realm = options.realm ?? "pbx-provisioning";
  const scheme = options.authScheme ?? "digest";
  const ttl = options.nonceTtlMs ?? 5 * 60_000;
  const secret = crypto.getRandomValues(new Uint8Array(32));
  const address = (c: Context) => (options.clientAddress ?? defaultAddress)(c) ?? "unknown";

  const makeNonce = () => {
    const ts = String(now());
    return `${ts}.${createHmac("sha256", secret).update(ts).digest("hex").slice(0, 32)}`;
  };
  const nonceValid = (nonce: string) => {
    const [ts, mac] = nonce.split(".");
    if (!ts || !mac || !/^\d+$/.test(ts)) return false;
    const expect = createHmac("sha256", secret).update(ts).digest("hex").slice(0, 32);
    return safeEqual(mac, expect) && now() - Number(ts) <= ttl;
  };

  const authorized = (c: Context, device: Device | undefined): boolean => {
    const user = device?.httpUser;
    const pass = device?.httpPassword;
    if (!user || !pass) return true;
    return credentialsMatch(c, user, pass);
  };
  /** The HTTP user named in the Authorization header, if any. */
  const claimedUser = (c: Context): string | null => {
    const h = c.req.header("Authorization") ?? "";
    if (/^basic /i.test(h)) {
      try {
        const d = atob(h.slice(6).trim());
        return d.includes(":") ? d.slice(0, d.indexOf(":")) : null;
      } catch {
        return null;
      }
    }
    if (/^digest /i.test(h)) return parseAuthParams(h.slice(7)).username ?? null;
    return null;
  };
  const credentialsMatch = (c: Context, user: string, pass: string): boolean => {
    const h = c.req.header("Authorization") ?? "";
    if (/^basic /i.test(h)) {
      let decoded = "";
      try {
        decoded = atob(h.slice(6).trim());
      } catch {
        return false;
      }
      return safeEqual(decoded, `${user}:${pass}`);
    }
    if (/^digest /i.test(h)) {
      const p = parseAuthParams(h.slice(7));
      if (p.username !== user || p.realm !== realm || !p.nonce || !p.uri || !p.response) return false;
      if (!nonceValid(p.nonce)) return false;
      const ha1 = md5(`${user}:${realm}:${pass}`);
      const ha2 = md5(`${c.req.method}:${p.uri}`);
      const expected = p.qop
        ? md5(`${ha1}:${p.nonce}:${p.nc ?? ""}:${p.cnonce ?? ""}:${p.qop}:${ha2}`)
        : md5(`${ha1}:${p.nonce}:${ha2}`);
      return safeEqual(p.response.toLowerCase(), expected);
    }
    return false;
  };

  const challenge = (c: Context) => {
    const value = scheme === "basic"
      ? `Basic realm="${realm}"`
      : `Digest realm="${realm}", qop="auth", algorithm=MD5, nonce="${makeNonce()}"`;
    return c.text("authentication required", 401, { "WWW-Authenticate": value });
  };

  const guard = options.guard;
  const blocked = (c: Context) => c.text(BLOCKED_REASON, 429, { "Retry-After": "900" });
  /** A wrong Authorization header (not the first, unauthenticated, round of Digest) is a miss. */
  const badCredentials = (c: Context) => {
    if (c.req.header("Authorization")) guard?.miss(address(c), "bad credentials");
    return challenge(c);
  };
  /**
   * Phone book access: an address in the admin's allowed networks, or the HTTP credentials of
   * any device (phones send their own provisioning credentials).
   */
  const phonebookAccess = (c: Context): "open" | "authenticated" | "denied" => {
    if (phonebookOpenTo(data, address(c))) return "open";
    const user = claimedUser(c);
    const device = user ? data.deviceByHttpUser?.(user) : undefined;
    if (
      device?.httpUser && device.httpPassword && credentialsMatch(c, device.httpUser, device.httpPassword)
    ) {
      return "authenticated";
    }
    return "denied";
  };

  app.get("/prov/phonebook/:format", (c) => {
    if (guard?.refuse(address(c))) return blocked(c);
    const format = c.req.param("format");
    if (!(PHONEBOOK_FORMATS as readonly string[]).includes(format)) {
      guard?.miss(address(c), "unknown phone book format");
      return c.text("unknown phone book format", 404);
    }
    if (phonebookAccess(c) === "denied") return badCredentials(c);
    const out = renderPhonebook(data.phonebook(), format);
    return c.body(out.body, 200, { "Content-Type": out.contentType, "Cache-Control": "no-store" });
  });

  app.get("/prov/*", (c) => {
    const pathname = new URL(c.req.url).pathname;
    let file: string;
    try {
      file = decodeURIComponent(pathname.slice("/prov/".length));
    } catch {
      return c.text("bad path", 400);
    }
    const userAgent = c.req.header("User-Agent") ?? null;
    // Authenticate before generating, so a wrong password neither leaks nor counts as a fetch.
    if (guard?.refuse(address(c))) return blocked(c);
    const route = routeRequest(file, { deviceVendor: (m) => data.device(m)?.vendor, userAgent });
    const device = route?.mac ? data.device(route.mac) : undefined;
    if (device && !authorized(c, device)) return badCredentials(c);
    let authenticated = !!(device?.httpUser && device.httpPassword);
    if (route?.kind === "phonebook" && !authenticated) {
      const access = phonebookAccess(c);
      if (access === "denied" && !phonebookOpenTo(data, address(c))) return badCredentials(c);
      authenticated = access === "authenticated";
    }
    const r = serveProvisioningFile(file, data, {
      protocol: "http",
      address: address(c),
      userAgent,
      now: now(),
      secure: new URL(c.req.url).protocol === "https:",
      authenticated,
      guard,
      ...(options.requireOpenWindow !== undefined ? { requireOpenWindow: options.requireOpenWindow } : {}),
    });
    if (r.status === 429) return blocked(c);
    if (r.status !== 200) return c.text(r.reason, r.status);
    return c.body(r.body, 200, { "Content-Type": r.contentType, "Cache-Control": "no-store" });
  });

  return app;
}
