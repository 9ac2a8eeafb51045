/**
 * SIP plug-and-play (the ua-profile SUBSCRIBE phones multicast to 224.0.1.75:5060 at boot).
 * Pure logic only: the lead owns the multicast socket and the SIP stack, hands us the request
 * URI and headers, and sends the NOTIFY with the body we return (content type application/url).
 *
 * The MAC is taken from the Request-URI, then From, then To: phones put it in the user part as
 * `MAC%3A001565aabbcc` (escaped colon, hex digits possibly separated by "-" or ":").
 */
import { vendorFromUserAgent } from "../templates/generate.ts";
import type { Vendor } from "../types.ts";

/** A header as the SIP layer stores it (structurally the same as runtime/sip's SipHeader). */
export interface PnpHeader {
  name: string;
  value: string;
}

/** Parsed `Event: ua-profile;...` header. */
export interface UaProfileEvent {
  profileType: string | null;
  vendor: string | null;
  model: string | null;
  version: string | null;
  params: Record<string, string>;
}

/** What to answer a PnP SUBSCRIBE with. */
export interface PnpAnswer {
  mac: string | null;
  vendor: Vendor | null;
  event: UaProfileEvent;
  url: string;
  contentType: "application/url";
  body: Uint8Array;
}

/** Parse an Event header value; null unless it is a ua-profile event. */
export function parseUaProfileEvent(value: string): UaProfileEvent | null {
  const [pkg, ...rest] = value.split(";");
  if (pkg?.trim().toLowerCase() !== "ua-profile") return null;
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf("=");
    const k = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    if (!k) continue;
    let v = eq < 0 ? "" : p.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    params[k] = v;
  }
  return {
    profileType: params["profile-type"] ?? null,
    vendor: params["vendor"] ?? null,
    model: params["model"] ?? null,
    version: params["version"] ?? null,
    params,
  };
}

/** Find `MAC%3A<hex>` (or `MAC:<hex>`) in a URI or name-addr; returns 12 lower-case hex digits. */
export function extractMac(text: string): string | null {
  let decoded = text;
  try {
    decoded = decodeURIComponent(text);
  } catch { /* keep raw */ }
  const m = /MAC:([0-9a-f]{2}(?:[-:]?[0-9a-f]{2}){5})(?![0-9a-f])/i.exec(decoded);
  return m ? m[1]!.replace(/[-:]/g, "").toLowerCase() : null;
}

function header(headers: PnpHeader[], name: string): string | undefined {
  return headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;
}

/** Map the Event vendor parameter (or User-Agent) to a vendor we provision. */
export function pnpVendor(event: UaProfileEvent, userAgent?: string): Vendor | null {
  const v = (event.vendor ?? "").toLowerCase();
  if (v.includes("yealink")) return "yealink";
  if (v.includes("polycom") || v === "poly") return "polycom";
  if (v.includes("grandstream")) return "grandstream";
  if (v.includes("cisco") || v.includes("linksys")) return "cisco";
  if (v.includes("zultys")) return "zultys";
  return vendorFromUserAgent(userAgent) ?? null;
}

/** The provisioning URL to hand a phone of `vendor` (directory URLs end with "/"). */
export function provisioningUrl(httpBase: string, vendor: Vendor | null, mac: string | null): string {
  const base = `${httpBase.replace(/\/+$/, "")}/prov/`;
  if (vendor === "grandstream" && mac) return `${base}cfg${mac}.xml`;
  if (vendor === "cisco" && mac) return `${base}spa${mac}.xml`;
  return base;
}

/**
 * Decide the NOTIFY for a PnP SUBSCRIBE. Returns null when the request is not a device
 * ua-profile subscription (wrong event package or profile type): the caller then answers 489.
 */
export function answerPnpSubscribe(
  request: { uri: string; headers: PnpHeader[] },
  options: { httpBase: string },
): PnpAnswer | null {
  const eventValue = header(request.headers, "Event");
  if (!eventValue) return null;
  const event = parseUaProfileEvent(eventValue);
  if (!event) return null;
  if (event.profileType !== null && event.profileType.toLowerCase() !== "device") return null;
  const mac = extractMac(request.uri) ?? extractMac(header(request.headers, "From") ?? "") ??
    extractMac(header(request.headers, "To") ?? "");
  const vendor = pnpVendor(event, header(request.headers, "User-Agent"));
  const url = provisioningUrl(options.httpBase, vendor, mac);
  return { mac, vendor, event, url, contentType: "application/url", body: new TextEncoder().encode(url) };
}
