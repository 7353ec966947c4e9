import { assertEquals, assertStrictEquals, assertThrows } from "../../support/assert.ts";
import { checkPendingLogin, checkSession, ownString } from "../../../src/sessions/entry_check.ts";
import { pendingLogin, session } from "./fixtures.ts";

Deno.test("ownString() keeps any text exactly: a leading BOM, lone surrogates, NUL, emoji", () => {
  const texts = [
    "\uFEFFbom",
    "lone \uD800 surrogate",
    "\uDC00",
    "pair 🔐👩‍💻",
    "nul \u0000 inside",
    "",
    "Grüße 日本語 עברית",
    "bs".padEnd(4000, "x"),
  ];
  for (const text of texts) assertStrictEquals(ownString(text), text);
});

Deno.test("checkSession() and checkPendingLogin() refuse an entry naming another id than expected", () => {
  const entry = session({ sessionId: "s-a" });
  assertEquals(checkSession(entry, { expectedId: "s-a" }).sessionId, "s-a");
  assertThrows(
    () => checkSession(entry, { expectedId: "s-b" }),
    TypeError,
    'Invalid session: field "sessionId" names another entry than the one read',
  );
  const login = pendingLogin({ id: "p-a" });
  assertEquals(checkPendingLogin(login, { expectedId: "p-a" }).id, "p-a");
  assertThrows(
    () => checkPendingLogin(login, { expectedId: "p-b" }),
    TypeError,
    'Invalid pending login: field "id" names another entry than the one read',
  );
  // Compared as JS strings, so an id SQLite or Redis could not hold exactly still matches itself.
  const odd = "nul \u0000 lone \uD800";
  assertEquals(checkSession(session({ sessionId: odd }), { expectedId: odd }).sessionId, odd);
});

Deno.test("checkPendingLogin() refuses OAuth state missing a field or holding a non-string", () => {
  for (const key of ["state", "nonce", "codeVerifier", "browserBinding"]) {
    for (const value of [undefined, 1, null, ["x"]]) {
      const login = pendingLogin();
      const oauth: Record<string, unknown> = { ...login.oauth };
      oauth[key] = value;
      assertThrows(
        () => checkPendingLogin({ ...login, oauth }),
        TypeError,
        `Invalid pending login OAuth state: field "${key}" has the wrong type`,
      );
    }
  }
});
