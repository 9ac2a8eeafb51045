/**
 * Output lines that switch amplifiers (or relays) on and off, and input lines (a factory-reset
 * button) read by polling (`openInput`).
 *
 * - `file:/path` — a file-backed line for tests and for boxes where a script watches a file: the
 *   file holds "1" or "0", and every change is appended to `/path.history` as
 *   `<epoch ms> <0|1>` so a test can read the timeline.
 * - `gpiochip0:17` (or `gpiochip0:17:active-low`) — line 17 of /dev/gpiochip0 through the GPIO
 *   uAPI v2 (see chardev.ts). A missing chip or a busy line is an Error naming it; the paging
 *   service then shows the zone as faulty and keeps going.
 *
 * @module
 */
import { GpioInput, GpioLine } from "./chardev.ts";

export {
  decodeLineValue,
  encodeLineRequest,
  encodeLineValues,
  GPIO_V2_GET_LINE_IOCTL,
  GPIO_V2_LINE_GET_VALUES_IOCTL,
  GPIO_V2_LINE_SET_VALUES_IOCTL,
  GpioInput,
  GpioLine,
  type GpioSpec,
  iowr,
  libc,
  LINE_REQUEST_SIZE,
  LINE_VALUES_SIZE,
  type LineRequestOptions,
  parseGpioSpec,
  requestFd,
} from "./chardev.ts";

/** One output line. */
export interface OutputLine {
  /** The spec it was opened from ("file:/run/amp1"). */
  readonly spec: string;
  /** Drive the line: true = asserted (amplifier on). */
  set(on: boolean): Promise<void>;
  /** The last value set. */
  readonly value: boolean;
  /** Release the line (de-asserting it first). Idempotent. */
  close(): Promise<void>;
}

/** One recorded change of a file-backed line. */
export interface LineChange {
  /** Epoch ms of the change. */
  at: number;
  /** New value. */
  on: boolean;
}

/** A line backed by a file holding "1"/"0" plus a `.history` file. */
export class FileLine implements OutputLine {
  /** The spec ("file:" + path). */
  readonly spec: string;
  /** The file path. */
  readonly path: string;
  #value = false;
  #closed = false;
  readonly #now: () => number;
  #chain: Promise<void> = Promise.resolve();

  /** Create (or reset to "0") the file at `path`. `now` stamps the history (default Date.now). */
  constructor(path: string, options: { now?: () => number } = {}) {
    if (path === "" || path.includes("\0")) {
      throw new RangeError(`line file path ${JSON.stringify(path)} invalid`);
    }
    this.path = path;
    this.spec = `file:${path}`;
    this.#now = options.now ?? Date.now;
    Deno.writeTextFileSync(path, "0");
  }

  /** The last value set. */
  get value(): boolean {
    return this.#value;
  }

  /** Write "1"/"0" and append the change to the history (changes are serialised in call order). */
  set(on: boolean): Promise<void> {
    if (this.#closed) return Promise.reject(new TypeError(`line ${this.spec} used after close()`));
    const at = this.#now();
    this.#value = on;
    this.#chain = this.#chain.then(async () => {
      await Deno.writeTextFile(this.path, on ? "1" : "0");
      await Deno.writeTextFile(`${this.path}.history`, `${at} ${on ? 1 : 0}\n`, { append: true });
    });
    return this.#chain;
  }

  /** De-assert if needed, then close. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#value) await this.set(false);
    this.#closed = true;
    await this.#chain;
  }
}

/** Read the change history of a file-backed line at `path` (empty when none). */
export function readLineHistory(path: string): LineChange[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${path}.history`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const out: LineChange[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+(?:\.\d+)?) ([01])$/.exec(line.trim());
    if (m) out.push({ at: Number(m[1]), on: m[2] === "1" });
  }
  return out;
}

/**
 * Open a line from its spec. Throws RangeError for a malformed spec, Error when the line cannot be
 * had (no such GPIO chip, line busy, libc unavailable). `devDir` replaces /dev (tests).
 */
export function openLine(spec: string, options: { now?: () => number; devDir?: string } = {}): OutputLine {
  if (spec.startsWith("file:")) return new FileLine(spec.slice(5), options.now ? { now: options.now } : {});
  if (/^gpiochip/.test(spec)) {
    return new GpioLine(spec, options.devDir === undefined ? {} : { devDir: options.devDir });
  }
  throw new RangeError(`amplifier line ${JSON.stringify(spec)} is neither "file:/path" nor "gpiochipN:LINE"`);
}

/** One input line (a button), read by polling. */
export interface InputLine {
  /** The spec it was opened from ("gpiochip0:27:active-low", "file:/run/pbx-button"). */
  readonly spec: string;
  /** The logical value now (true = asserted: the button is pressed). Throws when it cannot be read. */
  read(): boolean;
  /** Release the line. Idempotent. */
  close(): void;
}

/**
 * An input backed by a file (tests, or a box where another program reflects the button): "1" =
 * asserted, anything else or no file = released.
 */
export class FileInput implements InputLine {
  /** The spec ("file:" + path). */
  readonly spec: string;
  /** The file path. */
  readonly path: string;

  /** An input reading `path`. RangeError for an empty path. */
  constructor(path: string) {
    if (path === "" || path.includes("\0")) {
      throw new RangeError(`input file path ${JSON.stringify(path)} invalid`);
    }
    this.path = path;
    this.spec = `file:${path}`;
  }

  /** True when the file holds "1". */
  read(): boolean {
    try {
      return Deno.readTextFileSync(this.path).trim() === "1";
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
  }

  /** Nothing to release. */
  close(): void {}
}

/**
 * Open an input line from its spec (`file:/path` or `gpiochipN:LINE[:active-low]`). RangeError for
 * a malformed spec, Error when the line cannot be had. `devDir` replaces /dev (tests).
 */
export function openInput(spec: string, options: { devDir?: string; consumer?: string } = {}): InputLine {
  if (spec.startsWith("file:")) return new FileInput(spec.slice(5));
  if (/^gpiochip/.test(spec)) return new GpioInput(spec, options);
  throw new RangeError(`input line ${JSON.stringify(spec)} is neither "file:/path" nor "gpiochipN:LINE"`);
}
