/**
 * What programmable keys a phone can take: the key types each vendor's provisioning file can
 * express, and how many keys a model has. Pure data, so the web API can refuse a key list before
 * it is stored. Sources of the counts are in provisioning/templates/SOURCES.md.
 */
import type { DeviceLineKey, DeviceVendor } from "./devices.ts";

/** The key types there are. */
export const PHONE_KEY_TYPES: readonly DeviceLineKey["type"][] = ["blf", "speeddial", "park"];

/** Keys one phone row may carry at most, whatever the model (the storage cap). */
export const MAX_PHONE_KEYS = 64;

/** What a phone of some vendor/model can take. */
export interface PhoneKeyCapacity {
  /** Most keys (the account's own line key not counted). */
  max: number;
  /** Key types its file can express. */
  types: readonly DeviceLineKey["type"][];
  /** Where `max` comes from, for the error message ("Grandstream GRP2614", "Yealink (any model)"). */
  basis: string;
}

const VENDOR_NAME: Record<DeviceVendor, string> = {
  yealink: "Yealink",
  polycom: "Polycom",
  cisco: "Cisco",
  grandstream: "Grandstream",
  zultys: "Zultys",
};

/**
 * Models with a known number of programmable keys, matched by prefix on the upper-cased model
 * with non-alphanumerics removed (first match wins, so longer prefixes come first). Grandstream
 * GRP261x: VPK + MPK counts of wazo-provd's Grandstream plugin (MODEL_FKEYS).
 */
const MODEL_KEYS: Partial<Record<DeviceVendor, readonly [prefix: string, keys: number][]>> = {
  grandstream: [["GRP2612", 16], ["GRP2613", 24], ["GRP2614", 40], ["GRP2615", 40], ["GRP2616", 40]],
};

/** Without a model: the most any of the vendor's files addresses (the storage cap). */
const VENDOR_TYPES: Record<DeviceVendor, readonly DeviceLineKey["type"][]> = {
  yealink: PHONE_KEY_TYPES,
  cisco: PHONE_KEY_TYPES,
  grandstream: PHONE_KEY_TYPES,
  // Polycom: attendant resources (BLF "normal", park "automata"); plain speed dials would need the
  // phone's contact directory, which is not generated per phone.
  polycom: ["blf", "park"],
  // Zultys ZIP2x2: no verified key syntax, so nothing is emitted and nothing is accepted.
  zultys: [],
};

/** The key capacity of a phone; `vendor` null (not known yet) allows any type up to the cap. */
export function phoneKeyCapacity(vendor: DeviceVendor | null, model: string | null): PhoneKeyCapacity {
  if (vendor === null) {
    return { max: MAX_PHONE_KEYS, types: PHONE_KEY_TYPES, basis: "a phone of unknown make" };
  }
  const types = VENDOR_TYPES[vendor];
  const name = VENDOR_NAME[vendor];
  if (types.length === 0) return { max: 0, types, basis: `${name} phones` };
  const norm = (model ?? "").toUpperCase().replace(/[^0-9A-Z]/g, "");
  const hit = norm === "" ? undefined : MODEL_KEYS[vendor]?.find(([p]) => norm.startsWith(p));
  if (hit) return { max: hit[1], types, basis: `${name} ${model}` };
  return {
    max: MAX_PHONE_KEYS,
    types,
    basis: `${name} (model ${model ? `${model} not in the table` : "unknown"})`,
  };
}

/**
 * Why `keys` do not fit the phone, or undefined when they do: a key type its file cannot carry,
 * or more keys than the model has.
 */
export function phoneKeysMisfit(
  vendor: DeviceVendor | null,
  model: string | null,
  keys: readonly DeviceLineKey[],
): string | undefined {
  const cap = phoneKeyCapacity(vendor, model);
  if (keys.length > 0 && cap.types.length === 0) {
    return `${cap.basis} take no programmable keys from provisioning (no verified key syntax)`;
  }
  const i = keys.findIndex((k) => !cap.types.includes(k.type));
  if (i >= 0) {
    return `key ${i + 1}: ${cap.basis} cannot take ${keys[i]!.type} keys (supported: ${
      cap.types.join(", ")
    })`;
  }
  if (keys.length > cap.max) {
    return `too many keys for ${cap.basis}: ${keys.length} given, at most ${cap.max}`;
  }
  return undefined;
}
