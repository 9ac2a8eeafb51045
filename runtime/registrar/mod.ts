/**
 * Registrar: REGISTER handling over a LocationStore, and the digest authorizer shared with calls.
 * @module
 */
export * from "./registrar.ts";
export * from "./authorize.ts";
export * from "./allow_list.ts";
