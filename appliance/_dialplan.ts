/**
 * The dialplan the dispatcher calls today, on runtime/call/route: the dialled number is looked up
 * in the number plan (point reads over storage, the same precedence the web API's collision check
 * uses), its owner's route is stepped to the first destination, and that destination becomes the
 * dispatcher's RouteTarget. Extensions ring; paging zones and groups (and their emergency `*NN`
 * numbers) run the paging handler; feature codes are routed by the feature that answers them
 * (voicemail, callfeatures), and a code no feature routes answers 404.
 *
 * Feature modules add to it (runtime/call/feature.ts): their `numbers()` join the plan, their
 * `routing.routeFor` gives the routes of those numbers, `routing.extensionRoute` rewrites every
 * extension's route (forwarding, voicemail after no answer), and an `application` destination runs
 * the feature application of that name on the call.
 *
 * Every ringing target carries `next`: when the step ends busy, unanswered, unavailable or failed,
 * the dispatcher calls it with that outcome and runs what the route's continuation gives (another
 * extension, a group, an application such as voicemail, a hangup status, or the end) on the same
 * INVITE.
 */
import {
  extensionRoute,
  type Next,
  next,
  type PlanMatch,
  resolve,
  type Route,
  type RouteContext,
  storeLookup,
} from "../runtime/call/route/mod.ts";
import {
  type Application,
  type ApplicationDeps,
  applicationHandler,
  type FeatureModule,
  type LocalCallHandler,
  type OutboundDecision,
  type OutboundRequest,
  type RouteTarget,
} from "../runtime/call/mod.ts";
import type { FailureKind } from "../runtime/call/route/mod.ts";
import type { Storage } from "../runtime/storage/mod.ts";
import type { Logger } from "../runtime/log/mod.ts";

/** The default call and pickup group of an extension that names none (FreePBX's default 1). */
export const DEFAULT_PICKUP_GROUP = "1";

/** An extension's groups from its options (`callGroups`/`pickupGroups`); absent: the default group. */
export function groupsOf(
  options: Record<string, unknown> | undefined,
  key: "callGroups" | "pickupGroups",
): string[] {
  const v = options?.[key];
  return Array.isArray(v) ? v.filter((g): g is string => typeof g === "string") : [DEFAULT_PICKUP_GROUP];
}

/**
 * Group pickup (Asterisk callgroup/pickupgroup): `picker` may answer a call ringing at `callee`
 * when one of the callee's call groups is one of the picker's pickup groups.
 */
export function mayPickUp(storage: Pick<Storage, "extensions">, picker: string, callee: string): boolean {
  const mine = new Set(groupsOf(storage.extensions.get(picker)?.options, "pickupGroups"));
  if (mine.size === 0) return false;
  return groupsOf(storage.extensions.get(callee)?.options, "callGroups").some((g) => mine.has(g));
}

/** The route of a number's owner, as configured today (features' routes come from `routeWith`). */
export function routeFor(match: PlanMatch): Route | undefined {
  const { owner } = match.claim;
  switch (owner.kind) {
    case "extension":
      return extensionRoute(owner.id);
    case "paging-zone":
    case "paging-group":
      return {
        steps: [{ destination: { kind: "application", name: "paging", args: { dialled: match.dialled } } }],
      };
    case "feature-code":
      // Call pickup (runtime/call/b2bua.ts pickup): *8 any ringing extension, **NNN the one at NNN.
      if (owner.id === "pickup.group" || owner.id === "pickup.directed") {
        const extension = owner.id === "pickup.directed" ? match.suffix : undefined;
        return {
          steps: [{
            destination: { kind: "application", name: "pickup", args: extension ? { extension } : {} },
          }],
        };
      }
      return undefined; // the other feature codes: their features route them (or 404)
    default:
      return undefined; // feature codes and feature numbers: the feature modules route them
  }
}

/**
 * `routeFor` with the feature modules: an extension's route goes through every feature's
 * `extensionRoute` in list order; a number no built-in owner routes is offered to each feature.
 */
export function routeWith(features: readonly FeatureModule[]): (match: PlanMatch) => Route | undefined {
  return (match) => {
    const own = routeFor(match);
    if (match.claim.owner.kind === "extension" && own !== undefined) {
      let route = own;
      for (const f of features) {
        const rewrite = f.routing?.extensionRoute;
        if (rewrite) route = rewrite(match.claim.owner.id, route);
      }
      return route;
    }
    if (own !== undefined) return own;
    for (const f of features) {
      const r = f.routing?.routeFor?.(match);
      if (r !== undefined) return r;
    }
    return undefined;
  };
}

/** Build the dispatcher's `route(number)` over storage, the paging wiring and the feature modules. */
export function createRouter(options: {
  storage: Storage;
  paging: (dialled: string) => LocalCallHandler | undefined;
  log?: Logger;
  /** Feature modules: numbers, routes and applications (default none). */
  features?: readonly FeatureModule[];
  /** What feature applications get to drive a leg (the media plane's players and recorder). */
  applicationDeps?: ApplicationDeps;
  /** Trunk steps: the leg (or a refusal) for a caller (runtime/features/trunks). */
  trunks?: { prepare(request: OutboundRequest): OutboundDecision | Promise<OutboundDecision> };
  /** Where the dialled number is looked up: `inbound` for the DIDs trunks deliver (default internal). */
  scope?: "internal" | "inbound";
}): (dialled: string) => RouteTarget {
  const features = options.features ?? [];
  const plan = storeLookup(options.storage, {
    extraClaims: () => features.flatMap((f) => f.numbers?.() ?? []),
  });
  // deno-lint-ignore no-explicit-any -- each application takes its own args type
  const applications = new Map<string, Application<any>>();
  for (const f of features) for (const a of f.applications ?? []) applications.set(a.name, a);
  const context: RouteContext = {
    plan,
    routeFor: routeWith(features),
    ...(options.scope !== undefined ? { scope: options.scope } : {}),
  };
  const target = (dialled: string, n: Next, first: boolean): RouteTarget => {
    if (n.kind === "end") {
      if (n.cause !== "notFound" || !first) {
        options.log?.info("route ended", { dialled, status: n.status, reason: n.reason });
      }
      return first && n.cause === "notFound"
        ? { kind: "none" }
        : { kind: "none", status: n.status, reason: n.reason };
    }
    const { step, cursor } = n;
    const d = step.destination;
    const ring = step.ringSeconds !== undefined ? { ringSeconds: step.ringSeconds } : {};
    const goOn = {
      next: (failure: { kind: FailureKind; status?: number; reason?: string }) =>
        target(dialled, next(cursor, failure, context), false),
    };
    if (d.kind === "extension") {
      const headers = d.headers !== undefined ? { headers: d.headers } : {};
      return { kind: "extension", number: d.number, ...ring, ...goOn, ...headers };
    }
    if (d.kind === "group") {
      return { kind: "group", members: d.members, strategy: d.strategy, ...ring, ...goOn };
    }
    if (d.kind === "application" && d.name === "pickup") {
      const extension = d.args?.extension;
      if (typeof extension === "string") return { kind: "pickup", extension };
      // *8: only calls ringing at an extension in one of the picker's pickup groups.
      return { kind: "pickup", allowed: (picker, callee) => mayPickUp(options.storage, picker, callee) };
    }
    if (d.kind === "application" && d.name === "paging") {
      const handler = options.paging(dialled);
      return handler ? { kind: "local", handler } : { kind: "none" };
    }
    if (d.kind === "application") {
      const app = applications.get(d.name);
      if (app === undefined || options.applicationDeps === undefined) {
        options.log?.warn("route names an application the box does not run", { dialled, app: d.name });
        return { kind: "none" };
      }
      return {
        kind: "local",
        handler: applicationHandler(app, { ...d.args, dialled }, options.applicationDeps),
      };
    }
    const trunks = options.trunks;
    if (d.kind !== "trunk") {
      return { kind: "none", status: 500, reason: `Server Internal Error (step ${d.kind})` };
    }
    if (trunks === undefined) {
      // No trunk feature: the step fails and the route's `failed` continuation decides.
      options.log?.warn("route names a trunk; the box runs no trunks", { dialled });
      return goOn.next({ kind: "failed", status: 503, reason: "Service Unavailable (no trunks)" });
    }
    // Failover is on 5xx, 408 and transport failure (local 503): those are `failed`; any other
    // final status (404, 486, 603, ...) is the far end's answer and is not `failed`.
    const classify = (f: { kind: FailureKind; status?: number; reason?: string }) =>
      f.status !== undefined && (f.status === 408 || f.status >= 500)
        ? { ...f, kind: "failed" as const }
        : f.kind === "failed"
        ? { ...f, kind: "unavailable" as const }
        : f;
    const route = d.route;
    // Forwarding or follow-me sent the call out: it goes out for the last extension it passed.
    const onBehalfOf = [...cursor.visited].reverse().find((n) =>
      options.storage.extensions.get(n) !== undefined
    );
    return {
      kind: "trunk",
      trunk: d.trunk,
      number: d.number,
      prepare: (r) => {
        const account = onBehalfOf ?? r.onBehalfOf;
        return trunks.prepare({ ...r, route, ...(account !== undefined ? { onBehalfOf: account } : {}) });
      },
      ...ring,
      next: (f) => goOn.next(classify(f)),
    };
  };
  return (dialled) => target(dialled, resolve(dialled, context), true);
}
