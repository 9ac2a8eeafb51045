/**
 * Routing, pure and without I/O: the one number plan (claims and collisions), dial patterns, the
 * feature-code table, the dialplan as steps with busy/noAnswer/unavailable/failed continuations
 * and its stepper, and request classification by ingress. See docs/dialplan.md.
 * @module
 */
export * from "./pattern.ts";
export * from "./number_plan.ts";
export * from "./feature_codes.ts";
export * from "./claims.ts";
export * from "./dialplan.ts";
export * from "./ingress.ts";
