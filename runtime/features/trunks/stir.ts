/**
 * STIR/SHAKEN on the trunks: the settings (trust store and policy for inbound calls; certificate,
 * key, x5u and attestation rules for outbound ones) and the verifier/signer built from them
 * (runtime/call/stir does the cryptography with npm jose and node:crypto). The signing key is
 * stored sealed, like the trunk passwords, and never returned by the API.
 * @module
 */
import type { Clock } from "../../clock/mod.ts";
import type { Logger } from "../../log/mod.ts";
import type { SecretBox, SettingsStore } from "../../storage/mod.ts";
import {
  type Attestation,
  chooseAttestation,
  parsePemBundle,
  StirSigner,
  StirVerifier,
  type VerifyInput,
  type VerifyResult,
} from "../../call/stir/mod.ts";

/** Settings key. */
export const STIR_SETTING = "trunks.stir";

/** STIR/SHAKEN settings as stored (the key sealed). */
export interface StirSettings {
  verify: {
    enabled: boolean;
    /** PEM bundle of trusted root certificates. */
    trustRoots: string;
    /** `mark`: verstat only; `reject`: a failed verification is refused with its RFC 8224 code. */
    policy: "mark" | "reject";
    maxAgeSec: number;
    /** Accept http: x5u and private/loopback hosts (lab and tests only). */
    allowHttp: boolean;
    allowPrivateHosts: boolean;
  };
  sign: {
    enabled: boolean;
    certPem: string;
    keySealed?: string;
    x5u: string;
    /**
     * Attestation rules: `owned` (A when an extension calls with a number that is a DID of the box,
     * B otherwise, C when the caller is no extension) or a fixed level for every call.
     */
    attestation: "owned" | Attestation;
  };
}

/** Defaults: both off. */
export const DEFAULT_STIR: StirSettings = {
  verify: {
    enabled: false,
    trustRoots: "",
    policy: "mark",
    maxAgeSec: 60,
    allowHttp: false,
    allowPrivateHosts: false,
  },
  sign: { enabled: false, certPem: "", x5u: "", attestation: "owned" },
};

/** The settings as the API shows them (no key). */
export function stirView(s: StirSettings): unknown {
  const { keySealed, ...sign } = s.sign;
  return { verify: s.verify, sign: { ...sign, hasKey: keySealed !== undefined } };
}

const bool = (v: unknown, f: string, d: boolean) => {
  if (v === undefined) return d;
  if (typeof v !== "boolean") throw new TypeError(`${f} must be true or false`);
  return v;
};
const text = (v: unknown, f: string, d: string, max = 65536) => {
  if (v === undefined) return d;
  if (typeof v !== "string" || v.length > max) {
    throw new TypeError(`${f} must be a string of at most ${max} characters`);
  }
  return v;
};

/**
 * Check a settings body merged over `current`; the key (keyPem) is sealed here. Bad PEM, a key
 * that does not match, an x5u that is no URL: RangeError/TypeError saying so.
 */
export async function checkStir(
  input: unknown,
  current: StirSettings,
  secrets: SecretBox,
  clock?: Clock,
): Promise<StirSettings> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new TypeError("STIR settings must be a JSON object");
  }
  const b = input as { verify?: Record<string, unknown>; sign?: Record<string, unknown> };
  const v = b.verify ?? {};
  const s = b.sign ?? {};
  const policy = v.policy ?? current.verify.policy;
  if (policy !== "mark" && policy !== "reject") throw new RangeError(`verify.policy must be mark or reject`);
  const maxAge = v.maxAgeSec ?? current.verify.maxAgeSec;
  if (typeof maxAge !== "number" || !Number.isInteger(maxAge) || maxAge < 5 || maxAge > 3600) {
    throw new RangeError("verify.maxAgeSec must be a whole number 5-3600");
  }
  const attestation = s.attestation ?? current.sign.attestation;
  if (!["owned", "A", "B", "C"].includes(attestation as string)) {
    throw new RangeError("sign.attestation must be owned, A, B or C");
  }
  const out: StirSettings = {
    verify: {
      enabled: bool(v.enabled, "verify.enabled", current.verify.enabled),
      trustRoots: text(v.trustRoots, "verify.trustRoots", current.verify.trustRoots),
      policy,
      maxAgeSec: maxAge,
      allowHttp: bool(v.allowHttp, "verify.allowHttp", current.verify.allowHttp),
      allowPrivateHosts: bool(
        v.allowPrivateHosts,
        "verify.allowPrivateHosts",
        current.verify.allowPrivateHosts,
      ),
    },
    sign: {
      enabled: bool(s.enabled, "sign.enabled", current.sign.enabled),
      certPem: text(s.certPem, "sign.certPem", current.sign.certPem),
      x5u: text(s.x5u, "sign.x5u", current.sign.x5u, 2048),
      attestation: attestation as StirSettings["sign"]["attestation"],
      ...(current.sign.keySealed !== undefined ? { keySealed: current.sign.keySealed } : {}),
    },
  };
  if (s.keyPem !== undefined) {
    out.sign.keySealed = secrets.seal(text(s.keyPem, "sign.keyPem", ""), "stir:key");
  }
  if (out.verify.enabled) {
    let roots;
    try {
      roots = parsePemBundle(out.verify.trustRoots);
    } catch (e) {
      throw new RangeError(`verify.trustRoots: ${(e as Error).message}`);
    }
    if (roots.length === 0) throw new RangeError("verify.trustRoots holds no certificate");
  }
  if (out.sign.enabled) {
    if (out.sign.keySealed === undefined) throw new RangeError("sign.keyPem is needed to sign");
    await StirSigner.create({
      certPem: out.sign.certPem,
      keyPem: secrets.unseal(out.sign.keySealed, "stir:key"),
      x5u: out.sign.x5u,
      ...(clock !== undefined ? { clock } : {}),
    });
  }
  return out;
}

/** The verifier and signer of the current settings (rebuilt by `reload`). */
export class Stir {
  #settings: SettingsStore;
  #secrets: SecretBox;
  #clock: Clock;
  #log: Logger;
  #verifier: StirVerifier | undefined;
  #signer: StirSigner | undefined;
  #current: StirSettings = DEFAULT_STIR;

  constructor(o: { settings: SettingsStore; secrets: SecretBox; clock: Clock; log: Logger }) {
    this.#settings = o.settings;
    this.#secrets = o.secrets;
    this.#clock = o.clock;
    this.#log = o.log;
  }

  settings(): StirSettings {
    const s = this.#settings.get<StirSettings>(STIR_SETTING);
    return s === undefined ? DEFAULT_STIR : {
      verify: { ...DEFAULT_STIR.verify, ...s.verify },
      sign: { ...DEFAULT_STIR.sign, ...s.sign },
    };
  }

  async save(s: StirSettings): Promise<void> {
    this.#settings.set(STIR_SETTING, s);
    await this.reload();
  }

  /** Build the verifier and signer from the stored settings; a bad stored value turns that side off (logged). */
  async reload(): Promise<void> {
    const s = this.settings();
    this.#current = s;
    this.#verifier = undefined;
    this.#signer = undefined;
    if (s.verify.enabled) {
      try {
        this.#verifier = new StirVerifier({
          trustRoots: s.verify.trustRoots,
          clock: this.#clock,
          maxAgeSec: s.verify.maxAgeSec,
          fetch: {
            clock: this.#clock,
            allowHttp: s.verify.allowHttp,
            allowPrivateHosts: s.verify.allowPrivateHosts,
          },
        });
      } catch (e) {
        this.#log.error("STIR verification is off: bad trust store", { error: (e as Error).message });
      }
    }
    if (s.sign.enabled && s.sign.keySealed !== undefined) {
      try {
        this.#signer = await StirSigner.create({
          certPem: s.sign.certPem,
          keyPem: this.#secrets.unseal(s.sign.keySealed, "stir:key"),
          x5u: s.sign.x5u,
          clock: this.#clock,
        });
      } catch (e) {
        this.#log.error("STIR signing is off: bad certificate or key", { error: (e as Error).message });
      }
    }
  }

  /** Verify an inbound call; undefined when verification is off. */
  async verify(input: VerifyInput): Promise<{ result: VerifyResult; reject: boolean } | undefined> {
    if (this.#verifier === undefined) return undefined;
    const result = await this.#verifier.verify(input);
    return {
      result,
      reject: this.#current.verify.policy === "reject" && result.verstat === "TN-Validation-Failed",
    };
  }

  /** The Identity header for an outbound call, or undefined when signing is off. */
  async sign(
    o: { origTn: string; destTn: string; knownCaller: boolean; ownedNumber: boolean },
  ): Promise<string | undefined> {
    if (this.#signer === undefined) return undefined;
    const rule = this.#current.sign.attestation;
    const attest = rule === "owned"
      ? chooseAttestation({ knownCaller: o.knownCaller, numberOwnedOnTrunk: o.ownedNumber })
      : rule;
    try {
      return (await this.#signer.sign({ origTn: o.origTn, destTns: o.destTn, attest })).identity;
    } catch (e) {
      this.#log.warn("STIR signing failed; the call goes out unsigned", { error: (e as Error).message });
      return undefined;
    }
  }
}
