/** `createApp`: the Hono app with the REST API, security headers and JSON errors. */
import { Hono } from "hono";
import { realClock } from "../runtime/clock/mod.ts";
import { authRoutes, requireAdmin, requireAuth } from "./api_auth.ts";
import { mailboxRoutes } from "./api_mailboxes.ts";
import { extensionRoutes } from "./api_extensions.ts";
import { statusRoutes } from "./api_status.ts";
import { meRoutes, userRoutes } from "./api_users.ts";
import { auditRoutes, systemRoutes } from "./api_system.ts";
import { firmwareRoutes } from "./api_firmware.ts";
import { eventRoutes } from "./api_events.ts";
import { securityRoutes } from "./api_security.ts";
import { LoginLimiter } from "./_login_limiter.ts";
import { registerPhoneRoutes } from "./api_phones.ts";
import { registerPagingRoutes } from "./api_paging.ts";
import { registerNumberRoutes } from "./api_numbers.ts";
import { registerPromptRoutes } from "./api_prompts.ts";
import { registerMailRoutes } from "./api_mail.ts";
import { OPENAPI } from "./openapi.ts";
import { pageRoutes, resolvePages } from "./pages.ts";
import { staticRoutes } from "./_static.ts";
import { securityHeaders } from "./_security_headers.ts";
import { bodyLimit, clientIp, fail, HttpError, readBodyLimited } from "./_http.ts";
import { useFeatureClaims } from "./_numbers.ts";
import type { FeatureWebKit } from "../runtime/call/feature.ts";
import type { AppEnv } from "./_env.ts";
import type { AppDeps, BoxInfo, Logger } from "./types.ts";

// Prompt recordings (PUT /api/prompts/:id/override) are bounded by their route, after authentication.
const isPromptUpload = (method: string, path: string) =>
  method === "PUT" && /^\/api\/prompts\/[^/]+\/override$/.test(path);

const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** Build the web application. Serve it with `Deno.serve(app.fetch)` so client IPs reach it. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const clock = deps.clock ?? realClock;
  const logger = deps.logger ?? silentLogger;
  const { storage } = deps;
  const realm = deps.sipRealm ?? (() => {
    const r = storage.settings.get("sip.realm");
    return typeof r === "string" && r !== "" ? r : "pbx";
  });
  const maxBody = deps.maxBodyBytes ?? 64 * 1024;
  const boxInfo = deps.boxInfo ??
    ((): BoxInfo => ({ addresses: [], sipPort: 5060, httpPort: 80, tftpPort: 69 }));

  const features = deps.features ?? [];
  const ui = resolvePages(features); // the features' pages join the built-in ones (throws on a clash)
  useFeatureClaims(storage, () => features.flatMap((f) => f.numbers?.() ?? []));

  const app = new Hono<AppEnv>();
  app.use("*", securityHeaders());
  const limit = bodyLimit(maxBody);
  // Sound and backup uploads are bounded by their routes, after authentication (readBodyLimited,
  // streamBodyToFile), so an anonymous client never gets more than the small limit.
  const uploads = new Set(["/api/paging/sounds", "/api/system/restore", "/api/system/firmware"]);
  // Feature uploads (music-on-hold classes, greetings, ...) are bounded by their routes too.
  const featureUploads = features.flatMap((f) => f.web?.uploads ?? []);
  const isFeatureUpload = (method: string, path: string) =>
    (method === "PUT" || method === "POST") && featureUploads.some((p) => path.startsWith(p));
  app.use(
    "/api/*",
    (c, next) =>
      (c.req.method === "POST" && uploads.has(c.req.path)) || isPromptUpload(c.req.method, c.req.path) ||
        isFeatureUpload(c.req.method, c.req.path)
        ? next()
        : limit(c, next),
  );

  app.get("/api/health", (c) => {
    const h = deps.health();
    const ok = h.ok && Object.values(h.listeners).every(Boolean);
    return c.json({ ok, listeners: h.listeners }, ok ? 200 : 503);
  });

  const logins = new LoginLimiter(clock, deps.loginLimit ?? {});
  const auth = authRoutes({
    storage,
    clock,
    logger,
    sessionTtlMs: deps.sessionTtlMs ?? 12 * 3600_000,
    loginLimit: deps.loginLimit ?? {},
    boxInfo,
    limiter: logins,
  });
  app.route("/api", auth.publicRoutes);
  const openapi = features.some((f) => f.web?.openapi)
    ? {
      ...OPENAPI,
      paths: {
        ...(OPENAPI as { paths: Record<string, unknown> }).paths,
        ...Object.assign({}, ...features.map((f) => f.web?.openapi ?? {})),
      },
    }
    : OPENAPI;
  app.get("/api/openapi.json", (c) => c.json(openapi));

  // Everything under /api registered below needs a token.
  const api = new Hono<AppEnv>();
  api.use("*", requireAuth(storage));
  api.route("/", auth.privateRoutes);
  api.use("/extensions/*", requireAdmin());
  api.use("/extensions", requireAdmin());
  api.route("/extensions", extensionRoutes({ storage, realm }));
  api.route("/", statusRoutes({ storage, live: deps.live, clock }));
  api.route("/me", meRoutes({ storage, clock }));
  for (const prefix of ["/users", "/system", "/audit", "/events", "/security"]) {
    api.use(prefix, requireAdmin());
    api.use(`${prefix}/*`, requireAdmin());
  }
  api.route("/users", userRoutes({ storage }));
  api.route(
    "/system",
    systemRoutes({
      storage,
      clock,
      health: deps.health,
      boxInfo,
      logs: deps.logs,
      validateBackup: deps.validateBackup,
      maxRestoreBytes: deps.maxRestoreBytes,
      host: deps.host,
    }),
  );
  api.route(
    "/system/firmware",
    firmwareRoutes({ storage, firmware: deps.firmware, maxFirmwareBytes: deps.maxFirmwareBytes }),
  );
  api.route("/audit", auditRoutes({ storage }));
  api.route("/security", securityRoutes({ storage, logins, sip: deps.sipSecurity }));
  registerPhoneRoutes(api, { storage, clock, phones: deps.phones, reprovision: deps.reprovision });
  registerNumberRoutes(api, { storage }); // the number plan and the feature-code table
  api.use("/mailboxes/*", requireAdmin());
  api.route("/", mailboxRoutes({ storage, mailboxes: deps.mailboxes }));
  registerPagingRoutes(api, {
    storage,
    paging: deps.paging,
    audioDevices: deps.audioDevices,
    soundsDir: deps.soundsDir,
    inspectWav: deps.inspectWav,
    maxSoundBytes: deps.maxSoundBytes,
  });
  registerPromptRoutes(api, { prompts: deps.prompts }); // prompt catalogue and recordings
  registerMailRoutes(api, { storage, mail: deps.mail }); // SMTP settings, test email, outbox
  api.route(
    "/",
    eventRoutes({
      storage,
      live: deps.live,
      clock,
      coalesceMs: deps.eventsCoalesceMs ?? 250,
      heartbeatMs: deps.eventsHeartbeatMs ?? 20_000,
    }),
  );
  // Each feature module's own routes (voicemail, conference, ...), behind the same sign-in.
  const kit: FeatureWebKit = {
    requireAdmin: requireAdmin() as FeatureWebKit["requireAdmin"],
    fail,
    readBody: (c, maxBytes) => readBodyLimited(c, maxBytes),
    audit: (c, action, detail) =>
      storage.audit.record({
        actor: c.get("user").username,
        action,
        ...(detail === undefined ? {} : { detail }),
        sourceIp: clientIp(c),
      }),
  };
  for (const f of features) f.web?.routes?.(api as never, kit);
  app.route("/api", api);

  // The UI: page shells and their static files.
  app.route("/", staticRoutes(ui.scripts));
  app.route("/", pageRoutes({ storage, boxInfo, pages: ui.pages }));

  app.notFound((c) => c.json({ error: `not found: ${c.req.method} ${c.req.path.slice(0, 200)}` }, 404));
  app.onError((err, c) => {
    if (err instanceof HttpError) return c.json({ error: err.message }, err.status, err.headers);
    logger.error("unhandled error in web request", { path: c.req.path, error: String(err) });
    return c.json({ error: "internal error" }, 500);
  });
  return app;
}
