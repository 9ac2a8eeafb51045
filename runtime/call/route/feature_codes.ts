/**
 * The feature-code table: what a phone dials to work a feature (issue 12's defaults). The codes
 * claim their numbers in the number plan now, so nothing else can take them before the features
 * themselves exist; an edited code (a stored override) claims instead of the default.
 * @module
 */
import type { Claim } from "./number_plan.ts";
import { parsePattern } from "./pattern.ts";

/** The features that have a code. */
export type FeatureCodeName =
  | "forward.on"
  | "forward.off"
  | "forward.to"
  | "forward.busy"
  | "forward.busy.off"
  | "forward.noanswer"
  | "forward.noanswer.off"
  | "dnd.on"
  | "dnd.off"
  | "pickup.group"
  | "pickup.directed"
  | "park"
  | "intercom"
  | "voicemail.own"
  | "voicemail.any"
  | "nightmode.toggle";

/** One row of the table. */
export interface FeatureCode {
  name: FeatureCodeName;
  /** Exact code (`*72`) or, for codes followed by a number, a pattern (`_**X.`). */
  pattern: string;
  /** What dialling it does. */
  description: string;
  /** Whether the code is followed by a number (an extension) the feature reads. */
  takesNumber: boolean;
}

/** The default codes (Asterisk/FreePBX conventions, as issue 12 lists them). */
export const DEFAULT_FEATURE_CODES: readonly FeatureCode[] = [
  {
    name: "forward.on",
    pattern: "*72",
    description: "call forwarding (always) on: asks for the number, ended by #",
    takesNumber: false,
  },
  {
    name: "forward.to",
    pattern: "_*72X.",
    description: "forward every call to NNN (*72NNN)",
    takesNumber: true,
  },
  { name: "forward.off", pattern: "*73", description: "call forwarding (always) off", takesNumber: false },
  {
    name: "forward.busy",
    pattern: "_*90X.",
    description: "forward to NNN when busy (*90NNN)",
    takesNumber: true,
  },
  { name: "forward.busy.off", pattern: "*91", description: "forwarding on busy off", takesNumber: false },
  {
    name: "forward.noanswer",
    pattern: "_*52X.",
    description: "forward to NNN when not answered or not registered (*52NNN)",
    takesNumber: true,
  },
  {
    name: "forward.noanswer.off",
    pattern: "*53",
    description: "forwarding on no answer off",
    takesNumber: false,
  },
  { name: "dnd.on", pattern: "*78", description: "do not disturb on", takesNumber: false },
  { name: "dnd.off", pattern: "*79", description: "do not disturb off", takesNumber: false },
  {
    name: "pickup.group",
    pattern: "*8",
    description: "pick up a call ringing in your group",
    takesNumber: false,
  },
  {
    name: "pickup.directed",
    pattern: "_**XX!",
    description: "pick up the call ringing at extension NNN (**NNN)",
    takesNumber: true,
  },
  {
    name: "park",
    pattern: "*85",
    description: "park the call: blind-transfer it to *85 (or the park number); the slot is announced",
    takesNumber: false,
  },
  {
    name: "intercom",
    pattern: "_*80XX!",
    description: "intercom: call extension NNN, which answers at once (*80NNN)",
    takesNumber: true,
  },
  { name: "voicemail.own", pattern: "*97", description: "your own voicemail box", takesNumber: false },
  {
    name: "voicemail.any",
    pattern: "*98",
    description: "any voicemail box (asks which)",
    takesNumber: false,
  },
  {
    name: "nightmode.toggle",
    pattern: "_*28X!",
    description: "night mode on/off for time condition NNN (*28NNN), or for every one (*28)",
    takesNumber: true,
  },
];

/**
 * The table with stored overrides applied (`{ "dnd.on": "*76" }`). Unknown names and malformed
 * codes are RangeErrors naming them.
 */
export function featureCodes(overrides: Readonly<Record<string, string>> = {}): FeatureCode[] {
  for (const [name, pattern] of Object.entries(overrides)) {
    if (!DEFAULT_FEATURE_CODES.some((f) => f.name === name)) {
      throw new RangeError(`unknown feature code ${JSON.stringify(name)}`);
    }
    try {
      parsePattern(pattern);
    } catch (e) {
      throw new RangeError(`feature code ${name}: ${(e as Error).message}`);
    }
  }
  return DEFAULT_FEATURE_CODES.map((f) => ({ ...f, pattern: overrides[f.name] ?? f.pattern }));
}

/** The number-plan claims of a feature-code table. */
export function featureCodeClaims(codes: readonly FeatureCode[]): Claim[] {
  return codes.map((f) => ({
    pattern: f.pattern,
    owner: { kind: "feature-code", id: f.name, label: `feature code ${f.name}` },
    purpose: f.description,
  }));
}
