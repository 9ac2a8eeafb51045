/**
 * Sealing of secrets a feature must be able to read back (a trunk's password is sent to the
 * carrier, so it cannot be stored as a hash): AES-256-GCM under the data directory's secret.key,
 * the same as the extensions' SIP passwords. The database and its backups hold only the sealed form.
 * @module
 */
import { loadOrCreateKey, seal, unseal } from "./_secret.ts";

/** Seal and open secrets bound to a context (e.g. `trunk:carrier1`), so a copied value fails elsewhere. */
export interface SecretBox {
  seal(plain: string, context: string): string;
  /** Throws when the value was tampered with or sealed for another context. */
  unseal(sealed: string, context: string): string;
}

/** The secret box of a data directory (its secret.key is made on first use). */
export function createSecretBox(dataDir: string): SecretBox {
  let key: Uint8Array | undefined;
  const k = () => key ??= loadOrCreateKey(`${dataDir}/secret.key`);
  return {
    seal: (plain, context) => seal(k(), plain, context),
    unseal: (sealed, context) => unseal(k(), sealed, context),
  };
}
