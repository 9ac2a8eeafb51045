/**
 * Emergency calls: the settings (numbers, outside-line prefixes, test mode, front desk), the
 * dispatchable location as a PIDF-LO (RFC 4119 with the RFC 5139 civic address) sent by reference
 * from a Geolocation header (RFC 6442), and the words the front desk is told.
 * @module
 */
import type { Location } from "./config.ts";

/** Settings key of the E911 settings. */
export const E911_SETTING = "trunks.e911";

/** E911 settings (US defaults; other countries change the numbers). */
export interface E911Settings {
  /** Emergency numbers dialled as they are (`911`; `112`, `999` elsewhere). */
  numbers: string[];
  /** Outside-line prefixes that may come before them (`9` makes `9911` work: Kari's Law). */
  prefixes: string[];
  /** Test mode: the carrier's test number goes out, the emergency numbers are refused. */
  testMode: boolean;
  /** The carrier's test number (`933`). */
  testNumber: string;
  /** Callback number when the route and trunk give none. */
  callbackNumber?: string;
  /** Rung (with the location spoken) when an emergency call is made: an extension or group number. */
  frontDesk?: string;
  /** Paging zone told at once. */
  pageZone?: string;
  /** Addresses emailed at once. */
  email: string[];
}

/** The defaults: 911 with or without 9, test number 933, test mode off. */
export const DEFAULT_E911: E911Settings = {
  numbers: ["911"],
  prefixes: ["9"],
  testMode: false,
  testNumber: "933",
  email: [],
};

const DIGITS = /^[0-9]{1,8}$/;
const EMAIL = /^[^\s@<>"]{1,64}@[A-Za-z0-9.-]{1,190}$/;

/** Check an E911 settings body (a partial one is merged over `current`). */
export function checkE911(input: unknown, current: E911Settings = DEFAULT_E911): E911Settings {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new TypeError("E911 settings must be a JSON object");
  }
  const b = { ...current, ...(input as Record<string, unknown>) } as Record<string, unknown>;
  const digits = (v: unknown, f: string, allowEmpty: boolean): string[] => {
    if (!Array.isArray(v) || v.length > 8) throw new TypeError(`${f} must be a list of at most 8 numbers`);
    if (!allowEmpty && v.length === 0) throw new RangeError(`${f} must not be empty`);
    return v.map((x, i) => {
      if (typeof x !== "string" || !DIGITS.test(x)) {
        throw new RangeError(`${f}[${i}] must be 1-8 digits, got ${JSON.stringify(x)}`);
      }
      return x;
    });
  };
  const one = (v: unknown, f: string): string | undefined => {
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v !== "string" || !/^\+?[0-9*#]{1,32}$/.test(v)) {
      throw new RangeError(`${f} must be a number, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  if (typeof b.testMode !== "boolean") throw new TypeError("testMode must be true or false");
  const out: E911Settings = {
    numbers: digits(b.numbers, "numbers", false),
    prefixes: digits(b.prefixes, "prefixes", true),
    testMode: b.testMode,
    testNumber: one(b.testNumber, "testNumber") ?? "933",
    email: (() => {
      if (!Array.isArray(b.email) || b.email.length > 8) {
        throw new TypeError("email must be a list of at most 8 addresses");
      }
      return b.email.map((e, i) => {
        if (typeof e !== "string" || !EMAIL.test(e)) {
          throw new RangeError(`email[${i}] is not an address: ${JSON.stringify(e)}`);
        }
        return e;
      });
    })(),
  };
  const cb = one(b.callbackNumber, "callbackNumber");
  if (cb !== undefined) out.callbackNumber = cb;
  const fd = one(b.frontDesk, "frontDesk");
  if (fd !== undefined) out.frontDesk = fd;
  const pz = one(b.pageZone, "pageZone");
  if (pz !== undefined) out.pageZone = pz;
  if (out.numbers.includes(out.testNumber)) {
    throw new RangeError("testNumber must differ from the emergency numbers");
  }
  return out;
}

/** The emergency number `dialled` stands for (`9911` -> `911`), or undefined. Test number included. */
export function emergencyNumber(dialled: string, s: E911Settings): string | undefined {
  const all = [...s.numbers, s.testNumber];
  if (all.includes(dialled)) return dialled;
  for (const p of s.prefixes) {
    if (dialled.startsWith(p) && all.includes(dialled.slice(p.length))) return dialled.slice(p.length);
  }
  return undefined;
}

const esc = (s: string) =>
  s.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!,
  );

/**
 * The PIDF-LO (RFC 4119, civic address per RFC 5139) of `location` for `entity` (the caller's
 * callback URI), with `at` as its timestamp.
 */
export function pidfLo(location: Location, options: { entity: string; at: number; method?: string }): string {
  const civic: [string, string | undefined][] = [
    ["country", location.country],
    ["A1", location.state],
    ["A3", location.city],
    ["RD", location.street],
    ["HNO", location.houseNumber],
    ["PC", location.postalCode],
    ["BLD", location.building],
    ["FLR", location.floor],
    ["ROOM", location.room],
    ["LOC", location.address],
  ];
  const fields = civic.filter(([, v]) => v !== undefined && v !== "").map(([k, v]) =>
    `<ca:${k}>${esc(v!)}</ca:${k}>`
  )
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" ` +
    `xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr" entity="${esc(options.entity)}">
<tuple id="location"><status><gp:geopriv><gp:location-info><ca:civicAddress>${fields}</ca:civicAddress>` +
    `</gp:location-info><gp:usage-rules/><gp:method>${
      esc(options.method ?? "Manual")
    }</gp:method></gp:geopriv>` +
    `</status><timestamp>${new Date(options.at).toISOString()}</timestamp></tuple>
</presence>
`;
}

/** One line a person reads or hears: "100 Main St, building B, floor 2, room 201". */
export function describeLocation(l: Location | undefined): string {
  if (l === undefined) return "no location on file";
  return [
    l.address,
    l.building ? `building ${l.building}` : "",
    l.floor ? `floor ${l.floor}` : "",
    l.room ? `room ${l.room}` : "",
  ].filter((x) => x !== "").join(", ");
}
