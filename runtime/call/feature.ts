/**
 * The feature-module declaration: a feature says in one place what it adds to the box, and
 * `appliance/` registers one list of them (`FEATURES` there) instead of growing a field per feature
 * in its wiring. Everything is optional; the appliance wires what is present:
 *
 * - `migrations`: schema steps (numbered in the feature's reserved range; see storage/migrations),
 * - `numbers`: the numbers it claims in the number plan (for collision checks and routing),
 * - `routing`: the routes of those numbers, and rewrites of extensions' routes (forward, voicemail),
 * - `applications`: call-control applications by name (application.ts),
 * - `eventPackages`: SIP event packages it serves (announced in Allow-Events, methods.ts),
 * - `hold`: a hold handler (music on hold),
 * - `useCalls`: receives the call-control API (`Calls`, calls.ts: originate, bridge, replace, and
 *   find/legsOf for the parties of phone-to-phone calls) once the engine is wired, for features that
 *   start or join calls themselves (park recall, wake-up calls, queues, conference merge),
 * - `web`: routes (a function the appliance hands the web app to; runtime never imports web),
 *   pages for the navigation, and OpenAPI path entries.
 *
 * ```ts
 * export function mohFeature(deps): FeatureModule {
 *   return { name: "moh", hold: createMusicOnHold(deps) };
 * }
 * ```
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import type { Migration } from "../storage/migrations/mod.ts";
import type { Role } from "../storage/mod.ts";
import type { Application } from "./application.ts";
import type { HoldHandler } from "./b2bua.ts";
import type { Calls } from "./calls.ts";
import type { Claim, PlanMatch, Route } from "./route/mod.ts";

/** The signed-in web user a feature's routes see (`c.get("user")`). */
export interface FeatureWebUser {
  username: string;
  role: Role;
  /** The user's own extension, when it has one (a user sees only their own mailbox, recordings). */
  extension?: string | undefined;
}

/** The Hono environment of the authenticated `/api` app features mount their routes on. */
export interface FeatureWebEnv {
  Variables: { user: FeatureWebUser; token: string; via: "bearer" | "cookie" };
}

/** What the web layer hands a feature's `routes` (runtime never imports web/; web passes these in). */
export interface FeatureWebKit {
  /** Middleware: 403 unless the signed-in user is an admin. */
  requireAdmin: MiddlewareHandler<FeatureWebEnv>;
  /** Throw an HTTP error the app answers as `{ error: message }` with that status. */
  fail(status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 503, message: string): never;
  /** The request body, refused with 413 past `maxBytes` (uploads: WAV, greetings, MOH classes). */
  readBody(c: Context<FeatureWebEnv>, maxBytes: number): Promise<Uint8Array<ArrayBuffer>>;
  /** Write an audit-log line (who did what), e.g. every play, download and delete of a recording. */
  audit(c: Context<FeatureWebEnv>, action: string, detail?: string): void;
}

/** Markup a feature page renders (built with `FeaturePageContext.html`, which escapes). */
export interface FeatureMarkup {
  readonly value: string;
}

/** What a feature page's `render` gets from the web layer. */
export interface FeaturePageContext {
  user: FeatureWebUser;
  /** Template tag: interpolated values are escaped unless they are markup from this tag. */
  html(strings: TemplateStringsArray, ...values: unknown[]): FeatureMarkup;
  /** An empty table (headers, empty body) for the page's script to fill, as the built-in pages have. */
  dataTable(id: string, columns: string[]): FeatureMarkup;
}

/**
 * A page a feature adds to the admin UI: a server-rendered shell (the layout with menu, title and
 * message line around `render`'s markup) and the feature's own browser script, an ES module served
 * at `/static/features/<feature name>/<file name>` that may import the shared helpers from
 * `/static/lib/*.js`. A feature page on a built-in stand-in's path (`/voicemail`) replaces it.
 */
export interface FeaturePage {
  path: string;
  /** Title and menu label. */
  title: string;
  /** Admin only (the default); false: every signed-in user (show a user only their own data). */
  admin?: boolean;
  /** The script file, e.g. `new URL("./web/inbox.js", import.meta.url)`. */
  script?: URL;
  /** The main content; without it the page has an empty `<div id="feature-page">`. */
  render?(ctx: FeaturePageContext): FeatureMarkup;
}

/** Routing a feature contributes to the dialplan (runtime/call/route). */
export interface FeatureRouting {
  /**
   * The route of a number this feature claims (`numbers()`): the match's `claim.owner` is one of
   * the feature's own. Undefined: not this feature's number (the next feature is asked).
   */
  routeFor?(match: PlanMatch): Route | undefined;
  /**
   * Rewrite an extension's route: forwarding, DND, "then voicemail" after busy or no answer. Each
   * feature's `extensionRoute` is applied in feature-list order to the default route (ring the
   * extension), so one feature can append voicemail and another prepend "forward always".
   */
  extensionRoute?(extension: string, route: Route): Route;
}

/** What a feature adds; see the module doc. */
export interface FeatureModule {
  name: string;
  migrations?: readonly Migration[];
  /** The numbers it claims (read on every call set-up and every collision check: keep it cheap). */
  numbers?(): readonly Claim[];
  /** Routes for its numbers, and rewrites of extensions' routes. */
  routing?: FeatureRouting;
  // deno-lint-ignore no-explicit-any -- each application takes its own args type
  applications?: readonly Application<any>[];
  eventPackages?: readonly string[];
  hold?: HoldHandler;
  /**
   * The call-control API, handed over once at start-up (after every feature is built): `originate`
   * an outbound leg to an extension or group, `bridge` two legs, `replace` one in a bridge. A
   * feature keeps it for its applications (whose `CallLeg`s it can bridge) and timers.
   */
  useCalls?(calls: Calls): void;
  web?: {
    /** Mounted on the authenticated `/api` app (so `api.get("/voicemail/...")` is `/api/voicemail/...`). */
    routes?(api: Hono<FeatureWebEnv>, kit: FeatureWebKit): void;
    /**
     * Path prefixes under /api (e.g. `/api/moh/classes/`) whose PUT/POST bodies the feature's routes
     * bound themselves with `kit.readBody` after authentication (uploads), instead of the API's
     * small default body limit.
     */
    uploads?: readonly string[];
    /** Pages in the admin UI's menu (docs/web.md, "Pages from a feature"). */
    pages?: readonly FeaturePage[];
    openapi?: Readonly<Record<string, unknown>>;
  };
}

/** Check a list of features: names unique, no event package or application name declared twice. */
export function checkFeatures(features: readonly FeatureModule[]): void {
  const seen = new Map<string, string>();
  const claim = (kind: string, name: string, owner: string) => {
    const key = `${kind}:${name}`;
    const other = seen.get(key);
    if (other !== undefined) throw new TypeError(`${kind} ${name} is declared by both ${other} and ${owner}`);
    seen.set(key, owner);
  };
  for (const f of features) {
    claim("feature", f.name, f.name);
    for (const a of f.applications ?? []) claim("application", a.name, f.name);
    for (const p of f.eventPackages ?? []) claim("event package", p, f.name);
    for (const m of f.migrations ?? []) claim("migration", String(m.version), f.name);
  }
  const holds = features.filter((f) => f.hold !== undefined);
  if (holds.length > 1) {
    throw new TypeError(`only one feature may handle hold: ${holds.map((f) => f.name).join(", ")}`);
  }
}
