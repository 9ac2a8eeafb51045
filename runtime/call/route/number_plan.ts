/**
 * The one number plan: every dialable thing (extension, paging zone or group, feature code, and
 * later ring group, voicemail, IVR menu, park, conference, queue, trunk DID, outbound route) claims
 * its numbers here, and a claim that overlaps another one is refused with a `NumberCollision`
 * naming both owners.
 * @module
 */
import { type DialPattern, matches, overlaps, parsePattern, specificity } from "./pattern.ts";

/** Who may own numbers. Later features add their kind here. */
export type OwnerKind =
  | "extension"
  | "paging-zone"
  | "paging-group"
  | "feature-code"
  | "ring-group"
  | "voicemail"
  | "ivr"
  | "park"
  | "conference"
  | "queue"
  | "time-condition"
  | "trunk-did"
  | "outbound-route";

/** The owner of a claim. `id` is the owner's key in its own store (a zone number, a feature name). */
export interface Owner {
  kind: OwnerKind;
  id: string;
  /** Words for people, e.g. `paging zone 71 "Warehouse"`; default `<kind> <id>`. */
  label?: string;
}

/**
 * Where a number is dialled from: `internal` numbers are dialled by phones, `inbound` numbers
 * (DIDs) are what a trunk delivers. Claims only collide within one scope.
 */
export type NumberScope = "internal" | "inbound";

/** A claim on a number or a pattern (see pattern.ts for the syntax). */
export interface Claim {
  /** Exact number (`201`, `*72`) or pattern (`_*80X.`). */
  pattern: string;
  owner: Owner;
  /** Default `internal`. */
  scope?: NumberScope;
  /** What this particular number does for the owner, e.g. "emergency page"; shown in messages. */
  purpose?: string;
}

/** A claim as the plan holds it. */
export interface PlanEntry {
  claim: Claim;
  parsed: DialPattern;
  scope: NumberScope;
}

/** What a dialled number matched. */
export interface PlanMatch {
  claim: Claim;
  /** The number as dialled. */
  dialled: string;
  /** What follows the pattern's literal prefix: the argument of a feature code (`*80` `201`). */
  suffix: string;
  /** The number after a trunk pattern's `|` strip mark (the whole number without one). */
  stripped: string;
}

/** A label for an owner in messages. */
export function describeOwner(owner: Owner): string {
  return owner.label ?? `${owner.kind} ${owner.id}`;
}

function describeClaim(c: Claim): string {
  const what = c.pattern.startsWith("_") ? `pattern ${c.pattern}` : c.pattern;
  return `${describeOwner(c.owner)} (${c.purpose ? `${c.purpose} ` : ""}${what})`;
}

/** A claim was refused because another owner already holds an overlapping number. */
export class NumberCollision extends Error {
  override name = "NumberCollision";
  /** The claim already in the plan. */
  readonly existing: Claim;
  /** The claim that was refused. */
  readonly refused: Claim;
  constructor(existing: Claim, refused: Claim) {
    super(
      `number ${refused.pattern} for ${describeClaim(refused)} collides with ${describeClaim(existing)}`,
    );
    this.existing = existing;
    this.refused = refused;
  }
}

function sameOwner(a: Owner, b: Owner): boolean {
  return a.kind === b.kind && a.id === b.id;
}

/** What the dialplan needs of a number plan: the claim a dialled number falls under. */
export interface NumberLookup {
  lookup(dialled: string, scope?: NumberScope): PlanMatch | undefined;
}

/** The number plan. Claims are checked against each other; lookups return the most specific match. */
export class NumberPlan implements NumberLookup {
  #entries: PlanEntry[] = [];

  /**
   * Build a plan from claims that may already collide (rows stored before the check existed): the
   * first claim keeps its number, later colliding ones are left out and reported.
   */
  static from(
    claims: Iterable<Claim>,
    options: { onCollision?: (c: NumberCollision) => void } = {},
  ): NumberPlan {
    const plan = new NumberPlan();
    for (const c of claims) {
      const collision = plan.check(c);
      if (collision) options.onCollision?.(collision);
      else plan.#add(c);
    }
    return plan;
  }

  /** Every claim, in the order they were made. */
  entries(): readonly PlanEntry[] {
    return this.#entries;
  }

  /**
   * The collision `claim` would cause, or undefined when it is free. Claims of the same owner never
   * collide with each other (re-claiming your own number is a no-op). SyntaxError for a bad pattern.
   */
  check(claim: Claim): NumberCollision | undefined {
    const parsed = parsePattern(claim.pattern);
    const scope = claim.scope ?? "internal";
    for (const e of this.#entries) {
      if (e.scope !== scope || sameOwner(e.claim.owner, claim.owner)) continue;
      if (overlaps(e.parsed, parsed)) return new NumberCollision(e.claim, claim);
    }
    return undefined;
  }

  /** Claim a number; throws NumberCollision when it overlaps another owner's, SyntaxError when malformed. */
  claim(claim: Claim): void {
    const collision = this.check(claim);
    if (collision) throw collision;
    this.#add(claim);
  }

  /** Drop every claim of `owner`; returns how many went. */
  release(owner: Owner): number {
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((e) => !sameOwner(e.claim.owner, owner));
    return before - this.#entries.length;
  }

  /** The claim `dialled` falls under in `scope` (default internal), or undefined. */
  lookup(dialled: string, scope: NumberScope = "internal"): PlanMatch | undefined {
    let best: PlanEntry | undefined;
    for (const e of this.#entries) {
      if (e.scope !== scope || !matches(e.parsed, dialled)) continue;
      if (best === undefined || specificity(e.parsed) > specificity(best.parsed)) best = e;
    }
    if (best === undefined) return undefined;
    const chars = [...dialled];
    return {
      claim: best.claim,
      dialled,
      suffix: chars.slice(best.parsed.literalPrefixLength).join(""),
      stripped: chars.slice(best.parsed.stripLength).join(""),
    };
  }

  #add(claim: Claim): void {
    this.#entries.push({ claim, parsed: parsePattern(claim.pattern), scope: claim.scope ?? "internal" });
  }
}
