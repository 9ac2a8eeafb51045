/**
 * Starts the real appliance (`deno run --allow-all mod.ts`) as a child process on free loopback
 * ports and a fresh data directory, for end-to-end tests.
 *
 * @module
 */
import { LoggedProcess } from "./process.ts";
import { freePorts, pickPortRange } from "./ports.ts";

/** The admin password every test appliance starts with. */
export const TEST_ADMIN_PASSWORD = "test-admin-password-1";

const REPO_ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** Options for {@linkcode startAppliance}. */
export interface StartApplianceOptions {
  /** Extra environment for the appliance (overrides the defaults below). */
  env?: Record<string, string>;
  /** Reuse a data directory (restart tests). The caller owns it; it is not removed on stop. */
  dataDir?: string;
  /** Fixed ports, e.g. to restart on the same ports; free ones are picked otherwise. */
  sipPort?: number;
  /** See sipPort. */
  httpPort?: number;
  /** See sipPort. */
  tftpPort?: number;
  /** See sipPort; `env: {PBX_HTTPS_PORT: "off"}` turns HTTPS off. */
  httpsPort?: number;
  /** See sipPort; `env: {PBX_SIP_TLS_PORT: "off"}` turns SIP over TLS off. */
  sipTlsPort?: number;
  /** See sipPort. */
  rtpPorts?: [number, number];
  /** Entry module, relative to the repo root. Default "mod.ts"; the harness self-test uses a fake. */
  entry?: string;
  /** How long to wait for GET /api/health to answer 200 (default 30 s). */
  readyTimeoutMs?: number;
}

/** A running appliance. `await using app = await startAppliance()` stops it at scope end. */
export interface Appliance {
  /** Process id of the appliance (e.g. for `prlimit --pid`). */
  pid: number;
  sipPort: number;
  httpPort: number;
  /** The HTTPS port (same app, the box's certificate); null when started with PBX_HTTPS_PORT=off. */
  httpsPort: number | null;
  /** The SIP over TLS port (box certificate); null when started with PBX_SIP_TLS_PORT=off. */
  sipTlsPort: number | null;
  tftpPort: number;
  rtpPorts: [number, number];
  dataDir: string;
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  /** https://127.0.0.1:PORT, or null when HTTPS is off. Trust `${dataDir}/tls/ca/rootCA.pem`. */
  httpsUrl: string | null;
  /** The admin password it was started with. */
  adminPassword: string;
  /** SIGTERM and wait (SIGKILL after 10 s); removes the data dir if this helper created it. */
  stop(): Promise<void>;
  /** SIGKILL and wait (crash test); removes the data dir if this helper created it. */
  kill9(): Promise<void>;
  /** Exit status once exited. */
  status(): Deno.CommandStatus | undefined;
  /** Everything the appliance printed so far. */
  logs(): string;
  /** Waits for a log line, see LoggedProcess.waitForLog. */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Logs in as admin once and caches the bearer token. */
  adminToken(): Promise<string>;
  /** An API client logged in as admin. */
  adminApi(): Promise<Api>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts the appliance and waits until /api/health answers 200. Cleans up if it never does. */
export async function startAppliance(options: StartApplianceOptions = {}): Promise<Appliance> {
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "pbx-test-data-" });
  const [p1, p2, p3, p4, p5] = await freePorts(5);
  const sipPort = options.sipPort ?? p1!;
  const httpPort = options.httpPort ?? p2!;
  const tftpPort = options.tftpPort ?? p3!;
  const rtpPorts = options.rtpPorts ?? await pickPortRange(200);
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  // Always a free port: the appliance's default 8443 would clash between parallel tests.
  const httpsSetting = options.env?.PBX_HTTPS_PORT ?? String(options.httpsPort ?? p4!);
  const httpsPort = httpsSetting.trim().toLowerCase() === "off" ? null : Number(httpsSetting);
  // Likewise SIP over TLS (default 5061).
  const sipTlsSetting = options.env?.PBX_SIP_TLS_PORT ?? String(options.sipTlsPort ?? p5!);
  const sipTlsPort = sipTlsSetting.trim().toLowerCase() === "off" ? null : Number(sipTlsSetting);
  const env: Record<string, string> = {
    PBX_DATA_DIR: dataDir,
    PBX_BIND: "127.0.0.1",
    PBX_PUBLIC_ADDRESS: "127.0.0.1",
    PBX_SIP_PORT: String(sipPort),
    PBX_HTTP_PORT: String(httpPort),
    PBX_TFTP_PORT: String(tftpPort),
    PBX_HTTPS_PORT: httpsSetting,
    PBX_SIP_TLS_PORT: sipTlsSetting,
    PBX_RTP_PORTS: `${rtpPorts[0]}-${rtpPorts[1]}`,
    PBX_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
    NO_COLOR: "1",
    ...options.env,
  };
  const adminPassword = env.PBX_ADMIN_PASSWORD ?? TEST_ADMIN_PASSWORD;
  const proc = new LoggedProcess(Deno.execPath(), {
    args: ["run", "--allow-all", options.entry ?? "mod.ts"],
    cwd: REPO_ROOT,
    env,
    name: "appliance",
  });

  let token: string | undefined;
  let finished = false;
  const cleanup = async () => {
    if (finished) return;
    finished = true;
    if (ownDataDir) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  };
  const app: Appliance = {
    pid: proc.pid,
    sipPort,
    httpPort,
    httpsPort,
    sipTlsPort,
    tftpPort,
    rtpPorts,
    dataDir,
    baseUrl,
    httpsUrl: httpsPort === null ? null : `https://127.0.0.1:${httpsPort}`,
    adminPassword,
    async stop() {
      await proc.stop("SIGTERM", 10_000);
      await cleanup();
    },
    async kill9() {
      await proc.stop("SIGKILL", 5_000);
      await cleanup();
    },
    status: () => proc.status,
    logs: () => proc.logs(),
    waitForLog: (re, timeoutMs) => proc.waitForLog(re, timeoutMs),
    async adminToken() {
      if (token === undefined) token = await login(baseUrl, "admin", adminPassword);
      return token;
    },
    async adminApi() {
      return api(baseUrl, await app.adminToken());
    },
    [Symbol.asyncDispose]() {
      return app.stop();
    },
  };

  try {
    await waitHealthy(baseUrl, proc, options.readyTimeoutMs ?? 30_000);
  } catch (e) {
    await app.kill9();
    throw e;
  }
  return app;
}

async function waitHealthy(baseUrl: string, proc: LoggedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (proc.status !== undefined) {
      throw new Error(
        `appliance exited with code ${proc.status.code} before it was healthy.\n${proc.tail()}`,
      );
    }
    try {
      const res = await fetch(`${baseUrl}/api/health`, { signal: AbortSignal.timeout(2000) });
      const body = await res.text();
      if (res.status === 200) return;
      last = `HTTP ${res.status} ${body.slice(0, 200)}`;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`appliance not healthy within ${timeoutMs} ms (last: ${last}).\n${proc.tail()}`);
}

/** A JSON API client. Non-2xx answers throw an Error naming method, path, status and body. */
export interface Api {
  /** Raw request: never throws on status; body is parsed JSON when the answer is JSON, else text. */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  get<T = unknown>(path: string): Promise<T>;
  post<T = unknown>(path: string, body?: unknown): Promise<T>;
  put<T = unknown>(path: string, body?: unknown): Promise<T>;
  patch<T = unknown>(path: string, body?: unknown): Promise<T>;
  del<T = unknown>(path: string): Promise<T>;
  /** POST /api/extensions {number, name, password}. */
  createExtension(ext: { number: string; name: string; password: string }): Promise<unknown>;
}

/** An API client for `baseUrl` sending `Authorization: Bearer <token>` when a token is given. */
export function api(baseUrl: string, token?: string): Api {
  const request = async (method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = { accept: "application/json" };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const init: RequestInit = { method, headers };
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(`${baseUrl}${path}`, init);
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get("content-type") ?? "").includes("json") && text !== "") {
      try {
        parsed = JSON.parse(text);
      } catch { /* leave as text */ }
    }
    return { status: res.status, body: parsed };
  };
  const ok = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await request(method, path, body);
    if (res.status < 200 || res.status > 299) {
      throw new Error(`${method} ${path} -> HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`);
    }
    return res.body as T;
  };
  return {
    request,
    get: (path) => ok("GET", path),
    post: (path, body) => ok("POST", path, body),
    put: (path, body) => ok("PUT", path, body),
    patch: (path, body) => ok("PATCH", path, body),
    del: (path) => ok("DELETE", path),
    createExtension: (ext) => ok("POST", "/api/extensions", ext),
  };
}

/** POST /api/auth/login {username, password} and returns the token from {token}. */
export async function login(baseUrl: string, username: string, password: string): Promise<string> {
  const body = await api(baseUrl).post<{ token?: unknown }>("/api/auth/login", { username, password });
  if (typeof body.token !== "string") {
    throw new TypeError(`login answer has no token: ${JSON.stringify(body).slice(0, 200)}`);
  }
  return body.token;
}
