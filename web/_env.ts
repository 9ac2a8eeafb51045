/** Hono environment shared by the route modules. */
import type { Role } from "../runtime/storage/mod.ts";

/** The authenticated caller, set by the auth middleware. */
export interface AuthUser {
  username: string;
  role: Role;
  extension?: string | undefined;
}

/** Hono Env: per-request variables. */
export interface AppEnv {
  Variables: {
    user: AuthUser;
    token: string;
    /** How the caller authenticated: bearer header (API) or session cookie (UI). */
    via: "bearer" | "cookie";
  };
}
