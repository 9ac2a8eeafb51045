/**
 * /api/prompts: the prompt catalogue, playing/downloading a prompt, and admin overrides (upload a
 * recording to replace a prompt, delete it to go back to text-to-speech). Admin only. Mount with
 * `registerPromptRoutes(api, deps)` on the authenticated /api app.
 */
import type { Hono } from "hono";
import { requireAdmin } from "./api_auth.ts";
import { fail, readBodyLimited } from "./_http.ts";
import type { AppEnv } from "./_env.ts";

/** One catalogue entry as listed. */
export interface PromptEntry {
  id: string;
  text: string;
  overridden: boolean;
  override?: { sampleRate: number; channels: number; bytes: number; durationMs: number; uploadedAt: number };
}

/**
 * What the routes need from the prompt library (runtime/media/prompts PromptLibrary fits). Methods
 * throw RangeError for an unknown id; `setOverride` throws SyntaxError/RangeError naming what is
 * wrong with the upload; `wav` throws Error when text-to-speech is unavailable.
 */
export interface PromptControl {
  readonly maxUploadBytes: number;
  has(id: string): boolean;
  list(): Promise<PromptEntry[]>;
  wav(id: string, rate: 8000 | 16000): Promise<Uint8Array>;
  setOverride(id: string, bytes: Uint8Array): Promise<PromptEntry>;
  deleteOverride(id: string): Promise<boolean>;
}

/** Dependencies of the prompt routes. */
export interface PromptRouteDeps {
  /** Absent when the appliance has no prompt library: every route answers 503. */
  prompts?: PromptControl | undefined;
}

const WAV_TYPES = /^(audio\/(wav|x-wav|wave|vnd\.wave)|application\/octet-stream)\s*(;|$)/;

/** Register the /prompts routes on the authenticated api app. */
export function registerPromptRoutes(api: Hono<AppEnv>, deps: PromptRouteDeps): void {
  api.use("/prompts", requireAdmin());
  api.use("/prompts/*", requireAdmin());
  const lib = (): PromptControl => deps.prompts ?? fail(503, "prompts are not available in this build");
  const known = (id: string): string => {
    if (!lib().has(id)) fail(404, `no prompt ${JSON.stringify(id.slice(0, 60))}`);
    return id;
  };

  api.get("/prompts", async (c) => c.json({ prompts: await lib().list(), maxBytes: lib().maxUploadBytes }));

  api.get("/prompts/:id/audio", async (c) => {
    const id = known(c.req.param("id"));
    const rateParam = c.req.query("rate") ?? "16000";
    if (rateParam !== "8000" && rateParam !== "16000") {
      fail(400, `rate must be 8000 or 16000, got ${rateParam}`);
    }
    let bytes: Uint8Array;
    try {
      bytes = await lib().wav(id, Number(rateParam) as 8000 | 16000);
    } catch (e) {
      fail(503, `prompt ${id} cannot be made: ${(e as Error).message}`);
    }
    const headers: Record<string, string> = { "content-type": "audio/wav", "cache-control": "no-store" };
    if (c.req.query("download") === "1") headers["content-disposition"] = `attachment; filename="${id}.wav"`;
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, headers);
  });

  api.put("/prompts/:id/override", async (c) => {
    const id = known(c.req.param("id"));
    const type = (c.req.header("content-type") ?? "").toLowerCase();
    if (!WAV_TYPES.test(type)) {
      fail(415, `upload body must be audio/wav, got ${JSON.stringify(type.slice(0, 60) || "nothing")}`);
    }
    const bytes = await readBodyLimited(c, lib().maxUploadBytes);
    if (bytes.length === 0) fail(400, "upload body is empty: send a WAV file");
    try {
      return c.json(await lib().setOverride(id, bytes), 200);
    } catch (e) {
      const message = (e as Error).message;
      if (e instanceof SyntaxError && /^not a WAV file/.test(message)) fail(415, message);
      if (e instanceof RangeError && /bytes, the limit/.test(message)) fail(413, message);
      if (e instanceof SyntaxError || e instanceof RangeError) fail(400, `bad WAV file: ${message}`);
      throw e;
    }
  });

  api.delete("/prompts/:id/override", async (c) => {
    const id = known(c.req.param("id"));
    if (!(await lib().deleteOverride(id))) fail(404, `prompt ${id} has no override`);
    return c.body(null, 204);
  });
}
