/**
 * Builds the values templates see, from ProvisioningData. Vendor-specific formats (time zone
 * notations, Cisco paging scripts, Grandstream key numbers) are computed here so templates stay
 * declarative.
 */
import type { Schema, TemplateValue } from "./engine.ts";
import type { Device, ExtensionAccount, ServerSettings } from "../types.ts";

/** The names every vendor template may use. */
export const VIEW_SCHEMA: Schema = {
  mac: "scalar",
  macUpper: "scalar",
  model: "scalar",
  hasAccount: "scalar",
  account: {
    number: "scalar",
    name: "scalar",
    authName: "scalar",
    password: "scalar",
    // Transport and SRTP of the account (see secureAccount below), in each vendor's codes.
    port: "scalar",
    tls: "scalar",
    srtp: "scalar",
    yealinkTransport: "scalar",
    yealinkSrtp: "scalar",
    polycomTransport: "scalar",
    polycomSrtpOffer: "scalar",
    polycomSrtpRequire: "scalar",
    ciscoTransport: "scalar",
    ciscoSecureCall: "scalar",
    gsTransport: "scalar",
    gsSrtp: "scalar",
  },
  server: {
    host: "scalar",
    sipPort: "scalar",
    httpBase: "scalar",
    provUrl: "scalar",
    ntpServer: "scalar",
    timeZone: "scalar",
    utcOffsetHours: "scalar",
    utcOffsetSeconds: "scalar",
    ciscoTimeZone: "scalar",
    posixTimeZone: "scalar",
    caUrl: "scalar",
    caPem: "scalar",
  },
  phonebookUrl: "scalar",
  phonebookPath: "scalar",
  blfKeys: {
    list: {
      value: "scalar",
      label: "scalar",
      key: "scalar",
      ciscoKey: "scalar",
      gsType: "scalar",
      gsLine: "scalar",
      gsLabel: "scalar",
      gsValue: "scalar",
    },
  },
  speedKeys: { list: { value: "scalar", label: "scalar", key: "scalar" } },
  keys: {
    list: {
      type: "scalar",
      value: "scalar",
      label: "scalar",
      key: "scalar",
      isBlf: "scalar",
      isSpeedDial: "scalar",
      isPark: "scalar",
      yealinkType: "scalar",
      ciscoFunction: "scalar",
      gsMode: "scalar",
      gsType: "scalar",
      gsLine: "scalar",
      gsLabel: "scalar",
      gsValue: "scalar",
    },
  },
  polycomKeys: { list: { value: "scalar", label: "scalar", polycomType: "scalar" } },
  hasKeys: "scalar",
  voicemailNumber: "scalar",
  pickupPrefix: "scalar",
  paging: { list: { address: "scalar", port: "scalar", channel: "scalar", label: "scalar", slot: "scalar" } },
  hasPaging: "scalar",
  pagingAddress: "scalar",
  pagingPort: "scalar",
  ciscoPagingScript: "scalar",
  deviceFiles: "scalar",
};

/** The voicemail number phones get when the server settings name none (dialplan `voicemail.own`). */
export const DEFAULT_VOICEMAIL_NUMBER = "*97";
/** The directed pickup prefix phones get when the server settings name none (`pickup.directed`). */
export const DEFAULT_PICKUP_PREFIX = "**";

/**
 * Each vendor's code for a key type. Yealink `linekey.N.type` (16 BLF, 13 speed dial, 10 call
 * park) and Grandstream MPK mode (1 BLF, 0 speed dial, 9 call park): see SOURCES.md. A park slot
 * key is a BLF key on the slot on Yealink (16: lit while a call is parked there, pressed it
 * retrieves the call or parks the one in progress) and Grandstream's call park mode (9, a parking
 * position with its lamp, as wazo maps a parking position).
 */
const YEALINK_TYPE = { blf: 16, speeddial: 13, park: 10, parkslot: 16 } as const;
const GS_MODE = { blf: 1, speeddial: 0, park: 9, parkslot: 9 } as const;

/**
 * Cisco SPA/MPP `Extended_Function_N_` for a key: BLF with speed dial and call pickup
 * (`fnc=blf+sd+cp;sub=`), speed dial (`fnc=sd;ext=`), call park (`fnc=prk;sub=`; a park slot
 * key too: the call park function watches the slot).
 */
function ciscoFunction(
  type: "blf" | "speeddial" | "park" | "parkslot",
  value: string,
  host: string,
  label: string,
): string {
  if (type === "blf") return `fnc=blf+sd+cp;sub=${value}@${host};nme=${label}`;
  if (type === "speeddial") return `fnc=sd;ext=${value}@${host};nme=${label}`;
  return `fnc=prk;sub=${value}@${host};nme=${label}`;
}

/** UTC offset in minutes of `timeZone` at `at` (positive east of Greenwich). */
export function utcOffsetMinutes(timeZone: string, at = Date.now()): number {
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" });
  } catch {
    throw new RangeError(`unknown time zone "${timeZone}"`);
  }
  const part = fmt.formatToParts(at).find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(part);
  if (!m) return 0;
  const v = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === "-" ? -v : v;
}

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

/** Offsets in the notations the vendors use. DST is not modelled: phones get the current offset. */
export function timeZoneFormats(timeZone: string, at = Date.now()) {
  const min = utcOffsetMinutes(timeZone, at);
  const sign = min < 0 ? "-" : "+";
  const abs = Math.abs(min);
  const h = Math.floor(abs / 60);
  const m = abs % 60;
  return {
    // Yealink local_time.time_zone: "+1", "-5", "+5:30"
    utcOffsetHours: `${sign}${h}${m ? `:${pad2(m)}` : ""}`,
    // Polycom tcpIpApp.sntp.gmtOffset: seconds
    utcOffsetSeconds: String(min * 60),
    // Cisco Time_Zone: "GMT+01:00"
    ciscoTimeZone: `GMT${sign}${pad2(h)}:${pad2(m)}`,
    // Grandstream P64 takes a POSIX TZ string; POSIX offsets are west-positive.
    posixTimeZone: `<${sign}${pad2(h)}${pad2(m)}>${min <= 0 ? "" : "-"}${h}${m ? `:${pad2(m)}` : ""}`,
  };
}

/**
 * The account's transport and SRTP in each vendor's codes. TLS only when the extension asks for it
 * (`sipTransport: "tls"`) and the box has SIP over TLS; SRTP follows the extension's policy only
 * over TLS (the box never offers SDES keys over UDP), otherwise off. See SOURCES.md for the codes.
 */
export function secureAccount(account: ExtensionAccount, server: ServerSettings) {
  const tlsPort = server.sipTlsPort ?? null;
  const tls = account.sipTransport === "tls" && tlsPort !== null;
  const srtp = tls ? account.srtp ?? "offered" : "off";
  return {
    port: tls ? tlsPort : server.sipPort,
    tls,
    srtp: srtp !== "off",
    // Yealink account.N.sip_server.1.transport_type 0 UDP / 2 TLS; srtp_encryption 0 / 1 optional / 2 compulsory.
    yealinkTransport: tls ? 2 : 0,
    yealinkSrtp: srtp === "required" ? 2 : srtp === "offered" ? 1 : 0,
    // Polycom reg.N.server.1.transport; sec.srtp.offer / sec.srtp.require.
    polycomTransport: tls ? "TLS" : "UDPOnly",
    polycomSrtpOffer: srtp !== "off" ? 1 : 0,
    polycomSrtpRequire: srtp === "required" ? 1 : 0,
    // Cisco MPP SIP_Transport_N_; Secure_Call_Option_N_ Optional | Required.
    ciscoTransport: tls ? "TLS" : "UDP",
    ciscoSecureCall: srtp === "required" ? "Required" : "Optional",
    // Grandstream P130 0 UDP / 2 TLS; P183 0 off / 1 enabled, not forced / 2 forced.
    gsTransport: tls ? 2 : 0,
    gsSrtp: srtp === "required" ? 2 : srtp === "offered" ? 1 : 0,
  };
}

/** Build the render data for one device (or the common file when `device` is undefined). */
export function buildView(args: {
  server: ServerSettings;
  device?: Device | undefined;
  account?: ExtensionAccount | undefined;
  vendor: string;
  now?: number;
}): Record<string, TemplateValue> {
  const { server, device, account } = args;
  const mac = device?.mac ?? "";
  const tz = timeZoneFormats(server.timeZone, args.now);
  const provUrl = `${server.httpBase}/prov/`;
  const phonebookUrl = `${server.httpBase}/prov/phonebook/${args.vendor}`;
  // Labels end up inside Cisco's "fnc=...;nme=..." mini-syntax too: keep ; and = out of them.
  const keys = (device?.lineKeys ?? []).map((k) => ({ ...k, label: k.label.replace(/[;=]/g, " ") }));
  const blf = keys.filter((k) => k.type === "blf");
  const speed = keys.filter((k) => k.type === "speeddial");
  return {
    mac,
    macUpper: mac.toUpperCase(),
    model: device?.model ?? "",
    hasAccount: account !== undefined,
    account: account
      ? {
        number: account.number,
        name: account.name,
        authName: account.number,
        password: account.sipPassword,
        ...secureAccount(account, server),
      }
      : {},
    server: {
      host: server.sipHost,
      sipPort: server.sipPort,
      httpBase: server.httpBase,
      provUrl,
      ntpServer: server.ntpServer,
      timeZone: server.timeZone,
      ...tz,
      caUrl: server.caCertPem !== undefined ? `${server.httpBase}/prov/ca.crt` : "",
      caPem: server.caCertPem?.trim() ?? "",
    },
    phonebookUrl,
    phonebookPath: phonebookUrl.replace(/^https?:\/\//, ""),
    blfKeys: blf.map((k, i) => ({
      value: k.value,
      label: k.label,
      // Yealink/Polycom key index: key 1 stays the line key.
      key: i + 2,
      // Cisco: Extended_Function_N_ on line buttons after the account's own line.
      ciscoKey: i + 2,
      // Grandstream MPK block: P23000 + (n-1)*5 => type, line, label, value (wazo-provd).
      gsType: `P${23000 + i * 5}`,
      gsLine: `P${23000 + i * 5 + 1}`,
      gsLabel: `P${23000 + i * 5 + 2}`,
      gsValue: `P${23000 + i * 5 + 3}`,
    })),
    speedKeys: speed.map((k, i) => ({ value: k.value, label: k.label, key: blf.length + i + 2 })),
    // All keys in the admin's order: Yealink linekey / Cisco extension N (key 1 stays the
    // account's line), Grandstream MPK n.
    keys: keys.map((k, i) => ({
      type: k.type,
      value: k.value,
      label: k.label,
      key: i + 2,
      isBlf: k.type === "blf",
      isSpeedDial: k.type === "speeddial",
      isPark: k.type === "park" || k.type === "parkslot",
      yealinkType: YEALINK_TYPE[k.type],
      ciscoFunction: ciscoFunction(k.type, k.value, server.sipHost, k.label),
      gsMode: GS_MODE[k.type],
      gsType: `P${23000 + i * 5}`,
      gsLine: `P${23000 + i * 5 + 1}`,
      gsLabel: `P${23000 + i * 5 + 2}`,
      gsValue: `P${23000 + i * 5 + 3}`,
    })),
    // Polycom attendant resources: "normal" watches and calls (BLF), "automata" is a park orbit.
    polycomKeys: keys.filter((k) => k.type !== "speeddial").map((k) => ({
      value: k.value,
      label: k.label,
      polycomType: k.type === "park" || k.type === "parkslot" ? "automata" : "normal",
    })),
    hasKeys: keys.length > 0,
    voicemailNumber: server.voicemailNumber || DEFAULT_VOICEMAIL_NUMBER,
    pickupPrefix: server.directedPickupPrefix || DEFAULT_PICKUP_PREFIX,
    paging: server.pagingGroups.map((g, i) => ({
      address: g.address,
      port: g.port,
      channel: g.channel,
      label: g.label,
      slot: i + 1,
    })),
    hasPaging: server.pagingGroups.length > 0,
    pagingAddress: server.pagingGroups[0]?.address ?? "",
    pagingPort: server.pagingGroups[0]?.port ?? "",
    // Cisco SPA/MPP Group_Paging_Script: "pggrp=ADDR:PORT;name=LABEL;num=N;listen=yes;" per group.
    ciscoPagingScript: server.pagingGroups
      .map((g, i) =>
        `pggrp=${g.address}:${g.port};name=${g.label.replace(/[;=]/g, " ")};num=${i + 1};listen=yes;`
      )
      .join(""),
    deviceFiles: mac ? `${mac}-pbx.cfg, polycom-common.cfg` : "polycom-common.cfg",
  };
}
