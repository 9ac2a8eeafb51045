/**
 * The dialplan the dispatcher calls today, on runtime/call/route: the dialled number is looked up
 * in the number plan (point reads over storage, the same precedence the web API's collision check
 * uses), its owner's route is stepped to the first destination, and that destination becomes the
 * dispatcher's RouteTarget. Extensions ring; paging zones and groups (and their emergency `*NN`
 * numbers) run the paging handler; feature codes have no route yet and answer 404.
 *
 * Continuations (busy/noAnswer/...) need the call engine to report outcomes: the dispatcher takes
 * only the first step until then.
 */
import {
  extensionRoute,
  type PlanMatch,
  resolve,
  type Route,
  storeLookup,
} from "../runtime/call/route/mod.ts";
import type { LocalCallHandler, RouteTarget } from "../runtime/call/mod.ts";
import type { Storage } from "../runtime/storage/mod.ts";
import type { Logger } from "../runtime/log/mod.ts";

/** The route of a number's owner, as configured today. */
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
    default:
      return undefined; // feature codes and later destinations: not built yet
  }
}

/** Build the dispatcher's `route(number)` over storage and the paging wiring. */
export function createRouter(options: {
  storage: Storage;
  paging: (dialled: string) => LocalCallHandler | undefined;
  log?: Logger;
}): (dialled: string) => RouteTarget {
  const plan = storeLookup(options.storage);
  return (dialled) => {
    const first = resolve(dialled, { plan, routeFor });
    if (first.kind === "end") {
      if (first.cause !== "notFound") {
        options.log?.info("route ended", { dialled, status: first.status, reason: first.reason });
      }
      return { kind: "none" };
    }
    const d = first.step.destination;
    if (d.kind === "extension") return { kind: "extension", number: d.number };
    if (d.kind === "application" && d.name === "paging") {
      const handler = options.paging(dialled);
      return handler ? { kind: "local", handler } : { kind: "none" };
    }
    return { kind: "none" };
  };
}
