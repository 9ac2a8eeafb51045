/**
 * The update state files in DATA_DIR/update (`staged`, `trial`, `last-result`): one `key=value`
 * per line so the POSIX sh launcher can read them. Written by temp file and rename.
 */

/** Slot names on the box. */
export type Slot = "a" | "b";

/** `staged`: a payload fully extracted into `slot`, switched to at the next start. */
export interface StagedState {
  slot: Slot;
  version: string;
  stagedAt: number;
  stagedBy: string;
}

/** `trial`: the launcher switched to `slot` and counts its starts until the app confirms it. */
export interface TrialState {
  slot: Slot;
  previous: Slot | null;
  version: string;
  attempts: number;
}

/** `last-result`: how the last update ended. `at` is epoch seconds. */
export interface LastResult {
  result: "ok" | "rolled-back";
  version: string;
  at: number;
}

/** Parse `key=value` lines; later keys win, other lines are ignored. */
export function parseKeyValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) out.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return out;
}

/** Format `key=value` lines; values must not hold line breaks (they are replaced). */
export function formatKeyValues(values: Record<string, string | number>): string {
  return Object.entries(values).map(([k, v]) => `${k}=${String(v).replace(/[\r\n]/g, " ")}\n`).join("");
}

function readMap(path: string): Map<string, string> | null {
  try {
    return parseKeyValues(Deno.readTextFileSync(path));
  } catch {
    return null;
  }
}

const isSlot = (s: string | undefined): s is Slot => s === "a" || s === "b";
const num = (s: string | undefined): number | null =>
  s !== undefined && /^[0-9]{1,16}$/.test(s) ? Number(s) : null;

/** Read `staged`; null when absent or not a valid record. */
export function readStaged(dir: string): StagedState | null {
  const m = readMap(`${dir}/staged`);
  const slot = m?.get("slot");
  if (!m || !isSlot(slot)) return null;
  return {
    slot,
    version: m.get("version") ?? "",
    stagedAt: num(m.get("stagedAt")) ?? 0,
    stagedBy: m.get("stagedBy") ?? "",
  };
}

/** Read `trial`; null when absent or not a valid record. */
export function readTrial(dir: string): TrialState | null {
  const m = readMap(`${dir}/trial`);
  const slot = m?.get("slot");
  if (!m || !isSlot(slot)) return null;
  const previous = m.get("previous");
  return {
    slot,
    previous: isSlot(previous) ? previous : null,
    version: m.get("version") ?? "",
    attempts: num(m.get("attempts")) ?? 0,
  };
}

/** Read `last-result`; null when absent or not a valid record. */
export function readLastResult(dir: string): LastResult | null {
  const m = readMap(`${dir}/last-result`);
  const result = m?.get("result");
  if (!m || (result !== "ok" && result !== "rolled-back")) return null;
  return { result, version: m.get("version") ?? "", at: num(m.get("at")) ?? 0 };
}

/** Write a state file atomically: temp file, fsync, rename. */
export function writeStateFile(dir: string, name: string, values: Record<string, string | number>): void {
  Deno.mkdirSync(dir, { recursive: true });
  const tmp = `${dir}/.${name}.${crypto.randomUUID()}`;
  const file = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o644 });
  try {
    const bytes = new TextEncoder().encode(formatKeyValues(values));
    let off = 0;
    while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
    file.syncSync();
  } finally {
    file.close();
  }
  Deno.renameSync(tmp, `${dir}/${name}`);
}

/** Remove a state file; true when it existed. */
export function removeStateFile(dir: string, name: string): boolean {
  try {
    Deno.removeSync(`${dir}/${name}`);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
