/**
 * Serves the UI's own JS and CSS from web/static/ (nothing from a CDN): the shell script and
 * stylesheet, shared helpers under lib/, one script per page under pages/. Only plain lower-case
 * names ending in .js or .css are looked up (no dots, no `..`, no other files of the tree).
 */
import { Hono } from "hono";

const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

/** `app.js`, `lib/api.js`, `pages/extensions.js`: folders and names of [a-z0-9_-], then .js/.css. */
const NAME = /^(?:[a-z0-9_-]+\/){0,2}[a-z0-9_-]+\.(js|css)$/;

/**
 * Routes /static/* for the files in web/static/ and the feature page scripts (`featureScripts`:
 * URL path under /static/features/ -> the feature's file). Files are read once, on first request.
 */
export function staticRoutes(featureScripts: ReadonlyMap<string, URL> = new Map()): Hono {
  const cache = new Map<string, Uint8Array<ArrayBuffer>>();
  const app = new Hono();
  app.get("/static/*", async (c) => {
    const name = c.req.path.slice("/static/".length);
    const feature = featureScripts.get(c.req.path);
    const m = feature === undefined ? NAME.exec(name) : /\.(js)$/.exec(name);
    const notFound = () => c.json({ error: `not found: GET /static/${name.slice(0, 60)}` }, 404);
    // web/static/features/ is never read from disk: only declared feature scripts are there.
    if (m === null || (feature === undefined && name.startsWith("features/"))) return notFound();
    let bytes = cache.get(name);
    if (bytes === undefined) {
      try {
        bytes = await Deno.readFile(feature ?? new URL(`./static/${name}`, import.meta.url));
      } catch (e) {
        if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.IsADirectory) return notFound();
        throw e;
      }
      cache.set(name, bytes);
    }
    return c.body(bytes, 200, { "Content-Type": TYPES[m[1]!]!, "Cache-Control": "no-cache" });
  });
  return app;
}
