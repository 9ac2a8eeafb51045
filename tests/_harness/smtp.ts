/**
 * A real SMTP server for tests: aiosmtpd (Debian python3-aiosmtpd) running tests/mail/smtp_sink.py
 * on a free 127.0.0.1 port, and Python's `email` package (tests/mail/parse_mime.py) to parse what
 * it received as MIME.
 */
import { freePort } from "./ports.ts";
import { LoggedProcess } from "./process.ts";

/** Debian's Python, where python3-aiosmtpd is installed. */
export const PYTHON = "/usr/bin/python3";
const MAIL_DIR = new URL("../mail/", import.meta.url).pathname;

/** Whether aiosmtpd can be imported (tests are ignored without it). */
export function hasAiosmtpd(): boolean {
  try {
    return new Deno.Command(PYTHON, { args: ["-c", "import aiosmtpd"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** A running sink. */
export interface SmtpSink {
  port: number;
  dir: string;
  proc: LoggedProcess;
  /** Waits for the n-th accepted message (1-based) and returns its .eml path. */
  received(n: number): Promise<string>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Start the sink: `reply` refuses DATA with that answer, `tls` offers STARTTLS, `auth` "user:password". */
export async function startSmtpSink(
  options: { reply?: string; tls?: { cert: string; key: string }; auth?: string } = {},
): Promise<SmtpSink> {
  const port = await freePort();
  const dir = Deno.makeTempDirSync({ prefix: "pbx-smtp-sink-" });
  const args = [`${MAIL_DIR}smtp_sink.py`, "--port", String(port), "--dir", dir];
  if (options.reply !== undefined) args.push("--reply", options.reply);
  if (options.tls !== undefined) args.push("--tls-cert", options.tls.cert, "--tls-key", options.tls.key);
  if (options.auth !== undefined) args.push("--auth", options.auth);
  const proc = new LoggedProcess(PYTHON, { args, name: "aiosmtpd", env: { PYTHONUNBUFFERED: "1" } });
  await proc.waitForLog(/READY \d+/, 15_000);
  return {
    port,
    dir,
    proc,
    async received(n) {
      const all = [...proc.logs().matchAll(/RECEIVED (\S+)/g)];
      if (all.length >= n) return all[n - 1]![1]!;
      for (;;) {
        await proc.waitForLog(/RECEIVED (\S+)/, 20_000, proc.logs().length);
        const now = [...proc.logs().matchAll(/RECEIVED (\S+)/g)];
        if (now.length >= n) return now[n - 1]![1]!;
      }
    },
    async [Symbol.asyncDispose]() {
      await proc.stop();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

/** A received message as parse_mime.py prints it (attachments base64). */
export interface ParsedMail {
  subject: string;
  from: string;
  to: string;
  text: string;
  attachments: { filename: string; contentType: string; base64: string }[];
}

/** Parse an .eml with Python's email package. */
export async function parseMime(path: string): Promise<ParsedMail> {
  const out = await new Deno.Command(PYTHON, { args: [`${MAIL_DIR}parse_mime.py`, path] }).output();
  if (!out.success) throw new Error(`parse_mime.py failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}
