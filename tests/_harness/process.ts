/**
 * A child process whose output is collected, searchable and waited on; the base of the appliance,
 * sipp and baresip helpers.
 *
 * @module
 */

/** Options for {@linkcode LoggedProcess}. */
export interface LoggedProcessOptions {
  /** Arguments. */
  args: string[];
  /** Working directory. */
  cwd?: string;
  /** Extra environment (merged over the parent's). */
  env?: Record<string, string>;
  /** Label used in error messages. */
  name?: string;
}

interface Waiter {
  re: RegExp;
  from: number;
  resolve: (m: RegExpMatchArray) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Is `name` an executable on PATH? Lets a test skip cleanly when a peer is not installed. */
export function hasBinary(name: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      const info = Deno.statSync(`${dir}/${name}`);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return true;
    } catch { /* not here */ }
  }
  return false;
}

/** A spawned process with stdout+stderr collected into one text log. */
export class LoggedProcess {
  /** Label used in messages. */
  readonly name: string;
  /** Process id. */
  readonly pid: number;
  /** Resolves when the process has exited and its output is fully read. */
  readonly exited: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #log = "";
  #waiters: Waiter[] = [];
  #status: Deno.CommandStatus | undefined;

  /** Spawns `command` with piped output and stdin closed. */
  constructor(command: string, options: LoggedProcessOptions) {
    this.name = options.name ?? command;
    const spawnOptions: Deno.CommandOptions = {
      args: options.args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    };
    if (options.cwd !== undefined) spawnOptions.cwd = options.cwd;
    if (options.env !== undefined) spawnOptions.env = options.env;
    this.#child = new Deno.Command(command, spawnOptions).spawn();
    this.pid = this.#child.pid;
    const pump = async (stream: ReadableStream<Uint8Array<ArrayBuffer>>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) this.#append(decoder.decode(chunk, { stream: true }));
      this.#append(decoder.decode());
    };
    this.exited = Promise.all([this.#child.status, pump(this.#child.stdout), pump(this.#child.stderr)])
      .then(([status]) => {
        this.#status = status;
        for (const w of this.#waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(
            new Error(`${this.name} exited (code ${status.code}) before ${w.re} appeared.\n${this.tail()}`),
          );
        }
        return status;
      });
  }

  /** Everything the process printed so far (stdout and stderr interleaved as read). */
  logs(): string {
    return this.#log;
  }

  /** The last `chars` characters of the log, for error messages. */
  tail(chars = 4000): string {
    return this.#log.length > chars ? "..." + this.#log.slice(-chars) : this.#log;
  }

  /** Exit status once exited, else undefined. */
  get status(): Deno.CommandStatus | undefined {
    return this.#status;
  }

  /**
   * Resolves with the first match of `re` in the log at or after character offset `from` (default:
   * the whole log so far, so a line printed before the call still counts). Rejects after
   * `timeoutMs` or when the process exits first, with the log tail in the message.
   */
  waitForLog(re: RegExp, timeoutMs = 10_000, from = 0): Promise<RegExpMatchArray> {
    const found = this.#log.slice(from).match(re);
    if (found !== null) return Promise.resolve(found);
    if (this.#status !== undefined) {
      return Promise.reject(new Error(`${this.name} already exited; ${re} not in its log.\n${this.tail()}`));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        re,
        from,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(new Error(`${this.name}: ${re} not seen within ${timeoutMs} ms.\n${this.tail()}`));
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /** Sends a signal unless the process already exited. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (this.#status !== undefined) return;
    try {
      this.#child.kill(signal);
    } catch { /* exited meanwhile */ }
  }

  /** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves when exited and output drained. */
  async stop(signal: Deno.Signal = "SIGTERM", graceMs = 5000): Promise<Deno.CommandStatus> {
    if (this.#status !== undefined) return this.#status;
    this.kill(signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.kill("SIGKILL");
        resolve();
      }, graceMs);
    });
    try {
      await Promise.race([this.exited, killed]);
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  #append(text: string): void {
    this.#log += text;
    for (const w of [...this.#waiters]) {
      const m = this.#log.slice(w.from).match(w.re);
      if (m !== null) {
        clearTimeout(w.timer);
        this.#waiters = this.#waiters.filter((x) => x !== w);
        w.resolve(m);
      }
    }
  }
}

/** Run a file-descriptor leak check of tests/_harness/fd_check_child.ts in its own process. */
export async function runFdCheck(check: string): Promise<{ ok: boolean; detail: string }> {
  const script = new URL("./fd_check_child.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", script, check],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(text) as { ok: boolean; detail: string };
  } catch {
    return { ok: false, detail: `child said: ${text} ${new TextDecoder().decode(out.stderr).slice(-500)}` };
  }
}
