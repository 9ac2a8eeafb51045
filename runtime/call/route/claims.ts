/**
 * The claims of what exists today (extensions, paging zones and groups, feature codes), built from
 * plain lists so the web API and the appliance derive one plan from storage the same way.
 * @module
 */
import { featureCodeClaims, featureCodes } from "./feature_codes.ts";
import { type Claim, type NumberCollision, NumberPlan } from "./number_plan.ts";

/** What claims numbers today, as read from storage. */
export interface NumberSources {
  /** Extension numbers (and names, for messages). */
  extensions: readonly { number: string; name?: string }[];
  pagingZones?: readonly { number: string; name?: string }[];
  pagingGroups?: readonly { number: string; name?: string }[];
  /** Stored feature-code overrides (`{ "dnd.on": "*76" }`); default none. */
  featureCodeOverrides?: Readonly<Record<string, string>>;
  /**
   * Prefix that turns a zone or group number into an emergency page (appliance/_paging.ts uses
   * `*`): `*71` is claimed with zone 71. Empty string: no emergency numbers.
   */
  emergencyPagePrefix?: string;
}

const named = (what: string, number: string, name?: string) =>
  name ? `${what} ${number} ${JSON.stringify(name)}` : `${what} ${number}`;

/** Claims of an extension. */
export function extensionClaims(e: { number: string; name?: string }): Claim[] {
  return [{
    pattern: e.number,
    owner: { kind: "extension", id: e.number, label: named("extension", e.number, e.name) },
  }];
}

/** Claims of a paging zone or group: its number, and the emergency-page number. */
export function pagingClaims(
  kind: "paging-zone" | "paging-group",
  p: { number: string; name?: string },
  emergencyPagePrefix = "*",
): Claim[] {
  const owner = {
    kind,
    id: p.number,
    label: named(kind === "paging-zone" ? "paging zone" : "paging group", p.number, p.name),
  };
  const out: Claim[] = [{ pattern: p.number, owner, purpose: "page" }];
  if (emergencyPagePrefix !== "") {
    out.push({ pattern: emergencyPagePrefix + p.number, owner, purpose: "emergency page" });
  }
  return out;
}

/** Every claim of `sources`, extensions first (they win over paging when old rows collide). */
export function claimsOf(sources: NumberSources): Claim[] {
  const prefix = sources.emergencyPagePrefix ?? "*";
  return [
    ...sources.extensions.flatMap(extensionClaims),
    ...featureCodeClaims(featureCodes(sources.featureCodeOverrides)),
    ...(sources.pagingZones ?? []).flatMap((z) => pagingClaims("paging-zone", z, prefix)),
    ...(sources.pagingGroups ?? []).flatMap((g) => pagingClaims("paging-group", g, prefix)),
  ];
}

/** The plan of `sources`; stored rows that already collide are reported through `onCollision`. */
export function planOf(
  sources: NumberSources,
  options: { onCollision?: (c: NumberCollision) => void } = {},
): NumberPlan {
  return NumberPlan.from(claimsOf(sources), options);
}

/** The first collision any of `claims` would cause in `plan`, or undefined when all are free. */
export function firstCollision(plan: NumberPlan, claims: readonly Claim[]): NumberCollision | undefined {
  for (const c of claims) {
    const hit = plan.check(c);
    if (hit) return hit;
  }
  return undefined;
}
