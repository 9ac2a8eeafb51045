/**
 * Runs sipp (Debian package sip-tester) scenarios from tests/sipp/ with evidence files collected.
 *
 * @module
 */
import { LoggedProcess } from "./process.ts";
import { freeUdpPort, PEER_MEDIA_BAND, pickPortRange, udpPortOwnedBy } from "./ports.ts";

/** Folder with the scenario files. */
export const SIPP_SCENARIO_DIR = new URL("../sipp/", import.meta.url).pathname;

/** Options for {@linkcode startSipp} / {@linkcode runSipp}. */
export interface SippOptions {
  /**
   * Scenario: a file name under tests/sipp ("register_auth.xml"), an absolute path, or "sn:uas" /
   * "sn:uac" for sipp's built-in scenarios.
   */
  scenario: string;
  /** Remote "host:port" (omit for a pure UAS). */
  target?: string;
  /** Extra raw sipp arguments. */
  args?: string[];
  /** Calls to run before exiting (-m). Default 1. */
  calls?: number;
  /** Calls per second (-r). Default sipp's 10. */
  rate?: number;
  /** Simultaneous calls limit (-l). */
  limit?: number;
  /** Global timeout in seconds (-timeout, -timeout_error): sipp fails when reached. Default 30. */
  timeoutSec?: number;
  /** Digest user: passed as -au and as the scenario keyword [user]. */
  user?: string;
  /** Digest password (-ap). */
  password?: string;
  /** Request-URI user, e.g. the called number (-s, keyword [service]). */
  service?: string;
  /**
   * Generic keywords, `[name]` in the scenario (-key name value). `contact_port` defaults to the
   * local port.
   */
  keys?: Record<string, string>;
  /** Global variables, `[$name]` in the scenario (-set name value); declare with <Global variables=.../>. */
  vars?: Record<string, string>;
  /** CSV injection file content (-inf), e.g. "SEQUENTIAL\n1001;secret\n"; fields are [field0].. */
  injectionCsv?: string;
  /** Local SIP port (-p). Default: a free UDP port. */
  localPort?: number;
  /** Local media port (-mp). Default: a free block of 4 UDP ports. */
  mediaPort?: number;
  /** Transport mode (-t), default "u1" (UDP, one socket). */
  transport?: "u1" | "un" | "t1" | "tn";
}

/** What a finished sipp run produced. */
export interface SippResult {
  /** sipp exit code: 0 all calls succeeded, 1 some failed, 97/99 other endings, 255 fatal. */
  code: number;
  /** True when code is 0. */
  ok: boolean;
  /** Successful calls (from the -trace_stat CSV), undefined if no stats were written. */
  successful: number | undefined;
  /** Failed calls (from the -trace_stat CSV). */
  failed: number | undefined;
  /** Last row of the stats CSV as column -> value. */
  stats: Record<string, string> | undefined;
  /** Screen output and stderr. */
  output: string;
  /** The -trace_err log (unexpected messages, failures). */
  errors: string;
  /** The -trace_msg log (every SIP message sent and received). */
  messages: string;
  /** The -trace_logs log (<log> actions). */
  logs: string;
}

/** A running sipp. `await using s = await startSipp(...)` stops it at scope end. */
export interface SippRun {
  /** Local SIP port sipp listens on. */
  localPort: number;
  /** Local media port. */
  mediaPort: number;
  /** "127.0.0.1:localPort", handy as a UAS target. */
  address: string;
  /** Resolves when sipp exits on its own. */
  done: Promise<SippResult>;
  /** Screen output so far. */
  output(): string;
  /** Stops sipp (SIGTERM, then SIGKILL) if still running and returns the result. */
  stop(): Promise<SippResult>;
  [Symbol.asyncDispose](): Promise<void>;
}

function scenarioArgs(scenario: string): string[] {
  if (scenario.startsWith("sn:")) return ["-sn", scenario.slice(3)];
  return ["-sf", scenario.startsWith("/") ? scenario : SIPP_SCENARIO_DIR + scenario];
}

function parseStats(csv: string): Record<string, string> | undefined {
  const lines = csv.split("\n").filter((l) => l.trim() !== "");
  if (lines.length < 2) return undefined;
  const header = lines[0]!.split(";");
  const row = lines[lines.length - 1]!.split(";");
  return Object.fromEntries(header.map((h, i) => [h, row[i] ?? ""]));
}

async function readOr(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}

/**
 * Starts sipp in a temp working dir and, for scenarios that begin by receiving, waits until its SIP
 * port is bound, so a peer can call it right away.
 */
export async function startSipp(options: SippOptions): Promise<SippRun> {
  // Another process may grab a port between our check and sipp's bind: retry with fresh ports.
  for (let attempt = 1;; attempt++) {
    const run = await startSippOnce(options);
    const portsPicked = options.localPort === undefined || options.mediaPort === undefined;
    if (attempt >= 4 || !portsPicked || run.status() === undefined) return run;
    const r = await run.done;
    if (!/Unable to bind|Address already in use/.test(r.errors + r.output)) return run;
  }
}

async function startSippOnce(
  options: SippOptions,
): Promise<SippRun & { status(): Deno.CommandStatus | undefined }> {
  const dir = await Deno.makeTempDir({ prefix: "sipp-" });
  const localPort = options.localPort ?? await freeUdpPort();
  const mediaPort = options.mediaPort ?? (await pickPortRange(4, PEER_MEDIA_BAND))[0];
  const timeoutSec = options.timeoutSec ?? 30;
  const args: string[] = [];
  if (options.target !== undefined) args.push(options.target);
  args.push(
    ...scenarioArgs(options.scenario),
    "-nostdin",
    "-i",
    "127.0.0.1",
    "-mi",
    "127.0.0.1",
    "-p",
    String(localPort),
    "-mp",
    String(mediaPort),
    "-t",
    options.transport ?? "u1",
    "-m",
    String(options.calls ?? 1),
    "-timeout",
    `${timeoutSec}s`,
    "-timeout_error",
    "-trace_err",
    "-error_file",
    `${dir}/errors.log`,
    "-trace_stat",
    "-stf",
    `${dir}/stats.csv`,
    "-trace_msg",
    "-message_file",
    `${dir}/messages.log`,
    "-trace_logs",
    "-log_file",
    `${dir}/logs.log`,
  );
  if (options.rate !== undefined) args.push("-r", String(options.rate));
  if (options.limit !== undefined) args.push("-l", String(options.limit));
  if (options.user !== undefined) args.push("-au", options.user, "-key", "user", options.user);
  if (options.password !== undefined) args.push("-ap", options.password);
  if (options.service !== undefined) args.push("-s", options.service);
  // [contact_port] (register_auth.xml): the port registered as Contact; this sipp unless overridden.
  const keys = { contact_port: String(localPort), ...options.keys };
  for (const [k, v] of Object.entries(keys)) args.push("-key", k, v);
  for (const [k, v] of Object.entries(options.vars ?? {})) args.push("-set", k, v);
  if (options.injectionCsv !== undefined) {
    await Deno.writeTextFile(`${dir}/inject.csv`, options.injectionCsv);
    args.push("-inf", `${dir}/inject.csv`);
  }
  args.push(...(options.args ?? []));

  const proc = new LoggedProcess("sipp", { args, cwd: dir, name: `sipp ${options.scenario}` });
  // Our own backstop in case sipp ignores its -timeout (e.g. stuck in a pause).
  const backstop = setTimeout(() => proc.kill("SIGKILL"), (timeoutSec + 15) * 1000);
  let result: SippResult | undefined;
  const done = proc.exited.then(async (status) => {
    clearTimeout(backstop);
    const csv = await readOr(`${dir}/stats.csv`);
    const stats = parseStats(csv);
    const num = (k: string) => stats?.[k] === undefined ? undefined : Number(stats[k]);
    result = {
      code: status.code,
      ok: status.code === 0,
      successful: num("SuccessfulCall(C)"),
      failed: num("FailedCall(C)"),
      stats,
      output: proc.logs(),
      errors: await readOr(`${dir}/errors.log`),
      messages: await readOr(`${dir}/messages.log`),
      logs: await readOr(`${dir}/logs.log`),
    };
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    return result;
  });

  // Wait until sipp itself holds its SIP socket (UAS scenarios are callable on return), or exits
  // (e.g. the port was taken meanwhile: startSipp retries). Bounded: 5 s.
  for (let i = 0; i < 100 && proc.status === undefined && !(await udpPortOwnedBy(proc.pid, localPort)); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }

  const run = {
    status: () => proc.status,
    localPort,
    mediaPort,
    address: `127.0.0.1:${localPort}`,
    done,
    output: () => proc.logs(),
    async stop() {
      await proc.stop("SIGTERM", 3000);
      return await done;
    },
    async [Symbol.asyncDispose]() {
      await run.stop();
    },
  };
  return run;
}

/** Runs a sipp scenario to the end and returns its result (never throws on a failed call). */
export async function runSipp(options: SippOptions): Promise<SippResult> {
  const run = await startSipp(options);
  return await run.done;
}

/** A one-paragraph summary of a sipp result for assertion messages. */
export function describeSipp(r: SippResult): string {
  return `sipp exit ${r.code}, successful=${r.successful} failed=${r.failed}\n` +
    `--- errors ---\n${r.errors.slice(-3000)}\n--- messages (tail) ---\n${r.messages.slice(-4000)}\n` +
    `--- output (tail) ---\n${r.output.slice(-1500)}`;
}
