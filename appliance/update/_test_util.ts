/** Test helpers for appliance/update: a tiny app tree, signing keys, hand-crafted bundles. */
import { base64Encode, type Manifest } from "./_bundle.ts";
import {
  buildBundle,
  generateSigningKey,
  importSigningKey,
  type OuterMember,
  signBytes,
  writeOuterTar,
} from "./make_bundle.ts";
import { concatBytes, TAR_END, tarHeader, tarPadding } from "./_ustar.ts";

/** A temp workspace with a small app source tree, a trusted key and an untrusted one. */
export interface Workspace {
  dir: string;
  src: string;
  keysDir: string;
  key: string;
  otherKey: string;
  [Symbol.dispose](): void;
}

/** A long path (over ustar's 100 bytes) the tree carries to exercise pax names. */
export const LONG_PATH = `runtime/${"deeply-nested-folder/".repeat(6)}a_file_with_a_long_name.ts`;

/** Make the workspace; the source tree is a plain folder (not git), version `version`. */
export async function workspace(version = "0.2.0"): Promise<Workspace> {
  const dir = Deno.makeTempDirSync({ prefix: "pbx-update-test-" });
  const src = `${dir}/src`;
  Deno.mkdirSync(`${src}/appliance`, { recursive: true });
  Deno.writeTextFileSync(`${src}/mod.ts`, "console.log('pbx');\n");
  Deno.writeTextFileSync(`${src}/deno.json`, JSON.stringify({ name: "@pbx/appliance", version }, null, 2));
  Deno.writeTextFileSync(`${src}/appliance/tool.sh`, "#!/bin/sh\necho hi\n");
  Deno.chmodSync(`${src}/appliance/tool.sh`, 0o755);
  Deno.mkdirSync(`${src}/tests`);
  Deno.writeTextFileSync(`${src}/tests/skip_me.ts`, "// not shipped\n");
  Deno.mkdirSync(`${src}/os-image`);
  Deno.writeTextFileSync(`${src}/os-image/skip_me.txt`, "not shipped\n");
  const long = `${src}/${LONG_PATH}`;
  Deno.mkdirSync(long.slice(0, long.lastIndexOf("/")), { recursive: true });
  Deno.writeTextFileSync(long, "export const x = 1;\n");
  const keysDir = `${dir}/keys`;
  Deno.mkdirSync(keysDir);
  const trusted = await generateSigningKey(`${dir}/release`);
  Deno.copyFileSync(trusted.pubPath, `${keysDir}/release.pub`);
  const other = await generateSigningKey(`${dir}/other`);
  return {
    dir,
    src,
    keysDir,
    key: trusted.keyPath,
    otherKey: other.keyPath,
    [Symbol.dispose]() {
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

/** Build a real bundle from the workspace's tree (no deno cache: fast and offline). */
export async function bundle(
  ws: Workspace,
  name: string,
  options: { version?: string; key?: string; arch?: "any" | "x86_64" | "aarch64" } = {},
): Promise<string> {
  const out = `${ws.dir}/${name}`;
  await buildBundle({
    src: ws.src,
    key: options.key ?? ws.key,
    out,
    cache: false,
    ...(options.version === undefined ? {} : { version: options.version }),
    ...(options.arch === undefined ? {} : { arch: options.arch }),
  });
  return out;
}

/** Read the members of a bundle built by `bundle` (small test files only). */
export async function members(path: string): Promise<Map<string, Uint8Array>> {
  const { readTar } = await import("./_ustar.ts");
  const out = new Map<string, Uint8Array>();
  const file = await Deno.open(path);
  for await (const e of readTar(file.readable)) {
    const parts: Uint8Array[] = [];
    for await (const c of e.body) parts.push(c.slice());
    out.set(e.name, concatBytes(parts));
  }
  return out;
}

/** Sign `manifest` (as given, possibly wrong on purpose) with `keyPath` and write a bundle. */
export async function craft(
  out: string,
  options: {
    manifest: Manifest | Record<string, unknown>;
    key: string;
    payload: Uint8Array;
    extra?: OuterMember[];
  },
): Promise<string> {
  const manifestBytes = new TextEncoder().encode(JSON.stringify(options.manifest));
  const key = await importSigningKey(Deno.readTextFileSync(options.key));
  const sig = await signBytes(manifestBytes, key);
  await writeOuterTar(out, [
    { name: "manifest.json", bytes: manifestBytes },
    { name: "manifest.sig", bytes: new TextEncoder().encode(sig) },
    { name: "payload.tar.gz", bytes: options.payload },
    ...(options.extra ?? []),
  ]);
  return out;
}

/** sha256 hex of bytes. */
export async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) =>
    b.toString(16).padStart(2, "0")
  )
    .join("");
}

/** A raw entry for a hand-made tar (any type flag, any name). */
export interface RawEntry {
  name: string;
  flag: string;
  body?: string;
  linkName?: string;
  mode?: number;
}

/** A gzip'd tar of raw entries, for payloads the writer would never make (links, `..`, devices). */
export async function rawTarGz(entries: RawEntry[]): Promise<Uint8Array<ArrayBuffer>> {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const body = new TextEncoder().encode(e.body ?? "");
    const h = tarHeader({ name: e.name, type: "file", size: body.length, mode: e.mode ?? 0o644 });
    // Patch the type flag and link name, then redo the checksum.
    const header = h.subarray(h.length - 512);
    header[156] = e.flag.charCodeAt(0);
    header.fill(0, 157, 257);
    header.set(new TextEncoder().encode(e.linkName ?? ""), 157);
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of header) sum += b;
    header.set(new TextEncoder().encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
    parts.push(h, body, tarPadding(body.length));
  }
  parts.push(TAR_END);
  const gz = new Blob([concatBytes(parts)]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(gz).arrayBuffer());
}

/** A valid manifest for `payload`. */
export async function manifestFor(payload: Uint8Array<ArrayBuffer>, patch: Record<string, unknown> = {}) {
  return {
    format: 1,
    product: "pbx-appliance",
    version: "0.3.0",
    arch: "any",
    created: 1,
    payload: { name: "payload.tar.gz", size: payload.length, sha256: await sha256(payload) },
    ...patch,
  };
}

export { base64Encode };
