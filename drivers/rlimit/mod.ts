/**
 * The process's open-file limit (RLIMIT_NOFILE) through libc `getrlimit`/`setrlimit` (FFI): Deno
 * has no API for it. The appliance raises the soft limit to the hard limit at start, so a flood of
 * connections meets the connection caps long before the box runs out of file descriptors.
 *
 * `struct rlimit` is two `rlim_t` (unsigned 64-bit on Linux x86_64 and aarch64 glibc).
 *
 * @module
 */
import { NativeLibrary } from "../loader.ts";

const SYMBOLS = {
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** libc opened lazily (env override: PBX_LIBC_PATH, shared with the UDP driver). */
export const library: NativeLibrary<typeof SYMBOLS> = new NativeLibrary({
  label: "fd limit",
  soname: "libc.so.6",
  aptPackage: "libc6",
  envVar: "PBX_LIBC_PATH",
  symbols: SYMBOLS,
});

/** RLIMIT_NOFILE on Linux. */
const RLIMIT_NOFILE = 7;
/** RLIM_INFINITY on Linux (all ones). */
const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

/** Soft and hard open-file limits; null stands for "unlimited". */
export interface FdLimit {
  soft: number | null;
  hard: number | null;
}

function fromRlim(v: bigint): number | null {
  return v === RLIM_INFINITY ? null : Number(v);
}

/** The current RLIMIT_NOFILE, or null when libc cannot be used (not Linux, no --allow-ffi). */
export function getFdLimit(): FdLimit | null {
  if (Deno.build.os !== "linux") return null;
  const s = library.load();
  if (s === null) return null;
  const box = new BigUint64Array(2);
  if (s.getrlimit(RLIMIT_NOFILE, box) !== 0) return null;
  return { soft: fromRlim(box[0]!), hard: fromRlim(box[1]!) };
}

/** What {@linkcode raiseFdLimit} found and did. */
export interface RaiseResult {
  /** The limit before. */
  before: FdLimit;
  /** The limit now (equal to `before` when nothing changed or raising failed). */
  after: FdLimit;
  /** Why the soft limit could not be raised, when it could not. */
  error?: string;
}

/**
 * Raise the soft RLIMIT_NOFILE to `target` (default: the hard limit; an unlimited hard limit is
 * capped at `cap`, default 1,048,576, the kernel's usual nr_open). Never lowers the limit. Returns
 * null when the limit cannot be read at all.
 */
export function raiseFdLimit(options: { target?: number; cap?: number } = {}): RaiseResult | null {
  const before = getFdLimit();
  if (before === null) return null;
  const cap = options.cap ?? 1_048_576;
  const hard = before.hard ?? cap;
  const want = Math.min(options.target ?? hard, hard);
  if (before.soft === null || before.soft >= want) return { before, after: before };
  const box = new BigUint64Array([BigInt(want), before.hard === null ? RLIM_INFINITY : BigInt(before.hard)]);
  const s = library.require();
  if (s.setrlimit(RLIMIT_NOFILE, box) !== 0) {
    return { before, after: before, error: `setrlimit(RLIMIT_NOFILE, ${want}) failed` };
  }
  return { before, after: getFdLimit() ?? before };
}
