/**
 * Phone provisioning: TFTP and HTTP file serving, vendor templates, phone book exports and
 * SIP plug-and-play answers. Reads everything through {@linkcode ProvisioningData}; never
 * imports storage, SIP or media.
 */
export * from "./types.ts";
export * from "./tftp/mod.ts";
export * from "./templates/mod.ts";
export * from "./phonebook/mod.ts";
export * from "./pnp/mod.ts";
export {
  BLOCKED_REASON,
  phonebookOpenTo,
  type ServeFileOptions,
  type ServeFileResult,
  serveProvisioningFile,
  tftpResolver,
  type TftpResolverOptions,
} from "./files.ts";
export * from "./guard.ts";
export { parseAuthParams, provisioningRoutes, type ProvisioningRoutesOptions } from "./http.ts";
