/**
 * The feature-module declaration: a feature says in one place what it adds to the box, and
 * `appliance/` registers one list of them (`FEATURES` there) instead of growing a field per feature
 * in its wiring. Everything is optional; the appliance wires what is present:
 *
 * - `migrations`: schema steps (numbered in the feature's reserved range; see storage/migrations),
 * - `numbers`: the numbers it claims in the number plan (for collision checks and routing),
 * - `applications`: call-control applications by name (application.ts),
 * - `eventPackages`: SIP event packages it serves (announced in Allow-Events, methods.ts),
 * - `hold`: a hold handler (music on hold),
 * - `web`: routes (a function the appliance hands the web app to; runtime never imports web),
 *   pages for the navigation, and OpenAPI path entries.
 *
 * ```ts
 * export function mohFeature(deps): FeatureModule {
 *   return { name: "moh", hold: createMusicOnHold(deps) };
 * }
 * ```
 */
import type { Migration } from "../storage/migrations/mod.ts";
import type { Application } from "./application.ts";
import type { HoldHandler } from "./b2bua.ts";

/** The part of the web app a feature may add routes to (Hono's app satisfies it). */
export interface RouteHost {
  get(path: string, ...handlers: never[]): unknown;
  post(path: string, ...handlers: never[]): unknown;
}

/** A number a feature claims, with what it is. */
export interface NumberClaim {
  number: string;
  /** What owns it, for a collision message ("paging zone 801"). */
  owner: string;
}

/** What a feature adds; see the module doc. */
export interface FeatureModule {
  name: string;
  migrations?: readonly Migration[];
  numbers?(): readonly NumberClaim[];
  // deno-lint-ignore no-explicit-any -- each application takes its own args type
  applications?: readonly Application<any>[];
  eventPackages?: readonly string[];
  hold?: HoldHandler;
  web?: {
    routes?(app: RouteHost): void;
    pages?: readonly { path: string; title: string }[];
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
