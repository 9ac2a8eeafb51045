/** Request helpers shared by the route modules: JSON bodies, valibot validation, store errors. */
import type { Context, MiddlewareHandler } from "hono";
import * as v from "valibot";
import { ConflictError, NotFoundError } from "../runtime/storage/mod.ts";

/** HTTP status codes the API answers errors with. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 503;

/** An error that becomes the response `{error: message}` with `status` (see app.onError). */
export class HttpError extends Error {
  override name = "HttpError";
  readonly status: ErrorStatus;
  readonly headers: Record<string, string>;
  constructor(status: ErrorStatus, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

/** Throw an HttpError: the response will be `{error: message}` with `status`. */
export function fail(status: ErrorStatus, message: string, headers: Record<string, string> = {}): never {
  throw new HttpError(status, message, headers);
}

/** Format valibot issues as "field: message; ..." */
export function issuesMessage(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues.slice(0, 5).map((i) => {
    const path = i.path?.map((p) => String(p.key)).join(".");
    return path ? `${path}: ${i.message}` : i.message;
  }).join("; ");
}

/** Read the JSON body and validate it against `schema`; 415/400 with a message on failure. */
export async function jsonBody<S extends v.GenericSchema>(c: Context, schema: S): Promise<v.InferOutput<S>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    fail(415, `request body must be application/json, got ${JSON.stringify(type.slice(0, 60) || "nothing")}`);
  }
  const text = await c.req.text();
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    fail(400, `invalid JSON body: ${(e as Error).message}`);
  }
  return validate(schema, data, "body");
}

/** Validate `data` against `schema`; 400 naming the bad fields on failure. */
export function validate<S extends v.GenericSchema>(
  schema: S,
  data: unknown,
  what: string,
): v.InferOutput<S> {
  const r = v.safeParse(schema, data);
  if (!r.success) fail(400, `invalid ${what}: ${issuesMessage(r.issues)}`);
  return r.output;
}

/** Run a store call, mapping its typed errors to HTTP: Conflict 409, NotFound 404, Range/Type 400. */
export function store<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw mapStoreError(e);
  }
}

/** Async variant of `store`. */
export async function storeAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw mapStoreError(e);
  }
}

function mapStoreError(e: unknown): unknown {
  try {
    if (e instanceof ConflictError) fail(409, e.message);
    if (e instanceof NotFoundError) fail(404, e.message);
    if (e instanceof RangeError || e instanceof TypeError) fail(400, e.message);
  } catch (http) {
    return http;
  }
  return e;
}

/** The client address from Deno.serve's connection info (c.env), or "unknown". Proxies are not trusted. */
export function clientIp(c: Context): string {
  const env = c.env as { remoteAddr?: { hostname?: unknown } } | undefined;
  const host = env?.remoteAddr?.hostname;
  return typeof host === "string" && host !== "" ? host : "unknown";
}

/**
 * Middleware: refuse bodies over `maxBytes` with 413. Checks Content-Length first, then counts a
 * streamed body, so a chunked upload cannot get past it either.
 */
export function bodyLimit(maxBytes: number): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.raw.body === null) return await next();
    const length = c.req.header("content-length");
    if (length !== undefined && !c.req.header("transfer-encoding")) {
      if (!/^[0-9]+$/.test(length) || Number(length) > maxBytes) {
        fail(413, `request body is larger than ${maxBytes} bytes`);
      }
      return await next();
    }
    // No trustworthy length: count the stream, and hand the routes what was read.
    const all = await readBodyLimited(c, maxBytes);
    c.req.raw = new Request(c.req.raw, { body: all });
    await next();
  };
}

/**
 * Read the raw request body, refusing more than `maxBytes` with 413 (Content-Length first, then by
 * counting, so a chunked upload cannot get past it). For the few routes that take files: they run
 * after authentication, so unauthenticated clients never get the larger limit.
 */
export async function readBodyLimited(c: Context, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const tooBig = () => fail(413, `request body is larger than ${maxBytes} bytes`);
  const length = c.req.header("content-length");
  if (length !== undefined && (!/^[0-9]+$/.test(length) || Number(length) > maxBytes)) tooBig();
  const body = c.req.raw.body;
  if (body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel();
      tooBig();
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const ch of chunks) {
    all.set(ch, off);
    off += ch.length;
  }
  return all;
}

/**
 * Stream the raw request body into a new file at `path` (mode 0600), refusing more than `maxBytes`
 * with 413 (Content-Length first, then by counting). Returns the number of bytes written. The file
 * is left in place on failure; the caller removes it. For uploads too big to hold in memory.
 */
export async function streamBodyToFile(c: Context, path: string, maxBytes: number): Promise<number> {
  const tooBig = () => fail(413, `request body is larger than ${maxBytes} bytes`);
  const length = c.req.header("content-length");
  if (length !== undefined && (!/^[0-9]+$/.test(length) || Number(length) > maxBytes)) tooBig();
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  let size = 0;
  try {
    const body = c.req.raw.body;
    if (body === null) return 0;
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel();
        tooBig();
      }
      let off = 0;
      while (off < value.length) off += await file.write(value.subarray(off));
    }
    await file.sync();
    return size;
  } finally {
    file.close();
  }
}
