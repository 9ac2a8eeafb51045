/**
 * Firmware bundles (`.pbxfw`): an uncompressed ustar with exactly manifest.json, manifest.sig and
 * payload.tar.gz. Reading checks the Ed25519 signature over the manifest bytes against trusted
 * keys, the product, format and architecture, and the payload's size and SHA-256 — streaming, so a
 * 100 MB bundle never sits in memory.
 */
import { createHash } from "node:crypto";
import { concatBytes, readTar } from "./_ustar.ts";

/** The product name every bundle for this appliance carries. */
export const PRODUCT = "pbx-appliance";
/** Bundle format version this code reads and writes. */
export const FORMAT = 1;
/** Name of the payload member. */
export const PAYLOAD_NAME = "payload.tar.gz";

/** Architectures a bundle can name; `any` runs everywhere (the payload is TypeScript). */
export type BundleArch = "any" | "x86_64" | "aarch64";

/** manifest.json of a bundle. */
export interface Manifest {
  format: 1;
  product: string;
  version: string;
  arch: BundleArch;
  /** Epoch ms when the bundle was built. */
  created: number;
  payload: { name: string; size: number; sha256: string };
}

/** A trusted public key and the file it came from. */
export interface TrustedKey {
  /** The file name (e.g. `release-2025.pub`), reported as the signer. */
  id: string;
  key: CryptoKey;
}

/** What a verified bundle holds; `payloadOffset`/`payloadSize` locate the payload in the file. */
export interface VerifiedBundle {
  manifest: Manifest;
  /** Id of the key that signed it. */
  signer: string;
  payloadOffset: number;
  payloadSize: number;
}

const MAX_MANIFEST_BYTES = 64 * 1024;
const MAX_SIG_BYTES = 1024;
const VERSION_RE = /^[0-9]{1,6}(\.[0-9]{1,6}){0,3}([-+][0-9A-Za-z.-]{1,64})?$/;

function base64Decode(text: string, what: string): Uint8Array<ArrayBuffer> {
  const clean = text.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(clean)) throw new SyntaxError(`${what} is not base64`);
  const bin = atob(clean);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Base64 of bytes (for signatures and raw keys). */
export function base64Encode(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * Import one public key file's text: base64 of the raw 32-byte Ed25519 key, or PEM SPKI
 * (`-----BEGIN PUBLIC KEY-----`). Throws SyntaxError/RangeError naming `id` when it is neither.
 */
export async function importPublicKey(text: string, id: string): Promise<CryptoKey> {
  const pem = /-----BEGIN PUBLIC KEY-----([\s\S]*?)-----END PUBLIC KEY-----/.exec(text);
  try {
    if (pem) {
      return await crypto.subtle.importKey(
        "spki",
        base64Decode(pem[1]!, `key ${id}`),
        { name: "Ed25519" },
        false,
        [
          "verify",
        ],
      );
    }
    const raw = base64Decode(text, `key ${id}`);
    if (raw.length !== 32) {
      throw new RangeError(`key ${id} must be 32 raw bytes of an Ed25519 public key, got ${raw.length}`);
    }
    return await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
  } catch (e) {
    if (e instanceof RangeError || e instanceof SyntaxError) throw e;
    throw new SyntaxError(`key ${id} is not an Ed25519 public key: ${(e as Error).message}`);
  }
}

/**
 * Load every `*.pub` in `dir`. A missing directory gives no keys; an unreadable key file is skipped
 * and reported through `onBadKey` so one bad file does not lock out updates signed by the others.
 */
export async function loadTrustedKeys(
  dir: string,
  options: { onBadKey?: (id: string, error: Error) => void } = {},
): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!e.isFile || !e.name.endsWith(".pub")) continue;
    try {
      keys.push({
        id: e.name,
        key: await importPublicKey(Deno.readTextFileSync(`${dir}/${e.name}`), e.name),
      });
    } catch (err) {
      options.onBadKey?.(e.name, err as Error);
    }
  }
  return keys;
}

/** Check the manifest's shape; throws SyntaxError/RangeError naming the bad field. */
export function parseManifest(bytes: Uint8Array): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new SyntaxError(`manifest.json is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof m !== "object" || m === null || Array.isArray(m)) {
    throw new SyntaxError("manifest.json is not an object");
  }
  const o = m as Record<string, unknown>;
  if (o.format !== FORMAT) {
    throw new RangeError(`manifest format ${JSON.stringify(o.format)} is not supported (want 1)`);
  }
  if (typeof o.product !== "string") throw new RangeError("manifest product is missing");
  if (typeof o.version !== "string" || !VERSION_RE.test(o.version)) {
    throw new RangeError(`manifest version ${JSON.stringify(o.version)} is not a version like 0.3.0`);
  }
  if (o.arch !== "any" && o.arch !== "x86_64" && o.arch !== "aarch64") {
    throw new RangeError(`manifest arch ${JSON.stringify(o.arch)} must be any, x86_64 or aarch64`);
  }
  if (typeof o.created !== "number" || !Number.isFinite(o.created)) {
    throw new RangeError("manifest created is missing");
  }
  const p = o.payload as Record<string, unknown> | null | undefined;
  if (typeof p !== "object" || p === null) throw new RangeError("manifest payload is missing");
  if (p.name !== PAYLOAD_NAME) {
    throw new RangeError(`manifest payload name ${JSON.stringify(p.name)} is not ${PAYLOAD_NAME}`);
  }
  if (typeof p.size !== "number" || !Number.isSafeInteger(p.size) || p.size < 0) {
    throw new RangeError(`manifest payload size ${JSON.stringify(p.size)} is not a byte count`);
  }
  if (typeof p.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(p.sha256)) {
    throw new RangeError(
      `manifest payload sha256 ${JSON.stringify(p.sha256)} is not 64 lowercase hex digits`,
    );
  }
  return {
    format: FORMAT,
    product: o.product,
    version: o.version,
    arch: o.arch,
    created: o.created,
    payload: { name: p.name, size: p.size, sha256: p.sha256 },
  };
}

/** `Deno.build.arch` as a bundle arch. */
export function hostArch(): BundleArch {
  return Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";
}

async function collect(
  body: AsyncIterable<Uint8Array>,
  max: number,
  what: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) throw new RangeError(`${what} is larger than ${max} bytes`);
    parts.push(chunk.slice());
  }
  return concatBytes(parts);
}

/**
 * Read and verify the bundle at `path`. Throws SyntaxError (malformed, truncated) or RangeError
 * (unexpected member, bad or unknown signature, wrong product/arch, payload size or hash mismatch)
 * with a message saying what is wrong. The payload is only hashed here, never unpacked.
 */
export async function verifyBundle(
  path: string,
  options: { keys: TrustedKey[]; arch?: BundleArch; product?: string },
): Promise<VerifiedBundle> {
  const file = await Deno.open(path, { read: true });
  let manifestBytes: Uint8Array<ArrayBuffer> | undefined;
  let sigText: string | undefined;
  let payload: { offset: number; size: number; sha256: string } | undefined;
  // file.readable closes the file when the stream ends or is cancelled (readTar cancels in finally).
  for await (const entry of readTar(file.readable)) {
    if (entry.type !== "file" || entry.flag === "7") {
      throw new RangeError(
        `bundle member ${JSON.stringify(entry.name)} is not a regular file (type ${entry.type})`,
      );
    }
    if (entry.name === "manifest.json" && manifestBytes === undefined) {
      manifestBytes = await collect(entry.body, MAX_MANIFEST_BYTES, "manifest.json");
    } else if (entry.name === "manifest.sig" && sigText === undefined) {
      sigText = new TextDecoder().decode(await collect(entry.body, MAX_SIG_BYTES, "manifest.sig"));
    } else if (entry.name === PAYLOAD_NAME && payload === undefined) {
      const hash = createHash("sha256");
      for await (const chunk of entry.body) hash.update(chunk);
      payload = { offset: entry.offset, size: entry.size, sha256: hash.digest("hex") };
    } else {
      throw new RangeError(
        `bundle holds an unexpected member ${
          JSON.stringify(entry.name.slice(0, 100))
        }: only manifest.json, ` +
          `manifest.sig and ${PAYLOAD_NAME} are allowed, once each`,
      );
    }
  }
  const missing = [
    manifestBytes === undefined ? "manifest.json" : "",
    sigText === undefined ? "manifest.sig" : "",
    payload === undefined ? PAYLOAD_NAME : "",
  ].filter((n) => n !== "");
  if (missing.length > 0) throw new RangeError(`bundle is missing ${missing.join(", ")}`);
  if (options.keys.length === 0) {
    throw new RangeError("no trusted update keys are installed (PBX_UPDATE_KEYS_DIR holds no usable *.pub)");
  }
  const sig = base64Decode(sigText!, "manifest.sig");
  if (sig.length !== 64) {
    throw new RangeError(`manifest.sig must be a 64-byte Ed25519 signature, got ${sig.length}`);
  }
  let signer: string | undefined;
  for (const k of options.keys) {
    if (await crypto.subtle.verify("Ed25519", k.key, sig, manifestBytes!)) {
      signer = k.id;
      break;
    }
  }
  if (signer === undefined) {
    throw new RangeError(
      `bad signature: manifest.sig does not verify with any trusted key (${
        options.keys.map((k) => k.id).join(", ")
      })`,
    );
  }
  const manifest = parseManifest(manifestBytes!);
  const product = options.product ?? PRODUCT;
  if (manifest.product !== product) {
    throw new RangeError(`bundle is for product ${JSON.stringify(manifest.product)}, not ${product}`);
  }
  const arch = options.arch ?? hostArch();
  if (manifest.arch !== "any" && manifest.arch !== arch) {
    throw new RangeError(`bundle is built for ${manifest.arch}; this box is ${arch}`);
  }
  if (payload!.size !== manifest.payload.size) {
    throw new RangeError(`payload is ${payload!.size} bytes; the manifest says ${manifest.payload.size}`);
  }
  if (payload!.sha256 !== manifest.payload.sha256) {
    throw new RangeError(
      `payload SHA-256 ${payload!.sha256} does not match the manifest's ${manifest.payload.sha256}`,
    );
  }
  return { manifest, signer, payloadOffset: payload!.offset, payloadSize: payload!.size };
}

/**
 * Compare versions like 0.10.2 numerically, part by part (missing parts are 0); a pre-release
 * suffix (`-rc1`) sorts before the same version without one. Returns <0, 0 or >0.
 */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => {
    const m = /^([0-9.]+)(?:[-+](.*))?$/.exec(v.trim());
    return { nums: (m?.[1] ?? "0").split(".").map((n) => Number(n) || 0), pre: m?.[2] ?? "" };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < Math.max(x.nums.length, y.nums.length); i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d !== 0) return d;
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === "") return 1;
  if (y.pre === "") return -1;
  return x.pre < y.pre ? -1 : 1;
}
