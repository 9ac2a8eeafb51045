/**
 * HostControl: applies the System page's network and time settings to a Debian box run by systemd
 * (systemd-networkd, systemd-timesyncd), reports what the OS has, reboots the box and restarts the
 * PBX service. Mode "none" (the default, every dev machine) never writes a file or runs a command.
 *
 * A network change is applied with a confirm window: unless `confirmNetwork()` is called in time,
 * the files from before the change are written back and applied again. The pending change is kept
 * in a file in the data dir, so a restart or reboot inside the window still reverts.
 */
import { type Clock, realClock, type TimerId } from "../../runtime/clock/mod.ts";
import { type Logger, nullLogger } from "../../runtime/log/mod.ts";
import {
  checkTimeZone,
  FALLBACK_MATCH,
  type HostInterface,
  interfacesFromDeno,
  NETWORK_FILE,
  type NetworkConfig,
  parseIpAddr,
  parseTimesyncd,
  pickLanInterface,
  renderHostname,
  renderNetworkFile,
  renderTimesyncd,
  type TimeConfig,
  TIMESYNCD_FILE,
  zoneFromLink,
} from "./render.ts";
import { commandLine, type CommandRunner, commandRunner } from "./runner.ts";

/** `systemd`: apply to the OS. `none`: store only (dev machines, tests). */
export type HostMode = "systemd" | "none";

/** A network change waiting for confirmation. `confirmBy` is Unix epoch ms. */
export interface PendingNetwork {
  confirmBy: number;
  settings: NetworkConfig;
}

/** What GET /api/system/host reports. */
export interface HostState {
  mode: HostMode;
  hostname: string | null;
  timezone: string | null;
  ntp: { servers: string[]; synchronized: boolean | null };
  interfaces: HostInterface[];
  bootId: string | null;
  pendingNetwork: PendingNetwork | null;
}

/** What `start()` did. */
export interface HostStartReport {
  network: "none" | "unchanged" | "applied" | "pending" | "skipped" | "failed";
  time: "none" | "unchanged" | "applied" | "failed";
}

/** Options of `HostControl`. */
export interface HostControlOptions {
  /** Data dir; the pending network change is kept in `<dataDir>/host/`. */
  dataDir: string;
  /** Default "none": nothing on the OS is touched. */
  mode?: HostMode;
  /** Prefix for every OS path (default "/"; tests use a temp dir). */
  root?: string;
  /** The LAN interface; default the first non-loopback one with a MAC, else `en* eth*`. */
  iface?: string | undefined;
  /** Seconds a network change waits for `confirmNetwork()` before it is reverted (default 120). */
  confirmSec?: number;
  /** Runs OS commands (default Deno.Command). */
  run?: CommandRunner;
  clock?: Clock;
  log?: Logger;
  /** Default Deno.networkInterfaces. */
  networkInterfaces?: () => Deno.NetworkInterfaceInfo[];
  /**
   * Called after a change was reverted: `restored` is the settings from before it (null when they
   * were not known, e.g. a change made at start), `rejected` the settings that were taken back.
   */
  onRevert?: (restored: NetworkConfig | null, rejected: NetworkConfig) => void;
  /** Ends the process when `systemctl restart` could not be asked (default Deno.exit). */
  exit?: (code: number) => void;
  /** The PBX service's unit (default pbx.service). */
  unit?: string;
}

/** What the pending file holds: the change and how to take it back. */
interface PendingRecord extends PendingNetwork {
  previous: NetworkConfig | null;
  previousFiles: { network: string | null; hostname: string | null };
}

/** The privileged helper program (appliance/box/pbx-helper) that runs `factory-reset`. */
export const FACTORY_RESET_COMMAND = "/usr/lib/pbx/pbx-helper";

/** Delay before reboot/restart so the HTTP answer leaves the box first. */
const ACTION_DELAY_MS = 1000;

/** Mode "none" refuses to touch the OS with this message. */
export const NOT_APPLIED_REASON =
  "PBX_HOST is not systemd (a development install): settings are stored but not applied to the OS";

/** Applies network/time settings to the OS and reports its state. See the module doc. */
export class HostControl {
  readonly mode: HostMode;
  /** `[Match] Name=` of the network file: an interface name or `en* eth*`. */
  readonly iface: string;
  readonly #root: string;
  readonly #dir: string;
  readonly #confirmMs: number;
  readonly #run: CommandRunner;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #interfaces: () => Deno.NetworkInterfaceInfo[];
  readonly #onRevert: (restored: NetworkConfig | null, rejected: NetworkConfig) => void;
  readonly #exit: (code: number) => void;
  readonly #unit: string;
  #revertTimer: TimerId | null = null;
  #actionTimers = new Set<TimerId>();
  /** Serialises apply/confirm/revert so two changes never interleave their files and commands. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: HostControlOptions) {
    this.mode = options.mode ?? "none";
    this.#root = (options.root ?? "/").replace(/\/+$/, "");
    this.#dir = `${options.dataDir}/host`;
    const confirmSec = options.confirmSec ?? 120;
    if (!Number.isFinite(confirmSec) || confirmSec < 10 || confirmSec > 3600) {
      throw new RangeError(`network confirm window must be 10-3600 s, got ${confirmSec}`);
    }
    this.#confirmMs = confirmSec * 1000;
    this.#run = options.run ?? commandRunner();
    this.#clock = options.clock ?? realClock;
    this.#log = options.log ?? nullLogger;
    this.#interfaces = options.networkInterfaces ?? (() => Deno.networkInterfaces());
    this.#onRevert = options.onRevert ?? (() => {});
    this.#exit = options.exit ?? ((code) => Deno.exit(code));
    this.#unit = options.unit ?? "pbx.service";
    this.iface = options.iface !== undefined && options.iface !== "" ? options.iface : this.#detectIface();
  }

  #detectIface(): string {
    try {
      return pickLanInterface(this.#interfaces()) ?? FALLBACK_MATCH;
    } catch {
      return FALLBACK_MATCH; // no --allow-sys: match the usual names
    }
  }

  #path(p: string): string {
    return this.#root + p;
  }

  #requireSystemd(what: string): void {
    if (this.mode !== "systemd") throw new Error(`${what}: ${NOT_APPLIED_REASON}`);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Resolves once every queued apply/confirm/revert has finished (tests; shutdown). */
  settled(): Promise<void> {
    return this.#queue.then(() => {});
  }

  // --- network ------------------------------------------------------------------------------

  /** The change waiting for confirmation, or null. */
  pendingNetwork(): PendingNetwork | null {
    const p = this.#readPending();
    return p === null ? null : { confirmBy: p.confirmBy, settings: p.settings };
  }

  /**
   * Write the network file and /etc/hostname, set the hostname and have networkd apply it. Unless
   * `confirmNetwork()` follows within the confirm window, the files from before are restored.
   * `previous` is what the settings were before (handed to `onRevert`). A second change inside the
   * window keeps the first one's way back: a revert goes to the last confirmed state.
   * Throws RangeError for settings that cannot be written, Error when a command failed (the change
   * is then taken back at once).
   */
  applyNetwork(
    settings: NetworkConfig,
    options: { previous?: NetworkConfig | null } = {},
  ): Promise<{ confirmBy: number }> {
    this.#requireSystemd("applying network settings");
    const networkText = renderNetworkFile(settings, this.iface);
    const hostnameText = renderHostname(settings);
    return this.#serial(async () => {
      const old = this.#readPending();
      const record: PendingRecord = {
        confirmBy: this.#clock.wallNow() + this.#confirmMs,
        settings,
        previous: old?.previous ?? options.previous ?? null,
        previousFiles: old?.previousFiles ??
          { network: this.#readOs(NETWORK_FILE), hostname: this.#readOs("/etc/hostname") },
      };
      // The way back is on disk before anything changes: a crash from here on still reverts.
      this.#writePending(record);
      this.#armRevert(this.#confirmMs);
      this.#writeOs(NETWORK_FILE, networkText);
      this.#writeOs("/etc/hostname", hostnameText);
      try {
        await this.#activateNetwork(settings.hostname);
      } catch (e) {
        this.#log.error("network settings could not be applied; restoring the previous ones", {
          error: e as Error,
        });
        await this.#revert(record, "apply failed");
        throw e;
      }
      this.#log.info("network settings applied; waiting for confirmation", {
        mode: settings.mode,
        iface: this.iface,
        confirmBy: new Date(record.confirmBy).toISOString(),
      });
      return { confirmBy: record.confirmBy };
    });
  }

  /** Keep the pending network change. Resolves to it, or null when nothing was pending. */
  confirmNetwork(): Promise<PendingNetwork | null> {
    this.#requireSystemd("confirming network settings");
    return this.#serial(() => {
      const p = this.#readPending();
      this.#disarmRevert();
      if (p === null) return Promise.resolve(null);
      this.#removePending();
      this.#log.info("network settings confirmed", { mode: p.settings.mode });
      return Promise.resolve({ confirmBy: p.confirmBy, settings: p.settings });
    });
  }

  async #activateNetwork(hostname: string | null): Promise<void> {
    if (hostname !== null) await this.#must("hostname", [hostname]);
    await this.#must("networkctl", ["reload"]);
    // A glob match has no single link to name; reload alone reconfigures the links it matches.
    if (!this.iface.includes("*") && !this.iface.includes(" ")) {
      // networkd (252) keeps a previous static address on reconfigure, so a box moved to a new
      // address would still answer on the old one (and a bad change would not cut it off). Drop
      // the link's global IPv4 addresses first; reconfigure adds back exactly what the file says.
      await this.#must("ip", ["-4", "address", "flush", "dev", this.iface, "scope", "global"]);
      await this.#must("networkctl", ["reconfigure", this.iface]);
    }
  }

  async #must(cmd: string, args: string[]): Promise<string> {
    const r = await this.#run(cmd, args);
    if (r.code !== 0) {
      throw new Error(`${commandLine(cmd, args)} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 300)}`);
    }
    return r.stdout;
  }

  #armRevert(ms: number): void {
    this.#disarmRevert();
    this.#revertTimer = this.#clock.setTimeout(() => {
      this.#revertTimer = null;
      void this.#serial(async () => {
        const p = this.#readPending();
        if (p === null) return; // confirmed meanwhile
        await this.#revert(p, "not confirmed in time");
      }).catch((e) => this.#log.error("reverting network settings failed", { error: e as Error }));
    }, Math.max(0, ms));
  }

  #disarmRevert(): void {
    if (this.#revertTimer !== null) this.#clock.clearTimeout(this.#revertTimer);
    this.#revertTimer = null;
  }

  /** Write back the files from before the change and apply them; then tell `onRevert`. */
  async #revert(p: PendingRecord, why: string): Promise<void> {
    this.#disarmRevert();
    this.#restoreOs(NETWORK_FILE, p.previousFiles.network);
    this.#restoreOs("/etc/hostname", p.previousFiles.hostname);
    // The files are what counts (the next boot uses them): the pending record goes even when a
    // command fails, so a broken command can never make the box revert in a loop.
    this.#removePending();
    try {
      await this.#activateNetwork(p.previousFiles.hostname?.trim() || null);
    } catch (e) {
      this.#log.error("re-applying the previous network settings failed", { error: e as Error });
    }
    this.#log.warn("network settings reverted", {
      why,
      rejected: p.settings,
      restored: p.previous ?? "the files from before",
    });
    try {
      this.#onRevert(p.previous, p.settings);
    } catch (e) {
      this.#log.error("revert listener failed", { error: e as Error });
    }
  }

  // --- time ---------------------------------------------------------------------------------

  /**
   * Point /etc/localtime at the zone, write /etc/timezone and the timesyncd drop-in, restart
   * timesyncd. RangeError when the zone is not installed under the root or a value is unusable.
   */
  applyTime(settings: TimeConfig): Promise<void> {
    this.#requireSystemd("applying time settings");
    const tz = checkTimeZone(settings.timezone);
    const zoneFile = this.#path(`/usr/share/zoneinfo/${tz}`);
    let isFile = false;
    try {
      isFile = Deno.statSync(zoneFile).isFile;
    } catch { /* missing */ }
    if (!isFile) throw new RangeError(`time zone ${tz} is not installed on the box (no ${zoneFile})`);
    const conf = renderTimesyncd(settings);
    return this.#serial(async () => {
      this.#symlinkOs("/etc/localtime", `/usr/share/zoneinfo/${tz}`);
      this.#writeOs("/etc/timezone", `${tz}\n`);
      this.#writeOs(TIMESYNCD_FILE, conf);
      await this.#must("systemctl", ["try-restart", "systemd-timesyncd"]);
      this.#log.info("time settings applied", { timezone: tz, ntp: settings.ntpServers.join(" ") });
    });
  }

  #timeDiffers(t: TimeConfig): boolean {
    let link: string | null = null;
    try {
      link = Deno.readLinkSync(this.#path("/etc/localtime"));
    } catch { /* missing or a plain file */ }
    return link !== `/usr/share/zoneinfo/${t.timezone}` ||
      this.#readOs("/etc/timezone") !== `${t.timezone}\n` ||
      this.#readOs(TIMESYNCD_FILE) !== renderTimesyncd(t);
  }

  // --- state --------------------------------------------------------------------------------

  /** What the OS reports. In mode "none", what Deno can tell without running anything. */
  async state(): Promise<HostState> {
    if (this.mode !== "systemd") return { ...denoHostView(), pendingNetwork: null };
    const hostname = this.#readOs("/proc/sys/kernel/hostname")?.trim() ||
      this.#readOs("/etc/hostname")?.trim() || null;
    let timezone: string | null = null;
    try {
      timezone = zoneFromLink(Deno.readLinkSync(this.#path("/etc/localtime")));
    } catch {
      timezone = this.#readOs("/etc/timezone")?.trim() || null;
    }
    const conf = this.#readOs(TIMESYNCD_FILE);
    return {
      mode: this.mode,
      hostname,
      timezone,
      ntp: { servers: conf === null ? [] : parseTimesyncd(conf), synchronized: await this.#ntpSynced() },
      interfaces: await this.#osInterfaces(),
      bootId: this.#readOs("/proc/sys/kernel/random/boot_id")?.trim() || null,
      pendingNetwork: this.pendingNetwork(),
    };
  }

  async #ntpSynced(): Promise<boolean | null> {
    try {
      const r = await this.#run("timedatectl", ["show", "-p", "NTPSynchronized", "--value"]);
      const v = r.stdout.trim();
      return r.code !== 0 ? null : v === "yes" ? true : v === "no" ? false : null;
    } catch {
      return null;
    }
  }

  async #osInterfaces(): Promise<HostInterface[]> {
    try {
      const r = await this.#run("ip", ["-j", "addr", "show"]);
      if (r.code === 0) return parseIpAddr(r.stdout);
      this.#log.warn("ip -j addr show failed", { code: r.code, stderr: r.stderr.trim().slice(0, 200) });
    } catch (e) {
      this.#log.warn("ip -j addr show failed", { error: e as Error });
    }
    try {
      return interfacesFromDeno(this.#interfaces());
    } catch {
      return [];
    }
  }

  // --- reboot / restart ---------------------------------------------------------------------

  /** Reboot the box about a second from now (after the HTTP answer). Resolves to when. */
  reboot(): { at: number } {
    this.#requireSystemd("reboot");
    return this.#later("reboot", async () => {
      await this.#must("systemctl", ["reboot"]);
    });
  }

  /**
   * Factory reset about a second from now: the privileged helper marks the data dir for wiping
   * and reboots; pbx-factory-reset.service empties /var/lib/pbx before the PBX starts, so the box
   * comes up as on its first boot. The firmware slots are not touched.
   */
  factoryReset(): { at: number } {
    this.#requireSystemd("factory reset");
    return this.#later("factory reset", async () => {
      await this.#must(FACTORY_RESET_COMMAND, ["factory-reset"]);
    });
  }

  /**
   * Restart the PBX service about a second from now: `systemctl --no-block restart pbx.service`,
   * so systemd stops it the normal way (SIGTERM: listeners and database close cleanly) and starts
   * it again whatever Restart= says. If systemctl cannot be asked, the process exits with code 75
   * and Restart=always brings it back.
   */
  restartService(): { at: number } {
    this.#requireSystemd("restart");
    return this.#later("restart", async () => {
      try {
        await this.#must("systemctl", ["--no-block", "restart", this.#unit]);
      } catch (e) {
        this.#log.error("systemctl restart failed; exiting so systemd restarts the service", {
          error: e as Error,
        });
        this.#exit(75);
      }
    });
  }

  #later(what: string, fn: () => Promise<void>): { at: number } {
    this.#log.warn(`${what} requested`, { inMs: ACTION_DELAY_MS });
    const id = this.#clock.setTimeout(() => {
      this.#actionTimers.delete(id);
      fn().catch((e) => this.#log.error(`${what} failed`, { error: e as Error }));
    }, ACTION_DELAY_MS);
    this.#actionTimers.add(id);
    return { at: this.#clock.wallNow() + ACTION_DELAY_MS };
  }

  // --- start / stop -------------------------------------------------------------------------

  /**
   * At process start: a change pending from before the restart gets the rest of its window (a
   * clock that jumped is capped to one window). Otherwise the stored settings are applied when the
   * OS files differ (e.g. after a restore): network with the confirm window, but never twice for
   * the same settings, so a reverted change is not tried again at every start.
   */
  async start(stored: { network?: NetworkConfig | undefined; time?: TimeConfig | undefined }): Promise<
    HostStartReport
  > {
    const report: HostStartReport = { network: "none", time: "none" };
    if (this.mode !== "systemd") return report;
    const pending = this.#readPending();
    if (pending !== null) {
      const left = Math.min(Math.max(0, pending.confirmBy - this.#clock.wallNow()), this.#confirmMs);
      this.#armRevert(left);
      this.#log.warn("a network change from before the restart is waiting for confirmation", {
        revertInSec: Math.round(left / 1000),
      });
      report.network = "pending";
    } else if (stored.network !== undefined) {
      try {
        const wanted = renderNetworkFile(stored.network, this.iface) + renderHostname(stored.network);
        const have = (this.#readOs(NETWORK_FILE) ?? "") + (this.#readOs("/etc/hostname") ?? "");
        if (wanted === have) report.network = "unchanged";
        else if (this.#readData("network-start-attempt") === wanted) report.network = "skipped";
        else {
          this.#writeData("network-start-attempt", wanted);
          await this.applyNetwork(stored.network, { previous: null });
          report.network = "applied";
        }
      } catch (e) {
        this.#log.error("stored network settings could not be applied at start", { error: e as Error });
        report.network = "failed";
      }
    }
    if (stored.time !== undefined) {
      try {
        if (this.#timeDiffers(stored.time)) {
          await this.applyTime(stored.time);
          report.time = "applied";
        } else report.time = "unchanged";
      } catch (e) {
        this.#log.error("stored time settings could not be applied at start", { error: e as Error });
        report.time = "failed";
      }
    }
    return report;
  }

  /** Stop timers (a pending revert stays on disk and is resumed by the next `start()`). */
  stop(): void {
    this.#disarmRevert();
    for (const id of this.#actionTimers) this.#clock.clearTimeout(id);
    this.#actionTimers.clear();
  }

  // --- files --------------------------------------------------------------------------------

  #readOs(p: string): string | null {
    return readOrNull(this.#path(p));
  }

  #writeOs(p: string, text: string): void {
    atomicWrite(this.#path(p), text, 0o644);
  }

  #restoreOs(p: string, text: string | null): void {
    if (text !== null) return this.#writeOs(p, text);
    try {
      Deno.removeSync(this.#path(p));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }

  #symlinkOs(p: string, target: string): void {
    const dest = this.#path(p);
    const tmp = `${dest}.pbx-${crypto.randomUUID()}`;
    Deno.mkdirSync(dirname(dest), { recursive: true });
    Deno.symlinkSync(target, tmp);
    try {
      Deno.renameSync(tmp, dest);
    } catch (e) {
      try {
        Deno.removeSync(tmp);
      } catch { /* gone */ }
      throw e;
    }
  }

  #readData(name: string): string | null {
    return readOrNull(`${this.#dir}/${name}`);
  }

  #writeData(name: string, text: string): void {
    atomicWrite(`${this.#dir}/${name}`, text, 0o600);
  }

  #readPending(): PendingRecord | null {
    const text = this.#readData("network-pending.json");
    if (text === null) return null;
    try {
      const p = JSON.parse(text) as PendingRecord;
      if (typeof p.confirmBy === "number" && typeof p.settings === "object" && p.previousFiles) return p;
    } catch { /* fall through */ }
    this.#log.error("unreadable pending network change; ignoring it", {
      file: `${this.#dir}/network-pending.json`,
    });
    return null;
  }

  #writePending(p: PendingRecord): void {
    this.#writeData("network-pending.json", JSON.stringify(p));
  }

  #removePending(): void {
    try {
      Deno.removeSync(`${this.#dir}/network-pending.json`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}

/** Hostname, zone and interfaces as Deno sees them (mode "none": nothing is run or read from /etc). */
export function denoHostView(): Omit<HostState, "pendingNetwork"> {
  let hostname: string | null = null;
  try {
    hostname = Deno.hostname();
  } catch { /* no --allow-sys */ }
  let interfaces: HostInterface[] = [];
  try {
    interfaces = interfacesFromDeno(Deno.networkInterfaces());
  } catch { /* no --allow-sys */ }
  return {
    mode: "none",
    hostname,
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone ?? null,
    ntp: { servers: [], synchronized: null },
    interfaces,
    bootId: readOrNull("/proc/sys/kernel/random/boot_id")?.trim() || null,
  };
}

function readOrNull(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    if (e instanceof Deno.errors.PermissionDenied) return null;
    throw e;
  }
}

function dirname(p: string): string {
  const i = p.lastIndexOf("/");
  return i <= 0 ? "/" : p.slice(0, i);
}

/** Write `text` to a temp file beside `path`, fsync, rename over it: readers never see half a file. */
export function atomicWrite(path: string, text: string, mode: number): void {
  Deno.mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.pbx-${crypto.randomUUID()}`;
  const file = Deno.openSync(tmp, { write: true, createNew: true, mode });
  try {
    const bytes = new TextEncoder().encode(text);
    let off = 0;
    while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
    file.syncSync();
  } finally {
    file.close();
  }
  try {
    Deno.renameSync(tmp, path);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch { /* gone */ }
    throw e;
  }
}
