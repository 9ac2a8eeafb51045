/** Serves the UI's own JS and CSS from web/static/ (a fixed allow-list; nothing from a CDN). */
import { Hono } from "hono";

const FILES: Record<string, string> = {
  "app.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
};

/** Routes /static/:name for the files in web/static/. Files are read once, on first request. */
export function staticRoutes(): Hono {
  const cache = new Map<string, Uint8Array<ArrayBuffer>>();
  const app = new Hono();
  app.get("/static/:name", async (c) => {
    const name = c.req.param("name");
    const type = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
    if (type === undefined) return c.json({ error: `not found: GET /static/${name.slice(0, 60)}` }, 404);
    let bytes = cache.get(name);
    if (bytes === undefined) {
      bytes = await Deno.readFile(new URL(`./static/${name}`, import.meta.url));
      cache.set(name, bytes);
    }
    return c.body(bytes, 200, { "Content-Type": type, "Cache-Control": "no-cache" });
  });
  return app;
}
