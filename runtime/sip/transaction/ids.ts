/**
 * Random identifiers for the stack: Via branch ids (RFC 3261 section 8.1.1.7), tags (section 19.3)
 * and Call-IDs (section 8.1.1.4). All come from the platform CSPRNG because tags and Call-IDs must be
 * globally unique and unguessable, and branch ids must be unique across space and time.
 */

/** The magic cookie that marks an RFC 3261 branch id (section 8.1.1.7). */
export const BRANCH_MAGIC_COOKIE = "z9hG4bK";

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function randomHex(bytes: number): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  let out = "";
  for (const b of buf) out += HEX[b];
  return out;
}

/** A fresh Via branch id: the magic cookie followed by 80 random bits. */
export function newBranch(): string {
  return BRANCH_MAGIC_COOKIE + randomHex(10);
}

/** A fresh From/To tag with 64 random bits (section 19.3 asks for at least 32). */
export function newTag(): string {
  return randomHex(8);
}

/** A fresh Call-ID with 128 random bits; `host` is appended as `@host` when given (section 8.1.1.4). */
export function newCallId(host?: string): string {
  const id = randomHex(16);
  return host === undefined ? id : `${id}@${host}`;
}
