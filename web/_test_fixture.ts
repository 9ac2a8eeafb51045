/** Test fixture for the web route tests: temp storage, virtual clock, fake live status, helpers. */
import assert from "node:assert/strict";
import { VirtualClock } from "../runtime/clock/mod.ts";
import { openStorage, type Storage } from "../runtime/storage/mod.ts";
import { createApp } from "./app.ts";
import type { AppDeps, Health, LiveCall, LiveChange } from "./types.ts";

/** Admin password the fixture sets up. */
export const ADMIN_PW = "admin-password-1";

/** A fake LiveStatus whose change events tests fire by hand. */
export class FakeLive {
  calls: LiveCall[] = [];
  listeners = new Set<(c: LiveChange) => void>();
  onChange(listener: (c: LiveChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(change: LiveChange): void {
    for (const l of this.listeners) l(change);
  }
}

/** A browser-like session: cookie plus CSRF token. */
export interface CookieSession {
  cookie: string;
  csrf: string;
  setCookie: string;
}

/** Everything a web route test needs. */
export interface WebFixture {
  app: ReturnType<typeof createApp>;
  storage: Storage;
  clock: VirtualClock;
  live: FakeLive;
  health: Health;
  req(
    path: string,
    init?: RequestInit & {
      ip?: string;
      token?: string;
      json?: unknown;
      session?: CookieSession;
      csrf?: string;
    },
  ): Promise<Response>;
  login(username?: string, password?: string): Promise<string>;
  cookieLogin(username?: string, password?: string): Promise<CookieSession>;
  addUser(username: string, extension: string, password?: string): Promise<void>;
  [Symbol.dispose](): void;
}

/** Build a fixture; `setup: false` leaves the box in first-boot state. */
export async function webFixture(
  options: {
    setup?: boolean;
    deps?: Partial<AppDeps>;
    /** Feature modules built over the fixture's storage (their stores need its database). */
    features?: (storage: Storage, clock: VirtualClock) => NonNullable<AppDeps["features"]>;
  } = {},
): Promise<WebFixture> {
  const dataDir = Deno.makeTempDirSync({ prefix: "pbx-web-test-" });
  const clock = new VirtualClock();
  const storage = openStorage({ dataDir, clock, pbkdf2Iterations: 1000 });
  const health: Health = { ok: true, listeners: { sip: true, http: true } };
  const live = new FakeLive();
  const app = createApp({
    storage,
    clock,
    live: { calls: () => live.calls, onChange: (l) => live.onChange(l) },
    health: () => health,
    boxInfo: () => ({ addresses: ["192.0.2.10"], sipPort: 5060, httpPort: 8080, tftpPort: 69 }),
    ...options.deps,
    ...(options.features ? { features: options.features(storage, clock) } : {}),
  });
  const f: WebFixture = {
    app,
    storage,
    clock,
    live,
    health,
    req(path, init = {}) {
      const { ip = "192.0.2.1", token, json, session, csrf, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token !== undefined) headers.set("authorization", `Bearer ${token}`);
      if (session !== undefined) headers.set("cookie", session.cookie);
      if (csrf !== undefined) headers.set("x-csrf-token", csrf);
      if (json !== undefined) headers.set("content-type", "application/json");
      const body = json === undefined ? rest.body ?? null : JSON.stringify(json);
      return Promise.resolve(app.request(path, { ...rest, headers, body }, { remoteAddr: { hostname: ip } }));
    },
    async login(username = "admin", password = ADMIN_PW) {
      const res = await f.req("/api/auth/login", { method: "POST", json: { username, password } });
      assert.equal(res.status, 200, await res.clone().text());
      return ((await res.json()) as { token: string }).token;
    },
    async cookieLogin(username = "admin", password = ADMIN_PW) {
      const res = await f.req("/api/auth/login", {
        method: "POST",
        json: { username, password, cookie: true },
      });
      assert.equal(res.status, 200, await res.clone().text());
      const setCookie = res.headers.get("set-cookie") ?? "";
      const m = /^(pbx_session=[^;]+)/.exec(setCookie);
      assert.ok(m, `expected a session cookie, got ${setCookie}`);
      const body = await res.json() as { csrfToken: string };
      return { cookie: m[1]!, csrf: body.csrfToken, setCookie };
    },
    async addUser(username, extension, password = "user-password-1") {
      if (f.storage.extensions.get(extension) === undefined) {
        f.storage.extensions.create(
          { number: extension, name: `Ext ${extension}`, password: "good-pass-1" },
          "pbx",
        );
      }
      await f.storage.users.create({ username, role: "user", extension, password });
    },
    [Symbol.dispose]() {
      storage.close();
      Deno.removeSync(dataDir, { recursive: true });
    },
  };
  if (options.setup !== false) {
    await storage.users.create({ username: "admin", role: "admin", password: ADMIN_PW });
  }
  return f;
}

/** The `{error}` message of a JSON error response. */
export async function errorOf(res: Response): Promise<string> {
  const body = await res.json() as { error?: unknown };
  assert.equal(typeof body.error, "string", `expected {error} body, got ${JSON.stringify(body)}`);
  return body.error as string;
}
