/**
 * Outside lines: SIP trunks (registration and IP peer), inbound DIDs to any dialplan destination,
 * outbound routes (dial patterns, strip/prepend, ordered trunks with failover, per-extension
 * permissions, caller ID), and E911 (911 with and without the outside-line prefix from every phone,
 * dispatchable locations as PIDF-LO, front-desk notification, test mode). See docs/trunks.md.
 *
 * The feature decides; the engine sends: `TrunkService.inbound` and `prepare` give plain data the
 * dispatcher and B2BUA use (runtime/call/trunk.ts). Registration and keepalive are SIP-stack work
 * the appliance runs (runtime/sip/uac) and reports back with `setState`.
 * @module
 */
import type { Hono } from "hono";
import type { DatabaseSync } from "node:sqlite";
import type { SecretBox, SettingsStore } from "../../storage/mod.ts";
import type { Calls, FeatureModule, FeatureWebEnv, FeatureWebKit } from "../../call/mod.ts";
import {
  announcementFromWav,
  type FrontDeskDeps,
  MAX_ANNOUNCEMENT_BYTES,
  ringFrontDesk,
} from "./frontdesk.ts";
import { readWav, writeWav } from "../../media/wav/mod.ts";
import * as m070 from "../../storage/migrations/070_trunks.ts";
import * as m071 from "../../storage/migrations/071_outbound_routes.ts";
import * as m072 from "../../storage/migrations/072_e911_locations.ts";
import * as m073 from "../../storage/migrations/073_e911_seen.ts";
import * as m074 from "../../storage/migrations/074_cdr_trunk.ts";
import * as m078 from "../../storage/migrations/078_fraud_calls.ts";
import { checkClasses, checkDid, checkId, checkLocation, checkRoute, checkTrunk } from "./config.ts";
import { TrunkStore } from "./store.ts";
import { TrunkService, type TrunkServiceDeps } from "./service.ts";
import { checkE911 } from "./e911.ts";
import { trunksOpenapi } from "./openapi.ts";
import { checkStir, Stir, stirView } from "./stir.ts";
import { checkFraud, sqliteFraudCounters } from "./fraud.ts";

export * from "./config.ts";
export * from "./e911.ts";
export {
  type EmergencyCall,
  FRONT_DESK_ALERT_TONE,
  type FrontDeskDeps,
  frontDeskSentence,
  ringFrontDesk,
} from "./frontdesk.ts";
export { TrunkService, type TrunkServiceDeps, type TrunkState } from "./service.ts";
export { TrunkStore, type TrunkView } from "./store.ts";
export {
  checkFraud,
  DEFAULT_FRAUD,
  FRAUD_SETTING,
  type FraudCounterStore,
  FraudGuard,
  type FraudSettings,
  isNight,
  sqliteFraudCounters,
} from "./fraud.ts";
export { checkStir, DEFAULT_STIR, Stir, STIR_SETTING, type StirSettings, stirView } from "./stir.ts";

/** What the feature needs. */
export interface TrunksFeatureDeps extends Omit<TrunkServiceDeps, "store" | "settings"> {
  db: DatabaseSync;
  secrets: SecretBox;
  settings: SettingsStore;
  /** Whether an internal number routes somewhere (a DID's destination must). */
  numberExists?(number: string): boolean;
  /** What the front desk hears on an emergency call (speech, prompts). */
  frontDesk?: Omit<FrontDeskDeps, "calls" | "log" | "locationAnnouncement">;
  /**
   * Where uploaded location announcements are kept (`<dir>/<kind>-<id>.wav`, 16 kHz mono; played
   * to the front desk when there is no text to speech); absent: no uploads.
   */
  announcementsDir?: string;
}

/** The feature and its service (the appliance wires the service into ingress and the router). */
export function trunksFeature(
  deps: TrunksFeatureDeps,
): { feature: FeatureModule; service: TrunkService; stir: Stir } {
  const store = new TrunkStore(deps.db, { clock: deps.clock, secrets: deps.secrets });
  const stir = new Stir({ settings: deps.settings, secrets: deps.secrets, clock: deps.clock, log: deps.log });
  void stir.reload();
  let calls: Calls | undefined;
  const frontDesk: FrontDeskDeps = { ...deps.frontDesk, calls: () => calls, log: deps.log };
  if (deps.announcementsDir !== undefined) {
    const dir = deps.announcementsDir;
    // The recording of the location the call uses: the device's for a moved phone, else the extension's.
    frontDesk.locationAnnouncement = async (caller) => {
      const moved = store.moved(caller);
      const mac = deps.device?.(caller)?.mac;
      const order = [`extension-${caller}`, ...(mac !== undefined ? [`device-${mac}`] : [])];
      if (moved) order.reverse();
      for (const name of order) {
        try {
          const wav = readWav(await Deno.readFile(`${dir}/${name}.wav`));
          return { samples: wav.samples, sampleRate: wav.sampleRate };
        } catch { /* none uploaded */ }
      }
      return undefined;
    };
  }
  const service: TrunkService = new TrunkService({
    ...deps,
    // Kari's Law: the front desk is rung at once; the emergency call does not wait for it.
    onEmergency: (call) => {
      deps.onEmergency?.(call);
      const desk = service.e911().frontDesk;
      if (desk !== undefined) void ringFrontDesk(frontDesk, desk, call);
    },
    store,
    settings: deps.settings,
    stir,
    fraudCounters: deps.fraudCounters ?? sqliteFraudCounters(deps.db),
  });
  const feature: FeatureModule = {
    name: "trunks",
    useCalls(c) {
      calls = c;
    },
    migrations: [m070, m071, m072, m073, m074, m078],
    numbers: () => service.claims(),
    routing: { routeFor: (m) => service.routeFor(m) },
    web: {
      openapi: trunksOpenapi,
      pages: [{
        path: "/trunks",
        title: "Trunks",
        script: new URL("./web/trunks.js", import.meta.url),
        render: ({ html, dataTable }) =>
          html`
            <div id="e911-test-banner" class="notice" role="alert" hidden>Emergency test mode is on: 911 is blocked and
              the test number goes to the carrier.</div>
            <h2>Trunks</h2>
            ${dataTable("trunks-table", ["Trunk", "Kind", "Host", "Registration", "Keepalive", "Calls", ""])}
            <form id="trunk-form" class="stack card">
              <h3>Add or change a trunk</h3>
              <label for="trunk-id">Id (lower-case letters, digits, - and _)</label>
              <input id="trunk-id" name="id" required autocomplete="off">
              <label for="trunk-kind">Kind</label>
              <select id="trunk-kind" name="kind">
                <option value="register">Registration (the box registers)</option>
                <option value="peer">IP peer (calls accepted from its addresses)</option>
              </select>
              <label for="trunk-host">Carrier host</label>
              <input id="trunk-host" name="host" required autocomplete="off">
              <label for="trunk-port">Port</label>
              <input id="trunk-port" name="port" type="number" min="1" max="65535" value="5060">
              <label for="trunk-username">Username (registration)</label>
              <input id="trunk-username" name="username" autocomplete="off">
              <label for="trunk-password">Password (registration; never shown again)</label>
              <input id="trunk-password" name="password" type="password" autocomplete="new-password">
              <label for="trunk-addresses">Addresses calls come from (peer; comma separated, CIDR allowed)</label>
              <input id="trunk-addresses" name="addresses" autocomplete="off">
              <label for="trunk-callerid">Caller ID</label>
              <input id="trunk-callerid" name="callerId" autocomplete="off">
              <label for="trunk-keepalive">OPTIONS keepalive (seconds, 0 off)</label>
              <input id="trunk-keepalive" name="keepaliveSeconds" type="number" min="0" max="3600" value="0">
              <div class="buttons"><button type="submit">Save trunk</button></div>
            </form>
            <h2>Inbound DIDs</h2>
            ${dataTable("dids-table", ["DID", "Trunk", "Destination", "Name", ""])}
            <form id="did-form" class="stack card">
              <h3>Route a DID</h3>
              <label for="did-number">DID (as the carrier delivers it)</label>
              <input id="did-number" name="number" required autocomplete="off">
              <label for="did-destination">Destination (an internal number)</label>
              <input id="did-destination" name="destination" required autocomplete="off">
              <div class="buttons"><button type="submit">Save DID</button></div>
            </form>
            <h2>Outbound routes</h2>
            ${dataTable("routes-table", ["Route", "Patterns", "Prepend", "Class", "Trunks", "Caller ID", ""])}
            <form id="route-form" class="stack card">
              <h3>Add or change an outbound route</h3>
              <label for="route-id">Id</label>
              <input id="route-id" name="id" required autocomplete="off">
              <label for="route-patterns">Dial patterns (comma separated, e.g. 9|NXXNXXXXXX, 9011.)</label>
              <input id="route-patterns" name="patterns" required autocomplete="off">
              <label for="route-prepend">Prepend</label>
              <input id="route-prepend" name="prepend" autocomplete="off">
              <label for="route-class">Class</label>
              <select id="route-class" name="class">
                <option>local</option>
                <option selected>national</option>
                <option>international</option>
                <option>premium</option>
                <option>emergency</option>
              </select>
              <label for="route-trunks">Trunks in failover order (comma separated ids)</label>
              <input id="route-trunks" name="trunks" required autocomplete="off">
              <div class="buttons"><button type="submit">Save route</button></div>
            </form>
            <h2>Emergency calls</h2>
            <div class="buttons"><button type="button" id="e911-test-toggle">Turn emergency test mode on</button></div>
            <pre id="e911-settings"></pre>
            ${dataTable("locations-table", ["For", "Location", "Moved", ""])}
            <h2>Alerts</h2>
            ${dataTable("alerts-table", ["When", "Kind", "Message"])}
          `,
      }],
      routes: (api, kit) => routes(api, kit, service, deps, stir),
      // Announcement uploads (up to MAX_ANNOUNCEMENT_BYTES) are bounded by the route itself.
      uploads: ["/api/e911/locations/"],
    },
  };
  return { feature, service, stir };
}

async function json(c: Parameters<FeatureWebKit["readBody"]>[0], kit: FeatureWebKit): Promise<unknown> {
  const bytes = await kit.readBody(c, 64 * 1024);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    kit.fail(400, "body must be JSON");
  }
}

function routes(
  api: Hono<FeatureWebEnv>,
  kit: FeatureWebKit,
  service: TrunkService,
  deps: TrunksFeatureDeps,
  stir: Stir,
): void {
  const store = service.store;
  const bad = (e: unknown): never => kit.fail(400, (e as Error).message);
  const trunkView = (id: string) => {
    const t = store.trunk(id)!;
    return { ...store.view(t), state: service.state(id), calls: deps.activeCalls(id) };
  };

  api.get("/trunks", kit.requireAdmin, (c) => c.json({ trunks: store.trunks().map((t) => trunkView(t.id)) }));
  api.get("/trunks/:id", kit.requireAdmin, (c) => {
    if (store.trunk(c.req.param("id")) === undefined) kit.fail(404, "no such trunk");
    return c.json(trunkView(c.req.param("id")));
  });
  api.put("/trunks/:id", kit.requireAdmin, async (c) => {
    const body = await json(c, kit);
    let checked: ReturnType<typeof checkTrunk>;
    try {
      checked = checkTrunk(body, c.req.param("id"));
    } catch (e) {
      return bad(e);
    }
    const { trunk, password } = checked;
    if (trunk.kind === "register" && password === undefined && store.password(trunk.id) === undefined) {
      kit.fail(400, "a registration trunk needs a password");
    }
    store.putTrunk(trunk, password);
    // Never the password: only that one was set.
    kit.audit(c, "trunk.put", `${trunk.id}${password !== undefined ? " (password changed)" : ""}`);
    service.changed();
    return c.json(trunkView(trunk.id));
  });
  api.delete("/trunks/:id", kit.requireAdmin, (c) => {
    const id = c.req.param("id");
    const used = store.routes().filter((r) => r.trunks.includes(id)).map((r) => r.id);
    if (used.length > 0) kit.fail(409, `trunk ${id} is used by outbound routes ${used.join(", ")}`);
    if (!store.deleteTrunk(id)) kit.fail(404, "no such trunk");
    kit.audit(c, "trunk.delete", id);
    service.changed();
    return c.body(null, 204);
  });

  api.get("/dids", kit.requireAdmin, (c) => c.json({ dids: store.dids() }));
  api.put("/dids/:number", kit.requireAdmin, async (c) => {
    const body = await json(c, kit);
    let did;
    try {
      did = checkDid(body, c.req.param("number"));
    } catch (e) {
      return bad(e);
    }
    if (did.trunk !== undefined && store.trunk(did.trunk) === undefined) {
      kit.fail(400, `no trunk ${did.trunk}`);
    }
    if (deps.numberExists !== undefined && !deps.numberExists(did.destination)) {
      kit.fail(400, `destination ${did.destination} is no number of this box`);
    }
    store.putDid(did);
    kit.audit(c, "trunk.did", `${did.number} -> ${did.destination}`);
    return c.json(did);
  });
  api.delete("/dids/:number", kit.requireAdmin, (c) => {
    if (!store.deleteDid(c.req.param("number"))) kit.fail(404, "no such DID");
    kit.audit(c, "trunk.did.delete", c.req.param("number"));
    return c.body(null, 204);
  });

  api.get("/outbound-routes", kit.requireAdmin, (c) => c.json({ routes: store.routes() }));
  api.put("/outbound-routes/:id", kit.requireAdmin, async (c) => {
    const body = await json(c, kit);
    let route;
    try {
      route = checkRoute(body, c.req.param("id"));
    } catch (e) {
      return bad(e);
    }
    const missing = route.trunks.filter((t) => store.trunk(t) === undefined);
    if (missing.length > 0) kit.fail(400, `no such trunk: ${missing.join(", ")}`);
    const position = (body as { position?: unknown }).position;
    store.putRoute(route, typeof position === "number" && Number.isInteger(position) ? position : undefined);
    kit.audit(c, "trunk.route", route.id);
    return c.json(route);
  });
  api.delete("/outbound-routes/:id", kit.requireAdmin, (c) => {
    if (!store.deleteRoute(c.req.param("id"))) kit.fail(404, "no such route");
    kit.audit(c, "trunk.route.delete", c.req.param("id"));
    return c.body(null, 204);
  });

  api.get(
    "/outbound-permissions/:extension",
    kit.requireAdmin,
    (c) => c.json({ extension: c.req.param("extension"), classes: store.classes(c.req.param("extension")) }),
  );
  api.put("/outbound-permissions/:extension", kit.requireAdmin, async (c) => {
    const ext = c.req.param("extension");
    if (!deps.isExtension(ext)) kit.fail(404, `no extension ${ext}`);
    let classes;
    try {
      classes = checkClasses(await json(c, kit));
    } catch (e) {
      return bad(e);
    }
    store.setClasses(ext, classes);
    kit.audit(c, "trunk.permissions", `${ext}: ${classes.join(",")}`);
    return c.json({ extension: ext, classes });
  });

  api.get("/e911", kit.requireAdmin, (c) => c.json(service.e911()));
  api.put("/e911", kit.requireAdmin, async (c) => {
    let s;
    try {
      s = checkE911(await json(c, kit), service.e911());
    } catch (e) {
      return bad(e);
    }
    service.setE911(s);
    kit.audit(c, "e911.settings", s.testMode ? "test mode on" : "test mode off");
    return c.json(s);
  });
  api.get("/e911/locations", kit.requireAdmin, (c) =>
    c.json({
      locations: store.locations().map((l) => ({
        ...l,
        ...(l.kind === "extension" ? { moved: store.moved(l.id) } : {}),
      })),
    }));
  api.put("/e911/locations/:kind/:id", kit.requireAdmin, async (c) => {
    const kind = c.req.param("kind");
    if (kind !== "extension" && kind !== "device") kit.fail(404, "locations are per extension or per device");
    let id: string;
    try {
      id = kind === "device" ? checkId(c.req.param("id").toLowerCase(), "device") : c.req.param("id");
    } catch (e) {
      return bad(e);
    }
    if (kind === "extension" && !deps.isExtension(id)) kit.fail(404, `no extension ${id}`);
    let location;
    try {
      location = checkLocation(await json(c, kit));
    } catch (e) {
      return bad(e);
    }
    store.setLocation(kind, id, location);
    // Setting an extension's location confirms where its phone is now: no longer "moved".
    const here = kind === "extension" ? deps.currentAddress?.(id) : undefined;
    if (here !== undefined) store.confirm(id, here);
    kit.audit(c, "e911.location", `${kind} ${id}`);
    return c.json({ kind, id, location });
  });
  // The front desk's recording of a location (played when there is no text to speech).
  const announcementPath = (kind: string, id: string) => `${deps.announcementsDir}/${kind}-${id}.wav`;
  const announcementTarget = (c: Parameters<FeatureWebKit["readBody"]>[0]) => {
    const kind = c.req.param("kind") ?? "";
    if (kind !== "extension" && kind !== "device") kit.fail(404, "locations are per extension or per device");
    const id = kind === "device" ? (c.req.param("id") ?? "").toLowerCase() : c.req.param("id") ?? "";
    if (!/^[0-9A-Za-z*#+._-]{1,32}$/.test(id)) {
      kit.fail(400, `bad ${kind} ${JSON.stringify(id.slice(0, 40))}`);
    }
    if (store.location(kind, id) === undefined) kit.fail(404, `no location for ${kind} ${id}`);
    if (deps.announcementsDir === undefined) {
      kit.fail(503, "announcement uploads are not available in this build");
    }
    return { kind, id };
  };
  api.put("/e911/locations/:kind/:id/announcement", kit.requireAdmin, async (c) => {
    const { kind, id } = announcementTarget(c);
    const type = c.req.header("content-type") ?? "";
    if (!/^(audio\/(wav|x-wav|wave|vnd\.wave)|application\/octet-stream)\s*(;|$)/.test(type)) {
      kit.fail(
        415,
        `an announcement is a WAV file (audio/wav), got ${JSON.stringify(type.slice(0, 60) || "nothing")}`,
      );
    }
    const bytes = await kit.readBody(c, MAX_ANNOUNCEMENT_BYTES);
    let a;
    try {
      a = announcementFromWav(bytes);
    } catch (e) {
      kit.fail(400, `not a usable WAV file: ${(e as Error).message}`);
    }
    await Deno.mkdir(deps.announcementsDir!, { recursive: true });
    const path = announcementPath(kind, id);
    await Deno.writeFile(`${path}.part`, writeWav({ sampleRate: 16000, channels: 1 }, a.samples));
    await Deno.rename(`${path}.part`, path);
    kit.audit(c, "e911.announcement", `${kind} ${id}`);
    deps.log.info("e911 location announcement uploaded", { kind, id, durationMs: a.durationMs });
    return c.json({ kind, id, durationMs: a.durationMs });
  });
  api.delete("/e911/locations/:kind/:id/announcement", kit.requireAdmin, async (c) => {
    const { kind, id } = announcementTarget(c);
    try {
      await Deno.remove(announcementPath(kind, id));
    } catch {
      kit.fail(404, "no uploaded announcement");
    }
    kit.audit(c, "e911.announcement.delete", `${kind} ${id}`);
    return c.body(null, 204);
  });
  api.delete("/e911/locations/:kind/:id", kit.requireAdmin, (c) => {
    const kind = c.req.param("kind");
    if ((kind !== "extension" && kind !== "device") || !store.deleteLocation(kind, c.req.param("id"))) {
      kit.fail(404, "no such location");
    }
    kit.audit(c, "e911.location.delete", `${kind} ${c.req.param("id")}`);
    return c.body(null, 204);
  });
  api.get("/fraud-guard", kit.requireAdmin, (c) => c.json(service.fraud()));
  api.put("/fraud-guard", kit.requireAdmin, async (c) => {
    let s;
    try {
      s = checkFraud(await json(c, kit), service.fraud());
    } catch (e) {
      return bad(e);
    }
    service.setFraud(s);
    kit.audit(c, "fraud.settings", JSON.stringify(s).slice(0, 500));
    return c.json(s);
  });
  api.get("/stir", kit.requireAdmin, (c) => c.json(stirView(stir.settings())));
  api.put("/stir", kit.requireAdmin, async (c) => {
    let s;
    try {
      s = await checkStir(await json(c, kit), stir.settings(), deps.secrets, deps.clock);
    } catch (e) {
      return bad(e);
    }
    await stir.save(s);
    kit.audit(
      c,
      "stir.settings",
      `verify ${s.verify.enabled ? "on" : "off"}, sign ${s.sign.enabled ? "on" : "off"}`,
    );
    return c.json(stirView(s));
  });
  api.get("/trunk-alerts", kit.requireAdmin, (c) => c.json({ alerts: service.alerts() }));
}
