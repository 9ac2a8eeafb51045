/**
 * The number plan as the web API sees it: built from storage (extensions, paging zones and groups,
 * feature codes with their stored overrides) on each check, so a new number that another owner
 * already holds is refused with 409 naming both, whichever store it goes into.
 */
import {
  type Claim,
  extensionClaims,
  firstCollision,
  type NumberPlan,
  type NumberSources,
  pagingClaims,
  planOf,
} from "../runtime/call/route/mod.ts";
import type { Storage } from "../runtime/storage/mod.ts";
import { fail } from "./_http.ts";

/** Settings key of the feature-code overrides (`{ "dnd.on": "*76" }`). */
export const FEATURE_CODES_SETTING = "dialplan.featureCodes";

/** What claims numbers in `storage` right now. */
export function numberSources(storage: Storage): NumberSources {
  const extensions: { number: string; name: string }[] = [];
  for (let offset = 0;; offset += 1000) {
    const page = storage.extensions.list({ limit: 1000, offset });
    extensions.push(...page.map((e) => ({ number: e.number, name: e.name })));
    if (page.length < 1000) break;
  }
  const overrides = storage.settings.get<Record<string, string>>(FEATURE_CODES_SETTING);
  return {
    extensions,
    pagingZones: storage.paging.listZones(),
    pagingGroups: storage.paging.listGroups(),
    ...(overrides && typeof overrides === "object" ? { featureCodeOverrides: overrides } : {}),
  };
}

/** The number plan of `storage` (stored rows that already collide keep the first owner). */
export function numberPlan(storage: Storage): NumberPlan {
  return planOf(numberSources(storage));
}

/** Answer 409 naming both owners unless every claim is free. */
export function requireFree(storage: Storage, claims: readonly Claim[]): void {
  const hit = firstCollision(numberPlan(storage), claims);
  if (hit) fail(409, hit.message);
}

/** The claims of a new extension, zone or group, for `requireFree`. */
export const claimsFor = {
  extension: (number: string, name?: string): Claim[] =>
    extensionClaims({ number, ...(name ? { name } : {}) }),
  zone: (number: string, name?: string): Claim[] =>
    pagingClaims("paging-zone", { number, ...(name ? { name } : {}) }),
  group: (number: string, name?: string): Claim[] =>
    pagingClaims("paging-group", { number, ...(name ? { name } : {}) }),
};
