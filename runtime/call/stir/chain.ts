/**
 * X.509 chain validation for STIR/SHAKEN certificates, on `node:crypto`'s `X509Certificate`
 * (signature checks, issuer matching, validity dates) rather than hand-written ASN.1 parsing.
 *
 * @module
 */

import { X509Certificate } from "node:crypto";

/** Longest chain walked (leaf, intermediates, root). */
export const MAX_CHAIN_DEPTH = 6;

/** Why a chain is not trusted. */
export class ChainError extends Error {
  constructor(
    readonly code: "bad-certificate" | "expired" | "not-yet-valid" | "untrusted" | "not-ca" | "bad-key",
    message: string,
  ) {
    super(message);
    this.name = "ChainError";
  }
}

/** Every certificate in a PEM bundle, in order. Throws `ChainError` on a block that does not parse. */
export function parsePemBundle(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw new ChainError("bad-certificate", `certificate does not parse: ${(e as Error).message}`);
    }
  });
}

/** A parsed trust store: the root certificates a chain must end at. */
export class TrustStore {
  readonly roots: readonly X509Certificate[];

  /** `pem`: one or more PEM bundles of root (or pinned intermediate) certificates. */
  constructor(pem: string | readonly string[]) {
    const all = (typeof pem === "string" ? [pem] : pem).flatMap(parsePemBundle);
    this.roots = all;
  }

  /**
   * Check that `chain[0]` (the leaf) chains to a root through the other certificates of `chain`,
   * every certificate valid at `atMs` (Unix ms), every issuer a CA, and the leaf key EC P-256
   * (ES256). Returns the leaf. Throws {@link ChainError}.
   */
  verify(chain: readonly X509Certificate[], atMs: number): X509Certificate {
    const leaf = chain[0];
    if (leaf === undefined) throw new ChainError("bad-certificate", "x5u held no certificate");
    const details = leaf.publicKey.asymmetricKeyDetails;
    if (leaf.publicKey.asymmetricKeyType !== "ec" || details?.namedCurve !== "prime256v1") {
      throw new ChainError("bad-key", "signing certificate key is not EC P-256");
    }
    let current = leaf;
    const used = new Set<string>([leaf.fingerprint256]);
    for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
      checkDates(current, atMs);
      // Pinned: the certificate itself is in the trust store.
      if (this.roots.some((r) => r.fingerprint256 === current.fingerprint256)) return leaf;
      const root = this.roots.find((r) => issuedBy(current, r));
      if (root !== undefined) {
        checkDates(root, atMs);
        if (!root.ca) throw new ChainError("not-ca", `trust anchor ${root.subject} is not a CA`);
        return leaf;
      }
      const next = chain.find((c) => !used.has(c.fingerprint256) && issuedBy(current, c));
      if (next === undefined) {
        throw new ChainError(
          "untrusted",
          `certificate ${oneLine(current.issuer)} is not chained to the trust store`,
        );
      }
      if (!next.ca) throw new ChainError("not-ca", `issuer ${oneLine(next.subject)} is not a CA`);
      used.add(next.fingerprint256);
      current = next;
    }
    throw new ChainError("untrusted", `chain longer than ${MAX_CHAIN_DEPTH}`);
  }
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function checkDates(cert: X509Certificate, atMs: number): void {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (Number.isFinite(from) && atMs < from) {
    throw new ChainError(
      "not-yet-valid",
      `certificate ${oneLine(cert.subject)} not valid before ${cert.validFrom}`,
    );
  }
  if (!Number.isFinite(to) || atMs > to) {
    throw new ChainError("expired", `certificate ${oneLine(cert.subject)} expired ${cert.validTo}`);
  }
}

function oneLine(dn: string): string {
  return dn.replace(/\n/g, ", ");
}
