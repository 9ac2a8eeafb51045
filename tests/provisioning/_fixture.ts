/**
 * A provisioning stack for end-to-end tests: real storage in a temp dir, startProvisioning on
 * 127.0.0.1 with ephemeral ports, the web app with the phone API, and optionally the real SIP
 * transport + transaction layer feeding the events core with the ua-profile package, composed the
 * way appliance/mod.ts composes them (SIP plug-and-play SUBSCRIBEs go through the same path).
 */
import { createLogger } from "../../runtime/log/mod.ts";
import { openStorage, type Storage } from "../../runtime/storage/mod.ts";
import {
  createResponse,
  startTransports,
  TransactionLayer,
  type TransportLayer,
} from "../../runtime/sip/mod.ts";
import { type BootConfig, DEFAULTS } from "../../appliance/config.ts";
import { type ProvisioningService, startProvisioning } from "../../appliance/_provisioning.ts";
import { type EventsService, startEvents, uaProfilePackage } from "../../appliance/_events.ts";
import { createApp } from "../../web/mod.ts";
import { realClock } from "../../runtime/clock/mod.ts";

/** The SIP password of extension 201 in the fixture. */
export const ALICE_PASSWORD = "alice-sip-pw-xyz";
/** Admin password for the web API. */
export const ADMIN_PASSWORD = "admin-password-1";

/** Assigned phones, one per vendor, with the file each fetches. */
export const PHONES = [
  { vendor: "yealink", mac: "805ec0123456", model: "T46S", file: "805ec0123456.cfg" },
  { vendor: "polycom", mac: "0004f2aabbcc", model: "VVX400", file: "0004f2aabbcc-pbx.cfg" },
  { vendor: "cisco", mac: "c0ffee000001", model: "SPA504G", file: "spac0ffee000001.xml" },
  { vendor: "grandstream", mac: "c074ad000001", model: "GXP2170", file: "cfgc074ad000001.xml" },
  { vendor: "zultys", mac: "000bea000001", model: "ZIP37G", file: "000bea000001.cfg" },
] as const;

/** A running test stack. */
export interface Stack {
  storage: Storage;
  prov: ProvisioningService;
  app: ReturnType<typeof createApp>;
  /** SIP port when `sip: true`. */
  sipPort: number;
  dataDir: string;
  /** An admin bearer token for the web API. */
  token: string;
  api(path: string, init?: { method?: string; json?: unknown }): Promise<Response>;
  close(): Promise<void>;
}

/** Start the stack. */
export async function startStack(
  options: {
    sip?: boolean;
    openWindows?: boolean;
    guard?: { maxMisses?: number };
    config?: Partial<BootConfig>;
  } = {},
): Promise<Stack> {
  const dataDir = Deno.makeTempDirSync({ prefix: "pbx-prov-e2e-" });
  const storage = openStorage({ dataDir, pbkdf2Iterations: 1000 });
  await storage.users.create({ username: "admin", role: "admin", password: ADMIN_PASSWORD });
  storage.extensions.create({ number: "201", name: "Alice", password: ALICE_PASSWORD }, "pbx");
  for (const p of PHONES) {
    storage.devices.create({ mac: p.mac, vendor: p.vendor, model: p.model, extension: "201" });
    // Issue 18: secrets go out only during a provisioning window, which assigning through the
    // API opens; devices created straight in storage get it here (unless a test wants it shut).
    if (options.openWindows !== false) storage.devices.openWindow(p.mac, Date.now() + 3_600_000);
  }
  const config: BootConfig = {
    ...DEFAULTS,
    dataDir,
    bind: "127.0.0.1",
    publicAddress: "127.0.0.1",
    tftpPort: 0,
    ...options.config,
  };
  const log = createLogger("test", { sink: () => {} });

  let transports: TransportLayer | undefined;
  let transactions: TransactionLayer | undefined;
  // The SIP stack starts first (its port goes into the files); the events core arrives after.
  const holder: { events?: EventsService } = {};
  if (options.sip) {
    transactions = new TransactionLayer({
      transport: {
        sendResponse: (res) => transports!.sendResponse(res),
        sendRequest: (req, target) => transports!.sendRequest(req, target),
      },
      clock: realClock,
      onRequest: (req, tx, source) => {
        if (holder.events?.hook(req, tx, source)) return;
        if (tx && req.method !== "ACK") tx.respond(createResponse(req, 501));
      },
    });
    transports = await startTransports({
      bind: "127.0.0.1",
      port: 0,
      onMessage: (msg, source) => transactions!.receive(msg, source),
    });
  }
  const sipPort = transports?.port ?? 5060;
  const prov = await startProvisioning({
    config,
    storage,
    log,
    clock: realClock,
    sipPort,
    httpPort: 8080,
    env: {},
    ...(options.guard ? { guard: options.guard } : {}),
  });
  if (transactions) {
    const events = startEvents({
      transactions,
      // ua-profile takes no credentials; the fixture serves nothing that would ask for them.
      authorizer: {
        authorize: () => {
          throw new Error("the provisioning fixture serves ua-profile only (no credentials)");
        },
      },
      clock: realClock,
      log,
      storage,
      publicAddress: "127.0.0.1",
      sipPort,
    });
    events.core.register(uaProfilePackage({
      httpBase: () => prov.data.server().httpBase,
      storage,
      clock: realClock,
      log,
      guard: prov.guard,
    }));
    holder.events = events;
  }
  const app = createApp({
    storage,
    clock: realClock,
    live: { calls: () => [] },
    health: () => ({ ok: true, listeners: {} }),
    phones: prov.phones,
  });
  app.route("/", prov.honoRoutes);
  const login = await app.request("/api/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: ADMIN_PASSWORD }),
  }, { remoteAddr: { hostname: "127.0.0.1" } });
  const { token } = await login.json() as { token: string };
  const p = prov;
  return {
    storage,
    prov: p,
    app,
    sipPort,
    dataDir,
    token,
    api: (path, init = {}) =>
      Promise.resolve(app.request(path, {
        method: init.method ?? "GET",
        headers: {
          authorization: `Bearer ${token}`,
          ...(init.json !== undefined ? { "content-type": "application/json" } : {}),
        },
        body: init.json === undefined ? null : JSON.stringify(init.json),
      }, { remoteAddr: { hostname: "127.0.0.1" } })),
    async close() {
      await p.stop();
      holder.events?.close();
      transactions?.close();
      await transports?.close();
      storage.close();
      Deno.removeSync(dataDir, { recursive: true });
    },
  };
}

/** Run a command, returning exit code and output. */
export async function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/** atftp download with blksize/tsize options; returns the file text or null on failure. */
export async function atftpGet(
  port: number,
  file: string,
  dir: string,
  out = "out",
): Promise<{ text: string | null; log: string }> {
  const r = await run("timeout", [
    "20",
    "atftp",
    "--option",
    "blksize 1428",
    "--option",
    "tsize 0",
    "-g",
    "-r",
    file,
    "-l",
    `${dir}/${out}`,
    "127.0.0.1",
    String(port),
  ], dir);
  return { text: r.code === 0 ? await Deno.readTextFile(`${dir}/${out}`) : null, log: r.out };
}

/** tftp-hpa download; returns the file text or null on failure (tftp-hpa exits 0 on some errors). */
export async function hpaGet(
  port: number,
  file: string,
  dir: string,
  out = "out-hpa",
): Promise<{ text: string | null; log: string }> {
  const r = await run("timeout", [
    "20",
    "tftp",
    "127.0.0.1",
    String(port),
    "-c",
    "get",
    file,
    `${dir}/${out}`,
  ], dir);
  const failed = r.code !== 0 || /error|Error/.test(r.out);
  let text: string | null = null;
  if (!failed) text = await Deno.readTextFile(`${dir}/${out}`);
  return { text, log: r.out };
}
