/**
 * Calls: the B2BUA for extension-to-extension calls, calls the box answers itself, the call registry
 * owning every dialog (registry.ts), the request builder (request.ts) and the request dispatcher with
 * its method-handler registry (methods.ts: `registerMethod`, `registerEventPackage`).
 * @module
 */
export * from "./types.ts";
export * from "./b2bua.ts";
export * from "./dispatcher.ts";
export * from "./local.ts";
export * from "./notify.ts";
export * from "./load_monitor.ts";
export * from "./registry.ts";
export * from "./methods.ts";
export * from "./request.ts";
export * from "./application.ts";
export * from "./feature.ts";
export * from "./trunk.ts";
export * from "./outbound.ts";
export * from "./onward.ts";
export * from "./calls.ts";
export * from "./announce.ts";
