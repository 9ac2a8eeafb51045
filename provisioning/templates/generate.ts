/**
 * File-name routing and file generation.
 *
 * Routing rule for the shared name `<mac>.cfg` (Yealink device file, Polycom per-MAC master,
 * Zultys device file): 1) the vendor the device table has for that MAC; 2) the HTTP
 * User-Agent ("Yealink", "Polycom", "Zultys"); 3) the MAC's OUI (Yealink 001565/805ec0,
 * Polycom 0004f2/64167f, Zultys 000bea); 4) Yealink. Over TFTP there is no User-Agent, so an
 * unknown Polycom or Zultys phone is only recognised by its OUI until the admin assigns it.
 */
import { compileTemplate, type Template } from "./engine.ts";
import { SHIPPED_TEMPLATES } from "./vendors.ts";
import { buildView, VIEW_SCHEMA } from "./view.ts";
import { renderPhonebook } from "../phonebook/export.ts";
import type { ProvisioningData, Vendor } from "../types.ts";

/** What a requested file name means. */
export type RouteKind = "common" | "device" | "master" | "empty" | "phonebook" | "unsupported";

/** A routed request. `mac` is 12 lower-case hex digits. */
export interface Route {
  vendor: Vendor;
  kind: RouteKind;
  mac?: string;
  model?: string;
  /** The file name as requested. */
  file: string;
}

/** Extra facts that disambiguate `<mac>.cfg`. */
export interface RouteHints {
  /** Vendor of a MAC in the device table (assigned or discovered). */
  deviceVendor?: (mac: string) => Vendor | undefined;
  userAgent?: string | null;
}

const OUI_VENDOR: Record<string, Vendor> = {
  "001565": "yealink",
  "805ec0": "yealink",
  "0004f2": "polycom",
  "64167f": "polycom",
  "000bea": "zultys",
};

/** Guess a vendor from a User-Agent header, or undefined. */
export function vendorFromUserAgent(ua: string | null | undefined): Vendor | undefined {
  if (!ua) return undefined;
  if (/yealink/i.test(ua)) return "yealink";
  if (/polycom|poly\b/i.test(ua)) return "polycom";
  if (/zultys/i.test(ua)) return "zultys";
  if (/grandstream/i.test(ua)) return "grandstream";
  if (/cisco|linksys/i.test(ua)) return "cisco";
  return undefined;
}

function pickCfgVendor(mac: string, upper: boolean, hints: RouteHints): Vendor {
  const known = hints.deviceVendor?.(mac);
  if (known === "yealink" || known === "polycom" || known === "zultys") return known;
  const byUa = vendorFromUserAgent(hints.userAgent);
  if (byUa === "yealink" || byUa === "polycom" || byUa === "zultys") return byUa;
  const byOui = OUI_VENDOR[mac.slice(0, 6)];
  if (byOui) return byOui;
  // Zultys documents upper-case names (0050C2180FD8.cfg); Yealink and Polycom ask in lower case.
  return upper ? "zultys" : "yealink";
}

/** Map a requested file name (no leading slash) to a vendor and kind; null when unknown. */
export function routeRequest(path: string, hints: RouteHints = {}): Route | null {
  const file = path;
  let m: RegExpExecArray | null;
  if (/^y0{12}\.cfg$/.test(path)) return { vendor: "yealink", kind: "common", file };
  if ((m = /^y0{10}([0-9a-f]{2})\.cfg$/.exec(path))) {
    return { vendor: "yealink", kind: "common", model: m[1]!, file };
  }
  if ((m = /^([0-9a-f]{12})-local\.cfg$/i.exec(path))) {
    return { vendor: "yealink", kind: "empty", mac: m[1]!.toLowerCase(), file };
  }
  if (path === "000000000000.cfg") return { vendor: "polycom", kind: "master", file };
  if (path === "polycom-common.cfg") return { vendor: "polycom", kind: "common", file };
  if ((m = /^([0-9a-f]{12})-pbx\.cfg$/i.exec(path))) {
    return { vendor: "polycom", kind: "device", mac: m[1]!.toLowerCase(), file };
  }
  if ((m = /^([0-9a-f]{12})-directory\.xml$/i.exec(path))) {
    const mac = m[1]!.toLowerCase();
    return { vendor: "polycom", kind: "phonebook", ...(mac !== "000000000000" ? { mac } : {}), file };
  }
  if ((m = /^([0-9a-f]{12})\.cfg$/i.exec(path))) {
    const mac = m[1]!.toLowerCase();
    const vendor = pickCfgVendor(mac, m[1] === m[1]!.toUpperCase() && /[A-F]/.test(m[1]!), hints);
    return { vendor, kind: vendor === "polycom" ? "master" : "device", mac, file };
  }
  if ((m = /^spa([0-9a-f]{12})\.(xml|cfg)$/i.exec(path))) {
    return { vendor: "cisco", kind: "device", mac: m[1]!.toLowerCase(), file };
  }
  if ((m = /^([0-9a-f]{12})\.xml$/i.exec(path))) {
    return { vendor: "cisco", kind: "device", mac: m[1]!.toLowerCase(), file };
  }
  if ((m = /^SEP([0-9a-f]{12})\.cnf\.xml$/i.exec(path))) {
    return { vendor: "cisco", kind: "unsupported", mac: m[1]!.toLowerCase(), file };
  }
  if ((m = /^spa([0-9a-z]+)\.(xml|cfg)$/i.exec(path))) {
    return { vendor: "cisco", kind: "common", model: m[1]!, file };
  }
  if ((m = /^cfg([0-9a-f]{12})(\.xml)?$/i.exec(path))) {
    return { vendor: "grandstream", kind: "device", mac: m[1]!.toLowerCase(), file };
  }
  if (path === "cfg.xml") return { vendor: "grandstream", kind: "common", file };
  if ((m = /^cfg([0-9a-z]+)\.xml$/i.exec(path))) {
    return { vendor: "grandstream", kind: "common", model: m[1]!, file };
  }
  if ((m = /^(ZIP[0-9a-z]+)_common\.cfg$/i.exec(path))) {
    return { vendor: "zultys", kind: "common", model: m[1]!, file };
  }
  return null;
}

/** Options of {@linkcode generateFile}. */
export interface GenerateOptions {
  /** Epoch ms, for the provisioning window and records. */
  now?: number;
  /**
   * Hand out credentials only while the device's provisioning window is open, or (`secure`
   * and `authenticated`) over HTTPS to the device's own credentials. Outside that a file that
   * would carry the SIP password is refused (403), so the phone keeps the account it has.
   */
  requireOpenWindow?: boolean;
  /** The request came over HTTPS. */
  secure?: boolean;
  /** The request authenticated with the device's own HTTP credentials. */
  authenticated?: boolean;
  client?: { address?: string | null; userAgent?: string | null };
}

/** A generated file. */
export interface GeneratedFile {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  /** True when the body carries a SIP password. */
  secrets: boolean;
}

/** Refusal. */
export interface GenerateRefusal {
  status: 403 | 404 | 500;
  reason: string;
}

const compiled = new Map<string, Template>();

/** The compiled shipped template "vendor/kind" (compiled once, validated against the schema). */
export function shippedTemplate(key: string): Template {
  let t = compiled.get(key);
  if (!t) {
    const spec = SHIPPED_TEMPLATES[key];
    if (!spec) throw new RangeError(`no shipped template "${key}"`);
    t = compileTemplate(spec.source, { name: key, escape: spec.escape, schema: VIEW_SCHEMA });
    compiled.set(key, t);
  }
  return t;
}

const overrides = new Map<string, { source: string; template: Template }>();

/**
 * The template to render for shipped key "vendor/kind": the admin's stored override when
 * `data.templateSource` has one for "vendor.kind", else the shipped template. An override that no
 * longer compiles (the schema changed in an update) falls back to the shipped one rather than
 * breaking every phone.
 */
export function activeTemplate(key: string, data: Pick<ProvisioningData, "templateSource">): Template {
  const source = data.templateSource?.(key.replace("/", "."));
  if (source === undefined) return shippedTemplate(key);
  const cached = overrides.get(key);
  if (cached && cached.source === source) return cached.template;
  const spec = SHIPPED_TEMPLATES[key];
  if (!spec) throw new RangeError(`no shipped template "${key}"`);
  try {
    const template = compileTemplate(source, {
      name: key.replace("/", "."),
      escape: spec.escape,
      schema: VIEW_SCHEMA,
    });
    overrides.set(key, { source, template });
    return template;
  } catch {
    return shippedTemplate(key);
  }
}

const encoder = new TextEncoder();

/**
 * Generate the file for `route`. Unknown MACs are recorded as discovered and get a file
 * without credentials; credentials go only to MACs assigned to an extension (and, with
 * `requireOpenWindow`, only while their provisioning window is open).
 */
export function generateFile(
  route: Route,
  data: ProvisioningData,
  options: GenerateOptions = {},
): GeneratedFile | GenerateRefusal {
  const now = options.now ?? Date.now();
  if (route.kind === "unsupported") {
    return {
      status: 404,
      reason: "Cisco enterprise (SEP*.cnf.xml) firmware is not supported; use MPP/3PCC firmware",
    };
  }
  if (route.kind === "empty") {
    return {
      body: encoder.encode("#!version:1.0.0.1\n"),
      contentType: "text/plain; charset=utf-8",
      secrets: false,
    };
  }
  if (route.kind === "phonebook") {
    const out = renderPhonebook(data.phonebook(), "polycom");
    return { body: encoder.encode(out.body), contentType: out.contentType, secrets: false };
  }
  const device = route.mac ? data.device(route.mac) : undefined;
  if (route.mac && !device && (route.kind === "device" || route.kind === "master")) {
    data.recordDiscovered({
      mac: route.mac,
      vendor: route.vendor,
      model: route.model ?? null,
      address: options.client?.address ?? null,
      userAgent: options.client?.userAgent ?? null,
      at: now,
    });
  }
  const account = device?.extension ? data.extension(device.extension) : undefined;
  const kind = route.kind === "master" ? "master" : route.kind;
  if (
    kind === "device" && account && options.requireOpenWindow &&
    !((device?.provisioningOpenUntil ?? 0) > now)
  ) {
    if (!options.authenticated || !options.secure) {
      return {
        status: 403,
        reason: options.authenticated
          ? `the provisioning window of ${route.mac} is closed: its SIP password goes out over HTTPS only`
          : `the provisioning window of ${route.mac} is closed: open it on the Phones page, or give the phone HTTP credentials and use HTTPS`,
      };
    }
  }
  const key = `${route.vendor}/${kind}`;
  if (!SHIPPED_TEMPLATES[key]) return { status: 404, reason: `no ${kind} file for ${route.vendor}` };
  const view = buildView({
    server: data.server(),
    device: kind === "common" ? undefined : device ?? (route.mac ? { mac: route.mac } : undefined),
    account: kind === "device" ? account : undefined,
    vendor: route.vendor,
    now,
  });
  const template = activeTemplate(key, data);
  let body: string;
  try {
    body = template.render(view);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    data.log?.("provisioning template refused at render", {
      template: key.replace("/", "."),
      mac: route.mac ?? null,
      error: e.message,
    });
    return { status: 500, reason: `template ${key.replace("/", ".")} could not be rendered: ${e.message}` };
  }
  return {
    body: encoder.encode(body),
    contentType: SHIPPED_TEMPLATES[key]!.contentType,
    secrets: kind === "device" && account !== undefined,
  };
}
