/**
 * Test assertions. JSR's @std/assert is not reachable from our machines, so tests use
 * `node:assert` (on Deno and Bun alike) behind the familiar names.
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

// deno-lint-ignore no-explicit-any
type ErrorClass<E> = new (...args: any[]) => E;

export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  errorClass?: ErrorClass<E>,
  includes?: string,
): E {
  try {
    fn();
  } catch (error) {
    checkError(error, errorClass, includes);
    return error as E;
  }
  throw new assertModule.AssertionError({ message: "Expected function to throw" });
}

export async function assertRejects<E extends Error = Error>(
  fn: () => Promise<unknown>,
  errorClass?: ErrorClass<E>,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    checkError(error, errorClass, includes);
    return error as E;
  }
  throw new assertModule.AssertionError({ message: "Expected promise to reject" });
}

function checkError(error: unknown, errorClass?: ErrorClass<unknown>, includes?: string): void {
  if (errorClass && !(error instanceof errorClass)) {
    throw new assertModule.AssertionError({
      message: `Expected error of class ${errorClass.name}, got ${(error as Error)?.name}: ${
        (error as Error)?.message
      }`,
    });
  }
  if (includes && !String((error as Error)?.message).includes(includes)) {
    throw new assertModule.AssertionError({
      message: `Expected error message to include ${JSON.stringify(includes)}, got ${
        JSON.stringify((error as Error)?.message)
      }`,
    });
  }
}
