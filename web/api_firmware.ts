/**
 * /api/system/firmware (admin): the running firmware and update state, uploading a signed bundle
 * (`.pbxfw`) to stage it for the next start, cancelling a staged update. The appliance does the
 * checking and unpacking (FirmwareControl); this layer streams the upload to disk, maps outcomes
 * to HTTP and writes the audit log.
 */
import { type Context, Hono } from "hono";
import { clientIp, fail, HttpError, streamBodyToFile } from "./_http.ts";
import type { AppEnv } from "./_env.ts";
import type { Storage } from "../runtime/storage/mod.ts";
import type { FirmwareControl } from "./types.ts";

/** Default limit of a firmware upload (POST /api/system/firmware). */
export const DEFAULT_MAX_FIRMWARE_BYTES = 1024 * 1024 * 1024;

const FIRMWARE_TYPE = /^application\/(octet-stream|x-pbxfw)\s*(;|$)/i;

/** Firmware routes mounted at /api/system/firmware, behind requireAdmin. */
export function firmwareRoutes(
  options: { storage: Storage; firmware: FirmwareControl | undefined; maxFirmwareBytes?: number | undefined },
): Hono<AppEnv> {
  const { storage } = options;
  const app = new Hono<AppEnv>();
  const control = (): FirmwareControl =>
    options.firmware ?? fail(503, "firmware update is not available in this build");
  const audit = (c: Context<AppEnv>, action: string, detail: unknown) =>
    storage.audit.record({ actor: c.get("user").username, action, detail, sourceIp: clientIp(c) });

  app.get("/", (c) => c.json(control().info()));

  app.post("/", async (c) => {
    const fw = control();
    let tmp: string | undefined;
    try {
      const type = c.req.header("content-type") ?? "";
      if (!FIRMWARE_TYPE.test(type)) {
        fail(
          415,
          `firmware upload must be application/octet-stream (the .pbxfw file as the body), got ${
            JSON.stringify(type.slice(0, 60) || "nothing")
          }`,
        );
      }
      const flag = c.req.query("allowDowngrade") ?? "0";
      if (!["0", "1", "true", "false"].includes(flag)) {
        fail(400, `invalid query: allowDowngrade must be 1 or 0, got ${JSON.stringify(flag.slice(0, 20))}`);
      }
      // Refuse before reading a large body when nothing could be staged anyway.
      const info = fw.info();
      if (!info.updatable) fail(409, info.reason ?? "firmware update is not possible on this box");
      Deno.mkdirSync(fw.uploadDir, { recursive: true, mode: 0o700 });
      tmp = `${fw.uploadDir}/upload-${crypto.randomUUID()}.pbxfw`;
      const bytes = await streamBodyToFile(c, tmp, options.maxFirmwareBytes ?? DEFAULT_MAX_FIRMWARE_BYTES);
      if (bytes === 0) fail(400, "firmware upload is empty");
      const result = await fw.stage(tmp, {
        by: c.get("user").username,
        allowDowngrade: flag === "1" || flag === "true",
      });
      if (!result.ok) fail(result.reason === "invalid" ? 400 : 409, result.error);
      audit(c, "system.firmware-stage", { ...result.staged, bytes });
      return c.json({ staged: result.staged, applyOn: "restart" }, 202);
    } catch (e) {
      // Refused uploads are worth a line: someone tried to replace the software.
      if (e instanceof HttpError) audit(c, "system.firmware-refused", { status: e.status, error: e.message });
      throw e;
    } finally {
      if (tmp !== undefined) {
        try {
          Deno.removeSync(tmp);
        } catch { /* never written */ }
      }
    }
  });

  app.delete("/", (c) => {
    const { cancelled } = control().cancel();
    if (cancelled) audit(c, "system.firmware-cancel", {});
    return c.json({ staged: null, cancelled });
  });

  return app;
}
