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
  sourcesFrom,
} from "../runtime/call/route/mod.ts";
import type { Storage } from "../runtime/storage/mod.ts";
import { fail } from "./_http.ts";

export { FEATURE_CODES_SETTING } from "../runtime/call/route/mod.ts";

/** The feature modules' claims per storage, set once by `createApp` (AppDeps.features). */
const featureClaims = new WeakMap<Storage, () => readonly Claim[]>();

/** Make the feature modules' numbers (voicemail, rooms, park slots, ...) part of `storage`'s plan. */
export function useFeatureClaims(storage: Storage, claims: () => readonly Claim[]): void {
  featureClaims.set(storage, claims);
}

/** What claims numbers in `storage` right now (its rows, and the feature modules' numbers). */
export function numberSources(storage: Storage): NumberSources {
  return sourcesFrom(storage, featureClaims.get(storage)?.() ?? []);
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
