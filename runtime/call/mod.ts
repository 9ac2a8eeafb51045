/**
 * Calls: the B2BUA for extension-to-extension calls and the request dispatcher above the SIP stack.
 * @module
 */
export * from "./types.ts";
export * from "./b2bua.ts";
export * from "./dispatcher.ts";
export * from "./local.ts";
export * from "./notify.ts";
export * from "./load_monitor.ts";
