/**
 * Admin-editable templates: the list of keys, the shipped text and its hash, validation of an
 * edited body (the same compile step the generator uses, so a saved template always renders),
 * and previews for one device. Keys are "vendor.kind" (e.g. "yealink.device").
 */
import { createHash } from "node:crypto";
import { compileTemplate, type Template } from "./engine.ts";
import { activeTemplate } from "./generate.ts";
import { SHIPPED_TEMPLATES, type TemplateSpec } from "./vendors.ts";
import { buildView, VIEW_SCHEMA } from "./view.ts";
import type { ExtensionAccount, ProvisioningData } from "../types.ts";

/** What the template editor shows about one shipped template. */
export interface ShippedTemplateInfo {
  key: string;
  vendor: TemplateSpec["vendor"];
  kind: TemplateSpec["kind"];
  escape: TemplateSpec["escape"];
  contentType: string;
  source: string;
  /** sha256 hex of `source`. */
  hash: string;
}

/** Every editable template key, in shipped order. */
export const TEMPLATE_KEYS: readonly string[] = Object.keys(SHIPPED_TEMPLATES).map((k) =>
  k.replace("/", ".")
);

/** Placeholder shown instead of a SIP password in masked previews. */
export const MASKED_SECRET = "********";

function specOf(key: string): [string, TemplateSpec] {
  const internal = typeof key === "string" ? key.replace(".", "/") : "";
  const spec = SHIPPED_TEMPLATES[internal];
  if (!spec || !TEMPLATE_KEYS.includes(key)) {
    throw new RangeError(
      `unknown template ${JSON.stringify(String(key).slice(0, 40))}; known: ${TEMPLATE_KEYS.join(", ")}`,
    );
  }
  return [internal, spec];
}

/** The shipped template for `key` with its hash. RangeError for an unknown key. */
export function shippedTemplateInfo(key: string): ShippedTemplateInfo {
  const [, spec] = specOf(key);
  return {
    key,
    vendor: spec.vendor,
    kind: spec.kind,
    escape: spec.escape,
    contentType: spec.contentType,
    source: spec.source,
    hash: createHash("sha256").update(spec.source).digest("hex"),
  };
}

/**
 * Compile `source` as template `key`. Throws RangeError for an unknown key and SyntaxError
 * ("yealink.device:3:7: unknown variable ...") for a body that would not render.
 */
export function validateTemplateSource(key: string, source: string): Template {
  const [, spec] = specOf(key);
  if (typeof source !== "string") throw new TypeError("template body must be a string");
  const template = compileTemplate(source, { name: key, escape: spec.escape, schema: VIEW_SCHEMA });
  // Render once for the largest phone the box allows (64 BLF and 64 speed-dial keys, 25 paging
  // groups, an account): a template that exceeds the render budget for it (nested {{#each}}
  // loops multiply) is refused now rather than at a phone's fetch.
  const keys = Array.from({ length: 64 }, (_, i) => String(100 + i));
  const view = buildView({
    server: {
      sipHost: "192.0.2.1",
      sipPort: 5060,
      httpBase: "http://192.0.2.1:8080",
      ntpServer: "192.0.2.1",
      timeZone: "UTC",
      pagingGroups: Array.from({ length: 25 }, (_, i) => ({
        address: "224.0.2.60",
        port: 50000 + i,
        channel: i + 1,
        label: `Zone ${i + 1}`,
      })),
    },
    device: {
      mac: "001565000000",
      model: "T46S",
      lineKeys: [
        ...keys.map((v) => ({ type: "blf" as const, value: v, label: `BLF ${v} with a long label` })),
        ...keys.map((v) => ({ type: "speeddial" as const, value: v, label: `Speed ${v} with a long label` })),
      ],
    },
    account: { number: "201", name: "A long display name for the test", sipPassword: "x".repeat(32) },
    vendor: spec.vendor,
  });
  try {
    template.render(view);
  } catch (e) {
    if (e instanceof RangeError) {
      throw new RangeError(`${e.message}, rendering it for a phone with 64 line keys; refused`);
    }
    throw e;
  }
  return template;
}

/** Options of {@linkcode previewTemplate}. */
export interface PreviewOptions {
  /** Device to render for; required for "device" and "master" templates. */
  mac?: string | undefined;
  /** Unsaved body to preview instead of the active (stored or shipped) one. */
  source?: string | undefined;
  /** Replace SIP passwords with {@linkcode MASKED_SECRET}. Default true. */
  maskSecrets?: boolean | undefined;
  now?: number | undefined;
}

/** A rendered preview. */
export interface TemplatePreview {
  key: string;
  mac: string | null;
  contentType: string;
  body: string;
  /** True when the body carries a real (unmasked) SIP password. */
  secrets: boolean;
  /** True when the device had an account to render. */
  hasAccount: boolean;
}

/**
 * Render template `key` for a device the way a phone would get it with its provisioning window
 * open, without recording a fetch or discovering anything. RangeError/SyntaxError on bad input.
 */
export function previewTemplate(
  key: string,
  data: ProvisioningData,
  options: PreviewOptions = {},
): TemplatePreview {
  const [internal, spec] = specOf(key);
  const template = options.source !== undefined
    ? validateTemplateSource(key, options.source)
    : activeTemplate(internal, data);
  const mac = options.mac ?? null;
  if (mac !== null && !/^[0-9a-f]{12}$/.test(mac)) {
    throw new RangeError(`MAC must be 12 lower-case hex digits, got ${JSON.stringify(mac)}`);
  }
  if (spec.kind !== "common" && mac === null) throw new RangeError(`previewing ${key} needs a device MAC`);
  const device = mac === null ? undefined : data.device(mac) ?? { mac };
  let account: ExtensionAccount | undefined = spec.kind === "device" && device?.extension
    ? data.extension(device.extension)
    : undefined;
  const mask = options.maskSecrets ?? true;
  if (account && mask) account = { ...account, sipPassword: MASKED_SECRET };
  const view = buildView({
    server: data.server(),
    device: spec.kind === "common" ? undefined : device,
    account,
    vendor: spec.vendor,
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
  return {
    key,
    mac,
    contentType: spec.contentType,
    body: template.render(view),
    secrets: account !== undefined && !mask,
    hasAccount: account !== undefined,
  };
}
