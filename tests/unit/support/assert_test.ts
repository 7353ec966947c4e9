/** The test assertions fail where they should, with messages that say what was wrong. */
import {
  assertEquals,
  assertNotMatch,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "../../support/assert.ts";

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the assertion to fail");
}

async function asyncFailure(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the assertion to fail");
}

const refuse = () => Promise.reject(new RangeError("Session store is closed"));

Deno.test("assertRejects() checks the class and matches or includes the message", async () => {
  const error = await assertRejects(refuse, RangeError, /^Session store is closed$/);
  assertStrictEquals(error.name, "RangeError");
  await assertRejects(refuse, Error, "store is");
  assertEquals(
    await asyncFailure(() => assertRejects(refuse, Error, /^store/)),
    'Expected error message to match /^store/, got "Session store is closed"',
  );
  assertEquals(
    await asyncFailure(() => assertRejects(refuse, Error, "open")),
    'Expected error message to include "open", got "Session store is closed"',
  );
  assertEquals(
    await asyncFailure(() => assertRejects(refuse, TypeError)),
    "Expected error of class TypeError, got RangeError: Session store is closed",
  );
  assertEquals(
    await asyncFailure(() => assertRejects(() => Promise.resolve())),
    "Expected promise to reject",
  );
});

Deno.test("assertThrows() matches the message like assertRejects()", () => {
  const boom = () => {
    throw new TypeError("Invalid sessions.encryption_key: expected 32 bytes");
  };
  assertThrows(boom, TypeError, /^Invalid sessions\.encryption_key/);
  assertEquals(
    failure(() => assertThrows(boom, Error, /^expected/)),
    'Expected error message to match /^expected/, got "Invalid sessions.encryption_key: expected 32 bytes"',
  );
  assertEquals(failure(() => assertThrows(() => {})), "Expected function to throw");
});

Deno.test("assertStrictEquals() wants the very object; assertEquals() an equal one", () => {
  const entry = { id: "a" };
  assertStrictEquals(entry, entry);
  assertEquals({ ...entry }, entry);
  failure(() => assertStrictEquals({ ...entry }, entry));
});

Deno.test("assertNotMatch() fails when the text matches", () => {
  assertNotMatch("token checked", /HMAC on token from client failed/);
  failure(() => assertNotMatch("HMAC on token from client failed", /HMAC .* failed/));
});
