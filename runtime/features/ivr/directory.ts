/**
 * Dial-by-name: the caller spells the first letters of a name on the keypad (2 = ABC ... 9 = WXYZ)
 * and the directory lists the extensions whose first or last name starts with those keys. Pure
 * (no call control), so the matching is unit-tested apart from the menu that speaks it.
 * @module
 */

const KEYS: Record<string, string> = {
  a: "2",
  b: "2",
  c: "2",
  d: "3",
  e: "3",
  f: "3",
  g: "4",
  h: "4",
  i: "4",
  j: "5",
  k: "5",
  l: "5",
  m: "6",
  n: "6",
  o: "6",
  p: "7",
  q: "7",
  r: "7",
  s: "7",
  t: "8",
  u: "8",
  v: "8",
  w: "9",
  x: "9",
  y: "9",
  z: "9",
};

/** The keypad digits of a word's letters (accents folded, other characters dropped). */
export function keypadDigits(word: string): string {
  let out = "";
  for (const ch of word.normalize("NFD").toLowerCase()) out += KEYS[ch] ?? "";
  return out;
}

/** One person the directory can find. */
export interface DirectoryEntry {
  number: string;
  name: string;
}

/** Which name the caller spells. */
export type DirectoryBy = "first" | "last";

/** The name the caller spells: the first word, or the last word (a one-word name is both). */
export function spelledName(name: string, by: DirectoryBy): string {
  const words = name.trim().split(/\s+/).filter((w) => keypadDigits(w) !== "");
  if (words.length === 0) return "";
  return by === "first" ? words[0]! : words[words.length - 1]!;
}

/**
 * The entries whose spelled name starts with `digits`, sorted by that name then number; entries
 * without a name (or only digits in it) are never listed.
 */
export function directoryMatches(
  entries: readonly DirectoryEntry[],
  digits: string,
  by: DirectoryBy,
): DirectoryEntry[] {
  if (!/^[2-9]+$/.test(digits)) return [];
  return entries
    .map((e) => ({ e, word: spelledName(e.name, by) }))
    .filter(({ word }) => word !== "" && keypadDigits(word).startsWith(digits))
    .sort((a, b) => a.word.localeCompare(b.word) || a.e.number.localeCompare(b.e.number))
    .map(({ e }) => e);
}
