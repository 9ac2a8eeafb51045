/**
 * The dialplan as data: a route is a list of steps, each a destination with continuations on
 * `busy`, `noAnswer`, `unavailable` and `failed` (Kamailio's failure routes), so "ring 201 for
 * 20 s, then voicemail" is `[{ destination: extension 201, ringSeconds: 20 }, { destination:
 * voicemail 201 }]`.
 *
 * The call engine drives it: `resolve(dialled, context)` gives the first step (or the end), the
 * engine runs the step, and `next(cursor, outcome, context)` says what comes after that outcome.
 * `dial` destinations (forward to another number) are followed here, not by the engine, with a
 * hop limit and a visited set, so a forwarding loop ends with 482 instead of a storm.
 * @module
 */
import type { NumberLookup, NumberScope, PlanMatch } from "./number_plan.ts";

/** How a group rings its members. */
export type GroupStrategy = "ringAll" | "hunt" | "memoryHunt";

/** Where a step sends the call. */
export type Destination =
  /** Ring an extension's registered contacts (`headers`: extra INVITE headers, e.g. intercom's auto-answer). */
  | { kind: "extension"; number: string; headers?: readonly { name: string; value: string }[] }
  /** Ring several numbers by `strategy`; the group's own outcome drives the continuations. */
  | { kind: "group"; members: readonly GroupMember[]; strategy: GroupStrategy }
  /** An application the box runs on the call (paging, voicemail, IVR, park, ...). */
  | { kind: "application"; name: string; args?: Readonly<Record<string, unknown>> }
  /** Send the call out of a trunk (`route`: the outbound route it came from, for class and caller ID). */
  | { kind: "trunk"; trunk: string; number: string; route?: string }
  /** Answer the caller with a SIP final status (e.g. 486, 404, 403) and stop. */
  | { kind: "hangup"; status: number; reason?: string }
  /** Continue with whatever `number` resolves to in the plan (forwarding, follow-me). */
  | { kind: "dial"; number: string };

/** A group member, with its own ring time for hunt strategies. */
export interface GroupMember {
  number: string;
  ringSeconds?: number;
}

/** What the engine reports when a step is over without the call being answered. */
export type FailureKind = "busy" | "noAnswer" | "unavailable" | "failed";

/** How a step ended. `status` is the SIP final status seen, if any. */
export type Outcome =
  | { kind: "answered" }
  | { kind: FailureKind; status?: number; reason?: string };

/**
 * What follows a failure: the next step of the list (`"next"`, the default), the end with the
 * outcome's status (`"end"`), another number (`{ dial }`), or steps of their own (`{ steps }`).
 */
export type Continuation =
  | "next"
  | "end"
  | { dial: string }
  | { steps: readonly Step[] };

/** One step of a route. */
export interface Step {
  destination: Destination;
  /** Seconds to ring before the outcome is `noAnswer` (ringing destinations); engine default without. */
  ringSeconds?: number;
  /** Continuations per failure kind; a missing one is `"next"`. */
  on?: Partial<Record<FailureKind, Continuation>>;
}

/** A route: what a number does, as steps. */
export interface Route {
  steps: readonly Step[];
}

/** Where the engine is in a route: data it hands back to `next`. */
export interface Cursor {
  /** The number first dialled. */
  readonly dialled: string;
  /** The step list being run and the index of the current step in it. */
  readonly steps: readonly Step[];
  readonly index: number;
  /** Numbers entered so far (the dialled one and every `dial` followed): the loop guard. */
  readonly visited: readonly string[];
  /** `dial` hops followed so far. */
  readonly hops: number;
  /** What the number entered last matched in the plan (its owner, a feature code's argument). */
  readonly match: PlanMatch;
}

/** Why a route ended. */
export type EndCause = "answered" | FailureKind | "hangup" | "notFound" | "loop" | "tooManyHops";

/** What the engine does now: run a step, or end (answer the caller with `status` unless answered). */
export type Next =
  | { kind: "step"; step: Step; cursor: Cursor }
  | { kind: "end"; cause: EndCause; status: number; reason: string; cursor?: Cursor };

/** What `resolve` and `next` need to know. */
export interface RouteContext {
  /** The number plan (a `NumberPlan`, or `storeLookup` over the stores). */
  plan: NumberLookup;
  /** The route for a matched number (its owner's configuration), or undefined: 404. */
  routeFor(match: PlanMatch): Route | undefined;
  /**
   * Scope the dialled number is looked up in (default internal; trunk calls use inbound). Numbers
   * reached by `dial` are always internal.
   */
  scope?: NumberScope;
  /** Most `dial` hops followed for one call (default 10). */
  maxHops?: number;
}

/** Default `maxHops`. */
export const DEFAULT_MAX_HOPS = 10;

/** The SIP status a failure ends with when the engine did not report one. */
export const FAILURE_STATUS: Readonly<Record<FailureKind, { status: number; reason: string }>> = {
  busy: { status: 486, reason: "Busy Here" },
  noAnswer: { status: 480, reason: "Temporarily Unavailable (no answer)" },
  unavailable: { status: 480, reason: "Temporarily Unavailable" },
  failed: { status: 500, reason: "Server Internal Error (route step failed)" },
};

/** The default route of an extension: ring it, then give the caller its outcome. */
export function extensionRoute(number: string, options: { ringSeconds?: number } = {}): Route {
  return {
    steps: [{
      destination: { kind: "extension", number },
      ...(options.ringSeconds === undefined ? {} : { ringSeconds: options.ringSeconds }),
    }],
  };
}

/** The first step for a dialled number, or the end (404, loop, ...). */
export function resolve(dialled: string, context: RouteContext): Next {
  return enter(dialled, { dialled, visited: [], hops: 0 }, context);
}

/** What comes after the current step ended with `outcome`. */
export function next(cursor: Cursor, outcome: Outcome, context: RouteContext): Next {
  if (outcome.kind === "answered") {
    return { kind: "end", cause: "answered", status: 200, reason: "OK", cursor };
  }
  const step = cursor.steps[cursor.index];
  const continuation = step?.on?.[outcome.kind] ?? "next";
  const end = (): Next => ({
    kind: "end",
    cause: outcome.kind,
    status: outcome.status ?? FAILURE_STATUS[outcome.kind].status,
    reason: outcome.reason ?? FAILURE_STATUS[outcome.kind].reason,
    cursor,
  });
  if (continuation === "end") return end();
  if (continuation === "next") {
    return cursor.index + 1 < cursor.steps.length
      ? run({ ...cursor, index: cursor.index + 1 }, context)
      : end();
  }
  if ("dial" in continuation) return follow(continuation.dial, cursor, context);
  return continuation.steps.length > 0
    ? run({ ...cursor, steps: continuation.steps, index: 0 }, context)
    : end();
}

// Enter a number: the loop guard, the plan lookup, then its route's first step.
function enter(number: string, from: Omit<Cursor, "steps" | "index" | "match">, context: RouteContext): Next {
  if (from.visited.includes(number)) {
    return {
      kind: "end",
      cause: "loop",
      status: 482,
      reason: `Loop Detected (${[...from.visited, number].join(" -> ")})`,
    };
  }
  // Only the number that came in is looked up in the context's scope: a DID's route dials internal numbers.
  const match = context.plan.lookup(number, from.hops === 0 ? context.scope ?? "internal" : "internal");
  const route = match ? context.routeFor(match) : undefined;
  if (!match || !route || route.steps.length === 0) {
    return { kind: "end", cause: "notFound", status: 404, reason: `Not Found (${number})` };
  }
  return run({ ...from, visited: [...from.visited, number], steps: route.steps, index: 0, match }, context);
}

function follow(number: string, cursor: Cursor, context: RouteContext): Next {
  const max = context.maxHops ?? DEFAULT_MAX_HOPS;
  if (cursor.hops + 1 > max) {
    return {
      kind: "end",
      cause: "tooManyHops",
      status: 483,
      reason: `Too Many Hops (more than ${max})`,
      cursor,
    };
  }
  return enter(number, { dialled: cursor.dialled, visited: cursor.visited, hops: cursor.hops + 1 }, context);
}

// Make the cursor's current step the engine's, following `dial` and ending at `hangup`.
function run(cursor: Cursor, context: RouteContext): Next {
  const step = cursor.steps[cursor.index]!;
  const d = step.destination;
  if (d.kind === "dial") return follow(d.number, cursor, context);
  if (d.kind === "hangup") {
    return {
      kind: "end",
      cause: "hangup",
      status: d.status,
      reason: d.reason ?? `status ${d.status}`,
      cursor,
    };
  }
  return { kind: "step", step, cursor };
}
