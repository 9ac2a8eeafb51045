/**
 * Lazy `Deno.dlopen` shared by every driver: the library opens on first use, never at import, and a
 * missing library (or a missing `--allow-ffi`) disables only the feature that needs it, with one
 * clear log line such as `libopus.so.0 not found: Opus disabled (apt install libopus0)`.
 *
 * @module
 */

/** Where driver warnings go; one line per event. The appliance may point it at its logger. */
export type DriverLogSink = (line: string) => void;

const encoder = new TextEncoder();

let logSink: DriverLogSink = (line) => {
  try {
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
  } catch {
    // stderr closed: nothing else to do with a warning
  }
};

/** Redirect driver warnings (e.g. into the appliance logger). Returns the previous sink. */
export function setDriverLogSink(sink: DriverLogSink): DriverLogSink {
  const previous = logSink;
  logSink = sink;
  return previous;
}

/** What a driver declares about its shared library. */
export interface NativeLibrarySpec<S extends Deno.ForeignLibraryInterface> {
  /** Feature name used in messages, e.g. "Opus". */
  readonly label: string;
  /** The soname opened by default, e.g. "libopus.so.0". */
  readonly soname: string;
  /** Debian package that ships it, named in the message. */
  readonly aptPackage: string;
  /** Environment variable that overrides the path (tests point it at a nonexistent file). */
  readonly envVar: string;
  /** FFI symbol table. */
  readonly symbols: S;
}

function envPath(name: string): string | undefined {
  try {
    const v = Deno.env.get(name);
    return v === undefined || v === "" ? undefined : v;
  } catch {
    // no --allow-env: use the default soname
    return undefined;
  }
}

/**
 * One shared library opened lazily. Holds the handle for the life of the process: drivers never
 * close a library because native state objects created from it may still be alive.
 */
export class NativeLibrary<S extends Deno.ForeignLibraryInterface> {
  readonly #spec: NativeLibrarySpec<S>;
  #symbols: Deno.DynamicLibrary<S>["symbols"] | null = null;
  #reason: string | null = null;
  #tried = false;
  #pathOverride: string | undefined;
  // Handles stay referenced so a garbage-collected handle can never unload live native code.
  readonly #handles: Deno.DynamicLibrary<S>[] = [];

  /** Declare a library; nothing is opened until {@linkcode NativeLibrary.load}. */
  constructor(spec: NativeLibrarySpec<S>) {
    this.#spec = spec;
  }

  /** The symbols, opening the library on first call; null when it cannot be opened. */
  load(): Deno.DynamicLibrary<S>["symbols"] | null {
    if (this.#tried) return this.#symbols;
    this.#tried = true;
    const spec = this.#spec;
    const fromEnv = envPath(spec.envVar);
    const path = this.#pathOverride ?? fromEnv ?? spec.soname;
    try {
      const handle = Deno.dlopen(path, spec.symbols);
      this.#handles.push(handle);
      this.#symbols = handle.symbols;
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      const where = path === spec.soname ? path : `${path} (${fromEnv === path ? spec.envVar : "override"})`;
      if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
        this.#reason = `FFI not permitted (run with --allow-ffi): ${spec.label} disabled`;
      } else if (
        /undefined symbol|could not find symbol|symbol/i.test(detail) && !/No such file/i.test(detail)
      ) {
        this.#reason = `${where} is missing a symbol (${detail}): ${spec.label} disabled`;
      } else {
        this.#reason = `${where} not found: ${spec.label} disabled (apt install ${spec.aptPackage})`;
      }
      logSink(this.#reason);
    }
    return this.#symbols;
  }

  /** True when the library opened (opens it if not tried yet). */
  available(): boolean {
    return this.load() !== null;
  }

  /** Why the library is unavailable, or null when it loaded (or was not tried yet). */
  reason(): string | null {
    return this.#reason;
  }

  /** The symbols, or throws an Error carrying the one-line reason. */
  require(): Deno.DynamicLibrary<S>["symbols"] {
    const s = this.load();
    if (s === null) throw new Error(this.#reason ?? `${this.#spec.label} unavailable`);
    return s;
  }

  /**
   * Force a path (tests simulate a missing library) or `undefined` to go back to env/soname.
   * The next {@linkcode NativeLibrary.load} retries; objects created earlier keep working because
   * an opened library is never closed.
   */
  setPath(path: string | undefined): void {
    this.#pathOverride = path;
    this.#symbols = null;
    this.#tried = false;
    this.#reason = null;
  }
}

type Free = (ptr: Deno.PointerObject) => unknown;
// Safety net only: owners must close(); this frees native states dropped without it.
const finalizer = new FinalizationRegistry<{ free: Free; ptr: Deno.PointerObject }>((h) => {
  h.free(h.ptr);
});

/**
 * Owns one native state pointer: `ptr` throws a TypeError after `close()`, `close()` is idempotent,
 * and a state dropped without `close()` is freed by a FinalizationRegistry as a last resort.
 */
export class NativeHandle {
  #ptr: Deno.PointerObject | null;
  readonly #free: Free;
  readonly #what: string;
  readonly #token = {};

  /** Take ownership of `ptr`, released with `free`; `what` names it in errors ("G.722 encoder"). */
  constructor(ptr: Deno.PointerObject, free: Free, what: string) {
    this.#ptr = ptr;
    this.#free = free;
    this.#what = what;
    finalizer.register(this, { free, ptr }, this.#token);
  }

  /** The live pointer. */
  get ptr(): Deno.PointerObject {
    if (this.#ptr === null) throw new TypeError(`${this.#what} used after close()`);
    return this.#ptr;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#ptr === null;
  }

  /** Free the native state. */
  close(): void {
    if (this.#ptr === null) return;
    finalizer.unregister(this.#token);
    const p = this.#ptr;
    this.#ptr = null;
    this.#free(p);
  }
}
