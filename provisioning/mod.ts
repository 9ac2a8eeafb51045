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
export { type ServeFileOptions, type ServeFileResult, serveProvisioningFile, tftpResolver } from "./files.ts";
export { parseAuthParams, provisioningRoutes, type ProvisioningRoutesOptions } from "./http.ts";
