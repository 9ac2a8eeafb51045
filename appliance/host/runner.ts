/** Running OS commands (`networkctl`, `systemctl`, ...) behind an interface tests can replace. */

/** What a finished command reported. */
export interface CommandResult {
  /** Exit code; 127 when the program was not found. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one program with arguments (no shell) and resolves when it has exited. */
export type CommandRunner = (cmd: string, args: string[]) => Promise<CommandResult>;

/**
 * The default runner: Deno.Command without a shell. `env` is added to the child's environment;
 * a `PATH` in it is also where the program is looked up (tests point it at stub scripts).
 */
export function commandRunner(options: { env?: Record<string, string> } = {}): CommandRunner {
  const decoder = new TextDecoder();
  return async (cmd, args) => {
    try {
      const out = await new Deno.Command(cmd, {
        args,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        ...(options.env === undefined ? {} : { env: options.env }),
      }).output();
      return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { code: 127, stdout: "", stderr: `${cmd}: not found` };
      throw e;
    }
  };
}

/** `cmd args...` for messages and logs. */
export function commandLine(cmd: string, args: string[]): string {
  return [cmd, ...args].join(" ");
}
