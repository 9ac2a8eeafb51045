/** Test helpers for the storage folder: a throwaway data directory with an open Storage. */
import type { Clock } from "../clock/mod.ts";
import { openStorage, type Storage } from "./storage.ts";

/** A Storage in a fresh temp dir; `dispose()` closes it and removes the dir. */
export function tempStorage(options: { clock?: Clock; groupCommitMs?: number } = {}): Storage & {
  dispose(): void;
} {
  const dataDir = Deno.makeTempDirSync({ prefix: "pbx-storage-test-" });
  const storage = openStorage({ dataDir, pbkdf2Iterations: 1000, ...options });
  return Object.assign(storage, {
    dispose() {
      storage.close();
      Deno.removeSync(dataDir, { recursive: true });
    },
  });
}

/** Assert that `fn` throws an instance of `cls` whose message contains `text`. */
export function assertThrows(
  fn: () => unknown,
  cls: abstract new (...a: never[]) => Error,
  text = "",
): Error {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof cls)) throw new Error(`expected ${cls.name}, got ${e}`);
    if (!e.message.includes(text)) {
      throw new Error(`expected message containing ${JSON.stringify(text)}, got ${e.message}`);
    }
    return e;
  }
  throw new Error(`expected ${cls.name} to be thrown`);
}

/** Assert that `promise` rejects with an instance of `cls` whose message contains `text`. */
export async function assertRejects(
  promise: Promise<unknown>,
  cls: abstract new (...a: never[]) => Error,
  text = "",
): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    if (!(e instanceof cls)) throw new Error(`expected ${cls.name}, got ${e}`);
    if (!e.message.includes(text)) {
      throw new Error(`expected message containing ${JSON.stringify(text)}, got ${e.message}`);
    }
    return e;
  }
  throw new Error(`expected ${cls.name} rejection`);
}
