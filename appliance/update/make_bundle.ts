/**
 * Build and sign firmware bundles (`.pbxfw`), make signing keys, or write a slot tree directly.
 *
 *   deno run -A appliance/update/make_bundle.ts --genkey PREFIX
 *   deno run -A appliance/update/make_bundle.ts --key PREFIX.key --out pbx-0.3.0.pbxfw
 *       [--version 0.3.0] [--src DIR] [--deno-binary PATH] [--arch any|x86_64|aarch64] [--no-cache]
 *   deno run -A appliance/update/make_bundle.ts --slot-dir DIR [--version V] [--src DIR]
 *       [--deno-binary PATH] [--no-cache]
 *
 * @module
 */
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { base64Encode, type BundleArch, FORMAT, type Manifest, PAYLOAD_NAME, PRODUCT } from "./_bundle.ts";
import { TAR_END, tarHeader, tarPadding } from "./_ustar.ts";

/** Top-level folders never shipped in a slot. */
const SKIP_TOP = new Set(["tests", "os-image", ".git", ".deno", ".deno_dir", "node_modules", "data", "bin"]);

/** The repository root this file lives in (the default `--src`). */
export const REPO_ROOT: string = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

/** Make an Ed25519 signing key pair: `PREFIX.key` (PKCS8 PEM, mode 0600) and `PREFIX.pub` (base64 raw). */
export async function generateSigningKey(prefix: string): Promise<{ keyPath: string; pubPath: string }> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const b64 = base64Encode(pkcs8).replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  const keyPath = `${prefix}.key`;
  const pubPath = `${prefix}.pub`;
  Deno.writeTextFileSync(keyPath, `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`, {
    mode: 0o600,
    createNew: true,
  });
  Deno.chmodSync(keyPath, 0o600);
  Deno.writeTextFileSync(pubPath, `${base64Encode(raw)}\n`, { mode: 0o644 });
  return { keyPath, pubPath };
}

/** Import a PKCS8 PEM Ed25519 private key; throws SyntaxError naming `what` when it is not one. */
export async function importSigningKey(pem: string, what = "signing key"): Promise<CryptoKey> {
  const m = /-----BEGIN PRIVATE KEY-----([\s\S]*?)-----END PRIVATE KEY-----/.exec(pem);
  if (!m) throw new SyntaxError(`${what} is not a PKCS8 PEM (-----BEGIN PRIVATE KEY-----)`);
  const bin = atob(m[1]!.replace(/\s+/g, ""));
  const der = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  try {
    return await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
  } catch (e) {
    throw new SyntaxError(`${what} is not an Ed25519 private key: ${(e as Error).message}`);
  }
}

/** Base64 Ed25519 signature over `bytes` (the manifest.sig content). */
export async function signBytes(bytes: Uint8Array<ArrayBuffer>, key: CryptoKey): Promise<string> {
  return base64Encode(new Uint8Array(await crypto.subtle.sign("Ed25519", key, bytes)));
}

function isSkipped(rel: string): boolean {
  return SKIP_TOP.has(rel.split("/")[0]!);
}

/**
 * The files that make up the app under `src`, relative and sorted: what git lists (tracked plus
 * untracked, not ignored) or, outside a git tree, a plain walk; tests/, os-image/ and local
 * state (.git, .deno, node_modules, data) are left out.
 */
export async function listSourceFiles(src: string): Promise<string[]> {
  let files: string[] | undefined;
  try {
    const out = await new Deno.Command("git", {
      args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
      cwd: src,
      stdout: "piped",
      stderr: "null",
    }).output();
    if (out.success) files = new TextDecoder().decode(out.stdout).split("\0").filter((f) => f !== "");
  } catch { /* no git: walk */ }
  if (files === undefined) {
    files = [];
    const walk = (dir: string, rel: string) => {
      for (const e of Deno.readDirSync(dir)) {
        const r = rel === "" ? e.name : `${rel}/${e.name}`;
        if (isSkipped(r)) continue;
        if (e.isDirectory) walk(`${dir}/${e.name}`, r);
        else if (e.isFile) files!.push(r);
      }
    };
    walk(src, "");
  }
  const present = files.filter((f) => {
    if (isSkipped(f)) return false;
    try {
      return Deno.statSync(`${src}/${f}`).isFile; // deleted in the work tree, or a directory (submodule)
    } catch {
      return false;
    }
  });
  return [...new Set(present)].sort();
}

/** Options for `writeSlotTree` and `buildBundle`. */
export interface SlotTreeOptions {
  /** Repository to take the app from (default: this repository). */
  src?: string;
  /** Written into deno.json's `version` (default: keep it). */
  version?: string;
  /** A Deno binary to ship as `bin/deno` (it then wins over the image's). */
  denoBinary?: string;
  /** Fill `.deno_dir` with `deno cache mod.ts` (default true). */
  cache?: boolean;
  /** The Deno that runs `deno cache` (default: the one running this). */
  deno?: string;
}

/**
 * Write an app slot tree into `dir` (created; must not exist or be empty): the source files,
 * deno.json with the version replaced, `.deno_dir` from `deno cache mod.ts`, optional `bin/deno`.
 * The image build installs slot a with this; bundles carry the same tree. Returns the version.
 */
export async function writeSlotTree(
  dir: string,
  options: SlotTreeOptions = {},
): Promise<{ version: string }> {
  const src = options.src ?? REPO_ROOT;
  await Deno.mkdir(dir, { recursive: true });
  for (const rel of await listSourceFiles(src)) {
    const slash = rel.lastIndexOf("/");
    if (slash > 0) await Deno.mkdir(`${dir}/${rel.slice(0, slash)}`, { recursive: true });
    await Deno.copyFile(`${src}/${rel}`, `${dir}/${rel}`);
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await Deno.readTextFile(`${dir}/deno.json`));
  } catch (e) {
    throw new SyntaxError(`${src}/deno.json is missing or not JSON: ${(e as Error).message}`);
  }
  if (options.version !== undefined) {
    if (!/^[0-9]{1,6}(\.[0-9]{1,6}){0,3}([-+][0-9A-Za-z.-]{1,64})?$/.test(options.version)) {
      throw new RangeError(`--version ${JSON.stringify(options.version)} is not a version like 0.3.0`);
    }
    json.version = options.version;
    await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify(json, null, 2) + "\n");
  }
  if (typeof json.version !== "string") throw new RangeError(`${src}/deno.json has no version`);
  if (options.denoBinary !== undefined) {
    await Deno.mkdir(`${dir}/bin`, { recursive: true });
    await Deno.copyFile(options.denoBinary, `${dir}/bin/deno`);
    await Deno.chmod(`${dir}/bin/deno`, 0o755);
  }
  if (options.cache !== false) {
    const out = await new Deno.Command(options.deno ?? Deno.execPath(), {
      args: ["cache", "mod.ts"],
      cwd: dir,
      env: { DENO_DIR: `${dir}/.deno_dir`, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `deno cache mod.ts failed in ${dir}: ${new TextDecoder().decode(out.stderr).slice(-2000)}`,
      );
    }
  }
  return { version: json.version };
}

/** Every file and directory under `dir`, relative, sorted (directories before their contents). */
function walkTree(dir: string): { rel: string; isDir: boolean }[] {
  const out: { rel: string; isDir: boolean }[] = [];
  const walk = (abs: string, rel: string) => {
    const entries = [...Deno.readDirSync(abs)].sort((
      a,
      b,
    ) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      const st = Deno.statSync(`${abs}/${e.name}`); // follows links: the slot gets the content
      if (st.isDirectory) {
        out.push({ rel: r, isDir: true });
        walk(`${abs}/${e.name}`, r);
      } else if (st.isFile) out.push({ rel: r, isDir: false });
    }
  };
  walk(dir, "");
  return out;
}

/**
 * Pack `dir` as a gzip'd tar at `outPath` (streaming), keeping the executable bit.
 * Returns the payload's size and SHA-256 (hex).
 */
export async function writePayload(dir: string, outPath: string): Promise<{ size: number; sha256: string }> {
  const gzip = new CompressionStream("gzip");
  const out = await Deno.open(outPath, { write: true, create: true, truncate: true, mode: 0o644 });
  const hash = createHash("sha256");
  let size = 0;
  try {
    const pump = gzip.readable.pipeTo(
      new WritableStream({
        async write(chunk) {
          hash.update(chunk);
          size += chunk.length;
          let off = 0;
          while (off < chunk.length) off += await out.write(chunk.subarray(off));
        },
      }),
    );
    const w = gzip.writable.getWriter();
    for (const e of walkTree(dir)) {
      if (e.isDir) {
        await w.write(tarHeader({ name: e.rel, type: "directory" }));
        continue;
      }
      const path = `${dir}/${e.rel}`;
      const st = await Deno.stat(path);
      const mode = ((st.mode ?? 0o644) & 0o111) !== 0 ? 0o755 : 0o644;
      await w.write(tarHeader({ name: e.rel, type: "file", size: st.size, mode }));
      await copyExactly(path, st.size, (chunk) => w.write(chunk));
      await w.write(tarPadding(st.size));
    }
    await w.write(TAR_END);
    await w.close();
    await pump;
    await out.sync();
  } finally {
    out.close();
  }
  return { size, sha256: hash.digest("hex") };
}

/** Feed exactly `size` bytes of `path` to `write` (a file that changed size mid-build is an error). */
async function copyExactly(
  path: string,
  size: number,
  write: (chunk: Uint8Array<ArrayBuffer>) => Promise<void>,
): Promise<void> {
  const file = await Deno.open(path, { read: true });
  try {
    let left = size;
    const buf = new Uint8Array(256 * 1024);
    while (left > 0) {
      const n = await file.read(buf.subarray(0, Math.min(left, buf.length)));
      if (n === null) throw new RangeError(`${path} shrank while it was packed`);
      await write(buf.slice(0, n));
      left -= n;
    }
  } finally {
    file.close();
  }
}

/** One member of the outer archive: bytes in memory, or a file streamed from disk. */
export type OuterMember = { name: string; bytes: Uint8Array } | { name: string; path: string };

/** Write an uncompressed ustar of `members` to `outPath` (temp file, then rename). */
export async function writeOuterTar(outPath: string, members: OuterMember[]): Promise<void> {
  const tmp = `${outPath}.tmp-${crypto.randomUUID()}`;
  const out = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
  const writeAll = async (bytes: Uint8Array) => {
    let off = 0;
    while (off < bytes.length) off += await out.write(bytes.subarray(off));
  };
  try {
    for (const m of members) {
      const size = "bytes" in m ? m.bytes.length : (await Deno.stat(m.path)).size;
      await writeAll(tarHeader({ name: m.name, type: "file", size, mode: 0o644 }));
      if ("bytes" in m) await writeAll(m.bytes);
      else await copyExactly(m.path, size, writeAll);
      await writeAll(tarPadding(size));
    }
    await writeAll(TAR_END);
    await out.sync();
  } catch (e) {
    out.close();
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  out.close();
  await Deno.rename(tmp, outPath);
}

/** Options for `buildBundle`. */
export interface BuildOptions extends SlotTreeOptions {
  /** Path of the PKCS8 PEM signing key. */
  key: string;
  /** Where to write the bundle. */
  out: string;
  /** Architecture the bundle claims (default `any`; use the box's when shipping bin/deno). */
  arch?: BundleArch;
  /** Epoch ms for `created` (default now). */
  created?: number;
}

/** Build a signed bundle: slot tree -> payload.tar.gz -> manifest -> signature -> outer ustar. */
export async function buildBundle(options: BuildOptions): Promise<Manifest> {
  const key = await importSigningKey(await Deno.readTextFile(options.key), options.key);
  const work = await Deno.makeTempDir({ prefix: "pbx-bundle-" });
  try {
    const slot = `${work}/slot`;
    const { version } = await writeSlotTree(slot, options);
    const payloadPath = `${work}/${PAYLOAD_NAME}`;
    const payload = await writePayload(slot, payloadPath);
    const manifest: Manifest = {
      format: FORMAT,
      product: PRODUCT,
      version,
      arch: options.arch ?? "any",
      created: options.created ?? Date.now(),
      payload: { name: PAYLOAD_NAME, size: payload.size, sha256: payload.sha256 },
    };
    const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n");
    const sig = await signBytes(manifestBytes, key);
    await writeOuterTar(options.out, [
      { name: "manifest.json", bytes: manifestBytes },
      { name: "manifest.sig", bytes: new TextEncoder().encode(sig + "\n") },
      { name: PAYLOAD_NAME, path: payloadPath },
    ]);
    return manifest;
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

const USAGE = `usage:
  make_bundle.ts --genkey PREFIX
  make_bundle.ts --key K.key --out F.pbxfw [--version V] [--src DIR] [--deno-binary PATH] [--arch any|x86_64|aarch64] [--no-cache]
  make_bundle.ts --slot-dir DIR [--version V] [--src DIR] [--deno-binary PATH] [--no-cache]`;

/** Parse the command line; throws RangeError naming a bad flag. */
export function parseArgs(args: string[]): Record<string, string | true> {
  const valued = new Set([
    "--genkey",
    "--key",
    "--out",
    "--version",
    "--src",
    "--deno-binary",
    "--arch",
    "--slot-dir",
  ]);
  const out: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--no-cache" || a === "--help" || a === "-h") out[a] = true;
    else if (valued.has(a)) {
      const v = args[++i];
      if (v === undefined) throw new RangeError(`${a} needs a value`);
      out[a] = v;
    } else throw new RangeError(`unknown argument ${JSON.stringify(a)}`);
  }
  return out;
}

/** The CLI. Returns the exit code. */
export async function cli(args: string[]): Promise<number> {
  let f: Record<string, string | true>;
  try {
    f = parseArgs(args);
  } catch (e) {
    console.error(`make_bundle: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const str = (k: string) => (typeof f[k] === "string" ? f[k] as string : undefined);
  const common: SlotTreeOptions = {
    ...(str("--src") !== undefined ? { src: str("--src")! } : {}),
    ...(str("--version") !== undefined ? { version: str("--version")! } : {}),
    ...(str("--deno-binary") !== undefined ? { denoBinary: str("--deno-binary")! } : {}),
    ...(f["--no-cache"] ? { cache: false } : {}),
  };
  try {
    if (f["--help"] || f["-h"]) {
      console.log(USAGE);
    } else if (str("--genkey") !== undefined) {
      const { keyPath, pubPath } = await generateSigningKey(str("--genkey")!);
      console.log(
        `wrote ${keyPath} (private, keep it off the box) and ${pubPath} (install in the box's update-keys dir)`,
      );
    } else if (str("--slot-dir") !== undefined) {
      const { version } = await writeSlotTree(str("--slot-dir")!, common);
      console.log(`wrote slot tree ${str("--slot-dir")} (version ${version})`);
    } else if (str("--key") !== undefined && str("--out") !== undefined) {
      const arch = str("--arch") ?? "any";
      if (arch !== "any" && arch !== "x86_64" && arch !== "aarch64") {
        throw new RangeError(`--arch must be any, x86_64 or aarch64, got ${JSON.stringify(arch)}`);
      }
      const m = await buildBundle({ ...common, key: str("--key")!, out: str("--out")!, arch });
      console.log(
        `wrote ${str("--out")}: version ${m.version}, arch ${m.arch}, payload ${m.payload.size} bytes`,
      );
    } else {
      console.error(USAGE);
      return 2;
    }
  } catch (e) {
    console.error(`make_bundle: ${(e as Error).message}`);
    return 1;
  }
  return 0;
}

if (import.meta.main) Deno.exit(await cli(Deno.args));
