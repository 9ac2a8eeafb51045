/**
 * /api/numbers: the number plan (who owns which number, and stored rows that already collide) and
 * /api/feature-codes: the feature-code table, editable; an edited code claims its new number and is
 * refused with 409 naming the owner when that number is taken.
 */
import type { Hono } from "hono";
import * as v from "valibot";
import {
  claimsOf,
  DEFAULT_FEATURE_CODES,
  FEATURE_CODES_SETTING,
  featureCodeClaims,
  featureCodes,
  type NumberCollision,
  NumberPlan,
  parsePattern,
  planOf,
} from "../runtime/call/route/mod.ts";
import { numberSources } from "./_numbers.ts";
import type { Storage } from "../runtime/storage/mod.ts";
import { requireAdmin } from "./api_auth.ts";
import { clientIp, fail, jsonBody } from "./_http.ts";
import type { AppEnv } from "./_env.ts";

const CodeBody = v.object({
  pattern: v.pipe(
    v.string("must be a string"),
    v.minLength(1, "must not be empty"),
    v.maxLength(32, "too long"),
  ),
});

function overridesOf(storage: Storage): Record<string, string> {
  const o = storage.settings.get<Record<string, string>>(FEATURE_CODES_SETTING);
  return o && typeof o === "object" && !Array.isArray(o) ? { ...o } : {};
}

function knownName(raw: string): string {
  if (!DEFAULT_FEATURE_CODES.some((f) => f.name === raw)) {
    fail(404, `feature code ${JSON.stringify(raw.slice(0, 40))} not found`);
  }
  return raw;
}

/** Register /numbers and /feature-codes (admin only) on the authenticated API app. */
export function registerNumberRoutes(api: Hono<AppEnv>, deps: { storage: Storage }): void {
  const { storage } = deps;
  for (const p of ["/numbers", "/feature-codes", "/feature-codes/*"]) api.use(p, requireAdmin());

  api.get("/numbers", (c) => {
    const collisions: NumberCollision[] = [];
    const plan = planOf(numberSources(storage), { onCollision: (x) => collisions.push(x) });
    return c.json({
      items: plan.entries().map((e) => ({
        pattern: e.claim.pattern,
        scope: e.scope,
        owner: e.claim.owner,
        ...(e.claim.purpose === undefined ? {} : { purpose: e.claim.purpose }),
      })),
      // Rows stored before numbers were checked: the later claim is left out of routing.
      collisions: collisions.map((x) => x.message),
    });
  });

  const table = () => {
    const current = featureCodes(overridesOf(storage));
    return current.map((f) => ({
      ...f,
      default: DEFAULT_FEATURE_CODES.find((d) => d.name === f.name)!.pattern,
    }));
  };
  api.get("/feature-codes", (c) => c.json({ items: table() }));

  const setCode = (name: string, pattern: string | undefined, actor: string, ip: string) => {
    const overrides = overridesOf(storage);
    if (pattern === undefined) delete overrides[name];
    else overrides[name] = pattern;
    const code = featureCodes(overrides).find((f) => f.name === name)!;
    const claim = featureCodeClaims([code])[0]!;
    // Everything else's claims, then this code's: whatever holds the number is named.
    const others = claimsOf({ ...numberSources(storage), featureCodeOverrides: overrides })
      .filter((x) => !(x.owner.kind === "feature-code" && x.owner.id === name));
    const hit = NumberPlan.from(others).check(claim);
    if (hit) fail(409, hit.message);
    storage.settings.set(FEATURE_CODES_SETTING, overrides);
    storage.audit.record({
      actor,
      action: "feature-code.update",
      detail: { name, pattern: code.pattern },
      sourceIp: ip,
    });
  };

  api.put("/feature-codes/:name", async (c) => {
    const name = knownName(c.req.param("name"));
    const body = await jsonBody(c, CodeBody);
    try {
      parsePattern(body.pattern);
    } catch (e) {
      fail(400, `feature code ${name}: ${(e as Error).message}`);
    }
    setCode(name, body.pattern, c.get("user").username, clientIp(c));
    return c.json({ items: table() });
  });

  api.delete("/feature-codes/:name", (c) => {
    const name = knownName(c.req.param("name"));
    setCode(name, undefined, c.get("user").username, clientIp(c));
    return c.json({ items: table() });
  });
}
