/**
 * Wires phone provisioning into the appliance: a ProvisioningData over storage, the TFTP server,
 * the /prov HTTP routes, the SIP plug-and-play responder (ua-profile SUBSCRIBE -> 200 + NOTIFY
 * with the provisioning URL, optionally also on the 224.0.1.75 multicast group), the template
 * service the web API uses, and recording of SIP registrations per device.
 */
import dgram from "node:dgram";
import type { Buffer } from "node:buffer";
import type { Hono } from "hono";
import type { BootConfig } from "./config.ts";
import type { Logger } from "../runtime/log/mod.ts";
import { type Clock, realClock } from "../runtime/clock/mod.ts";
import {
  type DeviceVendor,
  phoneKeyCapacity,
  readProvisioningSecurity,
  type Storage,
} from "../runtime/storage/mod.ts";
import { FEATURE_CODES_SETTING, featureCodes, parsePattern } from "../runtime/call/route/mod.ts";
import { parseMessage, type Peer, type SipMessage } from "../runtime/sip/mod.ts";
import {
  type Contact,
  FetchGuard,
  type FetchGuardOptions,
  type LineKey,
  type PagingGroup,
  previewTemplate,
  type ProvisioningData,
  provisioningRoutes,
  shippedTemplateInfo,
  startTftpServer,
  TEMPLATE_KEYS,
  tftpResolver,
  validateTemplateSource,
} from "../provisioning/mod.ts";
import type { PhoneProvisioning } from "../web/api_phones.ts";

/** The well-known SIP PnP multicast group (RFC 3261 "sip.mcast.net"). */
export const PNP_MULTICAST_GROUP = "224.0.1.75";

/** Options of {@linkcode startProvisioning}. */
export interface StartProvisioningOptions {
  config: BootConfig;
  storage: Storage;
  log: Logger;
  clock?: Clock | undefined;
  /**
   * Feeds a SIP message that arrived on the multicast socket into the stack (pass
   * `(msg, source) => transactions.receive(msg, source)`); required for `pnpMulticast`.
   */
  receiveSip?: ((msg: SipMessage, source: Peer) => void) | undefined;
  /**
   * Listen on 224.0.1.75 for PnP SUBSCRIBEs. Default: env PBX_PNP === "1". `port` defaults to
   * config.sipPort; the main SIP socket must then also be bound with reuseAddr.
   */
  pnpMulticast?: boolean | { port?: number; group?: string; interfaceAddress?: string } | undefined;
  /** Environment (for PBX_PNP); default Deno.env. */
  env?: Record<string, string | undefined> | undefined;
  /** Actual ports when config asked for 0 (tests); read lazily. */
  sipPort?: number | (() => number) | undefined;
  httpPort?: number | (() => number) | undefined;
  /** The SIP-TLS port (null: off) and the box's CA certificate, for phones set to TLS. */
  sipTlsPort?: (() => number | null) | undefined;
  caCertPem?: (() => string | undefined) | undefined;
  /**
   * Override of the `provisioning.security` setting's `requireWindow` (default on): SIP
   * passwords go out only during a device's window or over HTTPS with its own credentials.
   */
  requireOpenWindow?: boolean | undefined;
  /** Limits of the per-source block of failed fetches (tests shorten them). */
  guard?: Omit<FetchGuardOptions, "now" | "log"> | undefined;
  /** Paging groups to put into phone files (the paging feature provides them). Default none. */
  pagingGroups?: (() => PagingGroup[]) | undefined;
  /** Keys every assigned phone gets after its own (createProvisioningData's `extraKeys`). */
  extraKeys?: (() => readonly LineKey[]) | undefined;
}

/** A running provisioning service. */
export interface ProvisioningService {
  /** Routes for /prov/* (paths already carry the /prov prefix: mount with `app.route("/", ...)`). */
  honoRoutes: Hono;
  /** The bound TFTP port. */
  tftpPort: number;
  /** The multicast PnP port, or null when not listening. */
  pnpPort: number | null;
  /** The data provisioning reads; exposed for tests and the web preview. */
  data: ProvisioningData;
  /** Template services for the web API (`createApp({..., phones: service.phones})`). */
  phones: PhoneProvisioning;
  /** Per-source blocks of failed fetches, shared by TFTP, HTTP and PnP. */
  guard: FetchGuard;
  stop(): Promise<void>;
}

const value = (v: number | (() => number) | undefined, fallback: number) =>
  typeof v === "function" ? v() : v ?? fallback;

/** Options of {@linkcode createProvisioningData}. */
export interface ProvisioningDataOptions {
  config: BootConfig;
  clock?: Clock | undefined;
  sipPort?: number | (() => number) | undefined;
  httpPort?: number | (() => number) | undefined;
  /** The SIP-TLS port (null: off) and the box's CA (PEM), for phones set to TLS. */
  sipTlsPort?: (() => number | null) | undefined;
  caCertPem?: (() => string | undefined) | undefined;
  pagingGroups?: (() => PagingGroup[]) | undefined;
  log?: Logger | undefined;
  /**
   * Keys every assigned phone gets after its own (park slot keys from the park lot's settings): a
   * key whose value the phone's own keys already have is left out, and so are those past the
   * model's key count or of a kind its file cannot carry.
   */
  extraKeys?: (() => readonly LineKey[]) | undefined;
}

/** A device's own keys, then the extra ones that fit (see `extraKeys`). */
function withExtraKeys(
  d: { vendor: DeviceVendor | null; model: string | null; extension: string | null; lineKeys: LineKey[] },
  extra: readonly LineKey[],
): LineKey[] {
  if (extra.length === 0 || d.extension === null) return d.lineKeys;
  const cap = phoneKeyCapacity(d.vendor, d.model);
  if (!cap.types.includes("park")) return d.lineKeys;
  const have = new Set(d.lineKeys.map((k) => k.value));
  const add = extra.filter((k) => !have.has(k.value)).slice(0, Math.max(0, cap.max - d.lineKeys.length));
  return [...d.lineKeys, ...add];
}

/**
 * ProvisioningData over storage. Server settings: SIP host = config.publicAddress, HTTP base
 * `http://publicAddress:httpPort`, time zone and NTP from the `system.time` setting
 * ({timezone, ntpServers}) with defaults "UTC" and the box itself (sites often have no internet).
 */
export function createProvisioningData(storage: Storage, options: ProvisioningDataOptions): ProvisioningData {
  const { config } = options;
  const clock = options.clock ?? realClock;
  const host = config.publicAddress;
  const evicted = evictionLogger(options.log, clock);
  return {
    device(mac) {
      const d = storage.devices.get(mac);
      if (d === undefined) return undefined;
      return {
        mac: d.mac,
        vendor: d.vendor ?? undefined,
        model: d.model ?? undefined,
        extension: d.extension,
        lineKeys: withExtraKeys(d, options.extraKeys?.() ?? []),
        provisioningOpenUntil: d.provisioningOpenUntil,
        httpUser: d.httpUser,
        httpPassword: d.hasHttpPassword ? storage.devices.httpPassword(d.mac) ?? null : null,
      };
    },
    extension(number) {
      const e = storage.extensions.get(number);
      const pw = e === undefined ? undefined : storage.extensions.getSipPassword(number);
      if (e === undefined || pw === undefined) return undefined;
      const t = e.options.sipTransport;
      const s = e.options.srtp;
      return {
        number: e.number,
        name: e.name,
        sipPassword: pw,
        sipTransport: t === "tls" ? "tls" : "udp",
        srtp: s === "off" || s === "required" ? s : "offered",
      };
    },
    server() {
      const time = storage.settings.get<{ timezone?: unknown; ntpServers?: unknown }>("system.time");
      const tz = typeof time?.timezone === "string" && time.timezone !== "" ? time.timezone : "UTC";
      const ntp = Array.isArray(time?.ntpServers) && typeof time.ntpServers[0] === "string"
        ? time.ntpServers[0]
        : host;
      return {
        sipHost: host,
        sipPort: value(options.sipPort, config.sipPort),
        httpBase: `http://${host.includes(":") ? `[${host}]` : host}:${
          value(options.httpPort, config.httpPort)
        }`,
        ntpServer: ntp,
        timeZone: tz,
        pagingGroups: options.pagingGroups?.() ?? [],
        ...phoneFeatureCodes(storage),
        // Only when SIP over TLS is wired (the appliance passes both).
        ...(options.sipTlsPort !== undefined ? { sipTlsPort: options.sipTlsPort() } : {}),
        ...(options.caCertPem?.() !== undefined ? { caCertPem: options.caCertPem!()! } : {}),
      };
    },
    phonebook() {
      const local: Contact[] = storage.extensions.list({ limit: 1000 }).map((e) => ({
        name: e.name,
        number: e.number,
        kind: "extension",
      }));
      const external: Contact[] = storage.contacts.list().map((c) => ({
        name: c.name,
        number: c.number,
        kind: "external",
        ...(c.group !== null ? { group: c.group } : {}),
      }));
      return [...local, ...external];
    },
    recordFetch(r) {
      if (r.mac === null || storage.devices.get(r.mac) === undefined) return;
      try {
        storage.devices.recordFetch({
          mac: r.mac,
          at: r.at,
          ip: r.address,
          userAgent: r.userAgent,
          file: r.file,
        });
      } catch (e) {
        options.log?.warn("recording a provisioning fetch failed", { mac: r.mac, error: e as Error });
      }
    },
    recordDiscovered(d) {
      try {
        const r = storage.devices.recordFetch({
          mac: d.mac,
          at: d.at || clock.wallNow(),
          ip: d.address,
          userAgent: d.userAgent,
          vendor: d.vendor,
          model: d.model,
        });
        evicted(r.evicted);
        options.log?.info("new phone discovered", { mac: d.mac, vendor: d.vendor, address: d.address });
      } catch (e) {
        options.log?.warn("recording a discovered phone failed", { mac: d.mac, error: e as Error });
      }
    },
    templateSource(key) {
      return storage.templates.get(key)?.body;
    },
    policy() {
      const sec = readProvisioningSecurity(storage.settings);
      return { requireOpenWindow: sec.requireWindow, phonebookNetworks: sec.phonebookNetworks };
    },
    deviceByHttpUser(user) {
      const d = storage.devices.byHttpUser(user);
      return d === undefined ? undefined : this.device(d.mac);
    },
    log(message, fields) {
      options.log?.warn(message, fields);
    },
  };
}

/** Log evictions from the discovered-device cap at most once a minute. */
function evictionLogger(log: Logger | undefined, clock: Clock) {
  let last = -Infinity;
  let pending = 0;
  return (evicted: number) => {
    if (evicted <= 0) return;
    pending += evicted;
    const now = clock.wallNow();
    if (now - last < 60_000) return;
    log?.warn("discovered phones removed (table cap or expiry)", { evicted: pending });
    pending = 0;
    last = now;
  };
}

/** The template and preview services the web API needs (web/ cannot import provisioning/). */
export function createPhoneProvisioning(
  data: ProvisioningData,
  options: { guard?: FetchGuard | undefined } = {},
): PhoneProvisioning {
  return {
    blocks: () => options.guard?.blocks() ?? [],
    unblock: (address) => options.guard?.unblock(address) ?? false,
    templateKeys: () => [...TEMPLATE_KEYS],
    shipped(key) {
      try {
        const info = shippedTemplateInfo(key);
        return {
          body: info.source,
          hash: info.hash,
          contentType: info.contentType,
          vendor: info.vendor,
          kind: info.kind,
        };
      } catch {
        return undefined;
      }
    },
    validate(key, body) {
      validateTemplateSource(key, body);
    },
    preview(key, options) {
      const p = previewTemplate(key, data, {
        mac: options.mac,
        source: options.body,
        maskSecrets: !options.showSecrets,
      });
      return { body: p.body, contentType: p.contentType, secrets: p.secrets, hasAccount: p.hasAccount };
    },
  };
}

const MAC_IN_TEXT = /(?<![0-9a-f])([0-9a-f]{2}([:-]?)[0-9a-f]{2}(?:\2[0-9a-f]{2}){4})(?![0-9a-f])/i;

/**
 * Note a SIP registration on the device that sent it. The device is found by a MAC in the
 * User-Agent (Yealink appends it: "Yealink SIP-T28P 2.72.14.2 00:15:65:18:72:eb"), in the
 * Contact (+sip.instance "urn:uuid:...-001565aabbcc" ends with it on Yealink and Polycom), or,
 * failing that, as the only device assigned to the extension. Returns the MAC recorded, or null.
 */
export function recordRegistration(
  storage: Storage,
  reg: { userAgent?: string | null; contact?: string | null; extension?: string | null; at: number },
): string | null {
  const candidates: string[] = [];
  for (const text of [reg.userAgent, reg.contact]) {
    if (!text) continue;
    const m = MAC_IN_TEXT.exec(text) ?? /urn:uuid:[0-9a-f-]*-([0-9a-f]{12})/i.exec(text);
    if (m) candidates.push(m[1]!.replace(/[:-]/g, "").toLowerCase());
  }
  if (reg.extension) {
    const assigned = storage.devices.byExtension(reg.extension);
    if (assigned.length === 1) candidates.push(assigned[0]!.mac);
  }
  for (const mac of candidates) {
    if (
      storage.devices.recordRegistration(mac, {
        at: reg.at,
        contact: reg.contact ?? null,
        userAgent: reg.userAgent ?? null,
      })
    ) {
      return mac;
    }
  }
  return null;
}

/**
 * Start TFTP (config.bind:config.tftpPort), build the /prov routes, and join the PnP multicast
 * group when asked (ua-profile SUBSCRIBEs are answered by the events core: appliance/_events.ts). Resolves once the sockets are bound.
 */
export async function startProvisioning(options: StartProvisioningOptions): Promise<ProvisioningService> {
  const { config, storage } = options;
  const log = options.log;
  const clock = options.clock ?? realClock;
  const data = createProvisioningData(storage, {
    config,
    clock,
    sipPort: options.sipPort,
    httpPort: options.httpPort,
    sipTlsPort: options.sipTlsPort,
    caCertPem: options.caCertPem,
    pagingGroups: options.pagingGroups,
    extraKeys: options.extraKeys,
    log,
  });
  const requireOpenWindow = options.requireOpenWindow;
  const window = requireOpenWindow === undefined ? {} : { requireOpenWindow };
  const guardLog = log.child("guard");
  const guard = new FetchGuard({
    ...options.guard,
    now: () => clock.wallNow(),
    log: (m, f) => guardLog.warn(m, f),
  });
  const tftpLog = log.child("tftp");
  const tftp = await startTftpServer({
    bind: config.bind,
    port: config.tftpPort,
    resolve: tftpResolver(data, { ...window, guard, now: () => clock.wallNow() }),
    maxSessionsPerSource: config.tftpMaxPerSource, // docs/security.md
    clock,
    logger: {
      info: (m, f) => tftpLog.info(m, f),
      warn: (m, f) => tftpLog.warn(m, f),
      debug: (m, f) => tftpLog.debug(m, f),
    },
  });
  const honoRoutes = provisioningRoutes(data, { ...window, guard, now: () => clock.wallNow() });
  const pnpLog = log.child("pnp");

  const env = options.env ?? (() => {
    try {
      return Deno.env.toObject();
    } catch {
      return {};
    }
  })();
  const mc = options.pnpMulticast ?? env.PBX_PNP === "1";
  let multicast: dgram.Socket | null = null;
  let pnpPort: number | null = null;
  if (mc !== false) {
    if (!options.receiveSip) {
      throw new TypeError("pnpMulticast needs options.receiveSip to hand SUBSCRIBEs to the stack");
    }
    const receive = options.receiveSip;
    const cfg = typeof mc === "object" ? mc : {};
    const group = cfg.group ?? PNP_MULTICAST_GROUP;
    const sock = dgram.createSocket({ type: "udp4", reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(cfg.port ?? config.sipPort, () => {
        sock.off("error", reject);
        resolve();
      });
    });
    try {
      sock.addMembership(group, cfg.interfaceAddress);
    } catch (e) {
      sock.close();
      throw new RangeError(`cannot join PnP multicast group ${group}: ${(e as Error).message}`);
    }
    sock.on("error", (e) => pnpLog.warn("PnP multicast socket error", { error: e }));
    sock.on("message", (buf: Buffer, rinfo: dgram.RemoteInfo) => {
      let msg: SipMessage;
      try {
        msg = parseMessage(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
      } catch {
        return; // not SIP: nothing on a multicast group deserves an answer
      }
      // Only PnP subscriptions are taken from the group; calls and registrations use the unicast socket.
      if (msg.type !== "request" || msg.method !== "SUBSCRIBE") return;
      receive(msg, { transport: "udp", address: rinfo.address, port: rinfo.port });
    });
    multicast = sock;
    pnpPort = sock.address().port;
    pnpLog.info("listening for PnP on multicast", { group, port: pnpPort });
  }

  return {
    honoRoutes,
    tftpPort: tftp.port,
    pnpPort,
    data,
    guard,
    phones: createPhoneProvisioning(data, { guard }),
    async stop() {
      if (multicast) {
        const s = multicast;
        multicast = null;
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
      await tftp.close();
    },
  };
}

/**
 * The voicemail number (`voicemail.own`) and directed pickup prefix (`pickup.directed` up to its
 * first wildcard, `**` by default) phones get, from the feature-code table with its stored edits.
 * A damaged stored value falls back to the defaults, as the dialplan does.
 */
export function phoneFeatureCodes(
  storage: Pick<Storage, "settings">,
): { voicemailNumber: string; directedPickupPrefix: string } {
  const overrides = storage.settings.get<Record<string, string>>(FEATURE_CODES_SETTING);
  let codes;
  try {
    codes = featureCodes(
      overrides && typeof overrides === "object" && !Array.isArray(overrides) ? overrides : {},
    );
  } catch {
    codes = featureCodes();
  }
  const literal = (pattern: string) => {
    const p = parsePattern(pattern);
    return p.positions.slice(0, p.literalPrefixLength).map((set) => [...set][0]).join("");
  };
  const vm = codes.find((c) => c.name === "voicemail.own")!.pattern;
  const pickup = codes.find((c) => c.name === "pickup.directed")!.pattern;
  return { voicemailNumber: literal(vm) || "*97", directedPickupPrefix: literal(pickup) || "**" };
}
