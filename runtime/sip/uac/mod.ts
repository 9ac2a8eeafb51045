/**
 * The box as a client toward carriers: trunk registration (REGISTER with digest, refresh,
 * back-off) and the OPTIONS keepalive.
 * @module
 */
export * from "./registration.ts";
export * from "./options_ping.ts";
export * from "./locate.ts";
