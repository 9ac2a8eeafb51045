/**
 * Boot configuration: embedded defaults, then `config.json` in the data dir, then environment
 * variables, then command-line flags (later wins). Names of the environment variables are fixed:
 * operators and tests depend on them.
 */

/** The resolved boot configuration. */
export interface BootConfig {
  /** Where the database, keys and recordings live. */
  dataDir: string;
  /** Listen address for every socket. */
  bind: string;
  /** Address written into SDP, Contact and provisioning files; derived from `bind` when unset. */
  publicAddress: string;
  sipPort: number;
  httpPort: number;
  /** Port of the HTTPS listener (same web app and /prov files); null when HTTPS is `off`. */
  httpsPort: number | null;
  /** Port of SIP over TLS (box certificate, docs/sip-tls.md); null when `off`. */
  sipTlsPort: number | null;
  tftpPort: number;
  rtpPortMin: number;
  rtpPortMax: number;
  /** Digest realm for SIP authentication. */
  realm: string;
  /** Sets the admin password on first start when none is set. Never stored in config.json. */
  adminPassword?: string;
  logLevel: "debug" | "info" | "warn" | "error";
  /** Seconds a call rings before the box gives up (no answer). */
  noAnswerSeconds: number;
  /** Seconds a parked call waits before it rings the parker back (runtime/features/park). */
  parkSeconds: number;
  /** SUBSCRIBE limits (runtime/call/events): minimum and maximum Expires, per source, in all. */
  subscribeMinExpires: number;
  subscribeMaxExpires: number;
  subscribePerSource: number;
  subscribeMax: number;
  /**
   * Digest algorithms offered, most preferred first (RFC 8760). Only MD5 by default: sipp answers
   * only the first challenge, and libre-based phones (baresip) refuse the whole response when any
   * challenge names an algorithm they lack. Sites whose phones cope can add SHA-256.
   */
  digestAlgorithms: ("MD5" | "SHA-256")[];
  /** Failed authentications from one address before its answers are slowed down. */
  authDelayAfter: number;
  /** Failed authentications from one address before it is blocked for `authBlockMinutes`. */
  authBlockAfter: number;
  authBlockMinutes: number;
  /** Failed authentications from one address within an hour before it is blocked (slow guessers). */
  authHourlyBlockAfter: number;
  /** Failed authentications for one extension, from anywhere, within an hour before it is locked. */
  authExtLockAfter: number;
  /** How long a locked extension refuses authentication. */
  authExtLockMinutes: number;
  /** Answer SIP plug-and-play SUBSCRIBEs sent to the multicast group 224.0.1.75 on the SIP port. */
  pnp: boolean;
  /** The A/B firmware root (`slots/a`, `slots/b`, `current`); firmware update needs the app to run from it. */
  appRoot: string;
  /** Folder of trusted firmware signing keys (`*.pub`). */
  updateKeysDir: string;
  /** Seconds a newly switched-to firmware must run healthy before it is confirmed (no rollback). */
  updateConfirmSec: number;
  /** Largest firmware upload in bytes. */
  maxFirmwareBytes: number;
  /** `systemd`: apply network/time settings to the OS (the box image); `none`: store only (dev). */
  hostMode: "systemd" | "none";
  /** Prefix for every OS file the host settings write (tests point it at a temp dir). */
  hostRoot: string;
  /** The LAN interface for the network file; "" = the first one with a MAC, else `en* eth*`. */
  hostIface: string;
  /** Socket of the privileged helper (pbx-helper.socket); "" = run OS commands directly. */
  hostHelper: string;
  /** Seconds a network change waits for confirmation before it is reverted. */
  networkConfirmSec: number;
  /** The factory-reset button's input line (`gpiochip0:27:active-low`, `file:/path`); "" = none. */
  factoryResetButton: string;
  /** Seconds the factory-reset button must be held. */
  factoryResetHoldSec: number;
  /** Most SIP TCP connections at once (docs/security.md, "Connections and transports"). */
  sipTcpMaxConnections: number;
  /** Most SIP TCP connections from one IP address. */
  sipTcpMaxPerSource: number;
  /** Seconds a SIP TCP connection may go without a complete message before it is closed. */
  sipTcpIdleSec: number;
  /** Seconds allowed to finish a SIP message once begun, and for the first one on a connection. */
  sipTcpMessageSec: number;
  /** Most web (HTTP plus HTTPS, each) connections at once; at most a quarter of the open-file limit. */
  httpMaxConnections: number;
  /** Most web connections from one IP address. */
  httpMaxPerSource: number;
  /** Seconds a new web connection has to send complete request headers. */
  httpHeaderSec: number;
  /** Seconds a web connection may stay open without a request in progress. */
  httpIdleSec: number;
  /** Concurrent TFTP transfers from one IP address. */
  tftpMaxPerSource: number;
  /** SIP UDP on the batched native socket (drivers/udp) instead of node:dgram; on by default. */
  sipUdpNative: boolean;
  /** Kernel receive buffer asked for the SIP UDP socket, KiB (bursts wait there for the signalling thread). */
  sipUdpRcvbufKb: number;
  /**
   * Seconds an answered call's leg may receive neither RTP nor RTCP before the call is ended (the
   * far end died); held calls are left alone. 0 = off.
   */
  rtpTimeoutSec: number;
  /** SIP session timer interval offered and accepted at most (RFC 4028), seconds; 0 = off. */
  sessionExpiresSec: number;
  /** Smallest session interval accepted (Min-SE); RFC 4028 asks for at least 90 (lower only for tests). */
  sessionMinSeSec: number;
  /** Calls in set-up (not answered yet) above which new INVITEs get 503 + Retry-After; 0 = no limit. */
  maxCallsSettingUp: number;
  /** New calls per second one source address may still start while new calls are being shed. */
  overloadSourceShare: number;
}

/** One row of the table that documents and parses every setting. */
interface Setting {
  key: keyof BootConfig;
  env: string;
  flag: string;
  help: string;
}

/** Every setting, its environment variable and its flag; README documents this table. */
export const SETTINGS: readonly Setting[] = [
  { key: "dataDir", env: "PBX_DATA_DIR", flag: "--data-dir", help: "data directory (database, keys)" },
  { key: "bind", env: "PBX_BIND", flag: "--bind", help: "listen address" },
  { key: "publicAddress", env: "PBX_PUBLIC_ADDRESS", flag: "--public-address", help: "address phones reach" },
  { key: "sipPort", env: "PBX_SIP_PORT", flag: "--sip-port", help: "SIP port, UDP and TCP" },
  { key: "httpPort", env: "PBX_HTTP_PORT", flag: "--http-port", help: "web UI, API and HTTP provisioning" },
  {
    key: "httpsPort",
    env: "PBX_HTTPS_PORT",
    flag: "--https-port",
    help: "HTTPS port (box certificate), 0 = any free port, off = no HTTPS",
  },
  {
    key: "sipTlsPort",
    env: "PBX_SIP_TLS_PORT",
    flag: "--sip-tls-port",
    help: "SIP over TLS port (box certificate), 0 = any free port, off = no SIP TLS",
  },
  { key: "tftpPort", env: "PBX_TFTP_PORT", flag: "--tftp-port", help: "TFTP provisioning port" },
  { key: "rtpPortMin", env: "PBX_RTP_PORTS", flag: "--rtp-ports", help: "RTP port range, e.g. 20000-20999" },
  { key: "realm", env: "PBX_REALM", flag: "--realm", help: "SIP digest realm" },
  { key: "adminPassword", env: "PBX_ADMIN_PASSWORD", flag: "--admin-password", help: "first admin password" },
  { key: "logLevel", env: "PBX_LOG_LEVEL", flag: "--log-level", help: "debug, info, warn or error" },
  { key: "noAnswerSeconds", env: "PBX_NO_ANSWER_SECONDS", flag: "--no-answer-seconds", help: "ring timeout" },
  { key: "parkSeconds", env: "PBX_PARK_SECONDS", flag: "--park-seconds", help: "park timeout before recall" },
  {
    key: "subscribeMinExpires",
    env: "PBX_SUBSCRIBE_MIN_EXPIRES",
    flag: "--subscribe-min-expires",
    help: "shortest SUBSCRIBE Expires accepted (s); shorter get 423",
  },
  {
    key: "subscribeMaxExpires",
    env: "PBX_SUBSCRIBE_MAX_EXPIRES",
    flag: "--subscribe-max-expires",
    help: "longest SUBSCRIBE Expires granted (s)",
  },
  {
    key: "subscribePerSource",
    env: "PBX_SUBSCRIBE_PER_SOURCE",
    flag: "--subscribe-per-source",
    help: "subscriptions one address may hold",
  },
  { key: "subscribeMax", env: "PBX_SUBSCRIBE_MAX", flag: "--subscribe-max", help: "subscriptions in all" },
  {
    key: "digestAlgorithms",
    env: "PBX_DIGEST_ALGORITHMS",
    flag: "--digest-algorithms",
    help: "offered digest algorithms in order, e.g. SHA-256,MD5",
  },
  {
    key: "authDelayAfter",
    env: "PBX_AUTH_DELAY_AFTER",
    flag: "--auth-delay-after",
    help: "failures before slowing",
  },
  {
    key: "authBlockAfter",
    env: "PBX_AUTH_BLOCK_AFTER",
    flag: "--auth-block-after",
    help: "failures before blocking",
  },
  { key: "pnp", env: "PBX_PNP", flag: "--pnp", help: "1 to answer SIP plug-and-play multicast" },
  { key: "appRoot", env: "PBX_APP_ROOT", flag: "--app-root", help: "A/B firmware root (default /opt/pbx)" },
  {
    key: "updateKeysDir",
    env: "PBX_UPDATE_KEYS_DIR",
    flag: "--update-keys-dir",
    help: "trusted firmware keys, *.pub (default /etc/pbx/update-keys)",
  },
  {
    key: "updateConfirmSec",
    env: "PBX_UPDATE_CONFIRM_SEC",
    flag: "--update-confirm-sec",
    help: "healthy seconds before new firmware is kept",
  },
  {
    key: "maxFirmwareBytes",
    env: "PBX_MAX_FIRMWARE_BYTES",
    flag: "--max-firmware-bytes",
    help: "largest firmware upload in bytes (default 1 GiB)",
  },
  { key: "hostMode", env: "PBX_HOST", flag: "--host", help: "systemd = apply network/time to the OS, none" },
  {
    key: "hostRoot",
    env: "PBX_HOST_ROOT",
    flag: "--host-root",
    help: "root prefix for OS files (default /)",
  },
  { key: "hostIface", env: "PBX_HOST_IFACE", flag: "--host-iface", help: "LAN interface (default: detect)" },
  {
    key: "hostHelper",
    env: "PBX_HOST_HELPER",
    flag: "--host-helper",
    help: "privileged helper socket (the box: /run/pbx/helper.sock)",
  },
  {
    key: "networkConfirmSec",
    env: "PBX_NETWORK_CONFIRM_SEC",
    flag: "--network-confirm-sec",
    help: "seconds to confirm a network change before it is reverted (10-3600)",
  },
  {
    key: "factoryResetButton",
    env: "PBX_FACTORY_RESET_BUTTON",
    flag: "--factory-reset-button",
    help: "factory-reset button input, e.g. gpiochip0:27:active-low (default: none)",
  },
  {
    key: "factoryResetHoldSec",
    env: "PBX_FACTORY_RESET_HOLD_SEC",
    flag: "--factory-reset-hold-sec",
    help: "seconds the factory-reset button must be held (2-60, default 10)",
  },
  {
    key: "sipTcpMaxConnections",
    env: "PBX_SIP_TCP_MAX_CONNECTIONS",
    flag: "--sip-tcp-max-connections",
    help: "most SIP TCP connections at once (default 4096)",
  },
  {
    key: "sipTcpMaxPerSource",
    env: "PBX_SIP_TCP_MAX_PER_SOURCE",
    flag: "--sip-tcp-max-per-source",
    help: "most SIP TCP connections from one address (default 64)",
  },
  {
    key: "sipTcpIdleSec",
    env: "PBX_SIP_TCP_IDLE_SEC",
    flag: "--sip-tcp-idle-sec",
    help: "close SIP TCP connections without a complete message this long (default 300)",
  },
  {
    key: "sipTcpMessageSec",
    env: "PBX_SIP_TCP_MESSAGE_SEC",
    flag: "--sip-tcp-message-sec",
    help: "seconds to finish a begun SIP message or send the first one (default 30)",
  },
  {
    key: "httpMaxConnections",
    env: "PBX_HTTP_MAX_CONNECTIONS",
    flag: "--http-max-connections",
    help: "most web connections at once per listener (default 1024)",
  },
  {
    key: "httpMaxPerSource",
    env: "PBX_HTTP_MAX_PER_SOURCE",
    flag: "--http-max-per-source",
    help: "most web connections from one address (default 64)",
  },
  {
    key: "httpHeaderSec",
    env: "PBX_HTTP_HEADER_SEC",
    flag: "--http-header-sec",
    help: "seconds a new web connection has to send its request headers (default 15)",
  },
  {
    key: "httpIdleSec",
    env: "PBX_HTTP_IDLE_SEC",
    flag: "--http-idle-sec",
    help: "close web connections without a request this long (default 60)",
  },
  {
    key: "tftpMaxPerSource",
    env: "PBX_TFTP_MAX_PER_SOURCE",
    flag: "--tftp-max-per-source",
    help: "concurrent TFTP transfers from one address (default 8)",
  },
  {
    key: "sipUdpNative",
    env: "PBX_SIP_UDP_NATIVE",
    flag: "--sip-udp-native",
    help: "1 = SIP UDP on the batched native socket (recvmmsg/sendmmsg, default), 0 = node:dgram",
  },
  {
    key: "sipUdpRcvbufKb",
    env: "PBX_SIP_UDP_RCVBUF_KB",
    flag: "--sip-udp-rcvbuf-kb",
    help: "SIP UDP socket receive buffer, KiB (default 2048; 64-65536)",
  },
  {
    key: "rtpTimeoutSec",
    env: "PBX_RTP_TIMEOUT_SEC",
    flag: "--rtp-timeout-sec",
    help: "end an answered call after this many seconds without RTP/RTCP on a leg (default 60, 0 = off)",
  },
  {
    key: "sessionExpiresSec",
    env: "PBX_SESSION_EXPIRES_SEC",
    flag: "--session-expires-sec",
    help: "SIP session timer interval offered/accepted (RFC 4028; default 1800, 0 = off)",
  },
  {
    key: "sessionMinSeSec",
    env: "PBX_SESSION_MIN_SE_SEC",
    flag: "--session-min-se-sec",
    help: "smallest session interval accepted, Min-SE (default 90)",
  },
  {
    key: "maxCallsSettingUp",
    env: "PBX_MAX_CALLS_SETTING_UP",
    flag: "--max-calls-setting-up",
    help: "calls in set-up above which new INVITEs get 503 + Retry-After (default 400, 0 = no limit)",
  },
  {
    key: "overloadSourceShare",
    env: "PBX_OVERLOAD_SOURCE_SHARE",
    flag: "--overload-source-share",
    help: "new calls/s one address may still start while the box sheds (default 10)",
  },
  {
    key: "authBlockMinutes",
    env: "PBX_AUTH_BLOCK_MINUTES",
    flag: "--auth-block-minutes",
    help: "how long a source stays blocked",
  },
  {
    key: "authHourlyBlockAfter",
    env: "PBX_AUTH_HOURLY_BLOCK_AFTER",
    flag: "--auth-hourly-block-after",
    help: "failures from one source within an hour before blocking",
  },
  {
    key: "authExtLockAfter",
    env: "PBX_AUTH_EXT_LOCK_AFTER",
    flag: "--auth-ext-lock-after",
    help: "failures for one extension (from anywhere) within an hour before it is locked",
  },
  {
    key: "authExtLockMinutes",
    env: "PBX_AUTH_EXT_LOCK_MINUTES",
    flag: "--auth-ext-lock-minutes",
    help: "how long a locked extension stays locked",
  },
];

/** Defaults: unprivileged ports so a developer can run the box without root. */
export const DEFAULTS: Omit<BootConfig, "publicAddress"> & { publicAddress: string } = {
  dataDir: "./data",
  bind: "0.0.0.0",
  publicAddress: "",
  sipPort: 5060,
  httpPort: 8080,
  httpsPort: 8443,
  sipTlsPort: 5061,
  tftpPort: 6969,
  rtpPortMin: 20000,
  rtpPortMax: 20999,
  realm: "pbx",
  logLevel: "info",
  noAnswerSeconds: 30,
  parkSeconds: 60,
  subscribeMinExpires: 60,
  subscribeMaxExpires: 3600,
  subscribePerSource: 100,
  subscribeMax: 10_000,
  digestAlgorithms: ["MD5"],
  authDelayAfter: 5,
  authBlockAfter: 20,
  authBlockMinutes: 10,
  authHourlyBlockAfter: 30,
  authExtLockAfter: 30,
  authExtLockMinutes: 15,
  pnp: false,
  appRoot: "/opt/pbx",
  updateKeysDir: "/etc/pbx/update-keys",
  updateConfirmSec: 60,
  maxFirmwareBytes: 1024 * 1024 * 1024,
  hostMode: "none",
  hostRoot: "/",
  hostIface: "",
  hostHelper: "",
  networkConfirmSec: 120,
  factoryResetButton: "",
  factoryResetHoldSec: 10,
  sipTcpMaxConnections: 4096,
  sipTcpMaxPerSource: 64,
  sipTcpIdleSec: 300,
  sipTcpMessageSec: 30,
  httpMaxConnections: 1024,
  httpMaxPerSource: 64,
  httpHeaderSec: 15,
  httpIdleSec: 60,
  tftpMaxPerSource: 8,
  sipUdpNative: true,
  sipUdpRcvbufKb: 2048,
  rtpTimeoutSec: 60,
  sessionExpiresSec: 1800,
  sessionMinSeSec: 90,
  maxCallsSettingUp: 400,
  overloadSourceShare: 10,
};

function parsePort(name: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new RangeError(`${name} must be a port number 0-65535, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Parse `20000-20999` into an even-aligned range with room for at least one RTP/RTCP pair. */
export function parsePortRange(name: string, value: string): [number, number] {
  const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(value);
  if (!m) throw new RangeError(`${name} must look like 20000-20999, got ${JSON.stringify(value)}`);
  const min = parsePort(name, m[1]!);
  const max = parsePort(name, m[2]!);
  if (min < 1024 || max <= min + 1) {
    throw new RangeError(`${name} must be a range above 1023 with at least two ports, got ${value}`);
  }
  return [min, max];
}

function apply(config: BootConfig, key: keyof BootConfig, source: string, raw: unknown): void {
  const value = typeof raw === "number" ? String(raw) : raw;
  if (typeof value !== "string") throw new TypeError(`${source}: ${key} must be a string or number`);
  switch (key) {
    case "sipPort":
    case "httpPort":
    case "tftpPort":
      config[key] = parsePort(source, value);
      break;
    case "httpsPort":
      // "off" rather than 0: 0 already means "any free port" for every other listener.
      config.httpsPort = value.trim().toLowerCase() === "off" ? null : parsePort(source, value);
      break;
    case "sipTlsPort":
      config.sipTlsPort = value.trim().toLowerCase() === "off" ? null : parsePort(source, value);
      break;
    case "rtpPortMin":
    case "rtpPortMax": {
      const [min, max] = parsePortRange(source, value);
      config.rtpPortMin = min;
      config.rtpPortMax = max;
      break;
    }
    case "maxFirmwareBytes": {
      const n = Number(value);
      if (!/^\d+$/.test(value.trim()) || n < 1024 * 1024 || n > 16 * 1024 * 1024 * 1024) {
        throw new RangeError(
          `${source} must be a byte count from 1 MiB to 16 GiB, got ${JSON.stringify(value)}`,
        );
      }
      config.maxFirmwareBytes = n;
      break;
    }
    case "sipUdpRcvbufKb": {
      const n = Number(value);
      if (!/^\d+$/.test(value.trim()) || n < 64 || n > 65536) {
        throw new RangeError(
          `${source} must be a whole number of KiB 64-65536, got ${JSON.stringify(value)}`,
        );
      }
      config.sipUdpRcvbufKb = n;
      break;
    }
    case "sipTcpMaxConnections":
    case "sipTcpMaxPerSource":
    case "sipTcpIdleSec":
    case "sipTcpMessageSec":
    case "httpMaxConnections":
    case "httpMaxPerSource":
    case "httpHeaderSec":
    case "httpIdleSec":
    case "tftpMaxPerSource": {
      const n = Number(value);
      if (!/^\d+$/.test(value.trim()) || n < 1 || n > 1_000_000) {
        throw new RangeError(`${source} must be a whole number 1-1000000, got ${JSON.stringify(value)}`);
      }
      config[key] = n;
      break;
    }
    case "noAnswerSeconds":
    case "parkSeconds":
    case "subscribeMinExpires":
    case "subscribeMaxExpires":
    case "subscribePerSource":
    case "subscribeMax":
    case "updateConfirmSec":
    case "authDelayAfter":
    case "authBlockAfter":
    case "authBlockMinutes":
    case "authHourlyBlockAfter":
    case "authExtLockAfter":
    case "authExtLockMinutes": {
      const n = Number(value);
      if (!/^\d+$/.test(value.trim()) || n < 1 || n > 10_000) {
        throw new RangeError(`${source} must be a whole number 1-10000, got ${JSON.stringify(value)}`);
      }
      config[key] = n;
      break;
    }
    case "sessionExpiresSec":
    case "sessionMinSeSec": {
      const n = Number(value);
      if (!/^\d+$/.test(value.trim()) || n > 86_400 || (key === "sessionMinSeSec" && n < 1)) {
        throw new RangeError(
          `${source} must be a whole number of seconds up to 86400, got ${JSON.stringify(value)}`,
        );
      }
      config[key] = n;
      break;
    }
    case "maxCallsSettingUp":
    case "overloadSourceShare":
    case "rtpTimeoutSec": {
      const n = Number(value);
      if (!/^\d+$/.test(value.trim()) || n > 86_400) {
        throw new RangeError(
          `${source} must be a whole number 0-86400, got ${JSON.stringify(value)}`,
        );
      }
      config[key] = n;
      break;
    }
    case "logLevel":
      if (!["debug", "info", "warn", "error"].includes(value)) {
        throw new RangeError(`${source} must be debug, info, warn or error, got ${JSON.stringify(value)}`);
      }
      config.logLevel = value as BootConfig["logLevel"];
      break;
    case "adminPassword":
      config.adminPassword = value;
      break;
    case "pnp":
    case "sipUdpNative":
      if (!["0", "1", "true", "false", "on", "off"].includes(value.trim().toLowerCase())) {
        throw new RangeError(`${source} must be 1 or 0, got ${JSON.stringify(value)}`);
      }
      config[key] = ["1", "true", "on"].includes(value.trim().toLowerCase());
      break;
    case "hostMode": {
      const mode = value.trim().toLowerCase();
      if (mode !== "systemd" && mode !== "none") {
        throw new RangeError(`${source} must be systemd or none, got ${JSON.stringify(value)}`);
      }
      config.hostMode = mode;
      break;
    }
    case "hostHelper":
      if (value !== "" && !value.startsWith("/")) {
        throw new RangeError(`${source} must be an absolute socket path, got ${JSON.stringify(value)}`);
      }
      config.hostHelper = value;
      break;
    case "hostIface":
      if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(value.trim())) {
        throw new RangeError(`${source} must be an interface name like eth0, got ${JSON.stringify(value)}`);
      }
      config.hostIface = value.trim();
      break;
    case "factoryResetButton": {
      const spec = value.trim();
      if (spec !== "" && !/^gpiochip\d+:\d+(:active-low)?$/.test(spec) && !/^file:\/./.test(spec)) {
        throw new RangeError(
          `${source} must be gpiochipN:LINE[:active-low] or file:/path, got ${JSON.stringify(value)}`,
        );
      }
      config.factoryResetButton = spec;
      break;
    }
    case "factoryResetHoldSec": {
      const n = Number(value);
      if (!/^\d+$/.test(value.trim()) || n < 2 || n > 60) {
        throw new RangeError(
          `${source} must be a whole number of seconds 2-60, got ${JSON.stringify(value)}`,
        );
      }
      config.factoryResetHoldSec = n;
      break;
    }
    case "networkConfirmSec": {
      const n = Number(value);
      if (!/^\d+$/.test(value.trim()) || n < 10 || n > 3600) {
        throw new RangeError(
          `${source} must be a whole number of seconds 10-3600, got ${JSON.stringify(value)}`,
        );
      }
      config.networkConfirmSec = n;
      break;
    }
    case "digestAlgorithms": {
      const list = value.split(",").map((v) => v.trim().toUpperCase());
      if (
        list.length === 0 || list.some((a) => a !== "MD5" && a !== "SHA-256") ||
        new Set(list).size !== list.length
      ) {
        throw new RangeError(
          `${source} must list MD5 and/or SHA-256, comma-separated, got ${JSON.stringify(value)}`,
        );
      }
      config.digestAlgorithms = list as BootConfig["digestAlgorithms"];
      break;
    }
    default:
      if (value.trim() === "") throw new RangeError(`${source} must not be empty`);
      config[key] = value.trim();
  }
}

/** Inputs for `loadConfig`; all optional so tests can pass just what they need. */
export interface LoadOptions {
  args?: string[];
  env?: Record<string, string | undefined>;
  /** Reads `config.json`; defaults to the file system. */
  readFile?: (path: string) => string | undefined;
}

function defaultReadFile(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Pick the address phones should use when listening on every interface. */
export function detectPublicAddress(bind: string): string {
  if (bind !== "0.0.0.0" && bind !== "::") return bind;
  try {
    for (const ni of Deno.networkInterfaces()) {
      if (ni.family === "IPv4" && !ni.address.startsWith("127.")) return ni.address;
    }
  } catch {
    // no permission to list interfaces: loopback is the only honest answer
  }
  return "127.0.0.1";
}

/**
 * Resolve the boot configuration. Throws RangeError/TypeError/SyntaxError naming the setting and
 * value that was wrong.
 */
export function loadConfig(options: LoadOptions = {}): BootConfig {
  const args = options.args ?? [];
  const env = options.env ?? {};
  const readFile = options.readFile ?? defaultReadFile;
  const config: BootConfig = { ...DEFAULTS };

  // The data dir decides where config.json is, so resolve it first from env/flags.
  const flagValues = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const setting = SETTINGS.find((s) => s.flag === name);
    if (!setting) throw new RangeError(`unknown flag ${JSON.stringify(name)}; see --help`);
    const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new RangeError(`flag ${name} needs a value`);
    flagValues.set(setting.flag, value);
  }
  const dataDirSetting = SETTINGS[0]!;
  const dataDir = flagValues.get(dataDirSetting.flag) ?? env[dataDirSetting.env] ?? DEFAULTS.dataDir;
  apply(config, "dataDir", "data dir", dataDir);

  const path = `${config.dataDir}/config.json`;
  const text = readFile(path);
  if (text !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new SyntaxError(`${path} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new TypeError(`${path} must hold a JSON object`);
    }
    for (const [k, v] of Object.entries(json)) {
      if (k === "adminPassword" || k === "dataDir") continue; // never from the file
      if (k === "rtpPorts") {
        apply(config, "rtpPortMin", `${path}: rtpPorts`, v);
        continue;
      }
      if (!SETTINGS.some((s) => s.key === k)) {
        throw new RangeError(`${path}: unknown setting ${JSON.stringify(k)}`);
      }
      apply(config, k as keyof BootConfig, `${path}: ${k}`, v);
    }
  }
  for (const s of SETTINGS) {
    if (s.key === "dataDir") continue;
    const v = env[s.env];
    if (v !== undefined && v !== "") apply(config, s.key, s.env, v);
  }
  for (const s of SETTINGS) {
    if (s.key === "dataDir") continue;
    const v = flagValues.get(s.flag);
    if (v !== undefined) apply(config, s.key, s.flag, v);
  }
  if (config.publicAddress === "") config.publicAddress = detectPublicAddress(config.bind);
  return config;
}

/** Text for `--help`. */
export function usage(): string {
  const lines = [
    "Usage: deno task start [flags]",
    "",
    "Every flag can also be set by its environment variable:",
  ];
  for (const s of SETTINGS) lines.push(`  ${s.flag.padEnd(20)} ${s.env.padEnd(22)} ${s.help}`);
  return lines.join("\n");
}
