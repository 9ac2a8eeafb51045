/**
 * One entry point for "a phone asked for this file", shared by TFTP and HTTP: route the
 * name, generate the file, record the fetch (and discovery). Path checks happen here too, so
 * HTTP gets the same traversal rules as TFTP.
 */
import { checkTftpPath } from "./tftp/server.ts";
import { type GeneratedFile, generateFile, type Route, routeRequest } from "./templates/generate.ts";
import type { ProvisioningData } from "./types.ts";

/** Options of {@linkcode serveProvisioningFile}. */
export interface ServeFileOptions {
  protocol: "tftp" | "http";
  address: string;
  userAgent?: string | null;
  requireOpenWindow?: boolean;
  now?: number;
}

/** The outcome: a file, or a status with a reason (never throws for bad names). */
export type ServeFileResult =
  | (GeneratedFile & { status: 200; route: Route })
  | { status: 400 | 403 | 404; reason: string; route: Route | null };

/** Serve `path` (relative, no leading slash) for a phone. */
export function serveProvisioningFile(
  path: string,
  data: ProvisioningData,
  options: ServeFileOptions,
): ServeFileResult {
  const now = options.now ?? Date.now();
  const refusal = checkTftpPath(path);
  if (refusal !== null) return { status: 400, reason: refusal, route: null };
  const route = routeRequest(path, {
    deviceVendor: (mac) => data.device(mac)?.vendor,
    userAgent: options.userAgent ?? null,
  });
  const record = (status: number, secrets: boolean) =>
    data.recordFetch({
      mac: route?.mac ?? null,
      file: path,
      vendor: route?.vendor ?? null,
      protocol: options.protocol,
      address: options.address,
      userAgent: options.userAgent ?? null,
      at: now,
      status,
      secrets,
    });
  if (!route) {
    record(404, false);
    return { status: 404, reason: "unknown file", route: null };
  }
  const result = generateFile(route, data, {
    now,
    ...(options.requireOpenWindow !== undefined ? { requireOpenWindow: options.requireOpenWindow } : {}),
    client: { address: options.address, userAgent: options.userAgent ?? null },
  });
  if ("status" in result) {
    record(result.status, false);
    return { ...result, route };
  }
  record(200, result.secrets);
  return { ...result, status: 200, route };
}

/** A `resolve` callback for startTftpServer that serves generated files. */
export function tftpResolver(
  data: ProvisioningData,
  options: { requireOpenWindow?: boolean } = {},
): (path: string, client: { address: string; port: number }) => Uint8Array | null {
  return (path, client) => {
    const r = serveProvisioningFile(path, data, { protocol: "tftp", address: client.address, ...options });
    return r.status === 200 ? r.body : null;
  };
}
