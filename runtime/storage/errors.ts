/**
 * Typed storage errors, so callers (the web API, the registrar) can map them to responses without
 * parsing SQLite messages.
 */

/** A unique key already exists (duplicate extension number, username, ...). */
export class ConflictError extends Error {
  override name = "ConflictError";
}

/** The row to update does not exist. */
export class NotFoundError extends Error {
  override name = "NotFoundError";
}
