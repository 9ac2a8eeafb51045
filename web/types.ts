/**
 * What the web layer needs from the rest of the appliance, as interfaces: the live call registry
 * (implemented by runtime/call), listener health and a logger. The composition root passes the
 * real implementations; tests pass fakes.
 */
import type { FeatureModule } from "../runtime/call/feature.ts";
import type { PagingControl } from "./api_paging.ts";
import type { PromptControl } from "./api_prompts.ts";
import type { MailControl } from "./api_mail.ts";
import type { Clock } from "../runtime/clock/mod.ts";
import type { Storage } from "../runtime/storage/mod.ts";

/** States a live call goes through, as shown in the UI. */
export type LiveCallState = "dialing" | "ringing" | "answered" | "held" | "transferring" | "ending";

/** One call in progress. Times are Unix epoch milliseconds. */
export interface LiveCall {
  id: string;
  caller: string;
  callee: string;
  callerName?: string | undefined;
  state: LiveCallState;
  startedAt: number;
  answeredAt?: number | undefined;
}

/** Kinds of live change the UI is told about over server-sent events (GET /api/events). */
export type LiveChange = "calls" | "registrations" | "zones";

/** Read-only view of live state; runtime/call implements it. */
export interface LiveStatus {
  /** Calls in progress right now. */
  calls(): LiveCall[];
  /** Subscribe to change notifications; returns an unsubscribe function. Optional. */
  onChange?(listener: (change: LiveChange) => void): () => void;
}

/** Listener health for GET /api/health. */
export interface Health {
  ok: boolean;
  listeners: Record<string, boolean>;
}

/** Minimal structured logger. Never pass secrets in fields. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Login throttling per client IP (and, in `account`, per account from anywhere). */
export interface LoginLimitOptions {
  /** Failed attempts within `windowMs` that trigger a lockout (default 5). */
  maxFailures?: number | undefined;
  /** Window for counting failures (default 15 min). */
  windowMs?: number | undefined;
  /** Lockout duration (default 15 min). */
  lockoutMs?: number | undefined;
  /** Per-account limits: default 10 failures from anywhere in 15 min lock the account 15 min. */
  account?: {
    maxFailures?: number | undefined;
    windowMs?: number | undefined;
    lockoutMs?: number | undefined;
  };
}

/** A SIP block: a source address, or an extension whose authentication is locked. */
export interface SipBlock {
  kind: "sip-source" | "sip-extension";
  key: string;
  /** Failures counted in the long window. */
  failures: number;
  /** Unix epoch ms when the block ends. */
  blockedUntil: number;
}

/** The SIP brute-force limiter as the security page sees it (runtime/registrar via appliance). */
export interface SipSecurityControl {
  blocks(): SipBlock[];
  /** Lift a block; false when `key` was not blocked. */
  unblock(kind: SipBlock["kind"], key: string): boolean;
  /** Apply a new allow-list (already validated and stored by the web layer). */
  setAllowList(networks: string[]): void;
}

/** Where to reach the box, shown on the first-boot page and the dashboard. */
export interface BoxInfo {
  /** IP addresses (or host names) phones and browsers can use. */
  addresses: string[];
  sipPort: number;
  httpPort: number;
  tftpPort: number;
}

/** An audio output the zone form offers (an ALSA PCM name such as `hw:CARD=Device,DEV=0`). */
export interface AudioDevice {
  name: string;
  description: string;
}

/** What a WAV check reports about an uploaded bell sound. */
export interface WavInfo {
  sampleRate: number;
  channels: number;
  durationMs: number;
}

/** Dependencies of `createApp`. */
export interface AppDeps {
  storage: Storage;
  /**
   * The feature modules (runtime/call/feature.ts): their numbers join the plan's collision checks,
   * their `web.routes` are mounted on the authenticated /api app, their OpenAPI paths are served.
   */
  features?: readonly FeatureModule[] | undefined;
  live: LiveStatus;
  health(): Health;
  logger?: Logger | undefined;
  /** Drives session expiry display and the login limiter; default realClock. */
  clock?: Clock | undefined;
  /** Lifetime of a login token (default 12 h). */
  sessionTtlMs?: number | undefined;
  /** SIP realm for new extensions' HA1; default the `sip.realm` setting, else "pbx". */
  sipRealm?: (() => string) | undefined;
  loginLimit?: LoginLimitOptions | undefined;
  /** SIP blocks and the allow-list (GET/DELETE /api/security/...); without it only web blocks show. */
  sipSecurity?: SipSecurityControl | undefined;
  /** Maximum request body in bytes (default 64 KiB). */
  maxBodyBytes?: number | undefined;
  /** The box's addresses and ports; default: no addresses, ports 5060/80/69. */
  boxInfo?: (() => BoxInfo) | undefined;
  /** Message-waiting counts per mailbox (message-summary NOTIFYs); without it those routes answer 503. */
  mailboxes?: MailboxSummaries | undefined;
  /** The live paging service (test tone, zone status); without it those routes answer 503. */
  paging?: PagingControl | undefined;
  /** The prompt library (runtime/media/prompts); without it /api/prompts answers 503. */
  prompts?: PromptControl | undefined;
  /** The mail service (SMTP settings, outbox); without it /api/mail answers 503. */
  mail?: MailControl | undefined;
  /** Audio outputs for paging zones (drivers/alsa listPcms); without it the zone form takes names by hand. */
  audioDevices?: (() => AudioDevice[]) | undefined;
  /** Folder for uploaded bell sounds (e.g. DATA_DIR/sounds); schedules must then name a file in it. */
  soundsDir?: string | undefined;
  /** Parse a WAV as the paging player does (throws on a bad file); sound uploads need it. */
  inspectWav?: ((bytes: Uint8Array) => WavInfo) | undefined;
  /** Largest bell sound upload in bytes (default 10 MiB). */
  maxSoundBytes?: number | undefined;
  /** Recent log lines, oldest first; without it the System page says logs are not available. */
  logs?: (() => string[]) | undefined;
  /**
   * The box's OS (appliance/host): network/time settings applied to the OS, reboot, service
   * restart. Without it (or in mode "none") settings are only stored and reboot/restart answer 409.
   */
  host?: HostControl | undefined;
  /** Coalescing delay for server-sent change events in ms (default 250). */
  eventsCoalesceMs?: number | undefined;
  /** Interval of SSE keep-alive comments in ms (default 20 s). */
  eventsHeartbeatMs?: number | undefined;
  /**
   * Ask a phone to fetch its configuration now (SIP NOTIFY `Event: check-sync` to its registered
   * contacts); `sent` is how many contacts were told. Without it POST /api/phones/:mac/reprovision
   * answers 503.
   */
  reprovision?: ((mac: string) => Promise<ReprovisionResult>) | undefined;
  /**
   * Check an uploaded backup (a file path, opened read-only) before it is staged; throws an Error
   * whose message says what is wrong. Without it only the SQLite file header is checked.
   */
  validateBackup?: ((path: string) => BackupInfo) | undefined;
  /** Largest backup upload for POST /api/system/restore in bytes (default 256 MiB). */
  maxRestoreBytes?: number | undefined;
  /** Firmware update (appliance/update); without it /api/system/firmware answers 503. */
  firmware?: FirmwareControl | undefined;
  /** Largest firmware upload for POST /api/system/firmware in bytes (default 1 GiB). */
  maxFirmwareBytes?: number | undefined;
}

/** What re-provisioning a phone did. */
export interface ReprovisionResult {
  /** Registered contacts the check-sync NOTIFY went to (0: the phone is not registered). */
  sent: number;
  /** A line for the admin, e.g. "NOTIFY check-sync sent to 192.168.1.50:5060". */
  detail: string;
}

/** What `validateBackup` found out about an uploaded database. */
export interface BackupInfo {
  schemaVersion: number;
  /** Files the backup carries (voicemail, music on hold, prompts, sounds); null: none (older backup). */
  files?: number | null;
}

/** A firmware update staged for the next start. `stagedAt` is epoch ms. */
export interface FirmwareStaged {
  version: string;
  slot: "a" | "b";
  stagedAt: number;
  stagedBy: string;
}

/** What GET /api/system/firmware reports. */
export interface FirmwareInfo {
  /** The running version (deno.json). */
  version: string;
  /** The slot the box runs from; null on a dev install. */
  slot: "a" | "b" | null;
  updatable: boolean;
  /** Why updates are refused, when `updatable` is false. */
  reason?: string | undefined;
  staged: FirmwareStaged | null;
  /** A switched-to version not yet confirmed healthy; `attempts` counts its restarts. */
  trial: { version: string; attempts: number } | null;
  /** How the last update ended; `at` is epoch seconds. */
  lastResult: { result: "ok" | "rolled-back"; version: string; at: number } | null;
}

/** Outcome of staging a bundle: `invalid` answers 400 (bad bundle), `conflict` 409 (refused now). */
export type FirmwareStageResult =
  | { ok: true; staged: FirmwareStaged }
  | { ok: false; reason: "invalid" | "conflict"; error: string };

/** Firmware update control; appliance/update's Updater implements it. */
export interface FirmwareControl {
  info(): FirmwareInfo;
  /** Verify the bundle file at `path` and unpack it into the inactive slot; the caller deletes `path`. */
  stage(path: string, options: { by: string; allowDowngrade: boolean }): Promise<FirmwareStageResult>;
  /** Drop a staged update (and stop one being staged); `cancelled` says whether there was one. */
  cancel(): { cancelled: boolean };
  /** Folder for upload temp files (created on demand). */
  readonly uploadDir: string;
}

/** Network settings (System > Network), as stored and as applied to the OS. */
export interface HostNetworkSettings {
  mode: "dhcp" | "static";
  hostname: string;
  address?: string | undefined;
  prefix?: number | undefined;
  gateway?: string | undefined;
  dns?: string[] | undefined;
}

/** Time settings (System > Time). */
export interface HostTimeSettings {
  timezone: string;
  ntpServers: string[];
}

/** A network change waiting for confirmation; `confirmBy` is epoch ms. */
export interface HostPendingNetwork {
  confirmBy: number;
  settings: HostNetworkSettings;
}

/** What GET /api/system/host reports: the OS's view, not the stored settings. */
export interface HostState {
  mode: "systemd" | "none";
  hostname: string | null;
  timezone: string | null;
  /** `synchronized` is null when the OS can't tell. */
  ntp: { servers: string[]; synchronized: boolean | null };
  /** `dynamic`: a DHCP lease (true), static (false), unknown (null). */
  interfaces: {
    name: string;
    mac: string | null;
    addresses: { address: string; prefix: number; dynamic: boolean | null }[];
  }[];
  bootId: string | null;
  pendingNetwork: HostPendingNetwork | null;
}

/** Control of the box's OS; appliance/host's HostControl implements it. */
export interface HostControl {
  /** "systemd": settings are applied to the OS; "none": a dev install, nothing is touched. */
  readonly mode: "systemd" | "none";
  state(): Promise<HostState>;
  /**
   * Apply network settings; reverted unless confirmed by `confirmBy`. Throws RangeError for
   * settings the OS cannot take, Error when applying failed (already taken back then).
   */
  applyNetwork(
    settings: HostNetworkSettings,
    options: { previous?: HostNetworkSettings | null },
  ): Promise<{ confirmBy: number }>;
  /** Keep the pending change; null when none was pending. */
  confirmNetwork(): Promise<HostPendingNetwork | null>;
  /** Apply time zone and NTP servers. RangeError for a zone the box lacks. */
  applyTime(settings: HostTimeSettings): Promise<void>;
  /** Reboot about a second from now (after the answer is sent); `at` is epoch ms. */
  reboot(): { at: number };
  /** Restart the PBX service about a second from now; `at` is epoch ms. */
  restartService(): { at: number };
  /** Factory reset (data back to first boot, slots kept) and reboot about a second from now. */
  factoryReset(): { at: number };
}

/** Counts of one mailbox (RFC 3842 Voice-Message new/old, urgent in brackets). */
export interface MailboxCounts {
  newMessages: number;
  oldMessages: number;
  urgentNew?: number;
  urgentOld?: number;
}

/** Mailbox counts the box publishes to message-summary subscribers. */
export interface MailboxSummaries {
  get(mailbox: string): MailboxCounts;
  /** Set the counts; returns how many subscriptions were notified. */
  set(mailbox: string, counts: MailboxCounts): number;
}
