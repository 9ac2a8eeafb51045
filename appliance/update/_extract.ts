/**
 * Safe extraction of a payload.tar.gz: regular files and directories only, no absolute paths, no
 * `..`, no links or devices; the executable bit survives. Streams from the file to the disk.
 */
import { readTar } from "./_ustar.ts";

/** A byte range of a file as a stream (the payload inside a bundle). */
export async function fileRange(
  path: string,
  offset: number,
  size: number,
): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
  const file = await Deno.open(path, { read: true });
  await file.seek(offset, Deno.SeekMode.Start);
  let left = size;
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    async pull(controller) {
      if (left === 0) {
        file.close();
        controller.close();
        return;
      }
      const buf = new Uint8Array(Math.min(left, 256 * 1024));
      const n = await file.read(buf);
      if (n === null) {
        file.close();
        controller.error(new SyntaxError(`payload ends ${left} bytes early`));
        return;
      }
      left -= n;
      controller.enqueue(buf.subarray(0, n));
    },
    cancel() {
      try {
        file.close();
      } catch { /* already closed */ }
    },
  });
}

/**
 * Check one archive path and return it normalised (no leading `./`, no trailing `/`); throws a
 * RangeError naming it when it is absolute, empty or climbs out with `..`.
 */
export function safeRelativePath(name: string): string {
  const shown = JSON.stringify(name.slice(0, 200));
  if (name.startsWith("/")) throw new RangeError(`payload path ${shown} is absolute`);
  if (name.includes("\0") || name.includes("\\")) {
    throw new RangeError(`payload path ${shown} has a NUL or backslash`);
  }
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.some((p) => p === "..")) throw new RangeError(`payload path ${shown} contains ..`);
  return parts.join("/");
}

/** What an extraction wrote. */
export interface ExtractResult {
  files: number;
  bytes: number;
}

/**
 * Unpack the gzip'd tar `stream` into `dest` (which must exist and be empty). Throws RangeError on
 * an unsafe entry, SyntaxError on a corrupt archive; what was written stays for the caller to
 * remove. `maxBytes` bounds the unpacked size (a gzip bomb stops there).
 */
export async function extractTarGz(
  stream: ReadableStream<Uint8Array<ArrayBuffer>>,
  dest: string,
  options: { maxBytes?: number; signal?: AbortSignal } = {},
): Promise<ExtractResult> {
  const maxBytes = options.maxBytes ?? 4 * 1024 * 1024 * 1024;
  let tarStream: ReadableStream<Uint8Array>;
  try {
    tarStream = stream.pipeThrough(new DecompressionStream("gzip"));
  } catch (e) {
    throw new SyntaxError(`payload is not gzip: ${(e as Error).message}`);
  }
  let files = 0;
  let bytes = 0;
  try {
    for await (const entry of readTar(tarStream)) {
      options.signal?.throwIfAborted();
      const rel = safeRelativePath(entry.name);
      if (entry.type !== "file" && entry.type !== "directory") {
        throw new RangeError(
          `payload entry ${
            JSON.stringify(entry.name.slice(0, 200))
          } is a ${entry.type}; only files and directories are allowed`,
        );
      }
      if (rel === "") {
        if (entry.type === "directory") continue; // "./" itself
        throw new RangeError(`payload entry ${JSON.stringify(entry.name)} has no file name`);
      }
      const target = `${dest}/${rel}`;
      if (entry.type === "directory") {
        await Deno.mkdir(target, { recursive: true, mode: 0o755 });
        continue;
      }
      bytes += entry.size;
      if (bytes > maxBytes) throw new RangeError(`payload unpacks to more than ${maxBytes} bytes`);
      const slash = rel.lastIndexOf("/");
      if (slash > 0) await Deno.mkdir(`${dest}/${rel.slice(0, slash)}`, { recursive: true, mode: 0o755 });
      const mode = (entry.mode & 0o111) !== 0 ? 0o755 : 0o644;
      const file = await Deno.open(target, { write: true, create: true, truncate: true, mode });
      try {
        for await (const chunk of entry.body) {
          let off = 0;
          while (off < chunk.length) off += await file.write(chunk.subarray(off));
        }
      } finally {
        file.close();
      }
      // The umask may have dropped bits; the mode is what the archive says (executable or not).
      await Deno.chmod(target, mode);
      files++;
    }
  } catch (e) {
    if (e instanceof TypeError && /gzip|deflate|corrupt|invalid/i.test(e.message)) {
      throw new SyntaxError(`payload is not a valid gzip stream: ${e.message}`);
    }
    throw e;
  }
  return { files, bytes };
}
