/**
 * `PendingLogin.presentedToken`: kept through every store's check and the file store's sealing,
 * absent in logins stored before it was recorded, and refused when it is not a boolean.
 */
import { assertEquals, assertThrows } from "../../support/assert.ts";
import { checkPendingLogin } from "../../../src/sessions/entry_check.ts";
import { openPendingData, sealPendingData } from "../../../src/sessions/pending_data.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { pendingLogin } from "./fixtures.ts";

Deno.test("checkPendingLogin() keeps presentedToken, reads a login stored without it, and refuses a non-boolean", () => {
  assertEquals(checkPendingLogin(pendingLogin({ presentedToken: true })).presentedToken, true);
  assertEquals(checkPendingLogin(pendingLogin({ presentedToken: false })).presentedToken, false);
  const older = checkPendingLogin(pendingLogin());
  assertEquals("presentedToken" in older, false);
  for (const wrong of ["true", 1, null]) {
    assertThrows(
      () => checkPendingLogin({ ...pendingLogin(), presentedToken: wrong }),
      TypeError,
      'Invalid pending login: field "presentedToken" has the wrong type',
    );
  }
});

Deno.test("sealPendingData() and openPendingData() carry presentedToken", async () => {
  const cipher = await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7));
  const login = pendingLogin({ presentedToken: true });
  const sealed = JSON.parse(sealPendingData(login, cipher));
  assertEquals(openPendingData(sealed, cipher, login.id), login);
});
