/**
 * Boots the test image (os-image/test-image/build.sh) under qemu-system-x86_64 for end-to-end tests
 * of the box integration: TCG (KVM hung on this machine), user-mode networking with the guest's
 * HTTP (80/tcp) and SIP (5060/udp) forwarded to ephemeral 127.0.0.1 ports, the serial console in a
 * log file under tests/artifacts/image/, and the disk in snapshot mode so a run never changes the
 * built image (guest reboots keep the snapshot: qemu stays up, `-no-shutdown` is not used).
 *
 * @module
 */
import { freePort, freeUdpPort } from "../_harness/ports.ts";
import { hasBinary } from "../_harness/process.ts";

const REPO = new URL("../../", import.meta.url).pathname;
/** Where build.sh writes the image. */
export const IMAGE_DIR = `${REPO}os-image/build/test-image`;
/** Serial console logs and other evidence of image runs. */
export const ARTIFACTS_DIR = `${REPO}tests/artifacts/image`;
/** The build script. */
export const BUILD_SCRIPT = `${REPO}os-image/test-image/build.sh`;

/**
 * Why image tests cannot run here, or null when they can: PBX_IMAGE_TESTS=0, the tools are missing,
 * or we are not root (mmdebstrap's root mode keeps file owners for `mkfs.ext4 -d`).
 */
export function imageTestsUnavailable(): string | null {
  if (Deno.env.get("PBX_IMAGE_TESTS") === "0") return "image tests skipped: PBX_IMAGE_TESTS=0";
  const missing = ["qemu-system-x86_64", "mmdebstrap", "mkfs.ext4"].filter((b) =>
    !hasBinary(b) && !hasBinary(`../sbin/${b}`) && !exists(`/usr/sbin/${b}`) && !exists(`/sbin/${b}`)
  );
  if (missing.length > 0) {
    return `image tests skipped: ${
      missing.join(", ")
    } not installed (apt-get install qemu-system-x86 mmdebstrap)`;
  }
  if (Deno.uid() !== 0) return "image tests skipped: building the image needs root (mmdebstrap --mode=root)";
  return null;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** What {@linkcode buildImage} did. */
export interface BuildResult {
  /** False when the cached image matched the inputs. */
  built: boolean;
  /** Wall time of the build script. */
  ms: number;
  /** The script's stderr (its progress lines). */
  log: string;
}

/** Runs build.sh (a no-op when the input hash matches the last build). Throws with the log on failure. */
export async function buildImage(options: { force?: boolean } = {}): Promise<BuildResult> {
  const started = performance.now();
  const out = await new Deno.Command("bash", {
    args: [BUILD_SCRIPT, ...(options.force === true ? ["--force"] : [])],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`build.sh failed (code ${out.code}):\n${log.slice(-4000)}`);
  return { built: !log.includes("up to date"), ms: Math.round(performance.now() - started), log };
}

/** Options for {@linkcode bootImage}. */
export interface BootOptions {
  /** Extra kernel command line words, e.g. `systemd.setenv=PBX_NETWORK_CONFIRM_SEC=20`. */
  cmdline?: string[];
  /** Serial log name prefix under ARTIFACTS_DIR (`<prefix>-<time>-<pid>.log`). Default `serial`. */
  logName?: string;
  /** Guest memory. Default 1536 MB. */
  memoryMb?: number;
  /** Guest CPUs (TCG multi-threaded). Default 2. */
  cpus?: number;
}

/** A running guest. Dispose (or `shutdown()`) to power it off. */
export interface Vm {
  /** 127.0.0.1 port forwarded to the guest's TCP 80. */
  readonly httpPort: number;
  /** 127.0.0.1 port forwarded to the guest's UDP 5060. */
  readonly sipPort: number;
  /** `http://127.0.0.1:<httpPort>`. */
  readonly baseUrl: string;
  /** Path of the serial console log. */
  readonly serialLog: string;
  /** The serial console so far. */
  console(): string;
  /** Resolves with the match once `re` appears in the console after `from` (a console() length). */
  waitForConsole(re: RegExp, options?: { timeoutMs?: number; from?: number }): Promise<RegExpMatchArray>;
  /** Resolves once GET /api/health answers 200; returns the milliseconds waited. */
  waitForHealth(timeoutMs?: number): Promise<number>;
  /** Resolves once GET /api/health fails (connection refused/reset or timeout); returns ms waited. */
  waitForUnreachable(timeoutMs?: number): Promise<number>;
  /** ACPI power-off, then SIGKILL after `timeoutMs` (default 10 s; the disk is a snapshot, nothing to save). Idempotent. */
  shutdown(timeoutMs?: number): Promise<void>;
  /** Same as shutdown(). */
  [Symbol.asyncDispose](): Promise<void>;
}

async function healthOnce(baseUrl: string, timeoutMs: number): Promise<number | null> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    const res = await fetch(`${baseUrl}/api/health`, { signal: ctl.signal });
    await res.body?.cancel();
    return res.status;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Boots the built image. Resolves as soon as qemu runs; call `waitForHealth()` for the PBX.
 * Throws when the image has not been built.
 */
export async function bootImage(options: BootOptions = {}): Promise<Vm> {
  for (const f of ["rootfs.img", "vmlinuz", "initrd.img", "cmdline"]) {
    if (!exists(`${IMAGE_DIR}/${f}`)) {
      throw new Error(`${IMAGE_DIR}/${f} missing: run bash os-image/test-image/build.sh first`);
    }
  }
  Deno.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  // Unique per run: two test processes may boot the image at once.
  const stamp = `${new Date().toISOString().replaceAll(":", "-").slice(0, 19)}-${Deno.pid}`;
  const serialLog = `${ARTIFACTS_DIR}/${options.logName ?? "serial"}-${stamp}.log`;
  Deno.writeTextFileSync(serialLog, "");
  const monitor = `${Deno.makeTempDirSync({ prefix: "pbx-qemu-" })}/monitor.sock`;
  const httpPort = await freePort();
  const sipPort = await freeUdpPort();
  const cmdline = [Deno.readTextFileSync(`${IMAGE_DIR}/cmdline`).trim(), ...(options.cmdline ?? [])].join(
    " ",
  );
  const args = [
    "-machine",
    "q35",
    "-accel",
    "tcg,thread=multi",
    "-cpu",
    "max",
    "-smp",
    String(options.cpus ?? 2),
    "-m",
    String(options.memoryMb ?? 1536),
    "-kernel",
    `${IMAGE_DIR}/vmlinuz`,
    "-initrd",
    `${IMAGE_DIR}/initrd.img`,
    "-append",
    cmdline,
    "-drive",
    `file=${IMAGE_DIR}/rootfs.img,if=virtio,format=raw,snapshot=on`,
    "-netdev",
    `user,id=n0,hostfwd=tcp:127.0.0.1:${httpPort}-:80,hostfwd=udp:127.0.0.1:${sipPort}-:5060`,
    "-device",
    "virtio-net-pci,netdev=n0",
    "-device",
    "virtio-rng-pci",
    "-display",
    "none",
    "-serial",
    `file:${serialLog}`,
    "-monitor",
    `unix:${monitor},server,nowait`,
  ];
  const child = new Deno.Command("qemu-system-x86_64", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  let exited = false;
  const done = output.then((o) => {
    exited = true;
    return o;
  });
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  const consoleText = () => {
    try {
      return Deno.readTextFileSync(serialLog);
    } catch {
      return "";
    }
  };
  const tail = () => consoleText().slice(-3000);
  const qemuFailed = async () => {
    const o = await done;
    return new Error(
      `qemu exited (code ${o.code}): ${
        new TextDecoder().decode(o.stderr).slice(-2000)
      }\n--- console ---\n${tail()}`,
    );
  };

  let shutdownPromise: Promise<void> | undefined;
  const shutdown = (timeoutMs = 10_000): Promise<void> => {
    shutdownPromise ??= (async () => {
      if (!exited) {
        try {
          const conn = await Deno.connect({ transport: "unix", path: monitor });
          await conn.write(new TextEncoder().encode("system_powerdown\n"));
          conn.close();
        } catch { /* monitor gone: kill below */ }
        const deadline = Date.now() + timeoutMs;
        while (!exited && Date.now() < deadline) await sleep(200);
        if (!exited) {
          try {
            child.kill("SIGKILL");
          } catch { /* already gone */ }
        }
      }
      await done;
      try {
        Deno.removeSync(monitor.replace(/\/monitor\.sock$/, ""), { recursive: true });
      } catch { /* already removed */ }
    })();
    return shutdownPromise;
  };

  const vm: Vm = {
    httpPort,
    sipPort,
    baseUrl,
    serialLog,
    console: consoleText,
    async waitForConsole(re, opts = {}) {
      const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
      for (;;) {
        const m = consoleText().slice(opts.from ?? 0).match(re);
        if (m) return m;
        if (exited) throw await qemuFailed();
        if (Date.now() > deadline) throw new Error(`console did not show ${re}.\n--- console ---\n${tail()}`);
        await sleep(250);
      }
    },
    async waitForHealth(timeoutMs = 240_000) {
      const started = Date.now();
      for (;;) {
        if (await healthOnce(baseUrl, 3000) === 200) return Date.now() - started;
        if (exited) throw await qemuFailed();
        if (Date.now() - started > timeoutMs) {
          throw new Error(
            `GET /api/health did not answer 200 within ${timeoutMs} ms.\n--- console ---\n${tail()}`,
          );
        }
        await sleep(500);
      }
    },
    async waitForUnreachable(timeoutMs = 60_000) {
      const started = Date.now();
      for (;;) {
        if (await healthOnce(baseUrl, 2000) === null) return Date.now() - started;
        if (exited) throw await qemuFailed();
        if (Date.now() - started > timeoutMs) throw new Error(`still reachable after ${timeoutMs} ms`);
        await sleep(300);
      }
    },
    shutdown,
    [Symbol.asyncDispose]: () => shutdown(),
  };
  return vm;
}
