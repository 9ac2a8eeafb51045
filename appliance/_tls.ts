/**
 * The box's TLS certificate. On first start it is made in `<dataDir>/tls/`: with `mkcert` when
 * that is on PATH (a developer machine, CAROOT=<dataDir>/tls/ca), otherwise with the `openssl`
 * CLI as the box's own local CA plus a server certificate signed by it. The CA certificate (never
 * its key) can be downloaded by phones and browsers from `/prov/ca.crt` and `/prov/ca.der`.
 * Later starts reuse the files; only the server certificate is remade when the box's names change
 * or it is within 30 days of expiry.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { Hono } from "hono";
import type { Logger } from "../runtime/log/mod.ts";

/** The certificate and key the HTTPS listener uses, and the CA that signed them. */
export interface TlsMaterial {
  /** Server certificate (PEM). */
  certPem: string;
  /** Server private key (PEM); stays on the box. */
  keyPem: string;
  /** The CA certificate phones and browsers should trust (PEM). */
  caPem: string;
  /** Path of the CA certificate file. */
  caPath: string;
  /** Who made the CA: mkcert (developer machine) or openssl (the box's own CA). */
  issuer: "mkcert" | "openssl";
  /** Names and addresses in the server certificate's SAN, as requested. */
  hostnames: string[];
  /** Expiry of the server certificate, epoch ms. */
  notAfter: number;
}

/** Options of {@linkcode ensureCertificate}. */
export interface EnsureCertificateOptions {
  dataDir: string;
  /** DNS names and IP addresses the box is reached by; invalid ones are skipped with a warning. */
  hostnames: string[];
  log?: Logger | undefined;
  /** Epoch ms; injectable so tests can move close to expiry. */
  now?: (() => number) | undefined;
  /**
   * Paths of the tools, or null for "not installed". Default: looked up on PATH. Tests use this to
   * force the openssl path on machines that have mkcert.
   */
  tools?: { mkcert?: string | null; openssl?: string | null } | undefined;
}

const DAY = 86_400_000;
/** Server certificate lifetime: under the 825-day limit Apple and browsers accept for TLS. */
const SERVER_DAYS = 800;
const CA_DAYS = 3650;
const RENEW_BEFORE_MS = 30 * DAY;

/** Find `name` on PATH; null when absent. */
export function which(name: string, env: Record<string, string | undefined> = safeEnv()): string | null {
  for (const dir of (env.PATH ?? "/usr/local/bin:/usr/bin:/bin").split(":")) {
    if (dir === "") continue;
    const p = `${dir}/${name}`;
    try {
      const st = Deno.statSync(p);
      if (st.isFile && (st.mode === null || (st.mode & 0o111) !== 0)) return p;
    } catch {
      // not here
    }
  }
  return null;
}

function safeEnv(): Record<string, string | undefined> {
  try {
    return Deno.env.toObject();
  } catch {
    return {};
  }
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

function isIp(s: string): boolean {
  if (IPV4.test(s)) return true;
  if (!s.includes(":") || !/^[0-9a-f:.]+$/i.test(s)) return false;
  try {
    return new URL(`http://[${s}]/`).hostname !== "";
  } catch {
    return false;
  }
}

/**
 * The SAN entries for `hostnames`: trimmed, lower-cased, de-duplicated, sorted (so the stored list
 * compares equal across starts), with anything that is neither an IP nor a DNS name dropped.
 */
export function normalizeHostnames(hostnames: string[]): { valid: string[]; rejected: string[] } {
  const valid = new Set<string>();
  const rejected: string[] = [];
  for (const raw of hostnames) {
    const h = raw.trim().toLowerCase().replace(/^\[(.*)\]$/, "$1");
    if (h === "" || h === "0.0.0.0" || h === "::") continue;
    if (isIp(h) || DNS_NAME.test(h)) valid.add(h);
    else rejected.push(raw);
  }
  return { valid: [...valid].sort(), rejected };
}

/**
 * The names the box is reached by: the public address, the bind address when it is a specific
 * one, its IPv4 interface addresses when it listens on all of them, loopback, `localhost`, and
 * its host name (also as `<name>.local` for mDNS).
 */
export function boxHostnames(options: { publicAddress: string; bind: string }): string[] {
  const out = [options.publicAddress, "localhost", "127.0.0.1", "::1"];
  if (options.bind !== "0.0.0.0" && options.bind !== "::") out.push(options.bind);
  else {
    try {
      for (const ni of Deno.networkInterfaces()) if (ni.family === "IPv4") out.push(ni.address);
    } catch {
      // no permission to list interfaces: the public address has to do
    }
  }
  try {
    const h = Deno.hostname();
    if (h !== "" && h !== "localhost") out.push(h, `${h.split(".")[0]}.local`);
  } catch {
    // no --allow-sys=hostname
  }
  return out;
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<void> {
  const out = await new Deno.Command(cmd, { args, env, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" / ");
    throw new Error(`${cmd.split("/").pop()} ${args[0] ?? ""} failed (exit ${out.code}): ${err}`);
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** The note stored beside the server certificate. */
interface Meta {
  hostnames: string[];
}

/** mkcert names its CAs "mkcert development CA"; anything else here was made by openssl. */
function caMaker(caPem: string): "mkcert" | "openssl" {
  return /mkcert/i.test(new X509Certificate(caPem).subject) ? "mkcert" : "openssl";
}

/** Why the stored server certificate cannot be reused, or null when it can. */
function staleReason(
  stored: { cert: string | undefined; key: string | undefined; meta: Meta | undefined },
  ca: string,
  hostnames: string[],
  now: number,
): string | null {
  if (stored.cert === undefined || stored.key === undefined || stored.meta === undefined) return "none yet";
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(stored.cert);
  } catch {
    return "unreadable certificate";
  }
  if (JSON.stringify(stored.meta.hostnames) !== JSON.stringify(hostnames)) return "addresses changed";
  if (Date.parse(cert.validTo) - now < RENEW_BEFORE_MS) return "expires within 30 days";
  try {
    if (!cert.verify(new X509Certificate(ca).publicKey)) return "not signed by the current CA";
  } catch {
    return "not signed by the current CA";
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(stored.key))) return "key does not match";
  } catch {
    return "unreadable key";
  }
  return null;
}

function opensslConfig(hostnames: string[]): string {
  const alt = hostnames.map((h) => (isIp(h) ? `IP:${h}` : `DNS:${h}`)).join(",");
  // Our own config file, so the system openssl.cnf's defaults cannot add or clash with extensions.
  return [
    "[req]",
    "distinguished_name = dn",
    "prompt = no",
    "[dn]",
    "O = PBX appliance",
    "[ca_ext]",
    "basicConstraints = critical, CA:TRUE, pathlen:0",
    "keyUsage = critical, keyCertSign, cRLSign",
    "subjectKeyIdentifier = hash",
    "[server_ext]",
    "basicConstraints = critical, CA:FALSE",
    "keyUsage = critical, digitalSignature, keyEncipherment",
    "extendedKeyUsage = serverAuth",
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid, issuer",
    `subjectAltName = ${alt}`,
    "",
  ].join("\n");
}

function serial(): string {
  // Positive 64-bit random serial: RFC 5280 wants unique serials, and a remade certificate must not
  // reuse the old one (browsers remember).
  const b = crypto.getRandomValues(new Uint8Array(8));
  b[0] = b[0]! & 0x7f | 0x10;
  return `0x${[...b].map((x) => x.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * An RSA 2048 key with `openssl genrsa`, which prints no progress. `req -newkey` prints its dots
 * one write at a time, and `Deno.Command.output()` collecting them (~64 KiB per pipe read, by the
 * numbers) cost 25 MB of RSS for one key, 50-120 MB over a first start, kept by the process for good
 * (measured with tests/bench/idle_rss.ts).
 */
async function genrsa(openssl: string, out: string): Promise<void> {
  await run(openssl, ["genrsa", "-out", out, "2048"]);
}

/** Make the box's own CA with openssl. RSA 2048: older desk phones do not speak ECDSA. */
async function opensslCa(openssl: string, caDir: string, cfg: string, label: string): Promise<void> {
  await genrsa(openssl, `${caDir}/rootCA-key.pem`);
  await run(openssl, [
    "req",
    "-x509",
    "-new",
    "-key",
    `${caDir}/rootCA-key.pem`,
    "-sha256",
    "-config",
    cfg,
    "-extensions",
    "ca_ext",
    "-subj",
    `/O=PBX appliance/CN=PBX local CA ${label}`.slice(0, 64),
    "-days",
    String(CA_DAYS),
    "-set_serial",
    serial(),
    "-out",
    `${caDir}/rootCA.pem`,
  ]); // deno-fmt-ignore
}

async function opensslServer(
  openssl: string,
  tmp: string,
  caDir: string,
  hostnames: string[],
): Promise<void> {
  const cfg = `${tmp}/openssl.cnf`;
  await Deno.writeTextFile(cfg, opensslConfig(hostnames));
  await genrsa(openssl, `${tmp}/server.key`);
  await run(openssl, [
    "req",
    "-new",
    "-key",
    `${tmp}/server.key`,
    "-sha256",
    "-config",
    cfg,
    "-subj",
    `/O=PBX appliance/CN=${hostnames[0] ?? "localhost"}`,
    "-out",
    `${tmp}/server.csr`,
  ]); // deno-fmt-ignore
  await run(openssl, [
    "x509", "-req", "-sha256", "-in", `${tmp}/server.csr`,
    "-CA", `${caDir}/rootCA.pem`, "-CAkey", `${caDir}/rootCA-key.pem`, "-set_serial", serial(),
    "-days", String(SERVER_DAYS), "-extfile", cfg, "-extensions", "server_ext", "-out", `${tmp}/server.crt`,
  ]); // deno-fmt-ignore
}

async function mkcertServer(mkcert: string, tmp: string, caDir: string, hostnames: string[]): Promise<void> {
  // mkcert makes the CA in CAROOT on first use; -install is never run (no system trust store changes).
  await run(mkcert, ["-cert-file", `${tmp}/server.crt`, "-key-file", `${tmp}/server.key`, ...hostnames], {
    CAROOT: caDir,
  });
}

/**
 * Make sure `<dataDir>/tls/` holds a CA and a server certificate for `hostnames`; create or renew
 * what is missing, stale (names changed, under 30 days left, other CA) or unreadable. Resolves to
 * null, after one log line, when neither mkcert nor openssl is installed or making them failed:
 * the box then runs without HTTPS. Key files are 0600 in 0700 directories.
 */
export async function ensureCertificate(options: EnsureCertificateOptions): Promise<TlsMaterial | null> {
  const log = options.log;
  const now = (options.now ?? Date.now)();
  const { valid: hostnames, rejected } = normalizeHostnames(options.hostnames);
  if (rejected.length > 0) {
    log?.warn("names left out of the TLS certificate", { rejected: rejected.join(",") });
  }
  if (hostnames.length === 0) hostnames.push("localhost");
  const dir = `${options.dataDir}/tls`;
  const caDir = `${dir}/ca`;
  const caPath = `${caDir}/rootCA.pem`;
  const metaPath = `${dir}/server.json`;
  await Deno.mkdir(caDir, { recursive: true, mode: 0o700 });
  await Deno.chmod(dir, 0o700);
  await Deno.chmod(caDir, 0o700);

  let meta: Meta | undefined;
  try {
    const m = JSON.parse(await readIfExists(metaPath) ?? "null") as Partial<Meta> | null;
    if (m && Array.isArray(m.hostnames)) meta = { hostnames: m.hostnames.map(String) };
  } catch {
    // a broken note only means the certificate is remade
  }
  let ca = await readIfExists(caPath);
  const stored = {
    cert: await readIfExists(`${dir}/server.crt`),
    key: await readIfExists(`${dir}/server.key`),
    meta,
  };
  const reason = ca === undefined ? "none yet" : staleReason(stored, ca, hostnames, now);
  if (reason === null && ca !== undefined) return material(stored.cert!, stored.key!, ca, caPath, hostnames);

  const tools = options.tools ?? {};
  const mkcert = tools.mkcert !== undefined ? tools.mkcert : which("mkcert");
  const openssl = tools.openssl !== undefined ? tools.openssl : which("openssl");
  let caUsable = false;
  try {
    caUsable = ca !== undefined && await readIfExists(`${caDir}/rootCA-key.pem`) !== undefined &&
      new X509Certificate(ca).ca;
  } catch {
    // unreadable CA: made anew below
  }
  // An existing CA is kept whoever made it (phones already trust it): either tool can sign with it.
  // Without one, mkcert wins: on a developer machine its CA may already be in the browser.
  const tool: "mkcert" | "openssl" | null = caUsable && caMaker(ca!) === "openssl"
    ? (openssl ? "openssl" : mkcert ? "mkcert" : null)
    : mkcert
    ? "mkcert"
    : openssl
    ? "openssl"
    : null;
  if (tool === null) {
    log?.warn("HTTPS is off: neither mkcert nor openssl is installed (Debian: apt install openssl)");
    return null;
  }
  const tmp = await Deno.makeTempDir({ dir, prefix: ".new-" });
  try {
    if (!caUsable) {
      // A half CA (certificate without key) would stop mkcert; neither file is worth keeping.
      for (const f of [caPath, `${caDir}/rootCA-key.pem`]) await Deno.remove(f).catch(() => {});
      if (tool === "openssl") {
        const cfg = `${tmp}/ca.cnf`;
        await Deno.writeTextFile(cfg, opensslConfig(hostnames));
        await opensslCa(openssl!, caDir, cfg, hostnames.find((h) => !isIp(h) && h !== "localhost") ?? "box");
      }
      // mkcert makes its CA itself in CAROOT below.
    }
    if (tool === "openssl") await opensslServer(openssl!, tmp, caDir, hostnames);
    else await mkcertServer(mkcert!, tmp, caDir, hostnames);
    ca = await Deno.readTextFile(caPath);
    const cert = await Deno.readTextFile(`${tmp}/server.crt`);
    const key = await Deno.readTextFile(`${tmp}/server.key`);
    for (const k of [`${tmp}/server.key`, `${caDir}/rootCA-key.pem`]) await Deno.chmod(k, 0o600);
    // Key first, certificate, then the note: a crash in between leaves a pair that fails the check.
    await Deno.rename(`${tmp}/server.key`, `${dir}/server.key`);
    await Deno.rename(`${tmp}/server.crt`, `${dir}/server.crt`);
    await Deno.writeTextFile(metaPath, JSON.stringify({ hostnames }, null, 2) + "\n");
    const m = material(cert, key, ca, caPath, hostnames);
    log?.info("TLS certificate made", {
      reason,
      tool,
      ca: caUsable ? "kept" : "new",
      names: hostnames.join(","),
      until: new Date(m.notAfter).toISOString().slice(0, 10),
    });
    return m;
  } catch (e) {
    log?.error("HTTPS is off: making the TLS certificate failed", { error: e as Error });
    return null;
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

function material(
  certPem: string,
  keyPem: string,
  caPem: string,
  caPath: string,
  hostnames: string[],
): TlsMaterial {
  const notAfter = Date.parse(new X509Certificate(certPem).validTo);
  return { certPem, keyPem, caPem, caPath, issuer: caMaker(caPem), hostnames, notAfter };
}

/** The DER bytes of the first certificate in a PEM text. */
export function pemToDer(pem: string): Uint8Array<ArrayBuffer> {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new SyntaxError("no PEM certificate found");
  const b64 = m[1]!.replace(/\s+/g, "");
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * `GET /prov/ca.crt` (PEM) and `GET /prov/ca.der` (DER): the box's CA certificate for phones and
 * browsers. Without TLS material both answer 404. Mount before the `/prov/*` file routes.
 */
export function caRoutes(tls: () => TlsMaterial | null): Hono {
  const app = new Hono();
  const headers = (name: string) => ({
    "Content-Type": "application/x-x509-ca-cert",
    "Content-Disposition": `attachment; filename="${name}"`,
    "Cache-Control": "no-cache",
  });
  app.get("/prov/ca.crt", (c) => {
    const t = tls();
    if (t === null) return c.text("HTTPS is off: this box has no certificate authority", 404);
    return c.body(t.caPem, 200, headers("pbx-ca.crt"));
  });
  app.get("/prov/ca.der", (c) => {
    const t = tls();
    if (t === null) return c.text("HTTPS is off: this box has no certificate authority", 404);
    return c.body(pemToDer(t.caPem), 200, headers("pbx-ca.der"));
  });
  return app;
}
