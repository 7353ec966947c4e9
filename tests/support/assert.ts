/**
 * The one assertion module of the tests (scripts/check_test_imports.ts keeps it so). JSR's
 * @std/assert is not reachable from our machines, so it wraps `node:assert` (on Deno and Bun
 * alike) behind the familiar names.
 */
import assertModule from "node:assert/strict";

export function assert(condition: unknown, message?: string): asserts condition {
  assertModule.ok(condition, message);
}

export function assertEquals<T>(
  actual: unknown,
  expected: T,
  message?: string,
): asserts actual is T {
  assertModule.deepStrictEqual(actual, expected, message);
}

/** The same value by `Object.is`: for objects, the very same object, not an equal copy. */
export function assertStrictEquals<T>(
  actual: unknown,
  expected: T,
  message?: string,
): asserts actual is T {
  assertModule.strictEqual(actual, expected, message);
}

export function assertNotEquals(actual: unknown, expected: unknown, message?: string): void {
  assertModule.notDeepStrictEqual(actual, expected, message);
}

export function assertStringIncludes(actual: string, expected: string, message?: string): void {
  if (!actual.includes(expected)) {
    throw new assertModule.AssertionError({
      message: message ??
        `Expected text to include ${JSON.stringify(expected)}, got ${
          JSON.stringify(actual.slice(0, 2000))
        }`,
    });
  }
}

export function assertMatch(actual: string, pattern: RegExp, message?: string): void {
  assertModule.match(actual, pattern, message);
}

export function assertNotMatch(actual: string, pattern: RegExp, message?: string): void {
  assertModule.doesNotMatch(actual, pattern, message);
}

type ErrorClass<E> = new (...args: never[]) => E;

export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  errorClass?: ErrorClass<E>,
  message?: string | RegExp,
): E {
  try {
    fn();
  } catch (error) {
    checkError(error, errorClass, message);
    return error as E;
  }
  throw new assertModule.AssertionError({ message: "Expected function to throw" });
}

export async function assertRejects<E extends Error = Error>(
  fn: () => Promise<unknown>,
  errorClass?: ErrorClass<E>,
  message?: string | RegExp,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    checkError(error, errorClass, message);
    return error as E;
  }
  throw new assertModule.AssertionError({ message: "Expected promise to reject" });
}

/**
 * The thrown value is an instance of `errorClass` and its message includes `message` (a string)
 * or matches it (a RegExp).
 */
function checkError(
  error: unknown,
  errorClass?: ErrorClass<unknown>,
  message?: string | RegExp,
): void {
  if (errorClass && !(error instanceof errorClass)) {
    throw new assertModule.AssertionError({
      message: `Expected error of class ${errorClass.name}, got ${(error as Error)?.name}: ${
        (error as Error)?.message
      }`,
    });
  }
  if (message === undefined) return;
  const actual = String((error as Error)?.message);
  const ok = typeof message === "string" ? actual.includes(message) : message.test(actual);
  if (!ok) {
    const wanted = typeof message === "string"
      ? `include ${JSON.stringify(message)}`
      : `match ${message}`;
    throw new assertModule.AssertionError({
      message: `Expected error message to ${wanted}, got ${JSON.stringify(actual)}`,
    });
  }
}
