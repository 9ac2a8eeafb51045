/**
 * A small streaming ustar reader and writer: enough for firmware bundles (plain ustar) and their
 * payloads (ustar with pax or GNU long names). Bodies stream through; nothing holds a whole archive.
 */

/** What kind of entry a tar header describes. */
export type TarType = "file" | "directory" | "symlink" | "hardlink" | "char" | "block" | "fifo" | "other";

/** One archive member as the reader reports it; `body` streams its bytes (consume or skip). */
export interface TarEntry {
  /** Path inside the archive, with pax `path` or a GNU long name applied. */
  name: string;
  type: TarType;
  /** The raw type flag character, for error messages. */
  flag: string;
  size: number;
  mode: number;
  linkName: string;
  /** Byte offset of the body from the start of the stream. */
  offset: number;
  /** The body in chunks; reading it is optional (the reader skips what is left). */
  body: AsyncIterable<Uint8Array>;
}

const BLOCK = 512;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Pulls exact byte counts out of a ReadableStream, counting the offset. */
class ByteReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buf: Uint8Array = new Uint8Array(0);
  #offset = 0;
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }
  get offset(): number {
    return this.#offset;
  }
  async #fill(): Promise<boolean> {
    const { done, value } = await this.#reader.read();
    if (done) return false;
    this.#buf = this.#buf.length === 0 ? value : concatBytes([this.#buf, value]);
    return true;
  }
  /** Exactly `n` bytes, or null at end of stream when nothing of them was there. */
  async readExact(n: number, what: string): Promise<Uint8Array | null> {
    while (this.#buf.length < n) {
      if (!(await this.#fill())) {
        if (this.#buf.length === 0) return null;
        throw new SyntaxError(
          `tar archive is truncated: ${what} ends after ${this.#buf.length} of ${n} bytes`,
        );
      }
    }
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.subarray(n);
    this.#offset += n;
    return out;
  }
  /** Yield the next `n` bytes in chunks as they arrive. */
  async *chunks(n: number, what: string): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      if (this.#buf.length === 0 && !(await this.#fill())) {
        throw new SyntaxError(`tar archive is truncated: ${what} ends ${left} bytes short of ${n}`);
      }
      const take = Math.min(left, this.#buf.length);
      const out = this.#buf.subarray(0, take);
      this.#buf = this.#buf.subarray(take);
      this.#offset += take;
      left -= take;
      yield out;
    }
  }
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

/** The byte arrays in `parts`, one after another, in a new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return decoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
}

function parseNumber(field: Uint8Array, what: string): number {
  if ((field[0]! & 0x80) !== 0) {
    // GNU base-256 for values that do not fit the octal field.
    let n = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    if (!Number.isSafeInteger(n)) throw new RangeError(`tar ${what} is too large`);
    return n;
  }
  const text = cString(field).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) {
    throw new SyntaxError(`tar header ${what} is not octal: ${JSON.stringify(text)}`);
  }
  return parseInt(text, 8);
}

function checksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return sum;
}

const TYPES: Record<string, TarType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "5": "directory",
  "2": "symlink",
  "1": "hardlink",
  "3": "char",
  "4": "block",
  "6": "fifo",
};

/** Parse pax extended header records (`<len> key=value\n`). */
function parsePax(body: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos);
    if (space < 0) break;
    const len = Number(decoder.decode(body.subarray(pos, space)));
    if (!Number.isInteger(len) || len <= 0 || pos + len > body.length) {
      throw new SyntaxError(`pax header record at ${pos} has a bad length`);
    }
    const record = decoder.decode(body.subarray(space + 1, pos + len - 1));
    const eq = record.indexOf("=");
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
}

/** Largest pax or GNU long-name body the reader accepts: names, not data. */
const MAX_META_BYTES = 64 * 1024;

/**
 * Read a tar stream entry by entry. Verifies header checksums, applies pax `path`/`linkpath` and
 * GNU `L`/`K` long names, and throws SyntaxError on a truncated or malformed archive (including a
 * missing end-of-archive block). Pax global headers are skipped.
 */
export async function* readTar(stream: ReadableStream<Uint8Array>): AsyncGenerator<TarEntry> {
  const r = new ByteReader(stream);
  let longName: string | undefined;
  let longLink: string | undefined;
  try {
    for (;;) {
      const header = await r.readExact(BLOCK, "a header block");
      if (header === null) {
        throw new SyntaxError("tar archive is truncated: it ends without its end-of-archive block");
      }
      if (header.every((b) => b === 0)) return; // end of archive
      const magic = decoder.decode(header.subarray(257, 262));
      if (magic !== "ustar") {
        throw new SyntaxError(`not a ustar archive: header at byte ${r.offset - BLOCK} has no ustar magic`);
      }
      const stored = parseNumber(header.subarray(148, 156), "checksum");
      if (stored !== checksum(header)) {
        throw new SyntaxError(`tar header at byte ${r.offset - BLOCK} has a bad checksum`);
      }
      const flag = String.fromCharCode(header[156]!);
      const size = parseNumber(header.subarray(124, 136), "size");
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
        if (size > MAX_META_BYTES) throw new RangeError(`tar extended header of ${size} bytes is too large`);
        const body = await r.readExact(padded, "an extended header") ?? new Uint8Array(0);
        if (body.length < padded) throw new SyntaxError("tar archive is truncated in an extended header");
        const data = body.subarray(0, size);
        if (flag === "x") {
          const pax = parsePax(data);
          longName = pax.get("path") ?? longName;
          longLink = pax.get("linkpath") ?? longLink;
        } else if (flag === "L") longName = cString(data);
        else if (flag === "K") longLink = cString(data);
        continue;
      }
      const prefix = cString(header.subarray(345, 500));
      const shortName = cString(header.subarray(0, 100));
      const name = longName ?? (prefix === "" ? shortName : `${prefix}/${shortName}`);
      const linkName = longLink ?? cString(header.subarray(157, 257));
      longName = undefined;
      longLink = undefined;
      const type = TYPES[flag] ?? "other";
      // Only regular files carry data; others with a size field are skipped over as well.
      const offset = r.offset;
      let consumed = 0;
      const body = (async function* () {
        for await (const chunk of r.chunks(size, `the body of ${JSON.stringify(name)}`)) {
          consumed += chunk.length;
          yield chunk;
        }
      })();
      yield {
        name,
        type,
        flag,
        size,
        mode: parseNumber(header.subarray(100, 108), "mode"),
        linkName,
        offset,
        body,
      };
      // Skip whatever the consumer did not read, then the padding.
      if (consumed < size) {
        for await (const _ of r.chunks(size - consumed, `the body of ${JSON.stringify(name)}`)) { /* skip */ }
      }
      if (padded > size) {
        for await (const _ of r.chunks(padded - size, `the padding of ${JSON.stringify(name)}`)) {
          /* skip */
        }
      }
    }
  } finally {
    await r.cancel();
  }
}

/** An entry to write; `mtime` in epoch seconds. */
export interface TarWriteEntry {
  name: string;
  type: "file" | "directory";
  size?: number;
  mode?: number;
  mtime?: number;
}

function writeField(header: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = encoder.encode(text);
  if (bytes.length > length) throw new RangeError(`tar field too long: ${JSON.stringify(text)}`);
  header.set(bytes, offset);
}

function octal(n: number, length: number): string {
  return n.toString(8).padStart(length - 1, "0");
}

function rawHeader(
  name: string,
  flag: string,
  size: number,
  mode: number,
  mtime: number,
): Uint8Array<ArrayBuffer> {
  const h = new Uint8Array(BLOCK);
  writeField(h, 0, 100, name);
  writeField(h, 100, 8, octal(mode, 8));
  writeField(h, 108, 8, octal(0, 8));
  writeField(h, 116, 8, octal(0, 8));
  if (size > 0o77777777777) throw new RangeError(`tar member of ${size} bytes is too large`);
  writeField(h, 124, 12, octal(size, 12));
  writeField(h, 136, 12, octal(Math.max(0, Math.floor(mtime)), 12));
  h[156] = flag.charCodeAt(0);
  writeField(h, 257, 6, "ustar");
  writeField(h, 263, 2, "00");
  writeField(h, 265, 32, "root");
  writeField(h, 297, 32, "root");
  writeField(h, 148, 8, `${octal(checksum(h), 7)}`);
  h[155] = 0x20;
  return h;
}

function paxRecord(key: string, value: string): Uint8Array {
  // The length prefix counts itself: grow it until it is stable.
  const rest = ` ${key}=${value}\n`;
  const restLen = encoder.encode(rest).length;
  let len = restLen + 1;
  while (String(len).length + restLen !== len) len = String(len).length + restLen;
  return encoder.encode(`${len}${rest}`);
}

/**
 * The header block(s) for one entry: a pax header first when the name does not fit 100 bytes.
 * Follow with the body and `tarPadding(size)`; end the archive with `TAR_END`.
 */
export function tarHeader(entry: TarWriteEntry): Uint8Array<ArrayBuffer> {
  const size = entry.type === "file" ? entry.size ?? 0 : 0;
  const mode = entry.mode ?? (entry.type === "directory" ? 0o755 : 0o644);
  const mtime = entry.mtime ?? 0;
  const flag = entry.type === "file" ? "0" : "5";
  const name = entry.type === "directory" && !entry.name.endsWith("/") ? `${entry.name}/` : entry.name;
  if (encoder.encode(name).length <= 100) return rawHeader(name, flag, size, mode, mtime);
  const pax = paxRecord("path", name);
  const paxHead = rawHeader(
    `PaxHeader/${name.slice(-80).replace(/^\/+/, "")}`.slice(0, 99),
    "x",
    pax.length,
    0o644,
    mtime,
  );
  const out = new Uint8Array(BLOCK + Math.ceil(pax.length / BLOCK) * BLOCK + BLOCK);
  out.set(paxHead, 0);
  out.set(pax, BLOCK);
  out.set(
    rawHeader(name.slice(0, 99).replace(/[^\x20-\x7e]/g, "_"), flag, size, mode, mtime),
    out.length - BLOCK,
  );
  return out;
}

/** Zero bytes that pad a body of `size` bytes to a whole block. */
export function tarPadding(size: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The end-of-archive marker: two zero blocks. */
export const TAR_END: Uint8Array<ArrayBuffer> = new Uint8Array(2 * BLOCK);
