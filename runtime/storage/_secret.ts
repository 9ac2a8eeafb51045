/**
 * The data directory's secret key (secret.key, 0600) and AES-256-GCM sealing of values that must
 * be retrievable, such as SIP passwords phones are provisioned with.
 */
import { Buffer } from "node:buffer";
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const PREFIX = "v1:";

/** Read `path`, or create it with 32 random bytes and mode 0600 when it does not exist. */
export function loadOrCreateKey(path: string): Uint8Array {
  try {
    const key = Deno.readFileSync(path);
    if (key.length !== KEY_BYTES) {
      throw new RangeError(`secret key file ${path} must hold ${KEY_BYTES} bytes, found ${key.length}`);
    }
    // A key file copied around with loose permissions gets tightened rather than rejected.
    if (Deno.build.os !== "windows") Deno.chmodSync(path, 0o600);
    return key;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const key = new Uint8Array(randomBytes(KEY_BYTES));
  // createNew: two processes racing must not overwrite each other's key.
  const file = Deno.openSync(path, { write: true, createNew: true, mode: 0o600 });
  try {
    file.writeSync(key);
    file.syncSync();
  } finally {
    file.close();
  }
  return key;
}

/** Encrypt `plain` under `key`, binding it to `context` (e.g. the extension number) as AAD. */
export function seal(key: Uint8Array, plain: string, context: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(new TextEncoder().encode(context));
  const ct = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  return PREFIX + Buffer.concat([iv, ct, tag]).toString("base64");
}

/** Decrypt a value from `seal`; throws if it was tampered with or sealed for another context. */
export function unseal(key: Uint8Array, sealed: string, context: string): string {
  if (!sealed.startsWith(PREFIX)) throw new SyntaxError("sealed value has an unknown format");
  const raw = Buffer.from(sealed.slice(PREFIX.length), "base64");
  if (raw.length < IV_BYTES + TAG_BYTES) throw new SyntaxError("sealed value is truncated");
  const iv = raw.subarray(0, IV_BYTES);
  const tag = raw.subarray(raw.length - TAG_BYTES);
  const ct = raw.subarray(IV_BYTES, raw.length - TAG_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", key, iv);
  decipher.setAAD(new TextEncoder().encode(context));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ct), decipher.final()]).toString("utf8");
}

/** Hex digest helper (MD5 is only here for RFC 2617/8760 digest HA1). */
export function hexDigest(algorithm: "md5" | "sha256", text: string): string {
  return createHash(algorithm).update(text, "utf8").digest("hex");
}
