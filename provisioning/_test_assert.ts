/** Tiny assertion helpers over node:assert for this folder's tests (JSR std is unreachable). */
import nodeAssert from "node:assert";

/** Throws unless `value` is truthy. */
export function assert(value: unknown, message?: string): asserts value {
  nodeAssert.ok(value, message);
}

/** Deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Substring check with a readable failure. */
export function assertIncludes(haystack: string, needle: string): void {
  if (!haystack.includes(needle)) {
    throw new Error(`expected to find ${JSON.stringify(needle)} in:\n${haystack}`);
  }
}

/** Substring absence check. */
export function assertNotIncludes(haystack: string, needle: string): void {
  if (haystack.includes(needle)) throw new Error(`did not expect ${JSON.stringify(needle)} in:\n${haystack}`);
}

/** Expect `fn` to throw an instance of `cls` whose message contains `includes`. */
export function assertThrows(fn: () => unknown, cls: new (...a: never[]) => Error, includes = ""): Error {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof cls)) throw new Error(`expected ${cls.name}, got ${String(err)}`);
    if (!err.message.includes(includes)) {
      throw new Error(`message ${JSON.stringify(err.message)} lacks ${includes}`);
    }
    return err;
  }
  throw new Error(`expected ${cls.name} to be thrown`);
}
