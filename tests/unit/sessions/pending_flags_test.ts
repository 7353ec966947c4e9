/**
 * `PendingLogin`'s optional flags, `presentedToken`, `presentsIssuedToken` and
 * `sessionIdUnverified`: kept through every
 * store's check and the file store's sealing, absent in logins stored before they were recorded,
 * and refused when they are not booleans.
 */
import { assertEquals, assertThrows } from "../../support/assert.ts";
import { checkPendingLogin } from "../../../src/sessions/entry_check.ts";
import { openPendingData, sealPendingData } from "../../../src/sessions/pending_data.ts";
import { TokenCipher } from "../../../src/sessions/token_cipher.ts";
import { pendingLogin } from "./fixtures.ts";

const FLAGS = ["presentedToken", "presentsIssuedToken", "sessionIdUnverified"] as const;

Deno.test("checkPendingLogin() keeps each flag, reads a login stored without it, and refuses a non-boolean", () => {
  for (const flag of FLAGS) {
    assertEquals(checkPendingLogin(pendingLogin({ [flag]: true }))[flag], true, flag);
    assertEquals(checkPendingLogin(pendingLogin({ [flag]: false }))[flag], false, flag);
    const older = checkPendingLogin(pendingLogin());
    assertEquals(flag in older, false, flag);
    for (const wrong of ["true", 1, null]) {
      assertThrows(
        () => checkPendingLogin({ ...pendingLogin(), [flag]: wrong }),
        TypeError,
        `Invalid pending login: field "${flag}" has the wrong type`,
      );
    }
  }
});

Deno.test("sealPendingData() and openPendingData() carry each flag", async () => {
  const cipher = await TokenCipher.fromKeyBytes(new Uint8Array(32).fill(7));
  for (const flag of FLAGS) {
    const login = pendingLogin({ [flag]: true });
    const sealed = JSON.parse(sealPendingData(login, cipher));
    assertEquals(openPendingData(sealed, cipher, login.id), login, flag);
  }
});
