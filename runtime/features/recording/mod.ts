/**
 * Call recording as a feature module: the recorder (service.ts) records answered calls in stereo
 * (caller left, callee right) in the media worker, always-on for extensions the policy names or on
 * demand by the in-call feature code (`*1`); a notice tone tells both parties; retention by age
 * and disk share. The web part: `/api/recordings` (a user sees the recordings of their own
 * extension's calls; every play, download and delete is audited) and the Recordings page. The
 * appliance wires the B2BUA's `onBridged` and call ends to the recorder. See docs/recording.md.
 * @module
 */
import type { Context, Hono } from "hono";
import type { FeatureModule, FeatureWebEnv, FeatureWebKit } from "../../call/mod.ts";
import * as m066 from "../../storage/migrations/066_recordings.ts";
import * as m068 from "../../storage/migrations/068_recording_queue.ts";
import { checkPolicy, type Recorder, type Recording } from "./service.ts";

export * from "./service.ts";

/** The recording feature over a running recorder. */
export function recordingFeature(options: { recorder: () => Recorder | undefined }): FeatureModule {
  const rec = (kit: FeatureWebKit): Recorder => {
    const r = options.recorder();
    if (r === undefined) kit.fail(503, "recording is not running");
    return r;
  };
  return {
    name: "recording",
    migrations: [m066, m068],
    web: {
      openapi: {
        "/api/recordings": {
          get: {
            summary: "Recordings, newest first (a user: their own extension's calls); ?q= filters by party",
            responses: { 200: { description: "{recordings}" } },
          },
        },
        "/api/recordings/{id}/audio": {
          get: {
            summary:
              "The WAV or Ogg Opus file (stereo: caller left, callee right); ?download=1 as an attachment. Audited.",
            responses: {
              200: { description: "audio/wav or audio/ogg (Opus)" },
              403: { description: "not yours" },
              404: { description: "none" },
            },
          },
        },
        "/api/recordings/{id}": {
          delete: { summary: "Delete a recording (audited)", responses: { 204: { description: "deleted" } } },
        },
        "/api/recordings/policy": {
          get: { summary: "The recording policy (admin)", responses: { 200: { description: "policy" } } },
          put: {
            summary:
              "Change it: {alwaysExtensions, alwaysTrunks, featureCode, notice, channels, format: wav|opus, retentionDays, maxBytes}",
            responses: { 200: { description: "policy" }, 400: { description: "what is wrong" } },
          },
        },
      },
      pages: [{
        path: "/recordings",
        title: "Recordings",
        admin: false,
        script: new URL("./web/recordings.js", import.meta.url),
        render: ({ html, dataTable }) =>
          html`
            <label for="rec-filter">Filter by extension or number</label>
            <input id="rec-filter" type="search" autocomplete="off">
            ${dataTable("rec-table", ["When", "Caller", "Callee", "Length", "How", "Play", ""])}
            <p id="rec-empty" hidden>No recordings.</p>
          `,
      }],
      routes(api: Hono<FeatureWebEnv>, kit: FeatureWebKit) {
        const mine = (c: Context<FeatureWebEnv>, r: Recording) => {
          const u = c.get("user");
          if (u.role !== "admin" && u.extension !== r.caller && u.extension !== r.callee) {
            kit.fail(403, "a user sees only the recordings of their own calls");
          }
        };
        const byId = (c: Context<FeatureWebEnv>) => {
          const id = Number(c.req.param("id"));
          const r = Number.isSafeInteger(id) ? rec(kit).get(id) : undefined;
          if (r === undefined) {
            kit.fail(404, `no recording ${JSON.stringify(c.req.param("id")?.slice(0, 20))}`);
          }
          mine(c, r);
          return r;
        };
        api.get("/recordings/policy", kit.requireAdmin, (c) => c.json(rec(kit).policy()));
        api.put("/recordings/policy", kit.requireAdmin, async (c) => {
          const bytes = await kit.readBody(c, 16 * 1024);
          let p;
          try {
            p = checkPolicy(JSON.parse(new TextDecoder().decode(bytes)), rec(kit).policy());
          } catch (e) {
            kit.fail(400, e instanceof SyntaxError ? "the body must be JSON" : (e as Error).message);
          }
          rec(kit).setPolicy(p);
          kit.audit(c, "recording.policy", JSON.stringify(p));
          return c.json(p);
        });
        api.get("/recordings", (c) => {
          const u = c.get("user");
          if (u.role !== "admin" && u.extension === undefined) return c.json({ recordings: [] });
          const q = c.req.query("q") ?? "";
          const list = rec(kit).list({ party: u.role === "admin" ? undefined : u.extension })
            .filter((r) => q === "" || r.caller.includes(q) || r.callee.includes(q));
          return c.json({ recordings: list });
        });
        api.get("/recordings/:id/audio", async (c) => {
          const r = byId(c);
          let data: Uint8Array<ArrayBuffer>;
          try {
            data = await Deno.readFile(rec(kit).pathOf(r)) as Uint8Array<ArrayBuffer>;
          } catch {
            kit.fail(
              404,
              r.status === "recording" ? "the recording is still in progress" : "the file is gone",
            );
          }
          const download = c.req.query("download") === "1";
          const type = r.file.endsWith(".opus") ? "audio/ogg; codecs=opus" : "audio/wav";
          // Byte ranges: a browser finds an Ogg file's duration by reading its last page.
          const range = /^bytes=(\d*)-(\d*)$/.exec(c.req.header("range") ?? "");
          if (range !== null && (range[1] !== "" || range[2] !== "")) {
            const size = data.length;
            let start = range[1] === "" ? Math.max(0, size - Number(range[2])) : Number(range[1]);
            let end = range[1] === "" || range[2] === "" ? size - 1 : Math.min(size - 1, Number(range[2]));
            if (start >= size || start > end) {
              return c.body(null, 416, { "Content-Range": `bytes */${size}` });
            }
            if (start === 0) kit.audit(c, "recording.play", `${r.id} ${r.caller}->${r.callee}`);
            start = Math.max(0, start);
            end = Math.max(start, end);
            return c.body(data.slice(start, end + 1), 206, {
              "Content-Type": type,
              "Content-Range": `bytes ${start}-${end}/${size}`,
              "Accept-Ranges": "bytes",
              "Cache-Control": "no-store",
            });
          }
          kit.audit(
            c,
            download ? "recording.download" : "recording.play",
            `${r.id} ${r.caller}->${r.callee}`,
          );
          return c.body(data, 200, {
            "Content-Type": type,
            "Accept-Ranges": "bytes",
            "Cache-Control": "no-store",
            ...(download ? { "Content-Disposition": `attachment; filename="${r.file}"` } : {}),
          });
        });
        api.delete("/recordings/:id", (c) => {
          const r = byId(c);
          if (!rec(kit).delete(r.id)) kit.fail(409, "a recording in progress cannot be deleted");
          kit.audit(c, "recording.delete", `${r.id} ${r.caller}->${r.callee}`);
          return c.body(null, 204);
        });
      },
    },
  };
}
