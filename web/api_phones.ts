/**
 * /api/phones, /api/templates and /api/contacts: the device registry, editable provisioning
 * templates and the external phone book. Admin only. Template validation and previews come
 * from provisioning through {@linkcode PhoneProvisioning}, because web/ may not import it.
 */
import { type Context, Hono } from "hono";
import * as v from "valibot";
import type { Clock } from "../runtime/clock/mod.ts";
import {
  type DeviceLineKey,
  type DeviceRecord,
  type DeviceVendor,
  normalizeMac,
  normalizeNetwork,
  phoneKeysMisfit,
  PROVISIONING_SECURITY_KEY,
  readProvisioningSecurity,
  type Storage,
} from "../runtime/storage/mod.ts";
import { describeOwner } from "../runtime/call/route/mod.ts";
import { numberPlan } from "./_numbers.ts";
import { requireAdmin } from "./api_auth.ts";
import { clientIp, fail, jsonBody, store, validate } from "./_http.ts";
import type { AppEnv } from "./_env.ts";
import type { ReprovisionResult } from "./types.ts";

/** Provisioning's template services, implemented in appliance/_provisioning.ts. */
export interface PhoneProvisioning {
  /** Editable template keys ("yealink.device", ...). */
  templateKeys(): string[];
  /** The shipped template for `key`, or undefined for an unknown key. */
  shipped(
    key: string,
  ): { body: string; hash: string; contentType: string; vendor: string; kind: string } | undefined;
  /** Throw SyntaxError ("key:line:col: message") when `body` would not compile as template `key`. */
  validate(key: string, body: string): void;
  /**
   * Render `key` for the device `mac` (stored body, or `body` when given). SIP passwords are
   * masked unless `showSecrets`. Throws RangeError/SyntaxError on bad input.
   */
  preview(
    key: string,
    options: { mac?: string | undefined; body?: string | undefined; showSecrets?: boolean | undefined },
  ): { body: string; contentType: string; secrets: boolean; hasAccount: boolean };
  /** Sources blocked after too many failed provisioning fetches. */
  blocks?(): ProvisioningBlock[];
  /** Lift a block; false when the address was not blocked. */
  unblock?(address: string): boolean;
}

/** A source blocked from provisioning (see provisioning's FetchGuard). */
export interface ProvisioningBlock {
  address: string;
  until: number;
  since: number;
  misses: number;
  refused: number;
  lastReason: string;
}

declare module "./types.ts" {
  interface AppDeps {
    /** Template services from provisioning; without them /api/templates answers 503. */
    phones?: PhoneProvisioning | undefined;
  }
}

/** Dependencies of {@linkcode registerPhoneRoutes}. */
export interface PhoneRoutesDeps {
  storage: Storage;
  clock: Clock;
  phones?: PhoneProvisioning | undefined;
  /** Make a phone fetch its configuration now; without it re-provisioning answers 503. */
  reprovision?: ((mac: string) => Promise<ReprovisionResult>) | undefined;
}

const Vendor = v.picklist(
  ["yealink", "polycom", "cisco", "grandstream", "zultys"],
  "must be yealink, polycom, cisco, grandstream or zultys",
);
const Mac = v.pipe(v.string("must be a string"), v.maxLength(40, "is too long"));
const Extension = v.nullable(
  v.pipe(v.string("must be a string"), v.regex(/^[0-9]{2,8}$/, "must be 2-8 digits")),
);
const Text64 = v.pipe(v.string("must be a string"), v.maxLength(64, "must be at most 64 characters"));
const LineKeys = v.pipe(
  v.array(
    v.object({
      type: v.picklist(["blf", "speeddial", "park"], 'must be "blf", "speeddial" or "park"'),
      value: v.pipe(v.string(), v.regex(/^[0-9*#+]{1,32}$/, "must be 1-32 of 0-9 * # +")),
      label: v.optional(v.pipe(v.string(), v.maxLength(32, "must be at most 32 characters")), ""),
    }),
    "must be an array",
  ),
  v.maxLength(64, "at most 64 keys"),
);

const CreateBody = v.object({
  mac: Mac,
  vendor: v.optional(v.nullable(Vendor)),
  model: v.optional(v.nullable(Text64)),
  extension: v.optional(Extension),
  lineKeys: v.optional(LineKeys),
  httpUser: v.optional(v.nullable(Text64)),
  httpPassword: v.optional(v.nullable(Text64)),
});
const UpdateBody = v.strictObject({
  vendor: v.optional(v.nullable(Vendor)),
  model: v.optional(v.nullable(Text64)),
  extension: v.optional(Extension),
  lineKeys: v.optional(LineKeys),
  httpUser: v.optional(v.nullable(Text64)),
  httpPassword: v.optional(v.nullable(Text64)),
}, "unknown field");
const AssignBody = v.object({ extension: Extension });
const WindowBody = v.object({
  minutes: v.pipe(
    v.number("must be a number"),
    v.integer("must be whole minutes"),
    v.minValue(0, "must be 0-1440 (0 closes the window)"),
    v.maxValue(1440, "must be 0-1440 (0 closes the window)"),
  ),
});
const SecurityBody = v.strictObject({
  requireWindow: v.optional(v.boolean("must be true or false")),
  windowMinutes: v.optional(v.pipe(
    v.number("must be a number"),
    v.integer("must be whole minutes"),
    v.minValue(1, "must be 1-1440"),
    v.maxValue(1440, "must be 1-1440"),
  )),
  phonebookNetworks: v.optional(v.pipe(
    v.array(v.pipe(v.string("must be a string"), v.maxLength(18, "is too long")), "must be an array"),
    v.maxLength(64, "at most 64 networks"),
  )),
}, "unknown field");
const ListQuery = v.object({
  status: v.optional(v.picklist(["discovered", "assigned"], 'must be "discovered" or "assigned"')),
});
const TemplateBody = v.object({
  body: v.pipe(v.string("must be a string"), v.maxLength(65536, "is too long")),
});
const PreviewBody = v.object({
  mac: v.optional(Mac),
  body: v.optional(v.pipe(v.string("must be a string"), v.maxLength(65536, "is too long"))),
  showSecrets: v.optional(v.boolean("must be true or false")),
});
const ContactBody = v.object({
  name: v.pipe(
    v.string("must be a string"),
    v.minLength(1, "must not be empty"),
    v.maxLength(64, "must be at most 64 characters"),
  ),
  number: v.pipe(
    v.string("must be a string"),
    v.regex(/^\+?[0-9*#]{1,31}$/, "must be digits, * or # (optional leading +)"),
  ),
  group: v.optional(v.nullable(Text64)),
});

function macParam(raw: string): string {
  try {
    return normalizeMac(decodeURIComponent(raw));
  } catch (e) {
    fail(400, (e as Error).message);
  }
}

/**
 * Refuse keys a phone cannot take (400: a type its vendor's file cannot carry, more keys than the
 * model has) or that point at no number the box has (409, naming what holds it or that nothing
 * does): BLF keys must watch an extension, speed dials must dial a number in the number plan, park
 * keys must not dial a number another kind of owner holds (park slots claim no numbers yet).
 */
function checkPhoneKeys(
  storage: Storage,
  vendor: DeviceVendor | null,
  model: string | null,
  keys: readonly DeviceLineKey[],
): void {
  const misfit = phoneKeysMisfit(vendor, model, keys);
  if (misfit) fail(400, misfit);
  if (keys.length === 0) return;
  const plan = numberPlan(storage);
  keys.forEach((k, i) => {
    const hit = plan.lookup(k.value);
    const what = `key ${i + 1} (${k.type} ${k.value})`;
    if (k.type === "park") {
      if (hit && hit.claim.owner.kind !== "park") {
        fail(409, `${what}: ${k.value} is ${describeOwner(hit.claim.owner)}, not a park slot`);
      }
      return;
    }
    if (!hit) {
      fail(409, `${what}: ${k.value} is not in the number plan (no extension, zone, group or feature code)`);
    }
    if (k.type === "blf" && hit.claim.owner.kind !== "extension") {
      fail(409, `${what}: BLF keys watch extensions; ${k.value} is ${describeOwner(hit.claim.owner)}`);
    }
  });
}

/** Public shape of a device: the stored record, which never carries the HTTP password. */
const view = (d: DeviceRecord) => d;

/**
 * Register the admin routes on the authenticated API app (the one mounted at /api):
 * /phones, /templates and /contacts.
 */
export function registerPhoneRoutes(api: Hono<AppEnv>, deps: PhoneRoutesDeps): void {
  const { storage, clock } = deps;
  for (const prefix of ["/phones", "/templates", "/contacts"]) {
    api.use(prefix, requireAdmin());
    api.use(`${prefix}/*`, requireAdmin());
  }
  const audit = (c: Context<AppEnv>, action: string, detail: unknown) =>
    storage.audit.record({ actor: c.get("user").username, action, detail, sourceIp: clientIp(c) });
  const phones = () => deps.phones ?? fail(503, "provisioning is not running");

  // --- devices -------------------------------------------------------------------------------
  const devices = new Hono<AppEnv>();
  /**
   * Assigning or re-provisioning a phone opens its provisioning window (when windows are on):
   * for the configured minutes it may fetch its SIP password without credentials.
   */
  const openWindow = (d: DeviceRecord): DeviceRecord => {
    const sec = readProvisioningSecurity(storage.settings);
    if (!sec.requireWindow || d.extension === null) return d;
    return storage.devices.openWindow(d.mac, clock.wallNow() + sec.windowMinutes * 60_000);
  };
  devices.post("/", async (c) => {
    const body = await jsonBody(c, CreateBody);
    const mac = store(() => normalizeMac(body.mac));
    if (body.lineKeys) checkPhoneKeys(storage, body.vendor ?? null, body.model ?? null, body.lineKeys);
    const d = openWindow(store(() => storage.devices.create({ ...body, mac })));
    audit(c, "phone.create", { mac, extension: d.extension });
    return c.json(view(d), 201, { Location: `/api/phones/${mac}` });
  });
  // Registered before /:mac so these names are not taken for MACs.
  devices.get("/security", (c) => c.json(readProvisioningSecurity(storage.settings)));
  devices.put("/security", async (c) => {
    const body = await jsonBody(c, SecurityBody);
    const cur = readProvisioningSecurity(storage.settings);
    const next = {
      requireWindow: body.requireWindow ?? cur.requireWindow,
      windowMinutes: body.windowMinutes ?? cur.windowMinutes,
      phonebookNetworks: store(() => (body.phonebookNetworks ?? cur.phonebookNetworks).map(normalizeNetwork)),
    };
    storage.settings.set(PROVISIONING_SECURITY_KEY, next);
    audit(c, "phone.security", next);
    return c.json(next);
  });
  devices.get("/blocks", (c) => c.json({ items: deps.phones?.blocks?.() ?? [] }));
  devices.delete("/blocks/:address", (c) => {
    const address = decodeURIComponent(c.req.param("address")).slice(0, 64);
    if (!deps.phones?.unblock?.(address)) fail(404, `${address} is not blocked`);
    audit(c, "phone.unblock", { address });
    return c.body(null, 204);
  });
  devices.get("/", (c) => {
    const q = validate(ListQuery, c.req.query(), "query");
    const items = storage.devices.list({ status: q.status, limit: 1000 });
    return c.json({ items: items.map(view), total: storage.devices.count(q.status) });
  });
  devices.get("/:mac", (c) => {
    const mac = macParam(c.req.param("mac"));
    const d = storage.devices.get(mac) ?? fail(404, `phone ${mac} not found`);
    return c.json(view(d));
  });
  devices.put("/:mac", async (c) => {
    const mac = macParam(c.req.param("mac"));
    const body = await jsonBody(c, UpdateBody);
    const before = storage.devices.get(mac);
    if (before && (body.lineKeys !== undefined || body.vendor !== undefined || body.model !== undefined)) {
      checkPhoneKeys(
        storage,
        body.vendor !== undefined ? body.vendor : before.vendor,
        body.model !== undefined ? body.model : before.model,
        body.lineKeys ?? before.lineKeys,
      );
    }
    let d = store(() => storage.devices.update(mac, body));
    if (body.extension !== undefined && d.extension !== before?.extension) d = openWindow(d);
    audit(c, "phone.update", { mac, fields: Object.keys(body) });
    return c.json(view(d));
  });
  devices.delete("/:mac", (c) => {
    const mac = macParam(c.req.param("mac"));
    if (!storage.devices.delete(mac)) fail(404, `phone ${mac} not found`);
    audit(c, "phone.delete", { mac });
    return c.body(null, 204);
  });
  devices.post("/:mac/assign", async (c) => {
    const mac = macParam(c.req.param("mac"));
    const body = await jsonBody(c, AssignBody);
    const d = openWindow(store(() => storage.devices.assign(mac, body.extension)));
    audit(c, "phone.assign", { mac, extension: body.extension });
    return c.json(view(d));
  });
  devices.post("/:mac/open-window", async (c) => {
    const mac = macParam(c.req.param("mac"));
    const body = await jsonBody(c, WindowBody);
    const until = body.minutes === 0 ? null : clock.wallNow() + body.minutes * 60_000;
    const d = store(() => storage.devices.update(mac, { provisioningOpenUntil: until }));
    audit(c, "phone.open-window", { mac, minutes: body.minutes });
    return c.json(view(d));
  });
  devices.post("/:mac/reprovision", async (c) => {
    const mac = macParam(c.req.param("mac"));
    const d = storage.devices.get(mac) ?? fail(404, `phone ${mac} not found`);
    const send = deps.reprovision ?? fail(503, "re-provisioning is not available in this build");
    let r: ReprovisionResult;
    try {
      r = await send(mac);
    } catch (e) {
      fail(503, `could not ask phone ${mac} to re-provision: ${(e as Error).message}`);
    }
    audit(c, "phone.reprovision", { mac, extension: d.extension, sent: r.sent });
    // The phone fetches now: open its window so the fetch may carry its SIP password.
    if (r.sent > 0) openWindow(d);
    if (r.sent === 0) {
      fail(
        409,
        `phone ${mac} is not registered${
          d.extension === null ? " (it has no extension)" : ""
        }, so it cannot be told to re-provision; reboot it instead (${r.detail})`,
      );
    }
    return c.json({ mac, sent: r.sent, detail: r.detail });
  });
  api.route("/phones", devices);

  // --- templates -----------------------------------------------------------------------------
  const templates = new Hono<AppEnv>();
  const describe = (key: string) => {
    const shipped = phones().shipped(key) ??
      fail(404, `template ${JSON.stringify(key.slice(0, 40))} not found`);
    const override = storage.templates.get(key);
    return {
      key,
      vendor: shipped.vendor,
      kind: shipped.kind,
      contentType: shipped.contentType,
      overridden: override !== undefined,
      updatedAt: override?.updatedAt ?? null,
      // The shipped template changed (software update) since the override was saved.
      shippedChanged: override !== undefined && override.shippedHash !== shipped.hash,
      shippedHash: shipped.hash,
    };
  };
  templates.get("/", (c) => c.json({ items: phones().templateKeys().map(describe) }));
  templates.get("/:key", (c) => {
    const key = c.req.param("key");
    const info = describe(key);
    const shipped = phones().shipped(key)!;
    return c.json({
      ...info,
      body: storage.templates.get(key)?.body ?? shipped.body,
      shippedBody: shipped.body,
    });
  });
  templates.put("/:key", async (c) => {
    const key = c.req.param("key");
    const shipped = phones().shipped(key) ??
      fail(404, `template ${JSON.stringify(key.slice(0, 40))} not found`);
    const { body } = await jsonBody(c, TemplateBody);
    try {
      phones().validate(key, body);
    } catch (e) {
      if (e instanceof SyntaxError || e instanceof RangeError) fail(400, `invalid template: ${e.message}`);
      throw e;
    }
    store(() => storage.templates.set(key, body, shipped.hash));
    audit(c, "template.update", { key });
    return c.json({ ...describe(key), body });
  });
  templates.post("/:key/reset", (c) => {
    const key = c.req.param("key");
    describe(key);
    const had = storage.templates.reset(key);
    if (had) audit(c, "template.reset", { key });
    return c.json({ ...describe(key), body: phones().shipped(key)!.body, reset: had });
  });
  templates.post("/:key/preview", async (c) => {
    const key = c.req.param("key");
    describe(key);
    const body = await jsonBody(c, PreviewBody);
    const mac = body.mac === undefined ? undefined : store(() => normalizeMac(body.mac));
    let out;
    try {
      out = phones().preview(key, { mac, body: body.body, showSecrets: body.showSecrets });
    } catch (e) {
      if (e instanceof SyntaxError || e instanceof RangeError) fail(400, e.message);
      throw e;
    }
    // Showing a SIP password on screen is worth a line in the audit log.
    if (out.secrets) audit(c, "template.preview-secrets", { key, mac });
    return c.json({ key, mac: mac ?? null, ...out });
  });
  api.route("/templates", templates);

  // --- contacts ------------------------------------------------------------------------------
  const contacts = new Hono<AppEnv>();
  contacts.get("/", (c) => c.json({ items: storage.contacts.list() }));
  contacts.post("/", async (c) => {
    const body = await jsonBody(c, ContactBody);
    const contact = store(() => storage.contacts.create(body));
    audit(c, "contact.create", { id: contact.id, name: contact.name });
    return c.json(contact, 201, { Location: `/api/contacts/${contact.id}` });
  });
  contacts.delete("/:id", (c) => {
    const raw = c.req.param("id");
    if (!/^[0-9]{1,15}$/.test(raw)) {
      fail(400, `contact id must be a positive integer, got ${JSON.stringify(raw.slice(0, 20))}`);
    }
    if (!storage.contacts.delete(Number(raw))) fail(404, `contact ${raw} not found`);
    audit(c, "contact.delete", { id: Number(raw) });
    return c.body(null, 204);
  });
  api.route("/contacts", contacts);
}
