/**
 * /api/security: what the brute-force limiters have blocked (SIP sources, locked extensions,
 * web addresses and accounts) with unblock, and the allow-list of networks never blocked by
 * source. Admin only. Every unblock and allow-list change goes to the audit log.
 */
import { Hono } from "hono";
import * as v from "valibot";
import { parseNetwork } from "../runtime/registrar/mod.ts";
import type { Storage } from "../runtime/storage/mod.ts";
import { clientIp, fail, jsonBody } from "./_http.ts";
import type { AppEnv } from "./_env.ts";
import type { LoginLimiter } from "./_login_limiter.ts";
import type { SipSecurityControl } from "./types.ts";

/** Settings key of the allow-list (an array of CIDR strings). */
export const ALLOW_LIST_SETTING = "security.allowList";

/** Most networks the allow-list takes. */
export const MAX_ALLOW_LIST = 64;

const KINDS = ["sip-source", "sip-extension", "web-address", "web-account"] as const;

const AllowListBody = v.object({
  networks: v.pipe(
    v.array(v.pipe(v.string("must be a string"), v.maxLength(64, "too long"))),
    v.maxLength(MAX_ALLOW_LIST, `at most ${MAX_ALLOW_LIST} networks`),
  ),
});

/** The stored allow-list (empty when unset or unreadable). */
export function storedAllowList(storage: Storage): string[] {
  const v = storage.settings.get<unknown>(ALLOW_LIST_SETTING);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** Routes mounted at /api/security. */
export function securityRoutes(
  options: { storage: Storage; logins: LoginLimiter; sip?: SipSecurityControl | undefined },
): Hono<AppEnv> {
  const { storage, logins, sip } = options;
  const app = new Hono<AppEnv>();

  app.get("/blocks", (c) => {
    const items = [
      ...(sip?.blocks() ?? []),
      ...logins.blocks().map((b) => ({ ...b, failures: null })),
    ];
    return c.json({ items, sip: sip !== undefined });
  });

  app.delete("/blocks/:kind/:key", (c) => {
    const kind = c.req.param("kind");
    const key = c.req.param("key");
    if (!(KINDS as readonly string[]).includes(kind)) {
      fail(400, `kind must be one of ${KINDS.join(", ")}, got ${JSON.stringify(kind.slice(0, 40))}`);
    }
    let lifted: boolean;
    if (kind === "web-address" || kind === "web-account") lifted = logins.unblock(kind, key);
    else if (sip === undefined) fail(503, "SIP security control is not available");
    else lifted = sip.unblock(kind as "sip-source" | "sip-extension", key);
    if (!lifted) fail(404, `no ${kind} block for ${JSON.stringify(key.slice(0, 80))}`);
    storage.audit.record({
      actor: c.get("user").username,
      action: "security.unblock",
      detail: { kind, key: key.slice(0, 128) },
      sourceIp: clientIp(c),
    });
    return c.json({ ok: true });
  });

  // Security events from the audit log (blocks, lockouts, unblocks, allow-list changes), newest first.
  app.get("/events", (c) => c.json({ items: storage.audit.list({ actionPrefix: "security.", limit: 100 }) }));

  app.get("/allow-list", (c) => c.json({ networks: storedAllowList(storage) }));

  app.put("/allow-list", async (c) => {
    const body = await jsonBody(c, AllowListBody);
    const networks: string[] = [];
    for (const [i, n] of body.networks.entries()) {
      try {
        networks.push(parseNetwork(n).text);
      } catch (e) {
        fail(400, `invalid body: networks.${i}: ${(e as Error).message}`);
      }
    }
    storage.settings.set(ALLOW_LIST_SETTING, networks);
    sip?.setAllowList(networks);
    storage.audit.record({
      actor: c.get("user").username,
      action: "security.allow-list",
      detail: { networks },
      sourceIp: clientIp(c),
    });
    return c.json({ networks });
  });
  return app;
}
