/**
 * The data provisioning needs, as small interfaces. Storage implements them; the lead wires
 * them in appliance/. Nothing here imports storage, SIP or media.
 */

/** Phone vendors we generate files for. */
export type Vendor = "yealink" | "polycom" | "cisco" | "grandstream" | "zultys";

/** Every supported vendor, in routing preference order for ambiguous names. */
export const VENDORS: readonly Vendor[] = ["yealink", "polycom", "cisco", "grandstream", "zultys"];

/** A programmable key on a phone. */
export interface LineKey {
  /**
   * "blf": busy lamp + speed dial to an extension (the phone subscribes to its `dialog` event);
   * "speeddial": plain speed dial; "park": a key that dials a park slot or park code;
   * "parkslot": a park slot watched like a BLF key (lit while a call is parked there), which the
   * appliance adds from the park lot's settings (never stored on a device).
   */
  type: "blf" | "speeddial" | "park" | "parkslot";
  /** Extension or number the key watches / dials. */
  value: string;
  label: string;
}

/** A phone the box knows, assigned or merely discovered. MAC is 12 lower-case hex digits. */
export interface Device {
  mac: string;
  vendor?: Vendor | undefined;
  model?: string | undefined;
  /** Number of the extension assigned to this phone; absent/null while unassigned. */
  extension?: string | null | undefined;
  lineKeys?: LineKey[] | undefined;
  /** Epoch ms until which credentials may be handed out (optional provisioning window). */
  provisioningOpenUntil?: number | null | undefined;
  /** Optional per-device HTTP credentials for /prov/ (Basic or Digest). */
  httpUser?: string | null | undefined;
  httpPassword?: string | null | undefined;
}

/** The SIP account of an extension. */
export interface ExtensionAccount {
  number: string;
  name: string;
  sipPassword: string;
  /**
   * How the phone should reach the box (the extension's `options.sipTransport`): "tls" sends it to
   * the SIP-TLS port with the box's CA; default "udp".
   */
  sipTransport?: "udp" | "tls" | undefined;
  /** The extension's SRTP policy (`options.srtp`, default "offered"); handed to phones only with TLS. */
  srtp?: "off" | "offered" | "required" | undefined;
}

/** A multicast paging group the phones should listen to. */
export interface PagingGroup {
  address: string;
  port: number;
  /** Vendor channel/priority slot (Polycom 1-25, Yealink 0-30). */
  channel: number;
  label: string;
}

/** Box-wide settings carried into every file. */
export interface ServerSettings {
  /** Address phones use for SIP (the box). */
  sipHost: string;
  sipPort: number;
  /** Base URL of the HTTP server, e.g. "http://192.168.1.2:8080" (no trailing slash). */
  httpBase: string;
  ntpServer: string;
  /** IANA zone, e.g. "Europe/Berlin". */
  timeZone: string;
  pagingGroups: PagingGroup[];
  /** What the phone dials for its own voicemail (the `voicemail.own` feature code); default `*97`. */
  voicemailNumber?: string | undefined;
  /** Directed pickup prefix (the `pickup.directed` feature code before the number); default `**`. */
  directedPickupPrefix?: string | undefined;
  /** The SIP-over-TLS port; absent or null when SIP over TLS is off (phones then stay on UDP). */
  sipTlsPort?: number | null | undefined;
  /** The box's CA certificate (PEM) that signed its TLS certificate; served at `/prov/ca.crt`. */
  caCertPem?: string | undefined;
}

/** A phone book entry. */
export interface Contact {
  name: string;
  number: string;
  /** "extension" for local users, "external" for entries typed in by the admin. */
  kind?: "extension" | "external";
  /** Optional group/department. */
  group?: string;
}

/** What was fetched, by whom: kept so the admin UI can show "last seen". */
export interface FetchRecord {
  mac: string | null;
  file: string;
  vendor: Vendor | null;
  protocol: "tftp" | "http";
  address: string;
  userAgent: string | null;
  at: number;
  status: number;
  secrets: boolean;
}

/** A phone we saw for the first time (not in the device table). */
export interface DiscoveredDevice {
  mac: string;
  vendor: Vendor;
  model: string | null;
  address: string | null;
  userAgent: string | null;
  at: number;
}

/** The admin's provisioning security settings, read on every request. */
export interface ProvisioningPolicy {
  /**
   * Files with SIP passwords go out only while the device's provisioning window is open, or
   * over HTTPS to a request authenticated with the device's own HTTP credentials.
   */
  requireOpenWindow: boolean;
  /** IPv4 networks ("a.b.c.d/n") that may read the phone book without credentials. */
  phonebookNetworks: string[];
}

/** Everything provisioning reads and records. Implemented over storage by the lead. */
export interface ProvisioningData {
  device(mac: string): Device | undefined;
  extension(number: string): ExtensionAccount | undefined;
  server(): ServerSettings;
  phonebook(): Contact[];
  recordFetch(record: FetchRecord): void;
  recordDiscovered(device: DiscoveredDevice): void;
  /**
   * The admin's override of a shipped template, by key "vendor.kind" (e.g. "yealink.device"),
   * or undefined to use the shipped one. Optional: without it only shipped templates are used.
   */
  templateSource?(key: string): string | undefined;
  /** The security policy; without it windows are not enforced and the phone book needs credentials. */
  policy?(): ProvisioningPolicy;
  /** The device whose HTTP user is `user` (phone book credentials). */
  deviceByHttpUser?(user: string): Device | undefined;
  /** A warning worth a log line (a template over its render budget, ...). */
  log?(message: string, fields: Record<string, unknown>): void;
}
