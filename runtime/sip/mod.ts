/**
 * The RFC 3261 SIP stack: messages, transport (UDP/TCP), transactions and dialogs. It knows nothing
 * of media or features; the layers above use this module, not the sub-folders.
 *
 * @module
 */
export * from "./message/mod.ts";
export * from "./transport/mod.ts";
export * from "./transaction/mod.ts";
export * from "./dialog/mod.ts";
