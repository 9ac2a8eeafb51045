/**
 * Dial patterns for the number plan, in the syntax Asterisk and FreePBX users know.
 *
 * - A pattern without a leading `_` is an exact number (`201`, `*72`).
 * - `_` starts a pattern: `X` is 0-9, `Z` is 1-9, `N` is 2-9, `[1-5]` / `[135]` a set, any other
 *   character itself; a final `.` matches one or more further characters, a final `!` zero or more.
 * - `|` marks where a trunk strips the number (`_9|NXXNXXXXXX`: dial 9, send the rest); it matches
 *   nothing itself.
 *
 * Wildcards only at the end keeps overlap between two patterns decidable by a walk over both, which
 * is what collision checks need.
 * @module
 */

/** One position of a pattern: the characters it accepts. */
type CharClass = ReadonlySet<string>;

/** A parsed pattern. */
export interface DialPattern {
  /** The text it was parsed from. */
  readonly source: string;
  /** One class per fixed position. */
  readonly positions: readonly CharClass[];
  /** What may follow the fixed positions: nothing, one or more (`.`), zero or more (`!`). */
  readonly tail: "none" | "oneOrMore" | "zeroOrMore";
  /** Characters of a number before the `|` mark (stripped by a trunk); 0 without one. */
  readonly stripLength: number;
  /** Length of the leading run of single-character positions (what a feature code's argument follows). */
  readonly literalPrefixLength: number;
  /** True for an exact number (no `_`). */
  readonly exact: boolean;
}

const DIGITS = "0123456789";
const range = (from: string): CharClass => new Set(from);
const CLASSES: Record<string, CharClass> = {
  X: range(DIGITS),
  Z: range(DIGITS.slice(1)),
  N: range(DIGITS.slice(2)),
};

/** Characters a dialled number may hold (SIP user parts also carry letters: `alice`). */
const NUMBER_RE = /^[0-9A-Za-z*#+._-]{1,32}$/;

/** Parse a pattern; SyntaxError saying what is wrong (and where) for bad text. */
export function parsePattern(source: string): DialPattern {
  if (typeof source !== "string" || source.length === 0 || source.length > 64) {
    throw new SyntaxError(`dial pattern must be 1-64 characters, got ${JSON.stringify(source)}`);
  }
  if (!source.startsWith("_")) {
    if (!NUMBER_RE.test(source)) {
      throw new SyntaxError(
        `number ${JSON.stringify(source)} may hold only 0-9 A-Z a-z * # + . _ - (1-32 characters)`,
      );
    }
    const positions = [...source].map((c) => new Set([c]));
    return {
      source,
      positions,
      tail: "none",
      stripLength: 0,
      literalPrefixLength: positions.length,
      exact: true,
    };
  }
  const positions: CharClass[] = [];
  let tail: DialPattern["tail"] = "none";
  let stripLength = 0;
  const body = source.slice(1);
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    const at = `at position ${i + 2} of ${JSON.stringify(source)}`;
    if (tail !== "none") throw new SyntaxError(`"." and "!" may only end a pattern (${at})`);
    if (c === "." || c === "!") {
      tail = c === "." ? "oneOrMore" : "zeroOrMore";
    } else if (c === "|") {
      if (stripLength !== 0 || positions.length === 0) {
        throw new SyntaxError(`"|" must follow at least one position and appear once (${at})`);
      }
      stripLength = positions.length;
    } else if (c === "[") {
      const end = body.indexOf("]", i);
      if (end < 0) throw new SyntaxError(`unclosed "[" ${at}`);
      positions.push(parseSet(body.slice(i + 1, end), at));
      i = end;
    } else if (CLASSES[c.toUpperCase()] !== undefined) {
      positions.push(CLASSES[c.toUpperCase()]!);
    } else if (/[0-9*#+A-Za-z]/.test(c)) {
      positions.push(new Set([c]));
    } else {
      throw new SyntaxError(`unexpected ${JSON.stringify(c)} ${at}`);
    }
  }
  if (positions.length === 0) throw new SyntaxError(`pattern ${JSON.stringify(source)} has no positions`);
  let literalPrefixLength = 0;
  while (literalPrefixLength < positions.length && positions[literalPrefixLength]!.size === 1) {
    literalPrefixLength++;
  }
  return { source, positions, tail, stripLength, literalPrefixLength, exact: false };
}

function parseSet(text: string, at: string): CharClass {
  const out = new Set<string>();
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (text[i + 1] === "-" && i + 2 < text.length) {
      const from = c.charCodeAt(0);
      const to = text.charCodeAt(i + 2);
      if (to < from) throw new SyntaxError(`empty range ${c}-${text[i + 2]} ${at}`);
      for (let k = from; k <= to; k++) out.add(String.fromCharCode(k));
      i += 2;
    } else out.add(c);
  }
  if (out.size === 0) throw new SyntaxError(`empty set "[]" ${at}`);
  return out;
}

/** Whether `number` matches `pattern`. */
export function matches(pattern: DialPattern, number: string): boolean {
  const chars = [...number];
  const n = pattern.positions.length;
  if (chars.length < n) return false;
  for (let i = 0; i < n; i++) if (!pattern.positions[i]!.has(chars[i]!)) return false;
  const rest = chars.length - n;
  if (pattern.tail === "none") return rest === 0;
  if (pattern.tail === "oneOrMore") return rest >= 1;
  return true;
}

/** Whether some number matches both patterns (two claims on it would collide). */
export function overlaps(a: DialPattern, b: DialPattern): boolean {
  const shared = Math.min(a.positions.length, b.positions.length);
  for (let i = 0; i < shared; i++) {
    const pa = a.positions[i]!;
    const pb = b.positions[i]!;
    let common = false;
    for (const c of pa) {
      if (pb.has(c)) {
        common = true;
        break;
      }
    }
    if (!common) return false;
  }
  if (a.positions.length === b.positions.length) {
    // Both may stop here unless one needs at least one more character and the other cannot take it.
    if (a.tail === "none") return b.tail !== "oneOrMore";
    if (b.tail === "none") return a.tail !== "oneOrMore";
    return true;
  }
  // The shorter one must absorb the longer one's remaining (non-empty) positions with its tail.
  const shorter = a.positions.length < b.positions.length ? a : b;
  return shorter.tail !== "none";
}

/** How specific a pattern is, for ordering matches: exact first, then more fixed positions. */
export function specificity(p: DialPattern): number {
  let score = p.exact ? 1_000_000 : 0;
  for (const pos of p.positions) score += pos.size === 1 ? 100 : 10;
  if (p.tail === "none") score += 5;
  return score;
}
