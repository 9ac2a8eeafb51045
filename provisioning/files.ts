/**
 * One entry point for "a phone asked for this file", shared by TFTP and HTTP: route the
 * name, generate the file, record the fetch (and discovery). Path checks happen here too, so
 * HTTP gets the same traversal rules as TFTP. With a {@linkcode FetchGuard}, misses (unknown
 * files, unknown MACs, refused phone books) count against the source and a blocked source
 * gets 429 for everything.
 */
import { checkTftpPath } from "./tftp/server.ts";
import { addressInNetworks, type FetchGuard } from "./guard.ts";
import { type GeneratedFile, generateFile, type Route, routeRequest } from "./templates/generate.ts";
import type { ProvisioningData } from "./types.ts";

/** Options of {@linkcode serveProvisioningFile}. */
export interface ServeFileOptions {
  protocol: "tftp" | "http";
  address: string;
  userAgent?: string | null;
  /** Override of `data.policy().requireOpenWindow`. */
  requireOpenWindow?: boolean;
  now?: number;
  /** HTTPS request. */
  secure?: boolean;
  /** Authenticated with the requested device's own HTTP credentials. */
  authenticated?: boolean;
  /** Per-source miss counting and blocks. */
  guard?: FetchGuard | undefined;
}

/** The outcome: a file, or a status with a reason (never throws for bad names). */
export type ServeFileResult =
  | (GeneratedFile & { status: 200; route: Route })
  | { status: 400 | 403 | 404 | 429 | 500; reason: string; route: Route | null };

/** Refusal text for a blocked source. */
export const BLOCKED_REASON = "too many failed provisioning requests from this address; try again later";

/** True when `address` may read the phone book without credentials (the admin's allow-list). */
export function phonebookOpenTo(data: ProvisioningData, address: string): boolean {
  return addressInNetworks(address, data.policy?.().phonebookNetworks ?? []);
}

/** Serve `path` (relative, no leading slash) for a phone. */
export function serveProvisioningFile(
  path: string,
  data: ProvisioningData,
  options: ServeFileOptions,
): ServeFileResult {
  const now = options.now ?? Date.now();
  const guard = options.guard;
  if (guard?.refuse(options.address)) return { status: 429, reason: BLOCKED_REASON, route: null };
  const miss = (reason: string) => guard?.miss(options.address, reason);
  const refusal = checkTftpPath(path);
  if (refusal !== null) {
    miss("bad path");
    return { status: 400, reason: refusal, route: null };
  }
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
    miss("unknown file");
    record(404, false);
    return { status: 404, reason: "unknown file", route: null };
  }
  const known = route.mac !== undefined && data.device(route.mac) !== undefined;
  if (route.kind === "phonebook" && !options.authenticated && !phonebookOpenTo(data, options.address)) {
    miss("phone book refused");
    record(403, false);
    return {
      status: 403,
      reason: "the phone book needs credentials or an address in the allowed networks",
      route,
    };
  }
  if (route.mac !== undefined && !known && (route.kind === "device" || route.kind === "master")) {
    // A file for a MAC the box does not know: served without any account (a new phone), but
    // a source that keeps guessing MACs is blocked.
    if (guard?.miss(options.address, "unknown MAC")) {
      return { status: 429, reason: BLOCKED_REASON, route };
    }
  }
  const requireOpenWindow = options.requireOpenWindow ?? data.policy?.().requireOpenWindow ?? false;
  const result = generateFile(route, data, {
    now,
    requireOpenWindow,
    secure: options.secure ?? false,
    authenticated: options.authenticated ?? false,
    client: { address: options.address, userAgent: options.userAgent ?? null },
  });
  if ("status" in result) {
    if (result.status === 404 && !known) miss("no such file");
    record(result.status, false);
    return { ...result, route };
  }
  record(200, result.secrets);
  return { ...result, status: 200, route };
}

/** Options of {@linkcode tftpResolver}. */
export interface TftpResolverOptions {
  /** Override of `data.policy().requireOpenWindow`. */
  requireOpenWindow?: boolean;
  guard?: FetchGuard | undefined;
  /** Epoch ms; injectable for tests. */
  now?: () => number;
}

/**
 * A `resolve` callback for startTftpServer that serves generated files. TFTP has no
 * authentication: outside a device's provisioning window its file with the SIP password is
 * refused (the phone keeps its account and still gets the common files).
 */
export function tftpResolver(
  data: ProvisioningData,
  options: TftpResolverOptions = {},
): (path: string, client: { address: string; port: number }) => Uint8Array | null {
  return (path, client) => {
    const r = serveProvisioningFile(path, data, {
      protocol: "tftp",
      address: client.address,
      ...(options.requireOpenWindow !== undefined ? { requireOpenWindow: options.requireOpenWindow } : {}),
      ...(options.now ? { now: options.now() } : {}),
      guard: options.guard,
    });
    return r.status === 200 ? r.body : null;
  };
}
