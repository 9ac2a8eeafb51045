/**
 * Firmware update: signed `.pbxfw` bundles, staging into the inactive A/B slot, trial confirmation.
 * The launcher (appliance/box/pbx-launch) switches slots and rolls back; docs/update.md has the
 * whole story. The bundle tool is make_bundle.ts.
 * @module
 */
export { detectSlot, Updater, type UpdaterOptions } from "./_updater.ts";
export {
  type BundleArch,
  compareVersions,
  hostArch,
  importPublicKey,
  loadTrustedKeys,
  type Manifest,
  parseManifest,
  PRODUCT,
  type TrustedKey,
  type VerifiedBundle,
  verifyBundle,
} from "./_bundle.ts";
export { extractTarGz, safeRelativePath } from "./_extract.ts";
export {
  type LastResult,
  readLastResult,
  readStaged,
  readTrial,
  type Slot,
  type StagedState,
  type TrialState,
} from "./_state.ts";
export {
  buildBundle,
  generateSigningKey,
  listSourceFiles,
  writeOuterTar,
  writePayload,
  writeSlotTree,
} from "./make_bundle.ts";

/** The version in this app's deno.json (the running firmware version). */
export function appVersion(): string {
  const json = JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url))) as {
    version?: unknown;
  };
  if (typeof json.version !== "string") throw new RangeError("deno.json has no version");
  return json.version;
}
