/**
 * The firmware updater: stages a verified bundle into the inactive A/B slot for the launcher to
 * switch to at the next start, reports the update state, and confirms a trial once the new version
 * has run healthy for a while. Layout and state files: see docs/update.md.
 */
import { fileURLToPath } from "node:url";
import type { Clock, TimerId } from "../../runtime/clock/mod.ts";
import type { Logger } from "../../runtime/log/mod.ts";
import type { FirmwareControl, FirmwareInfo, FirmwareStageResult } from "../../web/types.ts";
import { type BundleArch, compareVersions, loadTrustedKeys, verifyBundle } from "./_bundle.ts";
import { extractTarGz, fileRange } from "./_extract.ts";
import {
  readLastResult,
  readStaged,
  readTrial,
  removeStateFile,
  type Slot,
  writeStateFile,
} from "./_state.ts";

/** Options of `new Updater()`. */
export interface UpdaterOptions {
  /** The A/B root (`/opt/pbx`): `slots/a`, `slots/b`, `current`. */
  appRoot: string;
  /** The data dir; update state lives in `<dataDir>/update`. */
  dataDir: string;
  /** Folder of trusted `*.pub` keys. */
  keysDir: string;
  /** The running version (deno.json). */
  version: string;
  /** A file of the running app; its real path tells the slot. Default: this module. */
  selfPath?: string;
  clock: Clock;
  logger: Logger;
  /** Seconds of health before a trial is confirmed (default 60). */
  confirmSec?: number;
  /** Architecture bundles must match (default from Deno.build.arch). */
  arch?: BundleArch;
  /**
   * After staging, load the new slot once (`deno run --cached-only <slot>/mod.ts --help`) so Deno
   * transpiles and caches its modules at the path they will run from: its cache is keyed by
   * absolute path, so otherwise the first start of the new version transpiles everything. Off by
   * default (tests); the appliance turns it on. A failure is logged, not fatal: the launcher's
   * trial and rollback handle a version that does not start. The run gets a temporary, empty
   * `PBX_DATA_DIR` (removed afterwards): it happens before the launcher's pre-update snapshot, so
   * it must never touch the live data.
   */
  warmUp?: boolean;
}

function realPathOr(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return path;
  }
}

/**
 * Which slot `selfPath` lives in under `<appRoot>/slots/`, or a reason why it is not one (a dev
 * install: a git checkout, `deno task start`).
 */
export function detectSlot(
  appRoot: string,
  selfPath: string,
): { slot: Slot } | { slot: null; reason: string } {
  const self = realPathOr(selfPath);
  let slots: string;
  try {
    slots = Deno.realPathSync(`${appRoot}/slots`);
  } catch {
    return {
      slot: null,
      reason:
        `this is a development install: ${appRoot}/slots does not exist, so there is no A/B slot to update`,
    };
  }
  for (const s of ["a", "b"] as const) {
    if (self.startsWith(`${slots}/${s}/`)) return { slot: s };
  }
  return {
    slot: null,
    reason:
      `this is a development install: the app runs from ${
        self.replace(/\/appliance\/update\/[^/]*$/, "")
      }, ` +
      `not from ${appRoot}/slots/a or /b, so firmware updates cannot replace it`,
  };
}

/** Stages firmware bundles and confirms trials. Implements web's FirmwareControl. */
export class Updater implements FirmwareControl {
  readonly #o: UpdaterOptions;
  readonly #stateDir: string;
  readonly #slot: Slot | null;
  readonly #reason: string | undefined;
  #busy: AbortController | undefined;
  #warming: Promise<void> | undefined;
  readonly #warmAbort = new AbortController();
  #healthySince: number | null = null;
  #timer: TimerId | undefined;

  constructor(options: UpdaterOptions) {
    this.#o = options;
    this.#stateDir = `${options.dataDir}/update`;
    const found = detectSlot(options.appRoot, options.selfPath ?? fileURLToPath(import.meta.url));
    this.#slot = found.slot;
    this.#reason = found.slot === null ? found.reason : undefined;
  }

  /** Folder the web route streams uploads into. */
  get uploadDir(): string {
    return `${this.#o.dataDir}/firmware-upload`;
  }

  /** The slot the app runs from, or null on a dev install. */
  get slot(): Slot | null {
    return this.#slot;
  }

  /** What GET /api/system/firmware returns. */
  info(): FirmwareInfo {
    const staged = readStaged(this.#stateDir);
    const trial = readTrial(this.#stateDir);
    return {
      version: this.#o.version,
      slot: this.#slot,
      updatable: this.#slot !== null,
      ...(this.#reason === undefined ? {} : { reason: this.#reason }),
      staged,
      trial: trial === null ? null : { version: trial.version, attempts: trial.attempts },
      lastResult: readLastResult(this.#stateDir),
    };
  }

  /**
   * Verify the bundle at `bundlePath` and unpack it into the inactive slot, then write `staged`.
   * Never throws for a bad bundle or a refusal: the result says `invalid` (400) or `conflict` (409).
   */
  async stage(
    bundlePath: string,
    options: { by: string; allowDowngrade: boolean },
  ): Promise<FirmwareStageResult> {
    const log = this.#o.logger;
    if (this.#slot === null) return { ok: false, reason: "conflict", error: this.#reason ?? "not updatable" };
    if (this.#busy !== undefined) {
      return { ok: false, reason: "conflict", error: "another firmware bundle is being staged right now" };
    }
    const trial = readTrial(this.#stateDir);
    if (trial !== null && trial.slot === this.#slot) {
      return {
        ok: false,
        reason: "conflict",
        error: `the running version ${trial.version} is still on trial; it is confirmed after ` +
          `${this.#confirmSec()} s of healthy running, then it can be updated`,
      };
    }
    const abort = new AbortController();
    this.#busy = abort;
    const target: Slot = this.#slot === "a" ? "b" : "a";
    const slotsDir = `${this.#o.appRoot}/slots`;
    const tmp = `${slotsDir}/.${target}-new-${crypto.randomUUID()}`;
    try {
      const keys = await loadTrustedKeys(this.#o.keysDir, {
        onBadKey: (id, error) => log.warn("ignoring an unreadable update key", { key: id, error }),
      });
      let verified;
      try {
        verified = await verifyBundle(bundlePath, { keys, ...(this.#o.arch ? { arch: this.#o.arch } : {}) });
      } catch (e) {
        if (e instanceof RangeError || e instanceof SyntaxError) {
          return { ok: false, reason: "invalid", error: e.message };
        }
        throw e;
      }
      const { manifest } = verified;
      if (compareVersions(manifest.version, this.#o.version) <= 0 && !options.allowDowngrade) {
        return {
          ok: false,
          reason: "conflict",
          error: `bundle version ${manifest.version} is not newer than the running ${this.#o.version}; ` +
            "allow a downgrade to install it anyway",
        };
      }
      // No `staged` may point at the slot while it is half written.
      removeStateFile(this.#stateDir, "staged");
      await Deno.mkdir(tmp, { recursive: true, mode: 0o755 });
      try {
        await extractTarGz(await fileRange(bundlePath, verified.payloadOffset, verified.payloadSize), tmp, {
          signal: abort.signal,
        });
        checkSlotTree(tmp, manifest.version);
        abort.signal.throwIfAborted();
        await Deno.remove(`${slotsDir}/${target}`, { recursive: true }).catch((e) => {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        });
        await Deno.rename(tmp, `${slotsDir}/${target}`);
      } catch (e) {
        await Deno.remove(tmp, { recursive: true }).catch(() => {});
        if (abort.signal.aborted) return { ok: false, reason: "conflict", error: "staging was cancelled" };
        if (e instanceof RangeError || e instanceof SyntaxError) {
          return { ok: false, reason: "invalid", error: e.message };
        }
        throw e;
      }
      if (abort.signal.aborted) return { ok: false, reason: "conflict", error: "staging was cancelled" };
      const staged = {
        slot: target,
        version: manifest.version,
        stagedAt: this.#o.clock.wallNow(),
        stagedBy: options.by,
      };
      writeStateFile(this.#stateDir, "staged", { ...staged });
      log.info("firmware staged", {
        version: manifest.version,
        slot: target,
        by: options.by,
        signer: verified.signer,
      });
      if (this.#o.warmUp === true) this.#warming = this.#warmUp(`${slotsDir}/${target}`, manifest.version);
      return { ok: true, staged };
    } finally {
      this.#busy = undefined;
    }
  }

  /** Load the staged slot once so its modules are transpiled and cached (see `warmUp`). */
  async #warmUp(dir: string, version: string): Promise<void> {
    const log = this.#o.logger;
    const started = this.#o.clock.now();
    const deno = (() => {
      try {
        return Deno.statSync(`${dir}/bin/deno`).isFile ? `${dir}/bin/deno` : Deno.execPath();
      } catch {
        return Deno.execPath();
      }
    })();
    // The staged code's top level runs here, before the launcher snapshots the database: give it a
    // data dir of its own, so nothing it does at import time (a migration, a wipe) reaches the live
    // data. Removed afterwards.
    let scratch: string | undefined;
    try {
      scratch = await Deno.makeTempDir({ prefix: "pbx-warmup-data-" });
      const out = await new Deno.Command(deno, {
        args: ["run", "--cached-only", "--allow-all", `${dir}/mod.ts`, "--help"],
        cwd: dir,
        env: { DENO_DIR: `${dir}/.deno_dir`, NO_COLOR: "1", PBX_DATA_DIR: scratch },
        stdout: "null",
        stderr: "piped",
        stdin: "null",
        signal: this.#warmAbort.signal,
      }).output();
      const ms = this.#o.clock.now() - started;
      // Stopped by close() (the appliance is stopping for the restart that applies it): not a failure.
      if (this.#warmAbort.signal.aborted) return;
      if (out.success) log.info("staged firmware loaded once (module cache warmed)", { version, ms });
      else {
        const error = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
        log.warn("staged firmware did not load in a trial run; it may be rolled back after restart", {
          version,
          code: out.code,
          error,
        });
      }
    } catch (e) {
      if (this.#warmAbort.signal.aborted) return;
      log.warn("could not warm the staged firmware's module cache", { version, error: (e as Error).message });
    } finally {
      if (scratch !== undefined) await Deno.remove(scratch, { recursive: true }).catch(() => {});
    }
  }

  /** Resolves once a background warm-up of a staged slot (if any) has finished. */
  async settled(): Promise<void> {
    await this.#warming;
  }

  /** Stop a warm-up still running (the appliance is stopping); the launcher does not need it. */
  async close(): Promise<void> {
    this.#warmAbort.abort();
    await this.#warming;
  }

  /** Drop a staged update and abort one being staged. */
  cancel(): { cancelled: boolean } {
    const busy = this.#busy !== undefined;
    this.#busy?.abort();
    const had = removeStateFile(this.#stateDir, "staged");
    if (had || busy) this.#o.logger.info("staged firmware cancelled");
    return { cancelled: had || busy };
  }

  #confirmSec(): number {
    return this.#o.confirmSec ?? 60;
  }

  /**
   * Confirm a trial of the running slot once `healthy` has held for the confirm period: removes
   * `trial` and writes `last-result` result=ok. Call it periodically; returns true when it confirmed.
   */
  confirmTrialIfDue(healthy: boolean): boolean {
    const trial = readTrial(this.#stateDir);
    if (trial === null || this.#slot === null || trial.slot !== this.#slot) return false;
    if (!healthy) {
      this.#healthySince = null;
      return false;
    }
    const now = this.#o.clock.now();
    this.#healthySince ??= now;
    if (now - this.#healthySince < this.#confirmSec() * 1000) return false;
    writeStateFile(this.#stateDir, "last-result", {
      result: "ok",
      version: trial.version,
      at: Math.floor(this.#o.clock.wallNow() / 1000),
    });
    removeStateFile(this.#stateDir, "trial");
    this.#o.logger.info("firmware trial confirmed", { version: trial.version, slot: trial.slot });
    return true;
  }

  /**
   * Check `health()` periodically while a trial of the running slot is pending; stops by itself
   * once confirmed. Returns a stop function.
   */
  startConfirmTimer(health: () => boolean): () => void {
    const trial = readTrial(this.#stateDir);
    if (trial === null || trial.slot !== this.#slot) return () => {};
    const period = Math.max(100, Math.min(5000, (this.#confirmSec() * 1000) / 4));
    const tick = () => {
      this.#timer = undefined;
      let ok = false;
      try {
        ok = health();
      } catch { /* a failing health check is unhealthy */ }
      try {
        if (this.confirmTrialIfDue(ok)) return;
      } catch (e) {
        this.#o.logger.error("confirming the firmware trial failed", { error: e as Error });
      }
      if (readTrial(this.#stateDir) !== null) this.#timer = this.#o.clock.setTimeout(tick, period);
    };
    this.#timer = this.#o.clock.setTimeout(tick, period);
    return () => {
      if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    };
  }
}

/** The unpacked tree must be an app: mod.ts and a deno.json carrying the manifest's version. */
function checkSlotTree(dir: string, version: string): void {
  try {
    Deno.statSync(`${dir}/mod.ts`);
  } catch {
    throw new RangeError("payload has no mod.ts at its root");
  }
  let json: { version?: unknown };
  try {
    json = JSON.parse(Deno.readTextFileSync(`${dir}/deno.json`));
  } catch (e) {
    throw new RangeError(`payload has no readable deno.json: ${(e as Error).message}`);
  }
  if (json.version !== version) {
    throw new RangeError(
      `payload deno.json says version ${JSON.stringify(json.version)}, the manifest says ${version}`,
    );
  }
}
