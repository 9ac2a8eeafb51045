/**
 * The claims of what exists today (extensions, paging zones and groups, feature codes), built from
 * plain lists so the web API and the appliance derive one plan from storage the same way.
 * @module
 */
import { featureCodeClaims, featureCodes } from "./feature_codes.ts";
import { type Claim, type NumberCollision, type NumberLookup, NumberPlan } from "./number_plan.ts";

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
  /**
   * Claims of the feature modules (voicemail, conference rooms, park slots, ring groups, ...):
   * `FeatureModule.numbers()`. They come after paging and before the feature codes.
   */
  extra?: readonly Claim[];
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

/**
 * Every claim of `sources`. When stored rows already collide (made before the check existed) the
 * earlier kind keeps the number: extensions, then paging zones, groups, and feature codes last,
 * since a stored thing that works today should not lose its number to a default code.
 */
export function claimsOf(sources: NumberSources): Claim[] {
  const prefix = sources.emergencyPagePrefix ?? "*";
  return [
    ...sources.extensions.flatMap(extensionClaims),
    ...(sources.pagingZones ?? []).flatMap((z) => pagingClaims("paging-zone", z, prefix)),
    ...(sources.pagingGroups ?? []).flatMap((g) => pagingClaims("paging-group", g, prefix)),
    ...(sources.extra ?? []),
    ...featureCodeClaims(featureCodes(usableOverrides(sources.featureCodeOverrides))),
  ];
}

// A damaged stored override (unknown name, bad pattern) must not stop routing: the default stands.
function usableOverrides(overrides: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, pattern] of Object.entries(overrides ?? {})) {
    try {
      featureCodes({ [name]: pattern });
      out[name] = pattern;
    } catch {
      // left out
    }
  }
  return out;
}

/** Settings key of the stored feature-code overrides (`{ "dnd.on": "*76" }`). */
export const FEATURE_CODES_SETTING = "dialplan.featureCodes";

/** The stores `sourcesFrom` reads (runtime/storage's Storage fits); read-only. */
export interface NumberStores {
  extensions: { list(query: { limit: number; offset: number }): readonly { number: string; name: string }[] };
  paging: {
    listZones(): readonly { number: string; name: string }[];
    listGroups(): readonly { number: string; name: string }[];
  };
  settings: { get<T>(key: string): T | undefined };
}

/** What claims numbers in the stores right now (every extension, zone, group, the code overrides). */
export function sourcesFrom(stores: NumberStores, extra: readonly Claim[] = []): NumberSources {
  const extensions: { number: string; name: string }[] = [];
  for (let offset = 0;; offset += 1000) {
    const page = stores.extensions.list({ limit: 1000, offset });
    for (const e of page) extensions.push({ number: e.number, name: e.name });
    if (page.length < 1000) break;
  }
  const overrides = stores.settings.get<Record<string, string>>(FEATURE_CODES_SETTING);
  return {
    extensions,
    pagingZones: stores.paging.listZones().map((z) => ({ number: z.number, name: z.name })),
    pagingGroups: stores.paging.listGroups().map((g) => ({ number: g.number, name: g.name })),
    ...(extra.length > 0 ? { extra } : {}),
    ...(overrides && typeof overrides === "object" && !Array.isArray(overrides)
      ? { featureCodeOverrides: overrides }
      : {}),
  };
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

/** The point reads `storeLookup` makes (runtime/storage's Storage fits). */
export interface NumberPointStores {
  extensions: { get(number: string): { number: string; name: string } | undefined };
  paging: {
    getZone(number: string): { number: string; name: string } | undefined;
    getGroup(number: string): { number: string; name: string } | undefined;
  };
  settings: { get<T>(key: string): T | undefined };
}

/**
 * The number plan for one dialled number at a time, from point reads instead of listing every
 * row: the claims that could hold `dialled` (the extension, zone or group with that number or
 * with it after the emergency prefix, the feature codes) go into a small plan built the way
 * `planOf` builds the whole one, so the answer and the precedence are the same. For call set-up.
 */
export function storeLookup(
  stores: NumberPointStores,
  options: {
    emergencyPagePrefix?: string;
    /** The feature modules' claims (read on every lookup: they are small, in-memory sets). */
    extraClaims?: () => readonly Claim[];
  } = {},
): NumberLookup {
  const prefix = options.emergencyPagePrefix ?? "*";
  return {
    lookup(dialled, scope = "internal") {
      // DIDs are only features' claims (trunks): the inbound scope is looked up among those alone.
      if (scope !== "internal") {
        return planOf({ extensions: [], extra: options.extraClaims?.() ?? [] }).lookup(dialled, scope);
      }
      const numbers = [dialled];
      if (prefix !== "" && dialled.startsWith(prefix) && dialled.length > prefix.length) {
        numbers.push(dialled.slice(prefix.length));
      }
      const pick = <T>(get: (n: string) => T | undefined): T[] =>
        numbers.map((n) => get(n)).filter((x): x is T => x !== undefined);
      const overrides = stores.settings.get<Record<string, string>>(FEATURE_CODES_SETTING);
      return planOf({
        extensions: pick((n) => stores.extensions.get(n)),
        pagingZones: pick((n) => stores.paging.getZone(n)),
        pagingGroups: pick((n) => stores.paging.getGroup(n)),
        extra: options.extraClaims?.() ?? [],
        ...(overrides && typeof overrides === "object" && !Array.isArray(overrides)
          ? { featureCodeOverrides: overrides }
          : {}),
        emergencyPagePrefix: prefix,
      }).lookup(dialled);
    },
  };
}
